"""Fetch outcomes recorded in the database: the feeds' state and their new or changed items.

Written once, in plain SQL, over a small ``Sql`` interface: the Store runs it through
SQLAlchemy (SQLite or PostgreSQL), and `digest fetch` through the standard library's sqlite3
(digest/store/sqlite_feeds.py), which spares it loading SQLAlchemy. Named parameters
(``:name``) work with both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from digest.types import FeedUpdate, ParsedItem

#: How a plain 304 (no move) is recorded: the bulk of a warm run, one statement for all.
NOT_MODIFIED_SQL = (
    "UPDATE feeds SET last_fetched_at = :now, last_status = 'not-modified', last_error = NULL, "
    "consecutive_failures = 0, last_success_at = :now, next_attempt_at = NULL WHERE id = :id"
)
_ITEM_FIELDS = ("url", "canonical_url", "title", "summary_html", "text", "published")
_INSERT_ITEM = (
    "INSERT INTO items (feed_id, guid, fetched, updated, content_hash, "
    + ", ".join(_ITEM_FIELDS)
    + ") VALUES (:feed_id, :guid, :fetched, :updated, :content_hash, "
    + ", ".join(f":{name}" for name in _ITEM_FIELDS)
    + ")"
)
_UPDATE_ITEM = (
    "UPDATE items SET updated = :updated, content_hash = :content_hash, "
    + ", ".join(f"{name} = :{name}" for name in _ITEM_FIELDS)
    + " WHERE id = :id"
)
_IN_CHUNK = 500  # guids per IN (...) query, well under SQLite's parameter limit


class Sql(Protocol):
    """One open transaction, seen as plain SQL with named parameters."""

    #: A time as this database binds it (see ``sqlite_time``).
    time: Callable[[datetime], object]

    def rows(self, statement: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]: ...

    def run(self, statement: str, params: Sequence[Mapping[str, Any]]) -> None:
        """Run ``statement`` once per parameter set (nothing when there is none)."""


def sqlite_time(moment: datetime) -> str:
    """A time as SQLAlchemy stores a DateTime on SQLite: UTC, no offset, microseconds."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def is_plain_not_modified(update: FeedUpdate) -> bool:
    return update.status == "not-modified" and not update.new_url


def record_outcomes(
    sql: Sql, updates: Sequence[FeedUpdate], now: datetime
) -> list[tuple[int, int, str | None]]:
    """Record a batch of fetch outcomes and their items (the caller holds the transaction).

    Returns (new, updated, note) per update; the note says when a move could not be stored.
    """
    stamp = sql.time(now)
    sql.run(
        NOT_MODIFIED_SQL,
        [{"id": u.feed_id, "now": stamp} for u in updates if is_plain_not_modified(u)],
    )
    results: list[tuple[int, int, str | None]] = []
    claimed: set[str] = set()  # URLs taken by moves earlier in this batch
    for update in updates:
        if is_plain_not_modified(update):
            results.append((0, 0, None))
            continue
        note = _record_state(sql, update, stamp, claimed)
        new, changed = _upsert(sql, update.feed_id, update.items, stamp)
        results.append((new, changed, note))
    return results


def _record_state(sql: Sql, update: FeedUpdate, stamp: object, claimed: set[str]) -> str | None:
    values: dict[str, Any] = {
        "last_fetched_at": stamp,
        "last_status": update.status,
        "next_attempt_at": sql.time(update.next_attempt_at) if update.next_attempt_at else None,
    }
    counted = []
    if update.disable_reason:
        values |= {"disabled_at": stamp, "disabled_reason": update.disable_reason}
    if update.status == "error":
        values["last_error"] = update.error
        counted.append("consecutive_failures = COALESCE(consecutive_failures, 0) + 1")
    else:
        values |= {"last_error": None, "consecutive_failures": 0, "last_success_at": stamp}
        if update.title:
            values["title"] = update.title[:512]
        if update.status == "ok":
            values |= {"etag": update.etag, "last_modified": update.last_modified}
    note = None
    if update.new_url:
        found = sql.rows("SELECT id FROM feeds WHERE url = :url", {"url": update.new_url})
        if found and found[0][0] == update.feed_id:
            pass  # already there
        elif found or update.new_url in claimed:
            note = f"moved to {update.new_url}, which is already in the feed list"
        else:
            claimed.add(update.new_url)
            values["url"] = update.new_url[:2048]
            note = f"moved permanently to {update.new_url}; address updated"
    assignments = [f"{name} = :{name}" for name in values] + counted
    sql.run(
        f"UPDATE feeds SET {', '.join(assignments)} WHERE id = :id",
        [{**values, "id": update.feed_id}],
    )
    return note


def _upsert(sql: Sql, feed_id: int, items: Sequence[ParsedItem], stamp: object) -> tuple[int, int]:
    """New items inserted and changed ones rewritten, each kind in one executemany."""
    if not items:
        return 0, 0
    existing: dict[str, tuple[int, str]] = {}
    guids = list(dict.fromkeys(item.guid for item in items))
    for start in range(0, len(guids), _IN_CHUNK):
        chunk = guids[start : start + _IN_CHUNK]
        params: dict[str, Any] = {f"g{n}": guid for n, guid in enumerate(chunk)}
        params["feed"] = feed_id
        marks = ", ".join(f":g{n}" for n in range(len(chunk)))
        for item_id, guid, digest in sql.rows(
            f"SELECT id, guid, content_hash FROM items WHERE feed_id = :feed AND guid IN ({marks})",
            params,
        ):
            existing[guid] = (item_id, digest)
    inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if item.guid in seen:
            continue
        seen.add(item.guid)
        digest = content_hash(item)
        known = existing.get(item.guid)
        if known is not None and known[1] == digest:
            continue
        fields = {
            "url": item.url,
            "canonical_url": item.canonical_url,
            "title": item.title,
            "summary_html": item.summary_html,
            "text": item.text,
            "published": sql.time(item.published),
            "updated": stamp,
            "content_hash": digest,
        }
        if known is None:
            inserts.append({**fields, "feed_id": feed_id, "guid": item.guid, "fetched": stamp})
        else:
            changes.append({**fields, "id": known[0]})
    sql.run(_INSERT_ITEM, inserts)
    sql.run(_UPDATE_ITEM, changes)
    return len(inserts), len(changes)


def content_hash(item: ParsedItem) -> str:
    """Hash of what a reader sees of an item: it is rewritten only when this changes."""
    # Each part followed by a NUL, hashed in one piece (the same bytes as part by part).
    parts = (item.url, item.title, item.summary_html, item.published.isoformat(), "")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).hexdigest()
