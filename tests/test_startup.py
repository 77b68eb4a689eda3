"""Start-up: each command imports only the stacks it uses, and a current database is opened
without Alembic. Checked in fresh interpreters, since the test process has loaded everything."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from digest.store.database import _alembic_config, head_revision, open_database
from tests.conftest import Workspace
from tests.test_schedule_migration import database_at

ROOT = Path(__file__).resolve().parent.parent

#: Stacks no command that only reads the database and prints should load.
HEAVY = ("alembic", "flask", "werkzeug", "apscheduler", "httpx", "feedparser", "jinja2", "rich")

# Runs a command in-process, then reports which top-level packages it imported.
_PROBE = """
import json, sys
from digest.cli import cli
try:
    cli(sys.argv[1:], prog_name="digest")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def loaded(folder: Path, *args: str) -> set[str]:
    """Top-level packages a fresh `digest ARGS` imported; it must exit 0."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    return set(report["modules"])


def test_help_loads_neither_the_database_nor_any_other_stack(isolated: Path):
    modules = loaded(isolated, "--help")
    assert "click" in modules  # the probe works: it sees what was imported
    assert not modules & {"sqlalchemy", *HEAVY}


def test_fetch_with_nothing_due_reads_sqlite_without_sqlalchemy_or_fetching(isolated: Path):
    assert loaded(isolated, "init")  # a config and a current database
    modules = loaded(isolated, "fetch")
    assert "sqlite3" in modules  # it did read the database
    assert not modules & {"sqlalchemy", *HEAVY}


def test_fetch_with_every_feed_disabled_or_backing_off_loads_no_database_stack(isolated: Path):
    """The sqlite3 path reads the feeds' state and applies the one skip rule to it."""
    assert loaded(isolated, "init")
    assert loaded(isolated, "feeds", "add", "https://a.example/feed.xml", "https://b.example/f")
    with sqlite3.connect(isolated / "digest.db") as connection:
        connection.execute(
            "UPDATE feeds SET next_attempt_at = '2999-01-01 00:00:00.000000' WHERE id = 1"
        )
        connection.execute(
            "UPDATE feeds SET disabled_at = '2026-01-01 00:00:00.000000',"
            " disabled_reason = 'HTTP 410 Gone' WHERE id = 2"
        )
    connection.close()
    modules = loaded(isolated, "fetch", "--json")
    assert not modules & {"sqlalchemy", *HEAVY}
    result = subprocess.run(
        [sys.executable, "-m", "digest", "fetch", "--json"],
        cwd=isolated,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)["feeds"]
    assert [(r["status"], r["error"]) for r in reports] == [
        ("skipped", "not tried before 2999-01-01 00:00 UTC (backing off)"),
        ("skipped", "disabled: HTTP 410 Gone"),
    ]


def test_fetching_well_formed_feeds_loads_neither_feedparser_nor_an_http_library_nor_orm(
    workspace: Workspace, fixture_feeds: dict[str, str]
):
    workspace.invoke("feeds", "add", fixture_feeds["wire"], fixture_feeds["gazette"])
    modules = loaded(workspace.folder, "--config", str(workspace.config), "fetch")
    assert "lxml" in modules  # it did fetch and parse
    assert [feed["last_status"] for feed in workspace.json("feeds", "list")] == ["ok", "ok"]
    assert not modules & {"feedparser", "httpx", "alembic", "flask", "apscheduler", "jinja2"}
    sqlite = workspace.database.startswith("sqlite:")
    assert ("sqlalchemy" in modules) is not sqlite  # SQLite: items stored through sqlite3
    # a second run: all 304, nothing parsed, nothing but the feeds' state stored
    modules = loaded(workspace.folder, "--config", str(workspace.config), "fetch")
    assert "lxml" not in modules
    assert ("sqlalchemy" in modules) is not sqlite
    assert [feed["last_status"] for feed in workspace.json("feeds", "list")] == [
        "not-modified",
        "not-modified",
    ]


@pytest.mark.parametrize(
    ("args", "stack"),
    [(("feeds", "list"), "rich"), (("subscribers", "list"), "rich"), (("status",), "rich")],
)
def test_a_command_loads_what_it_prints_with(isolated: Path, args: tuple[str, ...], stack: str):
    loaded(isolated, "init")
    modules = loaded(isolated, *args)
    assert stack in modules
    assert not modules & {"alembic", "flask", "httpx", "feedparser"}


def test_head_revision_is_alembics_head():
    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_an_old_database_is_still_upgraded_and_a_current_one_left_alone(
    tmp_path: Path, database_url: str
):
    url = database_at(database_url, "0005")
    with open_database(url, migrate=False) as database:
        assert database.revision() == "0005"
    with open_database(url) as database:
        assert database.revision() == head_revision()
    new = f"sqlite:///{tmp_path / 'new.db'}"
    with open_database(new, migrate=False) as database:
        assert database.revision() is None
    with open_database(new) as database:
        assert database.revision() == head_revision()
