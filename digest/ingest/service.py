"""`digest fetch`: every feed fetched (a few at a time), parsed, sanitized and stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from digest.clock import Clock
from digest.errors import FeedError
from digest.ingest.parse import parse_feed
from digest.store.store import Store
from digest.types import Feed, FeedFetchReport, FetchedFeed


class Fetcher(Protocol):
    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed: ...


def fetch_all(
    store: Store,
    fetcher: Fetcher,
    clock: Clock,
    *,
    workers: int = 8,
    on_feed: Callable[[FeedFetchReport], None] | None = None,
) -> list[FeedFetchReport]:
    """Fetch every feed; one feed's failure is recorded on it and the others carry on."""
    feeds = store.list_feeds()
    reports = []
    for feed, outcome in _download(feeds, fetcher, workers):
        report = _store_outcome(store, feed, outcome, clock)
        reports.append(report)
        if on_feed is not None:
            on_feed(report)
    return reports


def _download(
    feeds: list[Feed], fetcher: Fetcher, workers: int
) -> Iterator[tuple[Feed, FetchedFeed | FeedError]]:
    """Downloads run in threads; parsing and storing stay on the caller's thread, in order."""

    def one(feed: Feed) -> FetchedFeed | FeedError:
        try:
            return fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        except FeedError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(feeds) or 1))) as pool:
        yield from zip(feeds, pool.map(one, feeds), strict=True)


def _store_outcome(
    store: Store, feed: Feed, outcome: FetchedFeed | FeedError, clock: Clock
) -> FeedFetchReport:
    now = clock()
    if isinstance(outcome, FeedError):
        store.record_fetch(feed.id, now=now, status="error", error=str(outcome))
        return FeedFetchReport(url=feed.url, status="error", error=str(outcome))
    if outcome.not_modified:
        store.record_fetch(feed.id, now=now, status="not-modified")
        return FeedFetchReport(url=feed.url, status="not-modified")
    try:
        parsed = parse_feed(
            outcome.body, url=outcome.final_url, now=now, content_type=outcome.content_type
        )
    except FeedError as exc:
        store.record_fetch(feed.id, now=now, status="error", error=str(exc))
        return FeedFetchReport(url=feed.url, status="error", error=str(exc))
    new, updated = store.upsert_items(feed.id, parsed.items, now=now)
    store.record_fetch(
        feed.id,
        now=now,
        status="ok",
        title=parsed.title,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
    )
    return FeedFetchReport(
        url=feed.url,
        status="ok",
        items_seen=len(parsed.items),
        items_new=new,
        items_updated=updated,
    )
