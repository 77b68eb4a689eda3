"""An item's url, guid and canonical_url are http(s) links or ids, never javascript:/data:
"links": such an entry is kept, pointing to its feed, like an entry without a link."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from digest.editorial.cluster import cluster_items
from digest.ingest.parse import parse_feed
from digest.types import Item, ParsedItem

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
FEED_URL = "https://wire.example/feed.xml"

HOSTILE = [
    ("Tariff talks stall", "javascript:alert(1)", ""),
    ("Chip curbs widen", " JaVaScRiPt:alert(2)", ""),
    ("Port volumes fall", "data:text/html,<script>alert(3)</script>", "javascript:void(0)"),
    ("Gallium exports halt", "vbscript:msgbox(4)", "data:text/plain,x"),
    ("Soybean buyers return", "https://wire.example/soy?id=5", "tag:wire.example,2026:5"),
]


def rss(entries, *, broken: bool = False) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link.replace('<', '&lt;')}</link>"
        + (f"<guid isPermaLink='false'>{guid}</guid>" if guid else "")
        + "<description>Text.</description></item>"
        for title, link, guid in entries
    )
    tail = "" if broken else "</channel></rss>"  # unclosed: read by feedparser instead
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{items}{tail}'.encode()
    )


def atom(entries) -> bytes:
    items = "".join(
        f"<entry><title>{title}</title><link href='{link.replace('<', '&lt;')}'/>"
        + (f"<id>{guid}</id>" if guid else "")
        + "<updated>2026-03-10T05:00:00Z</updated><summary>Text.</summary></entry>"
        for title, link, guid in entries
    )
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>W</title>'
        f"<id>urn:w</id><updated>2026-03-10T05:00:00Z</updated>{items}</feed>"
    ).encode()


def hostile(value: str) -> bool:
    squeezed = "".join(value.split()).lower()
    return squeezed.startswith(("javascript:", "data:", "vbscript:"))


@pytest.mark.parametrize("body", [rss(HOSTILE), rss(HOSTILE, broken=True), atom(HOSTILE)])
def test_only_http_links_are_kept_and_the_items_stay(body):
    parsed = parse_feed(body, url=FEED_URL, now=NOW)
    by_title = {item.title: item for item in parsed.items}
    assert set(by_title) == {title for title, _, _ in HOSTILE}  # every entry kept
    for item in parsed.items:
        for value in (item.url, item.guid, item.canonical_url):
            assert not hostile(value), (item.title, value)
        assert item.url.startswith(("https://", "http://"))
        assert item.canonical_url.startswith(("https://", "http://"))
    stall = by_title["Tariff talks stall"]
    assert stall.url == FEED_URL and stall.canonical_url.startswith(FEED_URL + "#")
    assert by_title["Soybean buyers return"].url == "https://wire.example/soy?id=5"
    assert by_title["Soybean buyers return"].guid == "tag:wire.example,2026:5"
    assert len({item.canonical_url for item in parsed.items}) == len(HOSTILE)


def stored(parsed: ParsedItem, n: int, feed: str) -> Item:
    return Item(**asdict(parsed), id=n, feed_id=n, feed_title=feed, fetched=NOW)


def test_two_items_with_the_same_script_link_do_not_start_in_one_cluster():
    a = parse_feed(
        rss([("Tariff talks stall in Geneva", "javascript:void(0)", "")]),
        url="https://one.example/feed.xml",
        now=NOW,
    ).items[0]
    b = parse_feed(
        rss([("Council approves the harbour budget", "javascript:void(0)", "")]),
        url="https://two.example/feed.xml",
        now=NOW,
    ).items[0]
    clusters = cluster_items([stored(a, 1, "One"), stored(b, 2, "Two")])
    assert sorted(len(c) for c in clusters) == [1, 1]
