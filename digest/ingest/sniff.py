"""What a document that is not a feed is instead, said plainly ("an HTML page", "plain
text") rather than as the XML parser's complaint about it."""

from __future__ import annotations

_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def non_feed_description(body: bytes, content_type: str | None) -> str | None:
    """ "got an HTML page (text/html)" and the like; None when it looks like XML, whose
    parser's message says more about what is wrong with it."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    shown = media or "no Content-Type"
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "the response was empty"
    if head.startswith(_HTML_STARTS) or media in _HTML_TYPES:
        return f"got an HTML page ({shown})"
    if head.startswith((b"{", b"[")):
        return f"got JSON that is not a JSON Feed ({shown})"
    if head.startswith(b"<"):
        return None
    if b"\x00" in head or (media and not media.startswith("text/")):
        return f"got {media or 'binary data'}, not a feed"
    return f"got plain text ({shown})"
