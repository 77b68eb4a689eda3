"""Near misses: an item just below the relevance threshold that is another outlet's copy of a
story already in the edition joins that story.

An item can fall short of the threshold because its own words are thin (a headline and a stray
standfirst) while it reports the very event other outlets carried: "China bans Micron's
products from key infrastructure" under a description about something else. When it plainly
repeats a story the edition carries, the outlets' agreement says it is on topic.

It joins a story, never makes one: a near miss that repeats no story stays out, so a lookalike
below the threshold cannot add a story the relevance rules did not already let in, and stories
are never merged through it. "Plainly repeats" is stricter than the clustering's link: with
some item of the story it shares at least ``min_shared`` words rare in the day's news that
both headlines use (the topic's own sides, such as "China", do not count) and its cosine
similarity reaches ``similarity``; on average it is as alike to the story's items as a merge
needs (``threshold``), and the story with it spans at most ``window_hours``. Of several such
stories the one it is most alike to on average takes it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta

from digest.editorial.cluster import cosine, prepare_day
from digest.types import Item

__all__ = ["attach_near_misses"]


def attach_near_misses(
    groups: Sequence[Sequence[Item]],
    near_misses: Sequence[Item],
    *,
    token_pairs: dict[int, tuple[Sequence[str], Sequence[str]]],
    background: tuple[Counter[str], int] | None,
    threshold: float = 0.15,
    similarity: float = 0.5,
    window_hours: float = 36.0,
    title_boost: float = 2.0,
    min_shared: int = 2,
    rare_share: float = 0.05,
) -> list[list[Item]]:
    """`groups` with each near miss added to the story it plainly repeats, if any.

    `token_pairs` maps item id to (title tokens, text tokens) for every item of `groups` and
    `near_misses`; `background` is the day's document frequencies, as for clustering. Each
    group comes back ordered by publication time (then id).
    """
    grouped = [item for group in groups for item in group]
    if not grouped or not near_misses:
        return [list(group) for group in groups]
    items = [*grouped, *near_misses]
    pairs = [token_pairs[item.id] for item in items]
    day = prepare_day(items, title_boost, pairs, background, min_shared, rare_share)
    if day.min_shared <= 0:  # no day of news to tell an event's words from the beat's
        return [list(group) for group in groups]
    home: list[int] = [g for g, group in enumerate(groups) for _ in group]
    members: dict[int, list[int]] = defaultdict(list)
    # an index of the grouped items' headline words: only stories sharing enough of them with
    # a near miss are looked at, so the cost grows with the near misses, not with their product
    by_word: dict[str, list[int]] = defaultdict(list)
    for k, g in enumerate(home):
        members[g].append(k)
        for word in day.headline[k]:
            by_word[word].append(k)
    window = timedelta(hours=window_hours)
    joined: dict[int, list[Item]] = defaultdict(list)
    for m, item in enumerate(near_misses, start=len(grouped)):
        shared = Counter(k for word in day.headline[m] for k in by_word.get(word, ()))
        repeated = {k for k, count in shared.items() if count >= day.min_shared}
        best: tuple[float, int] | None = None
        for g in sorted({home[k] for k in repeated}):
            sims = [cosine(day.vectors[m], day.vectors[k]) for k in members[g]]
            average = sum(sims) / len(sims)
            if average < threshold or (best is not None and average <= best[0]):
                continue
            times = [i.published for i in groups[g]]
            if max(*times, item.published) - min(*times, item.published) > window:
                continue
            if any(
                sim >= similarity and k in repeated for k, sim in zip(members[g], sims, strict=True)
            ):
                best = (average, g)
        if best is not None:
            joined[best[1]].append(item)
    return [
        sorted([*group, *joined.get(g, [])], key=lambda i: (i.published, i.id))
        for g, group in enumerate(groups)
    ]
