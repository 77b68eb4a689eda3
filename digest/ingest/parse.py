"""Feed bytes -> ParsedFeed, with feedparser. Never given a URL: it would open local files."""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from digest.errors import ParseError
from digest.ingest.sanitize import html_to_text, plain_title, sanitize_html
from digest.ingest.urls import canonical_url
from digest.types import ParsedFeed, ParsedItem

#: A date this far past the fetch time is a feed's mistake; it is clamped to the fetch time.
FUTURE_TOLERANCE = timedelta(minutes=10)


def parse_feed(
    body: bytes, *, url: str, now: datetime, content_type: str | None = None
) -> ParsedFeed:
    """Parse a feed document; ParseError when the bytes are not a feed at all."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Our own nh3 pass replaces feedparser's slow sanitizer and relative-URI rewriting.
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        reason = parsed.get("bozo_exception")
        detail = str(reason).splitlines()[0] if reason else "no feed found in the document"
        raise ParseError(f"not a feed: {detail}")
    items: dict[str, ParsedItem] = {}
    for entry in parsed.entries:
        item = _item(entry, feed_url=url, now=now)
        if item is not None and item.guid not in items:  # a feed may repeat an entry
            items[item.guid] = item
    title = plain_title(parsed.feed.get("title", "")) or None
    return ParsedFeed(title=title, items=tuple(items.values()))


def _item(entry: Any, *, feed_url: str, now: datetime) -> ParsedItem | None:
    link = (entry.get("link") or "").strip()
    title = plain_title(entry.get("title") or "")
    body_html = _richest_content(entry)
    if not title and not body_html and not link:
        return None
    summary_html = sanitize_html(body_html, base_url=link or feed_url)
    text = html_to_text(summary_html)
    if not title:
        title = " ".join(text.split()[:12]) or link
    guid = (entry.get("id") or "").strip() or link or _content_id(title, text)
    return ParsedItem(
        guid=guid[:2048],
        url=link or feed_url,
        canonical_url=canonical_url(link) if link else canonical_url(feed_url) + "#" + guid,
        title=title,
        summary_html=summary_html,
        text=text,
        published=_published(entry, now),
    )


def _richest_content(entry: Any) -> str:
    """The full content when the feed has it (content:encoded, Atom content), else the summary."""
    best = entry.get("summary") or ""
    for content in entry.get("content") or ():
        value = content.get("value") or ""
        if len(value) > len(best):
            best = value
    return best


def _published(entry: Any, now: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = entry.get(key)
        if struct:
            try:
                moment = datetime.fromtimestamp(calendar.timegm(struct), UTC)
            except (OverflowError, ValueError, OSError):
                continue
            return now if moment > now + FUTURE_TOLERANCE else moment
    return now


def _content_id(title: str, text: str) -> str:
    return "sha1:" + hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()
