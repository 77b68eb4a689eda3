"""A clock for tests: it stands still until the test moves it, so nothing waits on real time."""

from __future__ import annotations

from datetime import datetime


class Clock:
    """Returns ``now`` until the test moves it (expiry, windows, leases need no waiting)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
