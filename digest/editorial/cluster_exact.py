"""The exact (all pairs) clustering, kept as the reference :func:`cluster_items` is checked against.

Same rules as :mod:`digest.editorial.cluster`, computed the straightforward way: the similarity
of every pair of items, and at each step a scan over every pair of clusters. Its cost grows with
the cube of the day's items once merges start, so the pipeline never asks for it; the tests and
the clustering benchmark call ``cluster_items(..., exact=True)`` to compare the blocked method's
clusters and time with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from digest.editorial.cluster import _Day, cosine
from digest.types import Item

__all__ = ["merge_all_pairs"]


def merge_all_pairs(
    items: Sequence[Item], day: _Day, threshold: float, window: timedelta, link_factor: float
) -> list[list[Item]]:
    """The day's prepared items merged by comparing every pair: what ``cluster_items(...,
    exact=True)`` returns, and the same clusters the blocked method must find."""
    order, vectors, rare, headline = day.order, day.vectors, day.rare, day.headline
    named, mentioned, reacting, clusters = day.named, day.mentioned, day.reacting, day.clusters
    min_shared = day.min_shared

    # Average-link agglomeration: repeatedly merge the two clusters whose items are on average
    # most alike, while that average reaches the threshold, some pair of their items is alike
    # at least link_factor times the threshold, and the merged cluster spans at most the
    # merge window.
    n = len(items)
    sim = [[0.0] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            sim[a][b] = sim[b][a] = cosine(vectors[a], vectors[b])

    def linked(a: int, b: int) -> bool:
        if min_shared <= 0:
            return True
        shared = rare[a] & rare[b]
        return len(shared) >= min_shared and bool(shared & (headline[a] | headline[b]))

    link = [[sim[a][b] if a != b and linked(a, b) else 0.0 for b in range(n)] for a in range(n)]
    alive = {c: members for c, members in enumerate(clusters)}
    span = {c: (items[m[0]].published, items[m[-1]].published) for c, m in alive.items()}
    places = {c: set().union(*(named[k] for k in m)) for c, m in alive.items()}
    mentions = {c: set().union(*(mentioned[k] for k in m)) for c, m in alive.items()}
    reaction = {c: all(reacting[k] for k in m) for c, m in alive.items()}
    total: dict[tuple[int, int], float] = {}
    strongest: dict[tuple[int, int], float] = {}
    ids = sorted(alive)
    for x, c in enumerate(ids):
        for d in ids[x + 1 :]:
            value = sum(sim[a][b] for a in alive[c] for b in alive[d])
            if value > 0:
                total[(c, d)] = value
                strongest[(c, d)] = max(link[a][b] for a in alive[c] for b in alive[d])
    min_link = threshold * link_factor
    while True:
        best, best_pair = threshold, None
        for (c, d), value in total.items():
            start = min(span[c][0], span[d][0])
            end = max(span[c][1], span[d][1])
            if end - start > window:
                continue
            if strongest[(c, d)] < min_link:
                continue
            if places[c] - mentions[d] or places[d] - mentions[c]:
                continue
            if reaction[c] != reaction[d]:
                continue
            average = value / (len(alive[c]) * len(alive[d]))
            if average >= best and (best_pair is None or average > best or (c, d) < best_pair):
                best, best_pair = average, (c, d)
        if best_pair is None:
            break
        c, d = best_pair
        alive[c] = sorted(alive[c] + alive.pop(d), key=order.index)
        span[c] = (min(span[c][0], span[d][0]), max(span[c][1], span[d][1]))
        del span[d]
        places[c] |= places.pop(d)
        mentions[c] |= mentions.pop(d)
        reaction.pop(d)  # equal to reaction[c]: only like clusters merge
        merged: dict[tuple[int, int], float] = {}
        merged_strongest: dict[tuple[int, int], float] = {}
        for (x, y), value in total.items():
            x2 = c if x == d else x
            y2 = c if y == d else y
            if x2 == y2:
                continue
            key = (min(x2, y2), max(x2, y2))
            merged[key] = merged.get(key, 0.0) + value
            merged_strongest[key] = max(merged_strongest.get(key, 0.0), strongest[(x, y)])
        total, strongest = merged, merged_strongest
    groups = sorted(alive.values(), key=lambda m: order.index(m[0]))
    return [[items[k] for k in group] for group in groups]
