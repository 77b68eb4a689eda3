"""deploy/: the compose file and systemd units run commands that exist, one leader, N workers."""

from __future__ import annotations

import configparser
import importlib
import shlex
from pathlib import Path
from typing import Any

import click
import yaml

from digest.cli import cli

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def command_exists(name: str) -> bool:
    return cli.get_command(click.Context(cli), name) is not None


def test_compose_runs_postgres_one_leader_workers_and_the_web_pages():
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = data["services"]
    assert set(services) == {"postgres", "serve", "worker", "web"}
    assert services["serve"]["command"] == ["serve"] and command_exists("serve")
    assert services["worker"]["command"] == ["worker"] and command_exists("worker")
    assert "replicas" in services["worker"]["deploy"]
    assert "replicas" not in services["serve"].get("deploy", {})  # the leader is one
    for name in ("serve", "worker", "web"):
        environment = services[name]["environment"]
        assert environment["DIGEST_DIGEST__DATABASE"].startswith("postgresql://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                assert value.removeprefix("/run/secrets/") in data["secrets"], variable
    module, _, call = services["web"]["command"][-1].partition(":")
    assert callable(getattr(importlib.import_module(module), call.removesuffix("()")))


def test_systemd_units_run_real_commands_and_stop_with_sigterm():
    units = {path.name: path for path in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {"digest-serve.service", "digest-worker@.service", "digest-web.service"}
    for name, path in units.items():
        unit = configparser.ConfigParser(interpolation=None, strict=False)
        unit.read_string(path.read_text())
        argv = shlex.split(unit["Service"]["ExecStart"])
        program = Path(argv[0]).name
        if program == "digest":
            assert command_exists(argv[1]), name
            assert int(unit["Service"]["TimeoutStopSec"]) >= 30  # a message's time to finish
        else:
            assert program == "gunicorn"
            module, _, call = argv[-1].partition(":")
            assert callable(getattr(importlib.import_module(module), call.removesuffix("()")))
        assert unit["Service"]["Restart"] == "on-failure"
        assert unit["Install"]["WantedBy"] == "multi-user.target"
