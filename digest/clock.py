"""The clock is I/O too: passed in, so tests and the demo can fix "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: A clock is any callable returning the current aware UTC datetime.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock stopped at ``moment`` (must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")
    return lambda: moment
