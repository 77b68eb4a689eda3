"""Untrusted feed HTML made harmless (nh3), and turned into plain text for the editorial stages."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "cite",
    "code",
    "em",
    "figcaption",
    "h2",
    "h3",
    "h4",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "strong",
    "sub",
    "sup",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Whole elements whose content is dropped, not just the tags.
DROP_WITH_CONTENT = {
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "form",
    "select",
    "textarea",
    "button",
    "svg",
    "math",
}

_BLOCK_BREAK = re.compile(
    r"<\s*(?:br|/p|/div|/li|/h[1-6]|/blockquote|/tr|/figcaption|p|div|li|h[1-6])\b[^>]*>",
    re.IGNORECASE,
)
_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z/!]|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
# The same runs, but only those that are not already a single space: "replace every run by one
# space" then costs a match per odd run instead of one per word.
_ODD_SPACES = re.compile(r"[\t\f\v\u00a0][ \t\f\v\u00a0]*| [ \t\f\v\u00a0]+")
_HREF = re.compile(r"href", re.IGNORECASE)
# A tag as nh3 writes it (attribute values always double-quoted, so a ">" inside one is skipped).
_SANITIZED_TAG = re.compile(r'<(?:[^>"]|"[^"]*")*>')


def sanitize_html(fragment: str, *, base_url: str | None = None) -> str:
    """Keep only harmless markup; relative links are resolved against ``base_url``."""
    return HtmlSanitizer().clean(fragment, base_url=base_url)


class HtmlSanitizer:
    """``sanitize_html`` with its nh3 cleaners built once and reused: building one costs as
    much as cleaning a fragment. One per feed being parsed (not shared between threads)."""

    _MAX_BASES = 32

    def __init__(self) -> None:
        self._plain = self._cleaner(None)
        self._by_base: dict[str | None, Any] = {}

    def clean(self, fragment: str, *, base_url: str | None = None) -> str:
        if not _HREF.search(fragment):  # no link to resolve: no Python callback needed
            return str(self._plain.clean(fragment))
        cleaner = self._by_base.get(base_url)
        if cleaner is None:
            if len(self._by_base) >= self._MAX_BASES:
                self._by_base.clear()
            cleaner = self._by_base[base_url] = self._cleaner(_link_filter(base_url))
        return str(cleaner.clean(fragment))

    @staticmethod
    def _cleaner(attribute_filter: Any) -> Any:
        return nh3.Cleaner(
            tags=ALLOWED_TAGS,
            clean_content_tags=DROP_WITH_CONTENT,
            attributes=ALLOWED_ATTRIBUTES,
            attribute_filter=attribute_filter,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )


def _link_filter(base_url: str | None) -> Any:
    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            value = value.strip()
            if value[:8].lower().startswith(("https://", "http://")):
                return value  # already absolute, and a scheme we allow
            resolved = urljoin(base_url, value) if base_url else value
            if urlsplit(resolved).scheme.lower() not in URL_SCHEMES:
                return None
            return resolved
        return value

    return attribute_filter


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: paragraphs on their own lines, entities decoded."""
    marked = _BLOCK_BREAK.sub("\n", fragment)
    stripped = nh3.clean(marked, tags=set(), clean_content_tags=DROP_WITH_CONTENT)
    text = html.unescape(stripped)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def sanitized_to_text(fragment: str) -> str:
    """``html_to_text`` for the output of ``sanitize_html`` only: no scripts, comments or
    unquoted attributes remain there, so removing the tags is all that is left to do."""
    marked = _BLOCK_BREAK.sub("\n", fragment)
    text = html.unescape(_SANITIZED_TAG.sub("", marked))
    # The lines, spaces squeezed in one pass over all of them (none holds a line break).
    squeezed = _ODD_SPACES.sub(" ", "\n".join(text.splitlines()))
    lines = (line.strip() for line in squeezed.split("\n"))
    return "\n".join(line for line in lines if line)


def plain_title(value: str) -> str:
    """A title as one line of plain text, whether the feed sent text or HTML."""
    text = html_to_text(value) if _LOOKS_LIKE_HTML.search(value) else value
    return " ".join(text.split())
