"""Fixtures of the editorial tests: small hand-written items, no corpus text."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from digest.editorial.topic import load_topic
from digest.types import Item, Topic

BASE = datetime(2024, 3, 5, 6, 0, tzinfo=UTC)
_ids = itertools.count(1)


def make_item(
    title: str,
    text: str = "",
    *,
    feed: str = "Example Wire",
    hours: float = -6.0,
    url: str | None = None,
) -> Item:
    """An item published `hours` after 06:00 UTC on 5 March 2024 (negative: before)."""
    n = next(_ids)
    link = url or f"https://news.example/{n}"
    published = BASE + timedelta(hours=hours)
    return Item(
        id=n,
        feed_id=abs(hash(feed)) % 1000,
        feed_title=feed,
        guid=link,
        url=link,
        canonical_url=link,
        title=title,
        summary_html=f"<p>{text}</p>",
        text=text,
        published=published,
        fetched=published,
    )


@pytest.fixture(scope="session")
def topic() -> Topic:
    return load_topic("us-china-trade")
