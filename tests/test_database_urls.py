"""Database URLs a new user writes: the driver's install hint, `init --database`, the clock."""

from __future__ import annotations

import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.app import make_app
from digest.cli import cli
from digest.clock import system_clock
from digest.config import load_settings
from digest.store.database import head_revision, open_database
from digest.store.dbclock import DatabaseClock
from tests.conftest import Workspace
from tests.databases import on_postgres


def test_a_missing_postgres_driver_says_what_to_install(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    workspace.write_config(database="postgresql://digest@127.0.0.1/digest")
    result = workspace.invoke("status", code=1)
    assert result.stderr == "digest: error: install psycopg: pip install 'digest[postgres]'\n"


def test_a_missing_driver_of_another_database_is_named(workspace: Workspace):
    workspace.write_config(database="mysql://digest@127.0.0.1/digest")
    result = workspace.invoke("subscribers", "list", code=1)
    assert result.stderr.startswith("digest: error: the database driver for mysql is not installed")
    assert len(result.stderr.splitlines()) == 1


def test_init_writes_the_database_given_creates_its_schema_and_force_keeps_it(
    isolated: Path, database_url: str
):
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--database", database_url])
    assert result.exit_code == 0, result.output
    written = tomllib.loads((isolated / "digest.toml").read_text())["digest"]["database"]
    assert written == database_url
    with open_database(database_url, migrate=False) as database:
        assert database.revision() == head_revision()
    if on_postgres():  # the password is not printed
        assert ":***@" in result.stdout and database_url not in result.stdout
    result = runner.invoke(cli, ["init", "--force"])
    assert result.exit_code == 0, result.output
    assert tomllib.loads((isolated / "digest.toml").read_text())["digest"]["database"] == (
        database_url
    )
    result = runner.invoke(cli, ["init", "--force", "--database", " "])
    assert result.exit_code == 2 and "--database needs a URL" in result.stderr


def test_leases_and_claims_use_the_database_servers_clock_on_postgres(workspace: Workspace):
    workspace.invoke("subscribers", "list")
    with make_app(load_settings(workspace.config)) as app:
        if not on_postgres():  # one host, one clock: its own
            assert app.clock is system_clock
            return
        assert isinstance(app.clock, DatabaseClock)
        moment = app.clock()
        offset = app.clock.offset
        assert offset is not None and abs(offset.total_seconds()) < 5  # same host here
        assert moment.tzinfo is not None
        # a host whose clock is an hour fast still reads the server's time
        fast = DatabaseClock(app.database.engine, local=lambda: system_clock() + timedelta(hours=1))
        assert abs((fast() - system_clock()).total_seconds()) < 5
