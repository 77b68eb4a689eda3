"""The container files: Dockerfile and compose.yaml parse, and what they run exists.

There is no container engine where the tests run, so the image is not built here; `.ci/run`
builds it when Docker is available. These tests check what can go stale without a build: the
instructions the README promises, and that every command and module the files name exists.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import click
import yaml
from dockerfile_parse import DockerfileParser

from digest.app import make_app
from digest.cli import cli
from digest.config import load_settings
from digest.web.app import create_web_app

ROOT = Path(__file__).resolve().parent.parent


def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(fileobj=(ROOT / "Dockerfile").open("rb"))
    return parser


def instructions(name: str) -> list[str]:
    return [i["value"] for i in dockerfile().structure if i["instruction"] == name]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_dockerfile_is_slim_non_root_installs_the_wheel_and_checks_healthz():
    assert all(base.endswith("-slim") or " AS " in base for base in instructions("FROM"))
    assert dockerfile().baseimage.endswith("-slim")  # the final stage
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(instructions("RUN"))
    assert "build --wheel" in runs and ".whl)[server]" in runs
    assert "/healthz" in instructions("HEALTHCHECK")[0]
    assert json.loads(instructions("ENTRYPOINT")[0]) == ["digest"]


def test_the_healthcheck_route_answers_with_settings_from_the_environment(isolated: Path):
    env = dict(
        DIGEST_DIGEST__DATABASE=f"sqlite:///{isolated / 'digest.db'}",
        DIGEST_DIGEST__SECRET_KEY="k",
    )
    with make_app(load_settings(None, env)) as app:
        response = create_web_app(app).test_client().get("/healthz")
    assert response.status_code == 200


def test_compose_services_run_commands_that_exist():
    data = compose()
    services = data["services"]
    assert set(services) == {"serve", "web", "postgres"}
    assert services["postgres"]["profiles"] == ["postgres"]  # optional
    assert services["serve"]["command"] == ["serve"]
    ctx = click.Context(cli)
    assert cli.get_command(ctx, "serve") is not None
    # every digest command compose or the image runs is a real command
    health = services["serve"]["healthcheck"]["test"]
    assert health[:2] == ["CMD", "digest"] and cli.get_command(ctx, health[2]) is not None
    assert cli.get_command(ctx, json.loads(instructions("CMD")[0])[0]) is not None
    web = services["web"]
    assert web["entrypoint"] == ["gunicorn"]
    target = web["command"][-1]
    module, _, call = target.partition(":")
    factory = getattr(importlib.import_module(module), call.removesuffix("()"))
    assert callable(factory)


def test_compose_secrets_are_read_through_file_variables(tmp_path: Path):
    data = compose()
    service = data["services"]["serve"]
    environment = service["environment"]
    declared = set(data["secrets"])
    for name, value in environment.items():
        if name.endswith("_FILE"):
            secret = value.removeprefix("/run/secrets/")
            assert secret in declared and secret in service["secrets"], name
    # every variable names a real setting (load_settings warns about the ones that do not)
    secret = tmp_path / "secret"
    secret.write_text("a-secret\n")
    plain = {name: str(secret) if name.endswith("_FILE") else "x" for name in environment}
    plain["DIGEST_DIGEST__DATABASE"] = "sqlite://"
    plain["DIGEST_SMTP__PORT"] = "587"
    plain["DIGEST_SMTP__SECURITY"] = "starttls"
    plain["DIGEST_SMTP__SENDER"] = "d@example.com"
    plain["DIGEST_WEB__BASE_URL"] = "https://news.example"
    plain["DIGEST_DIGEST__TIMEZONE"] = "UTC"
    assert load_settings(None, plain).warnings == ()
