"""Clustering: items from different outlets reporting the same event become one story.

Each item becomes a TF-IDF vector of its content words (title words counted ``title_boost``
times, then the lead of its text); inverse document frequencies come from the items being
clustered, so words every item shares ("china", "us") weigh little and the words naming the
event weigh much. Items are then taken oldest first and each joins the existing cluster whose
centroid it resembles most (cosine similarity), provided that similarity reaches ``threshold``
and the cluster has an item within ``window_hours``; otherwise it starts a new cluster. Items
with the same canonical URL are always the same story. Ties are broken by publication time and
item id, so the result does not depend on the order of the input.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta

from digest.editorial.text import clean_text, content_words, tokens
from digest.types import Item

__all__ = ["cluster_items", "cosine", "document_frequencies", "item_vectors"]

#: Content words of the text taken into the vector (the lead carries the event).
_LEAD_WORDS = 60
#: Fewest documents assumed behind the inverse document frequencies.
_MIN_DOCUMENTS = 300
#: Weight kept by words that only one item uses.
_UNIQUE = 0.5


def _terms(
    title_tokens: Sequence[str], text_tokens: Sequence[str], title_boost: float
) -> dict[str, float]:
    bag: dict[str, float] = defaultdict(float)
    for word in content_words(title_tokens):
        bag[word] += title_boost
    for word in content_words(text_tokens)[:_LEAD_WORDS]:
        bag[word] += 1.0
    return bag


def document_frequencies(
    token_pairs: Iterable[tuple[Sequence[str], Sequence[str]]],
) -> tuple[Counter[str], int]:
    """How many of the given (title, text) token pairs use each content word, and how many pairs.

    Computed over a whole day of items, this tells which words are common news vocabulary and
    which name a specific event; :func:`cluster_items` takes it as ``background``.
    """
    df: Counter[str] = Counter()
    n = 0
    for title, text in token_pairs:
        df.update(set(_terms(title, text, 1.0)))
        n += 1
    return df, n


def item_vectors(
    token_pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
    *,
    title_boost: float = 2.0,
    background: tuple[Counter[str], int] | None = None,
) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors of (title tokens, text tokens) pairs.

    IDF comes from `background` (document frequencies over a larger set, e.g. the day's items)
    when given, else from the pairs themselves.
    """
    bags = [_terms(title, text, title_boost) for title, text in token_pairs]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    idf_df, idf_n = background if background is not None else (df, len(bags))
    # A handful of items says little about how rare a word is: count them as part of at least
    # a day's worth of news (the other items simply not using the word).
    idf_n = max(idf_n, _MIN_DOCUMENTS)
    vectors = []
    for bag in bags:
        # Words no other item uses cannot make two items alike; they only dilute the vector.
        vec = {
            w: (1.0 + math.log(tf))
            * math.log((idf_n + 1) / (max(idf_df.get(w, 0), df[w]) + 0.5))
            * (_UNIQUE if df[w] == 1 else 1.0)
            for w, tf in bag.items()
        }
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({w: v / norm for w, v in vec.items() if v > 0})
    return vectors


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def cluster_items(
    items: Sequence[Item],
    *,
    threshold: float = 0.18,
    window_hours: float = 36.0,
    title_boost: float = 2.0,
    token_pairs: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
    background: tuple[Counter[str], int] | None = None,
    link_factor: float = 1.75,
) -> list[list[Item]]:
    """Group `items` by event; each group and the list of groups ordered by publication time.

    `token_pairs` (title tokens, text tokens) per item may be given when already computed;
    `background` is :func:`document_frequencies` over a larger set of the same days' items.
    """
    if not items:
        return []
    if token_pairs is None:
        token_pairs = [(tokens(i.title), tokens(clean_text(i.text))) for i in items]
    order = sorted(range(len(items)), key=lambda k: (items[k].published, items[k].id))
    vectors = item_vectors(token_pairs, title_boost=title_boost, background=background)
    window = timedelta(hours=window_hours)

    # Start from one cluster per item (items sharing a canonical URL start together).
    clusters: list[list[int]] = []
    by_url: dict[str, int] = {}
    for k in order:
        url = items[k].canonical_url
        if url and url in by_url:
            clusters[by_url[url]].append(k)
        else:
            if url:
                by_url[url] = len(clusters)
            clusters.append([k])

    # Average-link agglomeration: repeatedly merge the two clusters whose items are on average
    # most alike, while that average reaches the threshold, some pair of their items is alike
    # at least link_factor times the threshold, and the merged cluster spans at most the
    # merge window.
    n = len(items)
    sim = [[0.0] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            sim[a][b] = sim[b][a] = cosine(vectors[a], vectors[b])
    alive = {c: members for c, members in enumerate(clusters)}
    span = {c: (items[m[0]].published, items[m[-1]].published) for c, m in alive.items()}
    total: dict[tuple[int, int], float] = {}
    strongest: dict[tuple[int, int], float] = {}
    ids = sorted(alive)
    for x, c in enumerate(ids):
        for d in ids[x + 1 :]:
            value = sum(sim[a][b] for a in alive[c] for b in alive[d])
            if value > 0:
                total[(c, d)] = value
                strongest[(c, d)] = max(sim[a][b] for a in alive[c] for b in alive[d])
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
            average = value / (len(alive[c]) * len(alive[d]))
            if average >= best and (best_pair is None or average > best or (c, d) < best_pair):
                best, best_pair = average, (c, d)
        if best_pair is None:
            break
        c, d = best_pair
        alive[c] = sorted(alive[c] + alive.pop(d), key=order.index)
        span[c] = (min(span[c][0], span[d][0]), max(span[c][1], span[d][1]))
        del span[d]
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
