"""Retrying a transaction the database rolled back to break a conflict.

PostgreSQL aborts one of two transactions that deadlock (40P01) or that it cannot serialize
(40001); the work is correct to run again from the start. A connection lost mid-transaction
(the server restarted) is also worth one more try: the pool's pre-ping gives a fresh one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

#: serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: DBAPIError) -> bool:
    """Whether running the same transaction again may succeed."""
    return exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def retrying(
    work: Callable[[], T],
    *,
    attempts: int = 8,
    pause: Callable[[float], None] = time.sleep,
) -> T:
    """``work()``, run again (after a short random pause, doubling) while it fails transiently.

    ``work`` must be one whole transaction: it is repeated from its start.
    """
    for attempt in range(attempts):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            # random, so that the two sides of a deadlock do not collide again in step
            pause(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover
