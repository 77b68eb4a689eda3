"""Fast readers for well-formed feeds: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 (lxml), JSON Feed.

They return raw entries (unsanitized) and raise ``NotHandled`` for anything they are not sure
of, which then goes to feedparser's forgiving parser instead. The XML parser never loads a DTD,
never expands entities, never touches the network and keeps libxml2's size limits; the caller
removes any DOCTYPE first (see ``strip_doctype``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from digest.ingest.dates import parse_date


class NotHandled(Exception):
    """The fast path cannot read this document; feedparser should try."""


@dataclass(slots=True)
class RawEntry:
    """One entry as the document gives it. ``content_html`` is HTML (plain text escaped)."""

    guid: str
    link: str
    title: str
    title_is_html: bool
    content_html: str
    #: Base URL for relative links inside the content.
    content_base: str
    published: datetime | None


@dataclass(slots=True)
class RawFeed:
    format: str
    title: str
    entries: list[RawEntry]


_DOCTYPE = re.compile(rb"<!DOCTYPE(?:[^\[>]|\[.*?\]\s*)*>", re.IGNORECASE | re.DOTALL)

RSS10 = "{http://purl.org/rss/1.0/}"
RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
ATOM10 = "{http://www.w3.org/2005/Atom}"
ATOM03 = "{http://purl.org/atom/ns#}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
DCTERMS_ISSUED = "{http://purl.org/dc/terms/}issued"
DCTERMS_MODIFIED = "{http://purl.org/dc/terms/}modified"
XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"


def strip_doctype(body: bytes) -> bytes:
    """The document without its DOCTYPE: no entity declarations (bombs, external files) remain.

    Entities a feed merely *uses* (``&nbsp;``) then fail the strict parse and go to feedparser,
    which knows the HTML ones.
    """
    head = body[:4096]
    if b"<!" not in head:
        return body
    return _DOCTYPE.sub(b"", head, count=1) + body[4096:]


def read_fast(body: bytes, *, url: str) -> RawFeed:
    """Read a well-formed feed; NotHandled when feedparser should try instead."""
    start = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith((b"{", b"[")):
        return _json_feed(body, url)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )
    try:
        root = etree.fromstring(body, parser, base_url=url)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise NotHandled(str(exc)) from exc
    tag = root.tag
    if tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise NotHandled("rss without a channel")
        version = root.get("version") or "2.0"
        # Items belong in the channel, but some old feeds put them beside it.
        return RawFeed(f"rss{version}", _text(channel.find("title")), _rss_items(root, ""))
    if tag == RDF + "RDF":
        for ns, name in ((RSS10, "rss1.0"), (RSS090, "rss0.90")):
            channel = root.find(ns + "channel")
            if channel is not None or root.find(ns + "item") is not None:
                title = _text(channel.find(ns + "title")) if channel is not None else ""
                return RawFeed(name, title, _rss_items(root, ns))
        raise NotHandled("RDF document without RSS items")
    if tag in (ATOM10 + "feed", ATOM03 + "feed"):
        ns = ATOM10 if tag == ATOM10 + "feed" else ATOM03
        title_el = root.find(ns + "title")
        title, is_html = _atom_text(title_el, ns) if title_el is not None else ("", False)
        if not is_html:
            title = html.escape(title)  # the caller reads feed titles as HTML
        return RawFeed("atom10" if ns == ATOM10 else "atom03", title, _atom_entries(root, ns, url))
    raise NotHandled(f"unknown root element {tag!r}")


def _text(element: Any) -> str:
    if element is None:
        return ""
    if len(element):  # markup left unescaped inside an element: keep it as markup
        return (element.text or "") + "".join(
            etree.tostring(child, encoding="unicode", with_tail=True) for child in element
        )
    return element.text or ""


def _absolute(base: str, link: str) -> str:
    link = link.strip()
    if link.startswith(("https://", "http://")) or not link:
        return link
    return urljoin(base, link)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _identifier(element: Any, value: str) -> str:
    """An entry id; a relative one is resolved against the base, as feedparser does, so the id
    stays the same whichever of the two paths reads the feed."""
    value = value.strip()
    if not value or _SCHEME.match(value):
        return value
    return urljoin(element.base or "", value)


def _rss_items(parent: Any, ns: str) -> list[RawEntry]:
    entries = []
    for item in parent.iter(ns + "item"):
        guid = link = title = description = encoded = ""
        permalink = False
        dates: dict[str, str] = {}
        for child in item:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            local = tag[len(ns) :] if ns and tag.startswith(ns) else tag
            if local == "title" or tag == DC_TITLE and not title:
                title = _text(child)
            elif local == "link":
                link = (child.text or "").strip()
            elif local == "guid":
                permalink = (child.get("isPermaLink") or "true").lower() != "false"
                text = child.text or ""
                guid = _identifier(item, text) if permalink else text.strip()
            elif local == "description":
                description = _text(child)
            elif tag == CONTENT_ENCODED:
                encoded = _text(child)
            elif local in ("pubDate", "pubdate") or tag in (DC_DATE, DCTERMS_ISSUED):
                dates.setdefault("published", child.text or "")
            elif tag == DCTERMS_MODIFIED:
                dates.setdefault("updated", child.text or "")
        if ns and not guid:
            guid = _identifier(item, item.get(RDF + "about") or "")
        base = item.base or ""
        if not link and permalink and guid.startswith(("http://", "https://")):
            link = guid  # a permalink guid is the item's address (as RSS 2.0 says)
        content = encoded if len(encoded) > len(description) else description
        entries.append(
            RawEntry(
                guid=guid,
                link=_absolute(base, link),
                title=title,
                title_is_html=True,  # RSS titles are often escaped HTML; the caller checks
                content_html=content,
                content_base=base,
                published=_first_date(dates, ("published", "updated")),
            )
        )
    return entries


def _atom_text(element: Any, ns: str) -> tuple[str, bool]:
    """(value, is_html) of an Atom text construct; xhtml is serialized, text stays text."""
    kind = (element.get("type") or "text").lower()
    if ns == ATOM03:
        mode = element.get("mode") or "xml"
        if mode == "base64":
            raise NotHandled("base64 Atom 0.3 content")
        if mode == "escaped":
            return element.text or "", kind != "text/plain"
        kind = "xhtml" if "xhtml" in kind else kind
    if kind in ("xhtml", "application/xhtml+xml"):
        div = element.find(XHTML_DIV)
        holder = div if div is not None else element
        inner = (holder.text or "") + "".join(
            etree.tostring(child, encoding="unicode", with_tail=True) for child in holder
        )
        return inner, True
    if kind in ("html", "text/html"):
        return _text(element), True
    if kind in ("text", "text/plain"):
        return _text(element), False
    raise NotHandled(f"Atom content of type {kind}")


def _atom_entries(root: Any, ns: str, url: str) -> list[RawEntry]:
    entries = []
    for entry in root.iter(ns + "entry"):
        guid = link = title = ""
        title_is_html = False
        content: tuple[str, bool] | None = None
        summary: tuple[str, bool] | None = None
        content_base = entry.base or url
        dates: dict[str, str] = {}
        for child in entry:
            tag = child.tag
            if not isinstance(tag, str) or not tag.startswith(ns):
                continue
            local = tag[len(ns) :]
            if local == "id":
                guid = _identifier(child, child.text or "")
            elif local == "title":
                title, title_is_html = _atom_text(child, ns)
            elif local == "link":
                rel = child.get("rel") or "alternate"
                if rel == "alternate" and (not link or child.get("type") in (None, "text/html")):
                    link = _absolute(child.base or url, child.get("href") or "")
            elif local == "content":
                if child.get("src"):
                    continue
                content = _atom_text(child, ns)
                content_base = child.base or content_base
            elif local == "summary":
                summary = _atom_text(child, ns)
            elif local in ("published", "issued", "created", "updated", "modified"):
                dates.setdefault(local, child.text or "")
        best = (
            content if content and (not summary or len(content[0]) >= len(summary[0])) else summary
        )
        value, is_html = best or ("", True)
        entries.append(
            RawEntry(
                guid=guid,
                link=link,
                title=title,
                title_is_html=title_is_html,
                content_html=value if is_html else html.escape(value),
                content_base=content_base,
                published=_first_date(
                    dates, ("published", "issued", "created", "updated", "modified")
                ),
            )
        )
    return entries


def _first_date(dates: dict[str, str], order: tuple[str, ...]) -> datetime | None:
    for key in order:
        value = dates.get(key)
        if value:
            moment = parse_date(value)
            if moment is not None:
                return moment
    return None


def _json_feed(body: bytes, url: str) -> RawFeed:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotHandled(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise NotHandled("JSON document is not a JSON Feed")
    items = data.get("items")
    if not isinstance(items, list):
        raise NotHandled("JSON Feed without items")
    base = _string(data.get("feed_url")) or url
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        content_html = _string(item.get("content_html"))
        if not content_html:
            text = _string(item.get("content_text")) or _string(item.get("summary"))
            content_html = html.escape(text)
        link = _string(item.get("url")) or _string(item.get("external_url"))
        published = None
        for key in ("date_published", "date_modified"):
            value = _string(item.get(key))
            if value and (published := parse_date(value)) is not None:
                break
        entries.append(
            RawEntry(
                guid=_string(item.get("id")),
                link=_absolute(base, link),
                title=_string(item.get("title")),
                title_is_html=True,  # plain text by the spec, but tags in titles do happen
                content_html=content_html,
                content_base=base,
                published=published,
            )
        )
    return RawFeed(
        "json" + str(data["version"]).rsplit("/", 1)[-1], _string(data.get("title")), entries
    )


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
