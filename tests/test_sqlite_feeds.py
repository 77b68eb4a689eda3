"""The sqlite3 path of `digest fetch` (feed list and plain 304s without SQLAlchemy) reads and
writes exactly what the Store does, and hands everything else to the Store."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_type_hints

import pytest

from digest.store.database import open_database
from digest.store.outcomes import content_hash
from digest.store.sqlite_feeds import TIME_FIELDS, SqliteFeedStates
from digest.store.store import Store
from digest.types import Feed, FeedUpdate, ParsedItem
from tests.test_schedule_migration import database_at

NOW = datetime(2026, 3, 10, 5, 30, 12, 345678, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    """A current SQLite database with feeds in every state a fetch run meets."""
    with open_database(f"sqlite:///{tmp_path / 'feeds.db'}") as database:
        store = Store(database)
        for n in range(5):
            store.add_feed(f"https://example.test/{n}.xml", title=None, now=NOW)
        ids = [feed.id for feed in store.list_feeds()]
        store.apply_fetches(
            [
                FeedUpdate(feed_id=ids[0], status="ok", title="Wire", etag='"e1"',
                           last_modified="Tue, 10 Mar 2026 05:00:00 GMT"),
                FeedUpdate(feed_id=ids[1], status="error", error="HTTP 500",
                           next_attempt_at=NOW + timedelta(hours=2)),
                FeedUpdate(feed_id=ids[2], status="error", error="HTTP 410 Gone",
                           disable_reason="HTTP 410 Gone: the publisher removed this feed"),
                FeedUpdate(feed_id=ids[3], status="not-modified"),
            ],
            now=NOW,
        )  # fmt: skip
        store.set_feed_outlet("https://example.test/4.xml", "Gazette")
        yield store


def light(store: Store) -> SqliteFeedStates:
    states = SqliteFeedStates.open(store.database.url, full=lambda: store)
    assert states is not None
    return states


def test_the_feed_list_is_the_stores(store: Store):
    with light(store) as states:
        assert states.list_feeds(with_counts=False) == store.list_feeds(with_counts=False)
    listed = store.list_feeds(with_counts=False)
    assert listed[1].next_attempt_at == NOW + timedelta(hours=2)  # the fixture covers each state
    assert listed[2].disabled_at == NOW and listed[4].outlet == "Gazette"


def test_a_plain_304_is_stored_exactly_as_the_store_stores_it(store: Store, tmp_path: Path):
    later = NOW + timedelta(days=1, microseconds=-345678)  # a whole second: no fraction
    first, second = store.list_feeds()[:2]
    store.apply_fetches([FeedUpdate(feed_id=first.id, status="not-modified")], now=later)
    with light(store) as states:
        results = states.apply_fetches(
            [FeedUpdate(feed_id=second.id, status="not-modified")], now=later
        )
    assert results == [(0, 0, None)]
    with sqlite3.connect(tmp_path / "feeds.db") as connection:
        rows = connection.execute(
            "SELECT last_fetched_at, last_status, last_error, consecutive_failures,"
            " last_success_at, next_attempt_at FROM feeds WHERE id IN (?, ?) ORDER BY id",
            (first.id, second.id),
        ).fetchall()
    assert rows[0] == rows[1]
    assert rows[0] == (
        "2026-03-11 05:30:12.000000", "not-modified", None, 0, "2026-03-11 05:30:12.000000", None
    )  # fmt: skip
    assert store.list_feeds()[1].last_success_at == later


def item(n: int, title: str = "Tariffs") -> ParsedItem:
    return ParsedItem(
        guid=f"https://news.test/{n}",
        url=f"https://news.test/{n}",
        canonical_url=f"https://news.test/{n}",
        title=f"{title} {n}",
        summary_html=f"<p>{title} story {n}</p>",
        text=f"{title} story {n}",
        published=NOW - timedelta(hours=n),
    )


def outcomes(ids: list[int], round_: int) -> list[FeedUpdate]:
    """Every kind of outcome: items new and changed, errors, Gone, Retry-After, moves."""
    return [
        FeedUpdate(feed_id=ids[0], status="ok", title="Wire", etag=f'"e{round_}"',
                   items=tuple(item(n, "Chips" if round_ and n < 3 else "Tariffs")
                               for n in range(6))),
        FeedUpdate(feed_id=ids[1], status="error", error="HTTP 503",
                   next_attempt_at=NOW + timedelta(minutes=30 * (round_ + 1))),
        FeedUpdate(feed_id=ids[2], status="error", error="HTTP 410 Gone",
                   disable_reason="HTTP 410 Gone: the publisher removed this feed"),
        FeedUpdate(feed_id=ids[3], status="not-modified"),
        FeedUpdate(feed_id=ids[4], status="not-modified", new_url=f"https://moved.test/{round_}"),
        FeedUpdate(feed_id=ids[5], status="ok", new_url="https://example.test/0.xml",
                   items=(item(9),)),  # a move onto a listed feed: refused, with a note
    ]  # fmt: skip


def test_every_outcome_is_stored_as_the_store_stores_it(tmp_path: Path):
    dumps, notes = [], []
    for way in ("store", "sqlite3"):
        url = f"sqlite:///{tmp_path / way}.db"
        with open_database(url) as database:
            store = Store(database)
            for n in range(6):
                store.add_feed(f"https://example.test/{n}.xml", title=None, now=NOW)
            ids = [feed.id for feed in store.list_feeds()]
            for round_ in range(2):
                later = NOW + timedelta(hours=round_)
                if way == "store":
                    notes.append(store.apply_fetches(outcomes(ids, round_), now=later))
                else:
                    with light(store) as states:
                        notes.append(states.apply_fetches(outcomes(ids, round_), now=later))
        with sqlite3.connect(tmp_path / f"{way}.db") as connection:
            dumps.append(
                [connection.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                 for t in ("feeds", "items")]
            )  # fmt: skip
        connection.close()
    assert dumps[0] == dumps[1]
    assert notes[0] == notes[2] and notes[1] == notes[3]
    assert [(new, changed) for new, changed, _ in notes[1]][0] == (0, 3)  # three rewritten
    assert "already in the feed list" in (notes[1][5][2] or "")


def test_a_read_only_database_is_left_to_the_store(store: Store, tmp_path: Path):
    """sqlite3 cannot write: the Store tries, and fails the way every command reports."""
    feed = store.list_feeds()[0]
    seen: list[int] = []

    def full() -> Store:
        seen.append(1)
        return store

    states = SqliteFeedStates.open(store.database.url, full=full)
    assert states is not None
    with states:
        states._connection.execute("PRAGMA query_only=ON")  # as a read-only file would refuse
        states.apply_fetches([FeedUpdate(feed_id=feed.id, status="not-modified")], now=NOW)
    assert seen == [1]
    assert store.list_feeds()[0].last_status == "not-modified"


def test_databases_it_is_not_sure_of_take_the_full_path(tmp_path: Path):
    def full() -> Store:
        raise AssertionError("not opened")

    old = database_at(f"sqlite:///{tmp_path / 'old.db'}", "0005")
    sqlite3.connect(tmp_path / "empty.db").close()  # no tables at all
    for url in (
        old,
        f"sqlite:///{tmp_path / 'empty.db'}",
        f"sqlite:///{tmp_path / 'missing.db'}",
        "sqlite:///:memory:",
        f"sqlite:///{tmp_path / 'old.db'}?mode=ro",
        f"sqlite:///file:{tmp_path / 'old.db'}",
        "postgresql+psycopg://digest@127.0.0.1/digest",
    ):
        assert SqliteFeedStates.open(url, full=full) is None, url
    assert not (tmp_path / "missing.db").exists()


def test_an_unreadable_time_falls_back_to_the_store(store: Store, tmp_path: Path):
    with sqlite3.connect(tmp_path / "feeds.db") as connection:
        connection.execute("UPDATE feeds SET next_attempt_at = 'soon' WHERE id = 1")
    fallback = [Feed(id=1, url="https://stand-in.test/")]

    class Stand:
        def list_feeds(self, *, with_counts: bool = True) -> list[Feed]:
            return fallback

        def apply_fetches(self, updates, *, now):  # pragma: no cover - not called
            raise AssertionError

    states = SqliteFeedStates.open(store.database.url, full=Stand)
    assert states is not None
    with states:
        assert states.list_feeds(with_counts=False) is fallback


def test_time_fields_are_the_feeds_datetimes():
    hints = get_type_hints(Feed)
    assert {
        name for name, hint in hints.items() if datetime in getattr(hint, "__args__", (hint,))
    } == TIME_FIELDS


@pytest.mark.parametrize("text", ["Tariffs", "café 关税", "a lone \ud800 surrogate", ""])
def test_the_content_hash_is_the_one_stored_before(text: str):
    """Items stored by earlier versions keep matching: a refetch rewrites only real changes."""
    stored = replace(item(1), title=text, summary_html=f"<p>{text}</p>")
    reference = hashlib.sha256()
    for part in (stored.url, stored.title, stored.summary_html, stored.published.isoformat()):
        reference.update(part.encode("utf-8", "replace") + b"\0")
    assert content_hash(stored) == reference.hexdigest()
