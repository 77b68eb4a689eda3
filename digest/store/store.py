"""Feeds, items and editions in the database, seen as frozen values."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from digest.edition_json import edition_from_dict, edition_to_dict
from digest.errors import EditionError, UsageError
from digest.store.database import Database
from digest.store.models import EditionRow, FeedRow, ItemRow
from digest.types import Edition, EditionStatus, Feed, Item, ParsedItem


class Store:
    """Feeds, items and editions. Each method is one transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._sessions = database.sessions

    # --- feeds ---------------------------------------------------------------------------

    def add_feed(self, url: str, *, title: str | None, now: datetime) -> Feed:
        with self._sessions.begin() as session:
            if session.scalar(select(FeedRow.id).where(FeedRow.url == url)) is not None:
                raise UsageError(f"feed already added: {url}")
            row = FeedRow(url=url, title=title, created_at=now, consecutive_failures=0)
            session.add(row)
            session.flush()
            return _feed(row, 0)

    def list_feeds(self) -> list[Feed]:
        with self._sessions() as session:
            counts = dict(
                session.execute(
                    select(ItemRow.feed_id, func.count(ItemRow.id)).group_by(ItemRow.feed_id)
                ).all()
            )
            rows = session.scalars(select(FeedRow).order_by(FeedRow.id))
            return [_feed(row, counts.get(row.id, 0)) for row in rows]

    def get_feed(self, url: str) -> Feed | None:
        with self._sessions() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == url))
            return None if row is None else _feed(row, 0)

    def remove_feed(self, url: str) -> int:
        """Remove a feed and its items; returns how many items went with it."""
        with self._sessions.begin() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == url))
            if row is None:
                raise UsageError(f"no such feed: {url}")
            result = session.execute(delete(ItemRow).where(ItemRow.feed_id == row.id))
            removed = getattr(result, "rowcount", 0)
            session.delete(row)
            return int(removed or 0)

    def record_fetch(
        self,
        feed_id: int,
        *,
        now: datetime,
        status: str,
        error: str | None = None,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Record the outcome of a fetch: "ok", "not-modified" or "error"."""
        with self._sessions.begin() as session:
            row = session.get_one(FeedRow, feed_id)
            row.last_fetched_at = now
            row.last_status = status
            if status == "error":
                row.last_error = error
                row.consecutive_failures = (row.consecutive_failures or 0) + 1
                return
            row.last_error = None
            row.consecutive_failures = 0
            row.last_success_at = now
            if title:
                row.title = title[:512]
            if status == "ok":
                row.etag = etag
                row.last_modified = last_modified

    # --- items ---------------------------------------------------------------------------

    def upsert_items(
        self, feed_id: int, items: Sequence[ParsedItem], *, now: datetime
    ) -> tuple[int, int]:
        """Store new items and rewrite changed ones; returns (new, updated). Never duplicates."""
        new = updated = 0
        with self._sessions.begin() as session:
            guids = [item.guid for item in items]
            existing = (
                {
                    row.guid: row
                    for row in session.scalars(
                        select(ItemRow).where(ItemRow.feed_id == feed_id, ItemRow.guid.in_(guids))
                    )
                }
                if guids
                else {}
            )
            for item in items:
                digest = content_hash(item)
                row = existing.get(item.guid)
                if row is None:
                    row = ItemRow(
                        feed_id=feed_id,
                        guid=item.guid,
                        fetched=now,
                        content_hash=digest,
                        updated=now,
                        **_item_fields(item),
                    )
                    session.add(row)
                    existing[item.guid] = row
                    new += 1
                elif row.content_hash != digest:
                    for key, value in _item_fields(item).items():
                        setattr(row, key, value)
                    row.content_hash = digest
                    row.updated = now
                    updated += 1
        return new, updated

    def items_published_between(self, start: datetime, end: datetime) -> list[Item]:
        with self._sessions() as session:
            rows = session.execute(
                select(ItemRow, FeedRow.title, FeedRow.url)
                .join(FeedRow, FeedRow.id == ItemRow.feed_id)
                .where(ItemRow.published >= start, ItemRow.published < end)
                .order_by(ItemRow.published, ItemRow.id)
            ).all()
            return [_item(row, feed_title or feed_url) for row, feed_title, feed_url in rows]

    def count_items(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.count(ItemRow.id))) or 0)

    # --- editions ------------------------------------------------------------------------

    def get_edition(self, topic: str, edition_date: date, zone: str = "") -> Edition | None:
        with self._sessions() as session:
            row = session.scalar(
                select(EditionRow).where(
                    EditionRow.topic == topic,
                    EditionRow.edition_date == edition_date,
                    EditionRow.zone == zone,
                )
            )
            return None if row is None else _edition(row)

    def save_edition(self, edition: Edition, *, now: datetime) -> Edition:
        """Store a freshly built edition, replacing the draft of the same day.

        An edition that is being sent or was sent is never rebuilt.
        """
        content = edition_to_dict(edition)
        with self._sessions.begin() as session:
            row = session.scalar(
                select(EditionRow).where(
                    EditionRow.topic == edition.topic,
                    EditionRow.edition_date == edition.date,
                    EditionRow.zone == edition.zone,
                )
            )
            if row is None:
                row = EditionRow(
                    topic=edition.topic,
                    edition_date=edition.date,
                    zone=edition.zone,
                    status=EditionStatus.DRAFT,
                    content=content,
                    changes={},
                    built_at=now,
                )
                session.add(row)
                try:
                    session.flush()
                except IntegrityError as exc:  # another process stored it first
                    raise EditionError(
                        f"the {edition.date} edition was stored by another process meanwhile"
                    ) from exc
            else:
                if row.status in (EditionStatus.SENDING, EditionStatus.SENT):
                    raise EditionError(
                        f"the {edition.date} edition is already {row.status}; it is not rebuilt"
                    )
                row.content = content
                row.built_at = now
                # a rebuild needs approving again, but an editor's hold stays until lifted
                if row.status != EditionStatus.HELD:
                    row.status = EditionStatus.DRAFT
            return _edition(row)

    def get_edition_changes(self, edition_id: int) -> dict[str, Any]:
        """The editor changes stored with an edition (see digest.desk.changes)."""
        with self._sessions() as session:
            row = session.get_one(EditionRow, edition_id)
            return dict(row.changes or {})

    def set_edition_changes(self, edition_id: int, changes: dict[str, Any]) -> None:
        """Replace an edition's editor changes; refused once the edition is being sent."""
        with self._sessions.begin() as session:
            row = session.get_one(EditionRow, edition_id)
            if row.status in (EditionStatus.SENDING, EditionStatus.SENT):
                raise EditionError(
                    f"the {row.edition_date} edition is already {row.status}; "
                    "it can no longer be changed"
                )
            row.changes = dict(changes)

    def list_editions(
        self, topic: str, statuses: Sequence[str], *, limit: int = 100
    ) -> list[tuple[Edition, datetime]]:
        """Editions in the given statuses, newest date first, each with when it went out
        (first send, else build time)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EditionRow)
                .where(EditionRow.topic == topic, EditionRow.status.in_(list(statuses)))
                .order_by(EditionRow.edition_date.desc())
                .limit(limit)
            )
            return [(_edition(row), row.first_send_at or row.built_at) for row in rows]

    def set_edition_status(self, edition_id: int, status: str, *, now: datetime) -> Edition:
        with self._sessions.begin() as session:
            row = session.get_one(EditionRow, edition_id)
            row.status = status
            if status == EditionStatus.SENDING and row.first_send_at is None:
                row.first_send_at = now
            if status == EditionStatus.SENT:
                row.sent_at = now
            return _edition(row)


def content_hash(item: ParsedItem) -> str:
    h = hashlib.sha256()
    for part in (item.url, item.title, item.summary_html, item.published.isoformat()):
        h.update(part.encode("utf-8", "replace"))
        h.update(b"\0")
    return h.hexdigest()


def _item_fields(item: ParsedItem) -> dict[str, object]:
    return {
        "url": item.url,
        "canonical_url": item.canonical_url,
        "title": item.title,
        "summary_html": item.summary_html,
        "text": item.text,
        "published": item.published,
    }


def _feed(row: FeedRow, item_count: int) -> Feed:
    return Feed(
        id=row.id,
        url=row.url,
        title=row.title,
        etag=row.etag,
        last_modified=row.last_modified,
        last_fetched_at=row.last_fetched_at,
        last_status=row.last_status,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures or 0,
        last_success_at=row.last_success_at,
        item_count=item_count,
    )


def _item(row: ItemRow, feed_title: str) -> Item:
    return Item(
        id=row.id,
        feed_id=row.feed_id,
        feed_title=feed_title,
        guid=row.guid,
        url=row.url,
        canonical_url=row.canonical_url,
        title=row.title,
        summary_html=row.summary_html,
        text=row.text,
        published=row.published,
        fetched=row.fetched,
    )


def _edition(row: EditionRow) -> Edition:
    edition = edition_from_dict(
        row.content, status=row.status, edition_id=row.id, built_at=row.built_at
    )
    return replace(edition, zone=row.zone) if row.zone else edition
