"""Feed bytes -> ParsedFeed: the fast readers first, feedparser for the rest.

feedparser is never given a URL (it would open local files), and never sees a DOCTYPE.
"""

from __future__ import annotations

import calendar
import hashlib
import html
from datetime import UTC, datetime, timedelta
from typing import Any

from digest.controls import strip_controls
from digest.errors import ParseError
from digest.ingest.formats import NotHandled, RawEntry, RawFeed, read_fast, strip_doctype
from digest.ingest.sanitize import HtmlSanitizer, plain_title, sanitized_to_text
from digest.ingest.sniff import non_feed_description
from digest.ingest.urls import canonical_url, http_link, script_like
from digest.types import ParsedFeed, ParsedItem

#: A date this far past the fetch time is a feed's mistake; it is clamped to the fetch time.
FUTURE_TOLERANCE = timedelta(minutes=10)


def parse_feed(
    body: bytes, *, url: str, now: datetime, content_type: str | None = None
) -> ParsedFeed:
    """Parse a feed document; ParseError when the bytes are not a feed at all (or cannot be
    read for any reason: whatever the document, the caller gets a value or a ParseError)."""
    try:
        return _parse(body, url=url, now=now, content_type=content_type)
    except ParseError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - also a Rust panic surfacing from nh3
        raise ParseError(f"could not read the feed: {type(exc).__name__}") from exc


def _parse(body: bytes, *, url: str, now: datetime, content_type: str | None) -> ParsedFeed:
    body = strip_doctype(body)
    try:
        raw = read_fast(body, url=url)
        problems: tuple[str, ...] = ()
    except (NotHandled, RecursionError, ValueError, TypeError):
        raw, problems = _read_with_feedparser(body, url=url, content_type=content_type)
    items: dict[str, ParsedItem] = {}
    sanitizer = HtmlSanitizer()
    for entry in raw.entries:
        item = _item(entry, feed_url=url, now=now, sanitizer=sanitizer)
        if item is not None and item.guid not in items:  # a feed may repeat an entry
            items[item.guid] = item
    title = strip_controls(plain_title(raw.title)) or None
    return ParsedFeed(
        title=title, items=tuple(items.values()), format=raw.format, problems=problems
    )


def _read_with_feedparser(
    body: bytes, *, url: str, content_type: str | None
) -> tuple[RawFeed, tuple[str, ...]]:
    """The forgiving path for everything the fast readers decline: broken XML, odd formats."""
    import feedparser  # loaded only for the feeds that need it

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Our own nh3 pass replaces feedparser's slow sanitizer and relative-URI rewriting.
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    reason = parsed.get("bozo_exception")
    detail = str(reason).splitlines()[0] if reason else ""
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        found = non_feed_description(body, content_type)
        raise ParseError(f"not a feed: {found or detail or 'no feed found in the document'}")
    entries = [_raw_entry(entry, url) for entry in parsed.entries]
    problems = (f"not well-formed, read leniently: {detail}",) if parsed.get("bozo") else ()
    title = parsed.feed.get("title", "")
    return RawFeed(parsed.get("version") or "unknown", title, entries), problems


def _raw_entry(entry: Any, feed_url: str) -> RawEntry:
    content, content_type, base = _richest_content(entry)
    title_type = (entry.get("title_detail") or {}).get("type", "text/html")
    return RawEntry(
        guid=(entry.get("id") or "").strip(),
        link=(entry.get("link") or "").strip(),
        title=entry.get("title") or "",
        title_is_html=title_type != "text/plain",
        content_html=html.escape(content) if content_type == "text/plain" else content,
        content_base=base or feed_url,
        published=_published(entry),
    )


def _item(
    entry: RawEntry, *, feed_url: str, now: datetime, sanitizer: HtmlSanitizer
) -> ParsedItem | None:
    # Control characters go before anything else reads the text (and again after the HTML
    # is cleaned, which may turn an entity such as &#x1b; back into one).
    link = http_link(strip_controls(entry.link))  # without an http(s) link: points to its feed
    raw_title = strip_controls(entry.title)
    title = plain_title(raw_title) if entry.title_is_html else " ".join(raw_title.split())
    title = strip_controls(title)
    body_html = strip_controls(entry.content_html).strip()
    if not title and not body_html and not link:
        return None
    summary_html = sanitizer.clean(body_html, base_url=entry.content_base or link or feed_url)
    summary_html = strip_controls(summary_html)
    text = strip_controls(sanitized_to_text(summary_html))
    if not title:
        title = " ".join(text.split()[:12]) or link
    given = strip_controls(entry.guid)
    guid = (given if not script_like(given) else "") or link or _content_id(title, text)
    published = entry.published or now
    return ParsedItem(
        guid=guid[:2048],
        url=link or feed_url,
        canonical_url=canonical_url(link) if link else canonical_url(feed_url) + "#" + guid,
        title=title,
        summary_html=summary_html,
        text=text,
        published=now if published > now + FUTURE_TOLERANCE else published,
    )


def _richest_content(entry: Any) -> tuple[str, str, str]:
    """The full content when the feed has it (content:encoded, Atom content), else the summary."""
    detail = entry.get("summary_detail") or {}
    best = (entry.get("summary") or "", detail.get("type", "text/html"), detail.get("base", ""))
    for content in entry.get("content") or ():
        value = content.get("value") or ""
        if len(value) > len(best[0]):
            best = (value, content.get("type", "text/html"), content.get("base", ""))
    return best


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = entry.get(key)
        if struct:
            try:
                return datetime.fromtimestamp(calendar.timegm(struct), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _content_id(title: str, text: str) -> str:
    return "sha1:" + hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()
