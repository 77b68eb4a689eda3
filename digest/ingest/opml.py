"""OPML: the feed-list format every reader imports and exports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from digest.errors import UsageError
from digest.types import Feed


def read_opml(data: bytes) -> list[tuple[str, str | None]]:
    """(url, title) of every outline with an xmlUrl, in document order, without repeats."""
    if b"<!ENTITY" in data:  # no legitimate OPML needs entity declarations
        raise UsageError("OPML file declares entities; refusing to read it")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UsageError(f"not a valid OPML file: {exc}") from exc
    found: dict[str, str | None] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url and url not in found:
            found[url] = outline.get("title") or outline.get("text") or None
    return list(found.items())


def write_opml(feeds: Iterable[Feed], *, title: str) -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        ET.SubElement(body, "outline", type="rss", text=feed.name, title=feed.name, xmlUrl=feed.url)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
