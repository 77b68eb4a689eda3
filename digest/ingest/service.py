"""`digest fetch`: every feed fetched (a few at a time), parsed, sanitized and stored."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Protocol

from digest.clock import Clock
from digest.errors import FeedError, HttpStatusError, one_line
from digest.store.sqlite_feeds import FeedStates
from digest.types import Feed, FeedFetchReport, FeedUpdate, FetchedFeed

#: Failures in a row tolerated before backing off, and the longest wait between tries.
BACKOFF_AFTER = 3
BACKOFF_FIRST = timedelta(minutes=30)
BACKOFF_MAX = timedelta(days=7)
#: Feeds parsed at once. Downloads wait on the network and run ``workers`` at a time, but
#: parsing is mostly Python holding the GIL: more parsers at once only add thread switching.
PARSERS = 2
#: Stored in one transaction: whichever limit is reached first.
BATCH_FEEDS = 50
BATCH_ITEMS = 2000


class Fetcher(Protocol):
    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed: ...


def fetch_all(
    store: FeedStates,
    fetcher: Callable[[], Fetcher],
    clock: Clock,
    *,
    workers: int = 8,
    on_feed: Callable[[FeedFetchReport], None] | None = None,
) -> list[FeedFetchReport]:
    """Fetch every enabled feed that is due; one feed's failure is recorded and others carry on.

    Downloads run ``workers`` at a time; parsing and storing stay on the caller's thread, and
    outcomes are written in batches (one transaction per batch). ``fetcher`` makes the
    fetcher, and is called only if some feed is due: a run with nothing to do loads no HTTP
    client or parser.
    """
    start = clock()
    reports: list[FeedFetchReport] = []
    due: list[Feed] = []
    for feed in store.list_feeds(with_counts=False):
        skipped = _skip_reason(feed, start)
        if skipped is None:
            due.append(feed)
            continue
        report = FeedFetchReport(url=feed.url, status="skipped", error=skipped)
        reports.append(report)
        if on_feed is not None:
            on_feed(report)
    batch: list[tuple[Feed, FeedUpdate, FeedFetchReport]] = []
    batch_items = 0

    def flush() -> None:
        nonlocal batch_items
        if not batch:
            return
        results = store.apply_fetches([update for _, update, _ in batch], now=clock())
        for (_feed, _update, report), (new, changed, note) in zip(batch, results, strict=True):
            done = _with_counts(report, new, changed, note)
            reports.append(done)
            if on_feed is not None:
                on_feed(done)
        batch.clear()
        batch_items = 0

    if not due:
        return reports
    for feed, (update, report) in _download(due, fetcher(), clock, workers):
        batch.append((feed, update, report))
        batch_items += len(update.items)
        if len(batch) >= BATCH_FEEDS or batch_items >= BATCH_ITEMS:
            flush()
    flush()
    return reports


def _skip_reason(feed: Feed, now: datetime) -> str | None:
    if feed.disabled_at is not None:
        return f"disabled: {feed.disabled_reason or 'by the operator'}"
    if feed.next_attempt_at is not None and feed.next_attempt_at > now:
        return f"not tried before {feed.next_attempt_at:%Y-%m-%d %H:%M} UTC (backing off)"
    return None


Outcome = tuple[FeedUpdate, FeedFetchReport]


def _download(
    feeds: list[Feed], fetcher: Fetcher, clock: Clock, workers: int
) -> Iterator[tuple[Feed, Outcome]]:
    """Download and parse in threads (lxml and nh3 release the GIL), results in feed order;
    at most ``PARSERS`` of them parse at once.

    Only a window of ``2 * workers`` feeds is in flight, so memory does not grow with the list.
    """

    parsing = threading.Semaphore(PARSERS)

    def one(feed: Feed) -> Outcome:
        try:
            fetched: FetchedFeed | FeedError = fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FeedError as exc:
            fetched = exc
        except Exception as exc:  # whatever happens, this feed fails and the run goes on
            fetched = FeedError(f"could not fetch: {type(exc).__name__}: {one_line(exc)}")
        with parsing:
            return _outcome(feed, fetched, clock())

    workers = max(1, min(workers, len(feeds) or 1))
    pending: deque[tuple[Feed, Future[Outcome]]] = deque()
    queue = iter(feeds)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for feed in queue:
            pending.append((feed, pool.submit(one, feed)))
            if len(pending) >= workers * 2:
                break
        while pending:
            feed, future = pending.popleft()
            next_feed = next(queue, None)
            if next_feed is not None:
                pending.append((next_feed, pool.submit(one, next_feed)))
            yield feed, future.result()


def _outcome(
    feed: Feed, outcome: FetchedFeed | FeedError, now: datetime
) -> tuple[FeedUpdate, FeedFetchReport]:
    if isinstance(outcome, FeedError):
        return _failure(feed, outcome, now)
    new_url = outcome.permanent_url
    if outcome.not_modified:
        update = FeedUpdate(feed_id=feed.id, status="not-modified", new_url=new_url)
        return update, FeedFetchReport(url=feed.url, status="not-modified")
    from digest.ingest.parse import parse_feed  # only for a feed that changed

    try:
        parsed = parse_feed(
            outcome.body, url=outcome.final_url, now=now, content_type=outcome.content_type
        )
    except FeedError as exc:
        return _failure(feed, exc, now)
    except Exception as exc:  # a parser bug must not end the run: the feed fails, with a reason
        return _failure(feed, FeedError(f"could not read the feed: {type(exc).__name__}"), now)
    update = FeedUpdate(
        feed_id=feed.id,
        status="ok",
        title=parsed.title,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
        items=parsed.items,
        new_url=new_url,
    )
    return update, FeedFetchReport(url=feed.url, status="ok", items_seen=len(parsed.items))


def _failure(feed: Feed, error: FeedError, now: datetime) -> tuple[FeedUpdate, FeedFetchReport]:
    message = str(error)
    failures = feed.consecutive_failures + 1
    disable = None
    next_attempt = backoff_until(failures, now)
    if isinstance(error, HttpStatusError):
        if error.status == 410:
            disable = "HTTP 410 Gone: the publisher removed this feed"
        elif error.status in (429, 503) and error.retry_after is not None:
            wait = timedelta(seconds=min(error.retry_after, BACKOFF_MAX.total_seconds()))
            next_attempt = max(next_attempt or now, now + wait)  # feeds list shows it
    update = FeedUpdate(
        feed_id=feed.id,
        status="error",
        error=message,
        disable_reason=disable,
        next_attempt_at=next_attempt if next_attempt and next_attempt > now else None,
    )
    note = f"disabled: {disable}" if disable else None
    return update, FeedFetchReport(url=feed.url, status="error", error=message, note=note)


def backoff_until(failures: int, now: datetime) -> datetime | None:
    """When a feed that failed ``failures`` times in a row may be tried again (None: next run)."""
    if failures < BACKOFF_AFTER:
        return None
    wait = min(BACKOFF_FIRST * 2 ** min(failures - BACKOFF_AFTER, 20), BACKOFF_MAX)
    due: datetime = now + wait
    return due


def _with_counts(
    report: FeedFetchReport, new: int, changed: int, note: str | None
) -> FeedFetchReport:
    return FeedFetchReport(
        url=report.url,
        status=report.status,
        items_seen=report.items_seen,
        items_new=new,
        items_updated=changed,
        error=report.error,
        note=report.note or note,
    )
