"""The shortcuts of the parse path (plain RFC 822 dates, plain links, text squeezing) give
exactly what the general code they skip gives."""

from __future__ import annotations

import html
import random
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from digest.ingest.dates import _rfc822, parse_date
from digest.ingest.sanitize import (
    _BLOCK_BREAK,
    _ODD_SPACES,
    _SANITIZED_TAG,
    _SPACES,
    sanitized_to_text,
)
from digest.ingest.urls import http_link

DATES = [
    "Mon, 14 Aug 2023 09:05:00 +0000",
    "14 Aug 2023 09:05 GMT",
    "Tue, 1 aug 2023 23:59:59 -0530",
    "Sat,12 Aug 2023 10:00:00 +1400",
    "Fri, 11 Aug 2023 10:00:00 -0000",
    "Sat, 12 Aug 2023 10:00:00 UT",
    "Sat, 12 Aug 2023 10:00:00 UTC",
    "Sat, 12 Aug 2023 10:00:00 Z",
    "Sun, 31 Dec 2023 23:30:00 -0100",  # crosses into the next year in UTC
    "Wed, 31 Feb 2023 10:00:00 +0000",  # no such day
    "Fri, 11 Aug 2023 25:00:00 +0000",
    "Fri, 11 Aug 2023 10:00:60 +0000",
    "Sat, 12 Aug 0023 10:00:00 +0000",  # a two-digit year in disguise: the email rules
    "Sat, 12 Aug 2023 10:00:00 EST",
    "Sat, 12 Foo 2023 10:00:00 +0000",
]


@pytest.mark.parametrize("value", DATES)
def test_rfc822_dates_read_as_the_email_package_reads_them(value: str):
    try:
        expected = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        expected = None
    if expected is None:
        assert _rfc822(value) is None  # the shortcut declines: the general parsers decide
        return
    if expected.tzinfo is None:
        expected = expected.replace(tzinfo=UTC)
    assert parse_date(value) == expected.astimezone(UTC)


def general_http_link(link: str) -> str:
    link = link.strip()
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    return link if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


LINKS = [
    "https://news.example/world/2026/03/10/tariffs",
    "HTTP://News.Example:8080/a?b=c#d",
    "https://news.example",
    "https://news.example?x=1",
    "https://user@news.example/p",
    "https://[::1]/p",
    "https://[::1/p",
    "https:///no-host",
    "http://",
    "javascript:alert(1)",
    "  https://news.example/padded  ",
    "https://news.example/a b",
    "ftp://news.example/file",
    "https://café.example/x",
]


@pytest.mark.parametrize("link", LINKS)
def test_plain_links_are_judged_as_the_url_parser_judges_them(link: str):
    assert http_link(link) == general_http_link(link)


def per_line_text(fragment: str) -> str:
    marked = _BLOCK_BREAK.sub("\n", fragment)
    text = html.unescape(_SANITIZED_TAG.sub("", marked))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


@pytest.mark.parametrize(
    "fragment",
    [
        "<p>One  \t two</p><p>\u00a0three\u00a0\u00a0four </p>",
        "line\vbreaks\fof\x1cevery\x85kind\u2028here\r\nand\rthere",
        "<p>&nbsp;&nbsp;</p><br><li>item</li>   ",
        "",
    ],
)
def test_text_is_squeezed_as_line_by_line(fragment: str):
    assert sanitized_to_text(fragment) == per_line_text(fragment)


def test_odd_space_runs_are_squeezed_as_every_run_would_be():
    """Only runs that are not already one space are replaced: the same text either way."""
    rnd = random.Random(17)
    alphabet = [" ", "\t", "\f", "\v", "\u00a0", "a", "b", "\n"]
    for _ in range(20_000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        assert _ODD_SPACES.sub(" ", text) == _SPACES.sub(" ", text), repr(text)
