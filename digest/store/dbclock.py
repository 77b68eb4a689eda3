"""The database's clock: one "now" for every host that shares a database.

Leases and claims compare times written by different hosts; on a shared database each host's
own clock would make one host's lease expire early on another. The clock reads the database's
time now and then and keeps the offset from this host's clock, so it costs no round trip per
reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from digest.clock import Clock, system_clock


class DatabaseClock:
    """A clock that agrees with the database server's, re-synchronized every ``refresh``."""

    def __init__(
        self,
        engine: Engine,
        *,
        refresh: timedelta = timedelta(minutes=1),
        local: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._refresh = refresh.total_seconds()
        self._local = local
        self._monotonic = monotonic
        self._offset: timedelta | None = None
        self._synced_at = 0.0

    def __call__(self) -> datetime:
        if self._offset is None or self._monotonic() - self._synced_at >= self._refresh:
            self._sync()
        return self._local() + (self._offset or timedelta())

    @property
    def offset(self) -> timedelta | None:
        """The database's clock minus this host's, as last measured (None: not yet)."""
        return self._offset

    def _sync(self) -> None:
        before = self._local()
        try:
            with self._engine.connect() as connection:
                remote = connection.scalar(text("SELECT statement_timestamp()"))
        except SQLAlchemyError:
            return  # keep the last offset; the command that needs the database will say why
        after = self._local()
        if isinstance(remote, datetime):
            remote = remote.astimezone(UTC)
            self._offset = remote - (before + (after - before) / 2)
            self._synced_at = self._monotonic()
