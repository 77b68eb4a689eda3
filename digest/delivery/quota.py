"""The relay's quota, shared by every sender on the database, whatever host it runs on.

``rate_per_second`` is the relay's limit for all senders together: tokens come from one token
bucket, a row in the database, a few at a time (one statement per grant), and each sender
spends them at that pace. The failures in a row that pause a send (``pause_after_failures``)
are counted there too, so N workers do not try the relay N times as often once it is down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import TextClause, text

from digest.clock import Clock
from digest.store.database import Database
from digest.store.retry import retrying

#: The bucket's row (one relay per database).
RELAY = "relay"
#: A grant covers this long at the full rate (at least one message): few statements per second.
GRANT_SECONDS = 0.2

_ELAPSED = "(CASE WHEN :now > stamp THEN :now - stamp ELSE 0 END)"
_AVAILABLE = (
    f"(CASE WHEN tokens + {_ELAPSED} * :rate > :burst THEN :burst "
    f"ELSE tokens + {_ELAPSED} * :rate END)"
)
_TAKE = text(
    f"""UPDATE relay_quota SET
        tokens = CASE WHEN {_AVAILABLE} >= :want THEN {_AVAILABLE} - :want ELSE {_AVAILABLE} END,
        last_grant = CASE WHEN {_AVAILABLE} >= :want THEN :want ELSE 0 END,
        stamp = CASE WHEN :now > stamp THEN :now ELSE stamp END
    WHERE name = :name
    RETURNING last_grant, tokens"""
)
_NOTE = text(
    """UPDATE relay_quota SET
        failures = CASE WHEN :reset THEN :tail ELSE failures + :tail END
    WHERE name = :name
    RETURNING failures"""
)
_CREATE = text(
    "INSERT INTO relay_quota (name, tokens, stamp, last_grant, failures)"
    " VALUES (:name, 0, :now, 0, 0) ON CONFLICT DO NOTHING"
)


class RelayQuota:
    """The shared bucket and failure count (each call one short transaction)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._engine = database.engine
        self._clock = clock
        self._created = False

    def _execute(self, statement: TextClause, params: dict[str, object]) -> tuple[Any, ...]:
        """One statement on the quota's row (created on first use), retried on a conflict."""
        values = {**params, "name": RELAY, "now": self._clock().timestamp()}

        def once() -> tuple[Any, ...]:
            with self._engine.begin() as connection:
                if not self._created:
                    connection.execute(_CREATE, values)
                return tuple(connection.execute(statement, values).one())

        row = retrying(once)
        self._created = True
        return row

    def take(self, want: int, *, rate: float, burst: float) -> tuple[int, float]:
        """Take ``want`` tokens if the bucket has them: (granted, seconds until it may)."""
        row = self._execute(_TAKE, {"want": want, "rate": rate, "burst": burst})
        granted, left = int(row[0]), float(row[1])
        if granted:
            return granted, 0.0
        return 0, max(want - left, 0.0) / rate

    def note(self, *, reset: bool, tail: int) -> int:
        """Count failures in a row: ``tail`` failures after a success (``reset``) or after
        the failures counted so far. Returns the count, over every sender."""
        return int(self._execute(_NOTE, {"reset": reset, "tail": tail})[0])


class SharedRateLimiter:
    """Spaces this sender's messages and keeps all senders together under ``rate``."""

    def __init__(
        self, quota: RelayQuota, rate: float, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._quota = quota
        self._rate = rate
        self._grant = max(1, int(rate * GRANT_SECONDS))
        self._left = 0
        self._lock = threading.Lock()
        self._sleep = sleep
        self._interval = 1.0 / rate
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            while self._left == 0:
                granted, retry = self._quota.take(self._grant, rate=self._rate, burst=self._grant)
                if granted:
                    self._left = granted
                else:
                    self._sleep(min(retry, 1.0))
            self._left -= 1
            # evenly within the grant, as the process-wide limiter does
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
