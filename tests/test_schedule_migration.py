"""The 0005 migration keeps every edition, and lets each time zone have its own."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command

from digest import jobs
from digest.app import make_app
from digest.clock import fixed_clock
from digest.config import load_settings
from digest.store.database import Database, _alembic_config, open_database
from tests.conftest import Workspace


def database_at(tmp_path: Path, revision: str) -> str:
    """A database file at an old schema revision; returns its URL."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Database(url) as database, database.engine.begin() as connection:
        cfg = _alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return url


def test_upgrade_keeps_existing_editions_and_allows_one_per_zone(tmp_path: Path):
    url = database_at(tmp_path, "0004")
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.execute(
            "insert into editions (topic, edition_date, status, content, changes, built_at) "
            "values ('trade', '2026-03-01', 'sent', ?, '{}', '2026-03-01 05:00:00')",
            (json.dumps({"kept": True}),),
        )
    with open_database(url):  # upgrades to the latest schema
        pass
    with sqlite3.connect(tmp_path / "old.db") as db:
        rows = db.execute("select topic, edition_date, status, zone, content from editions")
        assert rows.fetchall() == [("trade", "2026-03-01", "sent", "", '{"kept": true}')]
        db.execute(
            "insert into editions (topic, edition_date, status, content, changes, built_at, zone)"
            " values ('trade', '2026-03-01', 'draft', '{}', '{}', '2026-03-01 05:00:00', "
            "'Asia/Tokyo')"
        )
        duplicate = None
        try:
            db.execute(
                "insert into editions (topic, edition_date, status, content, changes, built_at)"
                " values ('trade', '2026-03-01', 'draft', '{}', '{}', '2026-03-01 05:00:00')"
            )
        except sqlite3.IntegrityError as exc:
            duplicate = exc
        assert duplicate is not None  # still one edition per (topic, date, zone)
        assert {row[0] for row in db.execute("select name from sqlite_master")} >= {
            "runs",
            "daemon_lease",
        }


def test_bad_schedule_settings_give_one_line(workspace: Workspace):
    workspace.write_config(extra='[schedule]\nquiet_day = "shout"\n')
    result = workspace.invoke("status", code=2)
    assert result.stderr.strip() == (
        'digest: error: [schedule] quiet_day must be "skip" or "note", not \'shout\''
    )
    workspace.write_config(extra="[schedule]\nfetch_every_minutes = 0\n")
    assert "fetch_every_minutes must be at least 1" in workspace.invoke("runs", code=2).stderr


def test_each_run_logs_one_key_value_line(workspace: Workspace, smtp_server, caplog):
    workspace.invoke("subscribers", "add", "ada@example.com")
    moment = datetime(2026, 2, 3, 6, 30, tzinfo=UTC)
    caplog.set_level(logging.INFO, logger="digest.jobs")
    with make_app(load_settings(workspace.config), clock=fixed_clock(moment)) as app:
        jobs.run_send(app, date(2026, 2, 3))
    [line] = [r.getMessage() for r in caplog.records if r.name == "digest.jobs"]
    assert line.startswith("run job=send zone=UTC date=2026-02-03 outcome=quiet-note ")
    assert " sent=1 " in line and "sent_now=1" in line


def test_upgrade_to_0007_moves_editor_changes_to_the_date(tmp_path: Path):
    url = database_at(tmp_path, "0006")
    zone_change = json.dumps({"exclude": ["tokyo-only"]})
    own_change = json.dumps({"exclude": ["abc"], "note": "Hello"})
    with sqlite3.connect(tmp_path / "old.db") as db:
        for zone, changes in (("Asia/Tokyo", zone_change), ("", own_change)):
            db.execute(
                "insert into editions (topic, edition_date, status, content, changes, built_at,"
                " zone) values ('trade', '2026-03-01', 'draft', '{}', ?, "
                "'2026-03-01 05:00:00', ?)",
                (changes, zone),
            )
        db.execute(
            "insert into editions (topic, edition_date, status, content, changes, built_at)"
            " values ('trade', '2026-03-02', 'draft', '{}', '{}', '2026-03-02 05:00:00')"
        )
    with open_database(url):
        pass
    with sqlite3.connect(tmp_path / "old.db") as db:
        rows = db.execute("select topic, edition_date, changes from edition_changes").fetchall()
    # the date keeps its own zone's changes; a date without changes gets no row
    assert [(t, d, json.loads(c)) for t, d, c in rows] == [
        ("trade", "2026-03-01", {"exclude": ["abc"], "note": "Hello"})
    ]
