"""The 0005 migration keeps every edition, and lets each time zone have its own."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError

from digest import jobs
from digest.app import make_app
from digest.clock import fixed_clock
from digest.config import load_settings
from digest.store.database import Database, _alembic_config, driver_url, open_database
from tests.conftest import Workspace
from tests.databases import run_sql


def database_at(url: str, revision: str) -> str:
    """The database at an old schema revision; returns its URL."""
    with Database(url) as database, database.engine.begin() as connection:
        cfg = _alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return url


def as_json(value: object) -> object:
    """A JSON column's value: text on SQLite, already parsed by PostgreSQL's driver."""
    return json.loads(value) if isinstance(value, str) else value


def test_upgrade_keeps_existing_editions_and_allows_one_per_zone(database_url: str):
    url = database_at(database_url, "0004")
    run_sql(
        url,
        "insert into editions (topic, edition_date, status, content, changes, built_at) "
        "values ('trade', '2026-03-01', 'sent', :content, '{}', '2026-03-01 05:00:00')",
        {"content": json.dumps({"kept": True})},
    )
    with open_database(url):  # upgrades to the latest schema
        pass
    rows = run_sql(url, "select topic, edition_date, status, zone, content from editions")
    assert [(t, str(d), s, z, as_json(c)) for t, d, s, z, c in rows] == [
        ("trade", "2026-03-01", "sent", "", {"kept": True})
    ]
    run_sql(
        url,
        "insert into editions (topic, edition_date, status, content, changes, built_at, zone)"
        " values ('trade', '2026-03-01', 'draft', '{}', '{}', '2026-03-01 05:00:00', "
        "'Asia/Tokyo')",
    )
    with pytest.raises(IntegrityError):  # still one edition per (topic, date, zone)
        run_sql(
            url,
            "insert into editions (topic, edition_date, status, content, changes, built_at)"
            " values ('trade', '2026-03-01', 'draft', '{}', '{}', '2026-03-01 05:00:00')",
        )
    engine = create_engine(driver_url(url))
    try:
        assert set(inspect(engine).get_table_names()) >= {"runs", "daemon_lease"}
    finally:
        engine.dispose()


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


def test_upgrade_to_0007_moves_editor_changes_to_the_date(database_url: str):
    url = database_at(database_url, "0006")
    zone_change = json.dumps({"exclude": ["tokyo-only"]})
    own_change = json.dumps({"exclude": ["abc"], "note": "Hello"})
    run_sql(
        url,
        "insert into editions (topic, edition_date, status, content, changes, built_at,"
        " zone) values ('trade', '2026-03-01', 'draft', '{}', :changes, "
        "'2026-03-01 05:00:00', :zone)",
        [
            {"changes": changes, "zone": zone}
            for zone, changes in (("Asia/Tokyo", zone_change), ("", own_change))
        ],
    )
    run_sql(
        url,
        "insert into editions (topic, edition_date, status, content, changes, built_at)"
        " values ('trade', '2026-03-02', 'draft', '{}', '{}', '2026-03-02 05:00:00')",
    )
    with open_database(url):
        pass
    rows = run_sql(url, "select topic, edition_date, changes from edition_changes")
    # the date keeps its own zone's changes; a date without changes gets no row
    assert [(t, str(d), as_json(c)) for t, d, c in rows] == [
        ("trade", "2026-03-01", {"exclude": ["abc"], "note": "Hello"})
    ]
