"""Summaries: one or two sentences taken verbatim from the story's own items.

Extractive only, never rewritten: every sentence of a summary appears as-is in the cleaned text
of one of the items (or in its title when the item has no text). Rules:

- at most ``max_words`` words and at most two sentences; a sentence is never cut, so when the
  best sentence alone is longer than the limit it is used alone;
- a wire dateline opening a sentence ("BEIJING, Oct 17 (Reuters) -") is trimmed off it;
- no sentence that starts with a dangling reference ("He said", "This is", "But ...") or that
  the feed truncated ("..." at the end), nor calls to action ("Sign up", "Click here");
- no sentence that is a copy of the story's headline, shown just above it (a story whose
  only sentence is its headline has no summary);
- never two sentences saying the same thing: a second sentence sharing most of the content
  words of the shorter of the two is a repeat, whichever way round;
- with several items, the sentences most central to the whole cluster win: a sentence scores
  by how many of the cluster's outlets use its words (title words count extra), favouring the
  lead of each item and, on a tie, the earliest item.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from digest.editorial.datelines import strip_dateline
from digest.editorial.text import clean_text, content_words, split_sentences, tokens, word_count
from digest.types import Item

__all__ = ["candidate_sentences", "summarize"]

_DANGLING = frozenset(
    """
    he she they it its his her their theirs them him this that these those but and or also
    however meanwhile still yet so instead then thus hence such
    """.split()  # noqa: SIM905
)
_FIRST_WORD = re.compile(r"[\"'“‘(]*([A-Za-z]+)")
_JUNK = re.compile(
    r"\b(?:click here|sign up|subscribe|newsletter|follow us|cookies?|all rights reserved|"
    r"watch the video|listen to|download the app)\b",
    re.I,
)
_MIN_WORDS = 5
#: Share of the shorter sentence's content words that, found in another, make it a repeat.
_DUPLICATE_SHARE = 0.5
#: Share of the two word sets in common (Jaccard) that makes a sentence a copy of the headline.
_HEADLINE_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class _Candidate:
    item_rank: int
    position: int
    text: str
    words: frozenset[str]


def _usable(sentence: str) -> bool:
    if word_count(sentence) < _MIN_WORDS:
        return False
    match = _FIRST_WORD.match(sentence)
    if match is None or match.group(1)[0].islower() or match.group(1).lower() in _DANGLING:
        return False
    stripped = sentence.rstrip("\"'”’) ")
    if stripped.endswith(("...", "…", ":", ",", ";", "-", "–", "—")):
        return False
    return _JUNK.search(sentence) is None


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sentences say mostly the same thing: most words of the shorter are in the
    other. Measured on the shorter one, so a sentence that restates another and adds a clause
    ("China banned gallium exports" / "China banned gallium exports on Monday, officials
    said") counts as a repeat either way round."""
    return len(a & b) > _DUPLICATE_SHARE * min(len(a), len(b))


def _restates(sentence: frozenset[str], headline: frozenset[str]) -> bool:
    """Whether a sentence is the headline again (nearly the same words, both ways round).

    Stricter than :func:`_near_duplicate`: a lead usually holds the headline's words and adds
    who, when and why, and it is the best summary there is; only a copy adds nothing.
    """
    if not headline:
        return False
    return len(sentence & headline) >= _HEADLINE_SHARE * len(sentence | headline)


def _terminated(sentence: str) -> bool:
    return sentence.rstrip("\"'”’) ").endswith((".", "!", "?"))


def candidate_sentences(item: Item, clean: str | None = None) -> list[str]:
    """The sentences of `item` a summary may use, in document order."""
    if clean is None:
        clean = clean_text(item.text)
    source = clean if clean else item.title.strip()
    trimmed = (strip_dateline(sentence) for sentence in split_sentences(source))
    return [sentence for sentence in trimmed if _usable(sentence)]


def summarize(
    items: Sequence[Item],
    max_words: int = 50,
    *,
    cleaned: Sequence[str] | None = None,
    headline: str = "",
) -> str:
    """An extractive summary of the story told by `items` ("" when no sentence qualifies).

    `cleaned` (the items' texts after :func:`clean_text`) may be given when already computed.
    A sentence that only restates `headline` (the story's headline, shown above the summary)
    is not used.
    """
    if not items:
        return ""
    order = sorted(range(len(items)), key=lambda k: (items[k].published, items[k].id))
    if cleaned is None:
        cleaned = [clean_text(item.text) for item in items]

    # How central each word is: the share of outlets using it (two feeds of one outlet count
    # once), plus a bonus for title words.
    used_by: dict[str, set[str]] = {}
    title_words: set[str] = set()
    for k, item in enumerate(items):
        title = set(content_words(tokens(item.title)))
        title_words |= title
        for word in title | set(content_words(tokens(cleaned[k]))):
            used_by.setdefault(word, set()).add(item.outlet or item.feed_title)
    doc_freq = {word: len(outlets) for word, outlets in used_by.items()}
    n = len({item.outlet or item.feed_title for item in items})

    def weight(word: str) -> float:
        return doc_freq.get(word, 0) / n + (0.5 if word in title_words else 0.0)

    headline_words = frozenset(content_words(tokens(headline)))
    candidates: list[_Candidate] = []
    for rank, k in enumerate(order):
        for position, sentence in enumerate(candidate_sentences(items[k], cleaned[k])):
            words = frozenset(content_words(tokens(sentence)))
            if words and not _restates(words, headline_words):
                candidates.append(_Candidate(rank, position, sentence, words))
    if not candidates:
        return ""

    def score(c: _Candidate) -> float:
        centrality = sum(weight(w) for w in c.words) / math.sqrt(len(c.words) + 1)
        return centrality * (1.0 / (1.0 + 0.15 * c.position))

    ranked = sorted(candidates, key=lambda c: (-score(c), c.item_rank, c.position))
    first = ranked[0]
    used = word_count(first.text)
    if used >= max_words:
        return first.text

    second = None
    if not _terminated(first.text):
        return first.text  # a standfirst without a full stop reads badly followed by more
    for c in ranked[1:]:
        if not _terminated(c.text):
            continue
        if used + word_count(c.text) > max_words or c.text == first.text:
            continue
        # A second sentence must add news, not say the first one again in other words.
        if _near_duplicate(c.words, first.words):
            continue
        if c.item_rank != first.item_rank and score(c) < 0.5 * score(first):
            continue
        second = c
        break
    if second is None:
        return first.text
    pair = sorted((first, second), key=lambda c: (c.item_rank != first.item_rank, c.position))
    if second.item_rank != first.item_rank:
        pair = [first, second]
    return " ".join(c.text for c in pair)
