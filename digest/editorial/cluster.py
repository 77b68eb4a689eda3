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
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta

from digest.editorial.text import clean_text, content_words, tokens
from digest.types import Item

__all__ = ["cluster_items", "cosine", "document_frequencies", "item_vectors"]

#: Content words of the text taken into the vector (the lead carries the event).
_LEAD_WORDS = 60
#: Weight kept by words that only one item uses.
_UNIQUE = 0.5


def _terms(title_tokens: Sequence[str], text_tokens: Sequence[str], title_boost: float) -> Counter[str]:
    bag: Counter[str] = Counter()
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
    threshold: float = 0.35,
    window_hours: float = 36.0,
    title_boost: float = 2.0,
    token_pairs: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
    background: tuple[Counter[str], int] | None = None,
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

    members: list[list[int]] = []
    centroids: list[dict[str, float]] = []
    by_url: dict[str, int] = {}
    for k in order:
        item = items[k]
        target = by_url.get(item.canonical_url) if item.canonical_url else None
        if target is None:
            best, best_sim = None, threshold
            for c, centroid in enumerate(centroids):
                latest = items[members[c][-1]].published
                if item.published - latest > window:
                    continue
                sim = cosine(vectors[k], centroid)
                if sim >= best_sim and (best is None or sim > best_sim):
                    best, best_sim = c, sim
            target = best
        if target is None:
            members.append([k])
            centroids.append(dict(vectors[k]))
            target = len(members) - 1
        else:
            members[target].append(k)
            centroid = centroids[target]
            for w, v in vectors[k].items():
                centroid[w] = centroid.get(w, 0.0) + v
        if item.canonical_url:
            by_url.setdefault(item.canonical_url, target)
    return [[items[k] for k in group] for group in members]
