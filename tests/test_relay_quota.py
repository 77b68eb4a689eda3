"""The relay's quota in the database: one token bucket and one failure count for all senders."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from digest.delivery.quota import RelayQuota, SharedRateLimiter
from digest.store.database import open_database
from tests.clocks import Clock

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_the_bucket_grants_what_the_rate_has_refilled_to_every_sender_together(
    database_url: str,
):
    clock = Clock(T0)
    with open_database(database_url) as database:
        first, second = RelayQuota(database, clock), RelayQuota(database, clock)
        assert first.take(4, rate=10, burst=4) == (0, 0.4)  # the bucket starts empty
        clock.now += timedelta(seconds=0.5)
        assert first.take(4, rate=10, burst=4) == (4, 0.0)
        # the same bucket for the other sender: empty, and full again in 0.4 s
        assert second.take(4, rate=10, burst=4) == (0, 0.4)
        clock.now += timedelta(seconds=0.1)
        granted, wait = second.take(4, rate=10, burst=4)
        assert granted == 0 and abs(wait - 0.3) < 1e-6  # 1 token refilled of the 4 wanted
        clock.now += timedelta(hours=1)  # a long idle time fills it to the burst, no more
        assert second.take(4, rate=10, burst=4) == (4, 0.0)
        assert first.take(1, rate=10, burst=4) == (0, 0.1)
        clock.now -= timedelta(seconds=30)  # a clock behind the last grant adds nothing
        assert first.take(1, rate=10, burst=4)[0] == 0


def test_failures_in_a_row_are_counted_over_every_sender(database_url: str):
    with open_database(database_url) as database:
        first, second = RelayQuota(database, Clock(T0)), RelayQuota(database, Clock(T0))
        assert first.note(reset=False, tail=2) == 2
        assert second.note(reset=False, tail=1) == 3  # the other sender's count goes on
        assert first.note(reset=True, tail=1) == 1  # a success starts the row again


def test_two_senders_share_the_rate(database_url: str):
    rate, each = 20.0, 20
    moments: list[float] = []
    lock = threading.Lock()
    with open_database(database_url) as database:

        def sender() -> None:
            limiter = SharedRateLimiter(RelayQuota(database, lambda: datetime.now(UTC)), rate)
            for _ in range(each):
                limiter.wait()
                with lock:
                    moments.append(time.monotonic())

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(moments) == 2 * each
    # 40 messages at 20 a second together take about two seconds; each sender alone would
    # have gone at 20 a second, so without the shared bucket they would take one. A lower
    # bound: a busy machine only makes it slower.
    grant = int(rate * 0.2)
    assert max(moments) - min(moments) >= (2 * each - 2 * grant) / rate
