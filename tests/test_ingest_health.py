"""Feed health storage: the 0002 migration keeps existing feeds; odd URLs and settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from alembic import command

from digest.config import settings_from_dict
from digest.errors import ConfigError
from digest.store.database import Database, _alembic_config
from tests.conftest import Workspace
from tests.databases import on_postgres, run_sql


def test_health_migration_keeps_existing_feeds(database_url: str):
    database = Database(database_url)
    cfg = _alembic_config()
    with database.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
    run_sql(
        database_url,
        "insert into feeds (url, title, consecutive_failures, created_at) "
        "values ('https://kept.example/rss', 'Kept', 2, '2025-01-01 00:00:00')",
    )
    database.upgrade()
    database.close()
    assert run_sql(
        database_url,
        "select url, title, consecutive_failures, disabled_at, next_attempt_at from feeds",
    ) == [("https://kept.example/rss", "Kept", 2, None, None)]


def test_unfetchable_urls_fail_alone(workspace: Workspace, feed_http):
    from tests.servers import Route

    feed_http.routes["/ok.xml"] = Route(
        body=b'<rss version="2.0"><channel><title>T</title><item><title>One</title>'
        b"<link>https://t.example/1</link></item></channel></rss>"
    )
    ok = feed_http.url("/ok.xml")
    odd = ["http://exa mple.com/feed", "http://[::1/feed", "http://no-such-host.invalid/rss"]
    workspace.invoke("feeds", "add", ok, odd[2])
    # `feeds add` refuses the first two now; a list stored by an older version may hold them.
    from digest.app import make_app
    from digest.config import load_settings

    with make_app(load_settings(workspace.config)) as app:
        for url in odd[:2]:
            app.store.add_feed(url, title=None, now=datetime(2025, 6, 1, tzinfo=UTC))
    report = {f["url"]: f for f in workspace.json("fetch")["feeds"]}
    assert report[ok]["new"] == 1
    for url in odd:
        assert report[url]["status"] == "error" and report[url]["error"], url
        assert "\n" not in report[url]["error"]
    # Items are bulk-inserted with pre-converted datetimes: stored exactly as the ORM stores them.
    ((published, fetched),) = workspace.sql("select published, fetched from items")
    [(created,)] = workspace.sql("select created_at from feeds limit 1")
    for value in (published, fetched, created):
        if on_postgres():  # a timestamp column: the driver hands back datetimes
            assert isinstance(value, datetime), value
        else:  # text: the ORM's format
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", value), value


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 500}, "concurrency"),
        ({"deadline_seconds": 0}, "deadline_seconds"),
    ],
)
def test_fetch_settings_are_checked(values, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_dict({"fetch": values})
