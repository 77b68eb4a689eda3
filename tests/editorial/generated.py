"""A generated day of news for clustering at scale: made-up events told by several outlets.

Each event has its own made-up names (a company, a place, an official) and an action; outlets
retell it with their own wording around a shared topic vocabulary, within hours of each other.
Some events share a name (one company, two events), some titles react ("... slams ..."), some
name a country, so every merge rule of the clusterer has work to do. Seeded: the same arguments
always give the same items.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from digest.editorial.cluster import document_frequencies
from digest.editorial.text import tokens
from digest.types import Item


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_TOPIC = _words(
    "china chinese us trade tariff chip export control market economy ministry "
    "official company rules plan government shares investors growth talks imports "
    "curbs technology"
)
_POLICY = ("tariff", "export curbs", "chip", "trade", "sanctions", "investment")
_ACTIONS = _words(
    "bans blocks approves probes fines sues halts extends raises cuts delays wins "
    "loses signs unveils targets expands drops"
)
_FILLER = _words(
    "analysts expect move statement sources people familiar matter decision amid "
    "concerns pressure sector global supply demand report agency month quarter "
    "outlook industry"
)
_PLACES = _words("japan korea germany india vietnam mexico brazil australia canada france")
_OUTLETS = [f"Outlet {k}" for k in range(12)]
_SYLLABLES = _words("ka ro ven tal mi zor bex lu dan qui sar pel nov tri gam os")


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


def generated_day(
    events: int, *, seed: int = 1, start: datetime | None = None
) -> tuple[list[Item], tuple[Counter[str], int]]:
    """Items of `events` made-up events, and the day's document frequencies around them
    (the items plus as many unrelated ones), as :func:`cluster_items` takes them."""
    rng = random.Random(seed)
    start = start or datetime(2024, 3, 4, 6, tzinfo=UTC)
    names = [_name(rng) for _ in range(max(3, events))]
    items: list[Item] = []
    for event in range(events):
        who = rng.choice(names[: max(3, events // 3)])  # companies recur across events
        what = names[event]
        action = rng.choice(_ACTIONS)
        place = rng.choice(_PLACES) if rng.random() < 0.2 else ""
        react = rng.random() < 0.1
        moment = start + timedelta(hours=rng.uniform(0, 24))
        for _ in range(rng.choice((1, 1, 2, 3, 4, 6))):
            side = rng.choice(("china", "chinese", "beijing"))
            words = [who, action, what, side, rng.choice(_POLICY), *rng.sample(_TOPIC, 2)]
            if place:
                words.append(place)
            if react:
                words.insert(0, "china slams")
            rng.shuffle(words)
            text = " ".join(
                [who, what, action, *rng.sample(_TOPIC, 5), *rng.sample(_FILLER, 6)]
            ).capitalize()
            items.append(
                _item(
                    len(items) + 1,
                    " ".join(words).capitalize(),
                    text + ".",
                    rng.choice(_OUTLETS),
                    moment + timedelta(hours=rng.uniform(-3, 3)),
                )
            )
    unrelated = [" ".join(rng.sample(_FILLER, 5) + [_name(rng)]) for _ in range(len(items))]
    pairs = [(tokens(i.title), tokens(i.text)) for i in items]
    pairs += [(tokens(u), tokens(u)) for u in unrelated]
    return items, document_frequencies(pairs)


def _item(n: int, title: str, text: str, feed: str, published: datetime) -> Item:
    link = f"https://generated.example/{n}"
    return Item(
        id=n,
        feed_id=int(feed.split()[-1]),
        feed_title=feed,
        guid=link,
        url=link,
        canonical_url=link,
        title=title,
        summary_html=text,
        text=text,
        published=published,
        fetched=published,
    )
