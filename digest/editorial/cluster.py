"""Clustering: items from different outlets reporting the same event become one story.

Each item becomes a TF-IDF vector of its content words (title words counted ``title_boost``
times, then the lead of its text); inverse document frequencies come from the day's items, so
words every item shares ("china", "us") weigh little and the words naming the event weigh much.

Clusters are then built by average-link agglomeration: starting from one cluster per item
(items with the same canonical URL start together), the two clusters whose items are on average
most alike (cosine) are merged, again and again, while

- that average reaches ``threshold``;
- some pair of their items is alike at least ``link_factor`` times the threshold and shares at
  least ``min_shared`` words that are rare in the day's news (so two short pieces are not joined
  by common words such as "growth" or "slump"), one of them in a headline and not the name of
  one of the topic's own sides (places many of the items mention: "China" on a China beat);
- the merged cluster spans at most ``window_hours``;
- neither cluster's headlines name a country the other never mentions (a follow-up usually
  brings a new actor: "Britain weighs following the US ban"); places many of the items mention
  are the topic's own sides and do not count;
- both or neither are reactions ("China slams...", "...weighs following..."): a reaction to an
  event is a story of its own.

Ties are broken by publication time and item id, so the result does not depend on input order.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from digest.editorial.text import clean_text, content_words, stem, tokens
from digest.types import Item

__all__ = ["cluster_items", "cosine", "document_frequencies", "item_vectors", "place_words"]

#: Content words of the text taken into the vector (the lead carries the event).
_LEAD_WORDS = 60
#: Fewest documents assumed behind the inverse document frequencies.
_MIN_DOCUMENTS = 300
#: Weight kept by words that only one item uses.
_UNIQUE = 0.5

#: Title words of a reaction to an event ("China slams the US order", "Britain weighs
#: following"): a reaction is its own story, not merged into the event's unless both react.
_REACTION = frozenset(
    """
    slam condemn criticise criticize denounce rebuke blast retaliate respond react vow
    weigh mull contemplate consider urge
    """.split()  # noqa: SIM905
)
#: Fewest items of the day needed to tell rare words from common ones.
_MIN_BACKGROUND = 20
#: Share of a day's items from which on a word is common whatever ``rare_share`` says.
_COMMON_SHARE = 0.25
#: Share of the items mentioning a place from which on it is part of the topic, not an actor.
_USUAL_PLACE = 0.2
_USUAL_PLACE_MIN = 3
#: Countries and blocs (and their adjectives) as tokens, mapped to one name. A follow-up event
#: usually brings in a new actor ("Britain weighs following the US ban", "EU presses China"):
#: two clusters are not merged when one's headlines name a place the other never mentions.
_PLACES = {
    stem(token): name
    for name, forms in {
        "us": "us usa america american washington",
        "china": "china chinese beijing prc",
        "uk": "uk britain british london",
        "eu": "eu europe european brussels",
        "japan": "japan japanese tokyo",
        "korea": "korea korean seoul",
        "taiwan": "taiwan taiwanese taipei",
        "india": "india indian delhi",
        "australia": "australia australian canberra",
        "canada": "canada canadian ottawa",
        "germany": "germany german berlin",
        "france": "france french paris",
        "italy": "italy italian rome",
        "netherlands": "netherlands dutch hague",
        "russia": "russia russian moscow kremlin",
        "ukraine": "ukraine ukrainian kyiv",
        "vietnam": "vietnam vietnamese hanoi",
        "mexico": "mexico mexican",
        "brazil": "brazil brazilian",
        "indonesia": "indonesia indonesian jakarta",
        "philippines": "philippine philippines manila",
        "singapore": "singapore singaporean",
        "malaysia": "malaysia malaysian",
        "thailand": "thailand thai bangkok",
        "israel": "israel israeli",
        "iran": "iran iranian tehran",
        "saudi": "saudi riyadh",
        "turkey": "turkey turkish ankara",
        "africa": "africa african",
        "hong kong": "hong",
    }.items()
    for token in forms.split()
}


def place_words(phrases: Iterable[str]) -> dict[str, str]:
    """Every token naming a place that `phrases` name, mapped to the place ("US-China trade" ->
    the forms of the US and of China: "america" -> "us", "beijing" -> "china", ...)."""
    named = {_PLACES[t] for phrase in phrases for t in tokens(phrase) if t in _PLACES}
    return {token: place for token, place in _PLACES.items() if place in named}


def _terms(
    title_tokens: Sequence[str], text_tokens: Sequence[str], title_boost: float
) -> dict[str, float]:
    bag: dict[str, float] = defaultdict(float)
    for word in content_words(title_tokens):
        bag[word] += title_boost
    for word in content_words(text_tokens)[:_LEAD_WORDS]:
        bag[word] += 1.0
    return bag


def _reacts(token: str) -> bool:
    """Whether a title token is a reaction verb ("slams", "condemned", "weighing")."""
    if token in _REACTION:
        return True
    for suffix in ("ed", "d", "ing", "s"):
        if token.endswith(suffix) and token[: -len(suffix)] in _REACTION:
            return True
    return False


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


def _cosine(a: dict[str, float], b: dict[str, float], na: float, nb: float) -> float:
    """:func:`cosine` with both norms known (same arithmetic, so the same value to the bit)."""
    if len(a) > len(b):
        a, b = b, a
        na, nb = nb, na
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    return dot / (na * nb) if na and nb else 0.0


def _pairs_sharing(sets: Sequence[set[str]]) -> Counter[tuple[int, int]]:
    """(a, b) with a < b -> how many words sets a and b share, for the pairs sharing any."""
    postings: dict[str, list[int]] = defaultdict(list)
    for k, words in enumerate(sets):
        for word in words:
            postings[word].append(k)
    shared: Counter[tuple[int, int]] = Counter()
    for holders in postings.values():
        for x, a in enumerate(holders):
            for b in holders[x + 1 :]:
                shared[(a, b)] += 1
    return shared


@dataclass(frozen=True)
class _Day:
    """What both clustering methods derive from the day's items before they merge anything."""

    #: Item indexes by publication time.
    order: list[int]
    vectors: list[dict[str, float]]
    #: Per item: the places it mentions anywhere, and those its title names that are not usual.
    mentioned: list[set[str]]
    named: list[set[str]]
    #: Per item: whether its title reports a reaction to the news rather than the news.
    reacting: list[bool]
    #: The starting clusters: one per item, items sharing a canonical URL together.
    clusters: list[list[int]]
    #: Per item: its words rare in the day's news, and those of them in its headline.
    rare: list[set[str]]
    headline: list[set[str]]
    #: The rare words a link needs; 0 when there is no day of news to tell which are rare.
    min_shared: int


