"""`digest feeds check URL`: fetch and read a feed without adding it, and say what was found."""

from __future__ import annotations

from typing import Protocol

from digest.clock import Clock
from digest.errors import FeedError
from digest.ingest.parse import parse_feed
from digest.types import FeedCheck, FetchedFeed

FORMAT_NAMES = {
    "rss2.0": "RSS 2.0",
    "rss1.0": "RSS 1.0",
    "rss0.90": "RSS 0.90",
    "rss0.91": "RSS 0.91",
    "rss0.92": "RSS 0.92",
    "rss091u": "RSS 0.91",
    "rss091n": "RSS 0.91",
    "rss092": "RSS 0.92",
    "rss093": "RSS 0.93",
    "rss094": "RSS 0.94",
    "rss20": "RSS 2.0",
    "rss10": "RSS 1.0",
    "rss090": "RSS 0.90",
    "atom10": "Atom 1.0",
    "atom03": "Atom 0.3",
    "json1": "JSON Feed 1.0",
    "json1.1": "JSON Feed 1.1",
}


class _Fetcher(Protocol):
    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed: ...


def inspect_feed(fetcher: _Fetcher, url: str, clock: Clock) -> FeedCheck:
    try:
        fetched = fetcher.fetch(url)
        parsed = parse_feed(
            fetched.body, url=fetched.final_url, now=clock(), content_type=fetched.content_type
        )
    except FeedError as exc:
        return FeedCheck(url=url, usable=False, error=str(exc))
    problems = list(parsed.problems)
    if fetched.permanent_url:
        problems.append(f"moved permanently to {fetched.permanent_url}: add that address instead")
    elif fetched.final_url != url:
        problems.append(f"redirected to {fetched.final_url}")
    if not parsed.items:
        problems.append("the feed has no items")
    return FeedCheck(
        url=url,
        usable=bool(parsed.items),
        final_url=fetched.final_url,
        format=FORMAT_NAMES.get(parsed.format, parsed.format or None),
        title=parsed.title,
        items=len(parsed.items),
        newest=max((item.published for item in parsed.items), default=None),
        problems=tuple(problems),
    )
