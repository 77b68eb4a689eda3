"""The feed list and fetch outcomes, read and written with the standard library's sqlite3.

On an SQLite database at the current schema revision, `digest fetch` reads the feed list and
records what it fetched here, without loading SQLAlchemy (a third of a second of CPU: more than
all the rest of a run where no feed is due or every feed answers 304 Not Modified). The
outcomes go through the same SQL as the Store's (digest/store/outcomes.py). Any database this
module is not sure of (another engine, a URL with options, a missing file, another schema
revision, a value it cannot read) or an error while writing goes to the full ``Store``,
opened on first need.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from digest.store.outcomes import record_outcomes, sqlite_time
from digest.store.revision import VERSION_TABLE, head_revision
from digest.types import Feed, FeedUpdate

if TYPE_CHECKING:
    from types import TracebackType

#: The Feed fields that are times (SQLite keeps them as text, in UTC without an offset).
TIME_FIELDS = frozenset({"last_fetched_at", "last_success_at", "disabled_at", "next_attempt_at"})
#: Feed fields computed by a query, not columns of the feeds table.
_COMPUTED = frozenset({"item_count"})
_COLUMNS = tuple(f.name for f in fields(Feed) if f.name not in _COMPUTED)


class FeedStates(Protocol):
    """What a fetch run reads and writes: the feed list and the outcomes (the Store is one)."""

    def list_feeds(self, *, with_counts: bool = True) -> list[Feed]: ...

    def apply_fetches(
        self, updates: Sequence[FeedUpdate], *, now: datetime
    ) -> list[tuple[int, int, str | None]]: ...


class Unusual(Exception):
    """Something this module does not handle: the full Store should."""


def _read_time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unusual(f"a time stored as {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Unusual(f"unreadable time {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL that exists; None for anything else."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:" or path.startswith("file:") or "?" in path:
        return None
    file = Path(path)
    return file if file.is_file() else None


class SqliteFeedStates:
    """Feed states of an SQLite file; outcomes other than plain 304s go to ``full()``.

    ``open`` returns None when the database is not one this class reads (see the module's
    docstring); close it (or use ``with``) when done.
    """

    def __init__(self, connection: sqlite3.Connection, full: Callable[[], FeedStates]) -> None:
        self._connection = connection
        self._full = full

    @classmethod
    def open(cls, url: str, full: Callable[[], FeedStates]) -> SqliteFeedStates | None:
        file = sqlite_file(url)
        if file is None:
            return None
        try:
            # Autocommit: no read stays open while the full Store writes the same file.
            connection = sqlite3.connect(file, isolation_level=None)
        except sqlite3.Error:
            return None
        try:
            connection.execute("PRAGMA busy_timeout=10000")  # as the Store's engine sets them
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=NORMAL")
            found = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
            if len(found) != 1 or found[0][0] != head_revision():
                raise Unusual("not at the current schema revision")
        except (sqlite3.Error, Unusual):
            connection.close()
            return None
        return cls(connection, full)

    def list_feeds(self, *, with_counts: bool = True) -> list[Feed]:
        """Every feed, as the Store lists them; counts need the Store."""
        if with_counts:
            return self._full().list_feeds(with_counts=True)
        try:
            rows = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM feeds ORDER BY id"
            ).fetchall()
            return [self._feed(row) for row in rows]
        except (sqlite3.Error, Unusual, TypeError, ValueError):
            return self._full().list_feeds(with_counts=False)

    @staticmethod
    def _feed(row: tuple[object, ...]) -> Feed:
        values = dict(zip(_COLUMNS, row, strict=True))
        for name in TIME_FIELDS:
            values[name] = _read_time(values[name])
        values["consecutive_failures"] = values["consecutive_failures"] or 0
        return Feed(**values)  # type: ignore[arg-type]

    def apply_fetches(
        self, updates: Sequence[FeedUpdate], *, now: datetime
    ) -> list[tuple[int, int, str | None]]:
        """Record a batch of outcomes in one transaction, as the Store does."""
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                results = record_outcomes(_Sqlite3(connection), updates, now)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            # Locked for too long, read-only, damaged...: the Store tries, and reports it
            # the way every command does.
            return self._full().apply_fetches(updates, now=now)
        return results

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> SqliteFeedStates:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _Sqlite3:
    """``outcomes.Sql`` over a sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.time: Callable[[datetime], object] = sqlite_time

    def rows(self, statement: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        return self._connection.execute(statement, params).fetchall()

    def run(self, statement: str, params: Sequence[Mapping[str, Any]]) -> None:
        if params:
            self._connection.executemany(statement, params)