def prepare_day(
    items: Sequence[Item],
    title_boost: float,
    token_pairs: Sequence[tuple[Sequence[str], Sequence[str]]] | None,
    background: tuple[Counter[str], int] | None,
    min_shared: int,
    rare_share: float,
) -> _Day:
    if token_pairs is None:
        token_pairs = [(tokens(i.title), tokens(clean_text(i.text))) for i in items]
    order = sorted(range(len(items)), key=lambda k: (items[k].published, items[k].id))
    vectors = item_vectors(token_pairs, title_boost=title_boost, background=background)

    # Places many of the items mention are the topic's own sides, not new actors: ignored.
    mentioned = [
        {_PLACES[t] for t in (*title, *text) if t in _PLACES} for title, text in token_pairs
    ]
    common = Counter(place for found in mentioned for place in found)
    usual = {
        place
        for place, count in common.items()
        if count >= max(_USUAL_PLACE * len(items), _USUAL_PLACE_MIN)
    }
    named = [{_PLACES[t] for t in title if t in _PLACES} - usual for title, _ in token_pairs]
    reacting = [any(_reacts(t) for t in title) for title, _ in token_pairs]

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

    # A link between two stories must rest on words that name the event: at least min_shared
    # words in common that are rare in the day's news (common ones like "growth" or "slump"
    # join unrelated pieces that happen to be short), one of them in a headline.
    # Without a day of news around them, nothing tells which words are rare: the rule is off.
    if background is None or background[1] < _MIN_BACKGROUND:
        min_shared = 0
    day_df, day_n = background or (Counter(), 0)
    rare_limit = rare_share * max(day_n, _MIN_DOCUMENTS)
    # (with few items to go by, a word a quarter of them use is not rare either)
    rare_limit = min(rare_limit, _COMMON_SHARE * day_n)
    rare = [{w for w in vec if day_df.get(w, 0) <= rare_limit} for vec in vectors]
    # The topic's own sides ("China", "US" on a day of US-China news) say where the news
    # happens, not what happened: a headline word naming one does not count as the event's.
    sides = {token for token, place in _PLACES.items() if place in usual}
    headline = [
        (set(content_words(title)) & rare[k]) - sides for k, (title, _) in enumerate(token_pairs)
    ]
    return _Day(order, vectors, mentioned, named, reacting, clusters, rare, headline, min_shared)


