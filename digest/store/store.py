"""Feeds, items and editions in the database, seen as frozen values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, select, text
from sqlalchemy.exc import IntegrityError

from digest.edition_json import edition_from_dict, edition_to_dict
from digest.errors import EditionError, UsageError
from digest.store.database import Database
from digest.store.models import EditionChangesRow, EditionRow, FeedRow, ItemRow
from digest.store.outcomes import record_outcomes, sqlite_time
from digest.store.rows import value_of
from digest.types import (
    EDITION_TRANSITIONS,
    Edition,
    EditionKey,
    EditionStatus,
    Feed,
    FeedUpdate,
    Item,
)


class Store:
    """Feeds, items and editions. Each method is one transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._sessions = database.sessions
        # the public suffix list that groups feeds into outlets, read at the first need
        self._suffixes: Any = None

    # --- feeds ---------------------------------------------------------------------------

    def add_feed(
        self, url: str, *, title: str | None, now: datetime, outlet: str | None = None
    ) -> Feed:
        with self._sessions.begin() as session:
            if session.scalar(select(FeedRow.id).where(FeedRow.url == url)) is not None:
                raise UsageError(f"feed already added: {url}")
            row = FeedRow(
                url=url, title=title, created_at=now, consecutive_failures=0, outlet=outlet
            )
            session.add(row)
            session.flush()
            return _feed(row, 0)

    def list_feeds(self, *, with_counts: bool = True) -> list[Feed]:
        """Every feed; ``with_counts=False`` skips counting items (item_count is then 0)."""
        with self._sessions() as session:
            counts = (
                dict(
                    session.execute(
                        select(ItemRow.feed_id, func.count(ItemRow.id)).group_by(ItemRow.feed_id)
                    ).all()
                )
                if with_counts
                else {}
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

    def apply_fetches(
        self, updates: Sequence[FeedUpdate], *, now: datetime
    ) -> list[tuple[int, int, str | None]]:
        """Record a batch of fetch outcomes and their items in one transaction.

        Returns (new, updated, note) per update; the note says when a move could not be stored.
        """
        with self._sessions.begin() as session:
            return record_outcomes(_SessionSql(session.connection()), updates, now)

    def set_feed_outlet(self, url: str, outlet: str) -> Feed:
        """Name the outlet a feed belongs to (feeds given one name are one outlet)."""
        with self._sessions.begin() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == url))
            if row is None:
                raise UsageError(f"no such feed: {url}")
            row.outlet = outlet
            return _feed(row, 0)

    def set_feed_enabled(self, url: str, *, now: datetime) -> Feed:
        """Fetch a disabled or backed-off feed again from the next run on."""
        with self._sessions.begin() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == url))
            if row is None:
                raise UsageError(f"no such feed: {url}")
            row.disabled_at = None
            row.disabled_reason = None
            row.next_attempt_at = None
            return _feed(row, 0)

    # --- items ---------------------------------------------------------------------------

    def items_published_between(self, start: datetime, end: datetime) -> list[Item]:
        """The items published in [start, end), each with its outlet (digest/outlets.py)."""
        from digest.outlets import load_suffixes, outlets_of

        with self._sessions() as session:
            rows = session.scalars(
                select(ItemRow)
                .where(ItemRow.published >= start, ItemRow.published < end)
                .order_by(ItemRow.published, ItemRow.id)
            ).all()
            feeds = [_feed(row, 0) for row in session.scalars(select(FeedRow))]
            links: dict[int, list[str]] = {}
            for row in rows:
                links.setdefault(row.feed_id, []).append(row.url)
            if self._suffixes is None:
                self._suffixes = load_suffixes()
            outlets = outlets_of(feeds, links, self._suffixes)
            return [
                value_of(
                    Item,
                    row,
                    feed_title=outlets[row.feed_id].name,
                    outlet=outlets[row.feed_id].key,
                )
                for row in rows
            ]

    def count_items(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.count(ItemRow.id))) or 0)

    # --- editions ------------------------------------------------------------------------

    def get_edition(self, key: EditionKey) -> Edition | None:
        with self._sessions() as session:
            row = session.scalar(_edition_query(key))
            return None if row is None else _edition(row)

    def editions_of_date(self, topic: str, edition_date: date) -> list[Edition]:
        """Every zone's edition of a date, the digest's own zone first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EditionRow)
                .where(EditionRow.topic == topic, EditionRow.edition_date == edition_date)
                .order_by(EditionRow.zone)
            )
            return [_edition(row) for row in rows]

    def save_edition(self, edition: Edition, *, now: datetime) -> Edition:
        """Store a freshly built edition, replacing the earlier build of the same key.

        A rebuild makes an approved edition a draft again (its content changed); a held one
        stays held; one being sent or sent is never rebuilt.
        """
        content = edition_to_dict(edition)
        with self._sessions.begin() as session:
            row = session.scalar(_edition_query(edition.key))
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
                        f"the {_label(edition.key)} edition was stored by another process meanwhile"
                    ) from exc
                return _edition(row)
            status = EditionStatus(row.status)
            if status != EditionStatus.HELD:
                _move(row, EditionStatus.DRAFT, "rebuilt")
            row.content = content
            row.built_at = now
            return _edition(row)

    def get_changes(self, topic: str, edition_date: date) -> dict[str, Any]:
        """The editor's changes to a date (see digest.desk.changes); they apply to every zone."""
        with self._sessions() as session:
            row = session.get(EditionChangesRow, (topic, edition_date))
            return dict(row.changes or {}) if row is not None else {}

    def set_changes(
        self, topic: str, edition_date: date, changes: dict[str, Any], *, now: datetime
    ) -> None:
        with self._sessions.begin() as session:
            row = session.get(EditionChangesRow, (topic, edition_date))
            if row is None:
                session.add(
                    EditionChangesRow(
                        topic=topic,
                        edition_date=edition_date,
                        changes=dict(changes),
                        updated_at=now,
                    )
                )
            else:
                row.changes = dict(changes)
                row.updated_at = now

    def list_editions(
        self, topic: str, statuses: Sequence[str], *, limit: int = 100
    ) -> list[tuple[Edition, datetime]]:
        """Editions in the given statuses, newest date first (then zone), each with when it
        went out (first send, else build time)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(EditionRow)
                .where(EditionRow.topic == topic, EditionRow.status.in_(list(statuses)))
                .order_by(EditionRow.edition_date.desc(), EditionRow.zone)
                .limit(limit)
            )
            return [(_edition(row), row.first_send_at or row.built_at) for row in rows]

    def set_edition_status(
        self,
        edition_id: int,
        status: EditionStatus,
        *,
        now: datetime,
        content: Edition | None = None,
    ) -> Edition:
        """Move an edition to ``status``, if :data:`EDITION_TRANSITIONS` allows it.

        ``content``, when sending starts, replaces the stored content: the edition with the
        editor's changes applied, so what went out stays as it was whatever is edited later.
        """
        status = EditionStatus(status)
        with self._sessions.begin() as session:
            row = session.get_one(EditionRow, edition_id)
            _move(row, status, status.value)
            if content is not None and status == EditionStatus.SENDING:
                row.content = {**edition_to_dict(content), "edited": True}
            if status == EditionStatus.SENDING and row.first_send_at is None:
                row.first_send_at = now
            if status == EditionStatus.SENT and row.sent_at is None:
                row.sent_at = now
            return _edition(row)


def _edition_query(key: EditionKey) -> Select[Any]:
    return select(EditionRow).where(
        EditionRow.topic == key.topic,
        EditionRow.edition_date == key.date,
        EditionRow.zone == key.zone,
    )


def _label(key: EditionKey) -> str:
    return f"{key.date} {key.zone}" if key.zone else str(key.date)


def _move(row: EditionRow, status: EditionStatus, verb: str) -> None:
    current = EditionStatus(row.status)
    if status not in EDITION_TRANSITIONS[current]:
        key = EditionKey(row.topic, row.edition_date, row.zone)
        raise EditionError(f"the {_label(key)} edition is already {current}; it cannot be {verb}")
    row.status = status


class _SessionSql:
    """``outcomes.Sql`` over a SQLAlchemy connection (SQLite or PostgreSQL)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        # Plain SQL binds no column types: SQLite gets times as SQLAlchemy writes them.
        sqlite = connection.dialect.name == "sqlite"
        self.time: Callable[[datetime], object] = sqlite_time if sqlite else _as_is

    def rows(self, statement: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        return self._connection.execute(text(statement), dict(params)).all()

    def run(self, statement: str, params: Sequence[Mapping[str, Any]]) -> None:
        if params:
            self._connection.execute(text(statement), [dict(p) for p in params])


def _as_is(moment: datetime) -> object:
    return moment


def _feed(row: FeedRow, item_count: int) -> Feed:
    return value_of(
        Feed, row, consecutive_failures=row.consecutive_failures or 0, item_count=item_count
    )


def _edition(row: EditionRow) -> Edition:
    edition = edition_from_dict(
        row.content, status=row.status, edition_id=row.id, built_at=row.built_at
    )
    return replace(edition, zone=row.zone, edited=bool(row.content.get("edited")))