def cluster_items(
    items: Sequence[Item],
    *,
    threshold: float = 0.15,
    window_hours: float = 36.0,
    title_boost: float = 2.0,
    token_pairs: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
    background: tuple[Counter[str], int] | None = None,
    link_factor: float = 1.75,
    min_shared: int = 2,
    rare_share: float = 0.05,
    exact: bool = False,
) -> list[list[Item]]:
    """Group `items` by event; each group and the list of groups ordered by publication time.

    `token_pairs` (title tokens, text tokens) per item may be given when already computed;
    `background` is :func:`document_frequencies` over a larger set of the same days' items.
    `exact` merges by the all-pairs reference method instead (same clusters, cubic cost), for
    the tests and the benchmark that check this one against it.

    Two clusters can only merge when some pair of their items is strongly linked (shares rare
    words and is alike at least ``link_factor`` times the threshold), so only those pairs are
    looked at: an inverted index over the rare words finds the linked item pairs, and a merge
    updates only the clusters linked to the merged ones. The result is that of the all-pairs
    method (:mod:`digest.editorial.cluster_exact`) at a cost that grows about linearly with
    the day's items instead of with their cube.
    """
    if not items:
        return []
    day = prepare_day(items, title_boost, token_pairs, background, min_shared, rare_share)
    window = timedelta(hours=window_hours)
    if exact:
        from digest.editorial.cluster_exact import merge_all_pairs  # it imports this module

        return merge_all_pairs(items, day, threshold, window, link_factor)
    order, vectors, rare, headline = day.order, day.vectors, day.rare, day.headline
    named, mentioned, reacting, clusters = day.named, day.mentioned, day.reacting, day.clusters
    min_shared = day.min_shared
    position = {k: p for p, k in enumerate(order)}
    norms = [math.sqrt(sum(v * v for v in vec.values())) for vec in vectors]
    home = {k: c for c, members in enumerate(clusters) for k in members}

    similarities: dict[tuple[int, int], float] = {}

    def sim(a: int, b: int) -> float:
        key = (a, b) if a < b else (b, a)
        value = similarities.get(key)
        if value is None:
            x, y = key
            value = similarities[key] = _cosine(vectors[x], vectors[y], norms[x], norms[y])
        return value

    # Strong links: the item pairs that can start a merge. With the rule on, they share
    # min_shared rare words, found through an index of the rare words; with it off, any word.
    min_link = threshold * link_factor
    neighbours: dict[int, set[int]] = {c: set() for c in range(len(clusters))}
    if min_shared > 0:
        candidates = _pairs_sharing(rare)
    else:
        candidates = _pairs_sharing([set(vec) for vec in vectors])
    for (a, b), count in candidates.items():
        c, d = home[a], home[b]
        if c == d or d in neighbours[c] or count < min_shared:
            continue
        if min_shared > 0 and not (rare[a] & rare[b] & (headline[a] | headline[b])):
            continue
        if sim(a, b) >= min_link:
            neighbours[c].add(d)
            neighbours[d].add(c)

    alive = dict(enumerate(clusters))
    span = {c: (items[m[0]].published, items[m[-1]].published) for c, m in alive.items()}
    places = {c: set().union(*(named[k] for k in m)) for c, m in alive.items()}
    mentions = {c: set().union(*(mentioned[k] for k in m)) for c, m in alive.items()}
    reaction = {c: all(reacting[k] for k in m) for c, m in alive.items()}
    version = dict.fromkeys(alive, 0)
    total: dict[tuple[int, int], float] = {}

    def summed(c: int, d: int) -> float:
        return sum(sim(a, b) for a in alive[c] for b in alive[d])

    # Average-link agglomeration over the linked cluster pairs: repeatedly merge the pair whose
    # items are on average most alike (ties: lowest cluster numbers), while that average
    # reaches the threshold. A heap holds the candidates; an entry whose clusters changed since
    # it was pushed is stale and skipped. Whether a pair may merge (window, places, reactions)
    # only changes when one of its clusters does, so a refused entry is simply dropped.
    heap: list[tuple[float, int, int, int, int]] = []

    def push(c: int, d: int) -> None:
        average = total[(c, d)] / (len(alive[c]) * len(alive[d]))
        if average >= threshold:
            heapq.heappush(heap, (-average, c, d, version[c], version[d]))

    for c, linked in neighbours.items():
        for d in linked:
            if c < d:
                total[(c, d)] = summed(c, d)
                push(c, d)

    while heap:
        _, c, d, seen_c, seen_d = heapq.heappop(heap)
        if c not in alive or d not in alive or version[c] != seen_c or version[d] != seen_d:
            continue
        start = min(span[c][0], span[d][0])
        end = max(span[c][1], span[d][1])
        if end - start > window:
            continue
        if places[c] - mentions[d] or places[d] - mentions[c]:
            continue
        if reaction[c] != reaction[d]:
            continue
        # Merge d into c (c < d), then renew c's totals with every cluster linked to either.
        others = (neighbours.pop(d) | neighbours[c]) - {c, d}
        before = {
            e: (
                total.pop((min(c, e), max(c, e)), None),
                total.pop((min(d, e), max(d, e)), None),
            )
            for e in others
        }
        del total[(c, d)]
        kept = {e: (summed(c, e) if of_c is None else of_c) for e, (of_c, _) in before.items()}
        joined = {e: (summed(d, e) if of_d is None else of_d) for e, (_, of_d) in before.items()}
        alive[c] = sorted(alive[c] + alive.pop(d), key=position.__getitem__)
        span[c] = (start, end)
        del span[d]
        places[c] |= places.pop(d)
        mentions[c] |= mentions.pop(d)
        reaction.pop(d)  # equal to reaction[c]: only like clusters merge
        version[c] += 1
        neighbours[c] = others
        for e in others:
            neighbours[e].discard(d)
            neighbours[e].add(c)
            key = (min(c, e), max(c, e))
            total[key] = kept[e] + joined[e]
            push(*key)
    groups = sorted(alive.values(), key=lambda m: position[m[0]])
    return [[items[k] for k in group] for group in groups]
