"""Relevance: does an item belong to the topic, and how strongly?

An item is scored from the topic's weighted term lists, matched as whole words or phrases over
its title and its (boilerplate-free) text. A term found in the title counts
``options.title_weight`` times its weight (2 by default), a term found only in the text counts
its weight once; each term counts once however often it appears, and each side is capped at
``options.side_cap`` so that a long article does not score by sheer length.

    subject = sum of weights of the subject terms found (the China side), capped
    policy  = sum of weights of the policy terms found (the trade/tech-policy side), capped
    strong  = sum of weights of the strong terms found (specific enough on their own)
    score   = strong + 2 * sqrt(subject * policy) - negative terms found
              - options.headline_penalty when the title has no subject or strong term
                (never below 0)

The geometric mean needs both sides: many China words with one weak policy word ("market")
stay low, as do many policy words with no China side at all, unless a strong term is present.
A headline that names neither the subject nor a strong term is about something else as a rule
(cattle stations for sale, with "China" once in the text as an export market), so such an item
needs a little more evidence than one whose headline names the subject.

An item is kept when its score reaches the topic's ``threshold``. Matchers are compiled once per
topic (:func:`compile_topic` is cached), and each item is tokenized once (:func:`analyze`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from digest.editorial.text import clean_text, tokens
from digest.types import Item, Topic, WeightedTerm

__all__ = [
    "Analysis",
    "CompiledTopic",
    "Scorecard",
    "analyze",
    "compile_topic",
    "relevance_score",
    "select_relevant",
]

_SUBJECT, _POLICY, _STRONG, _NEGATIVE = "subject", "policy", "strong", "negative"


@dataclass(frozen=True, slots=True)
class Analysis:
    """An item's text prepared once for every stage."""

    item: Item
    #: The text with markup and feed boilerplate removed (what summaries quote).
    clean: str
    title_tokens: tuple[str, ...]
    text_tokens: tuple[str, ...]


#: Characters of an item's text that are matched: the lead carries what the item is about, and
#: a long full-text article must not cost more than a few paragraphs.
MAX_TEXT_CHARS = 5000


def analyze(item: Item) -> Analysis:
    """Clean and tokenize an item once; every stage reuses the result."""
    clean = clean_text(item.text)
    return Analysis(
        item=item,
        clean=clean,
        title_tokens=tuple(tokens(item.title)),
        text_tokens=tuple(tokens(clean[:MAX_TEXT_CHARS])),
    )


@dataclass(frozen=True, slots=True)
class Scorecard:
    """How an item scored against a topic, side by side."""

    subject: float
    policy: float
    strong: float
    negative: float
    #: Section key -> weight of that section's terms found.
    sections: dict[str, float]
    score: float


class CompiledTopic:
    """A topic's term lists turned into a token index: one dict lookup per token of an item."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        groups: list[tuple[str, Sequence[WeightedTerm]]] = [
            (_SUBJECT, topic.subject_terms),
            (_POLICY, topic.policy_terms),
            (_STRONG, topic.strong_terms),
            (_NEGATIVE, topic.negative_terms),
        ]
        groups += [("section:" + s.key, s.terms) for s in topic.sections]
        self.group_names = [name for name, _ in groups]
        #: first token -> [(the phrase's tokens, group, weight, term id)]
        self._index: dict[str, list[tuple[tuple[str, ...], str, float, int]]] = {}
        term_id = 0
        for group, terms in groups:
            for term in terms:
                seq = tuple(tokens(term.phrase))
                if not seq:
                    continue
                self._index.setdefault(seq[0], []).append((seq, group, term.weight, term_id))
                term_id += 1

    def match(self, toks: Sequence[str]) -> dict[int, tuple[str, float]]:
        """Term id -> (group, weight) for every term found in `toks`."""
        found: dict[int, tuple[str, float]] = {}
        index = self._index
        n = len(toks)
        for i, tok in enumerate(toks):
            candidates = index.get(tok)
            if candidates is None:
                continue
            for seq, group, weight, term_id in candidates:
                size = len(seq)
                if size == 1 or (i + size <= n and tuple(toks[i : i + size]) == seq):
                    found[term_id] = (group, weight)
        return found

    def scorecard(self, analysis: Analysis, options: dict[str, Any] | None = None) -> Scorecard:
        """Score one analysed item; `options` default to the compiled topic's own."""
        if options is None:
            options = self.topic.options
        title_weight = float(options.get("title_weight", 2.0))
        side_cap = float(options.get("side_cap", 8.0))
        in_title = self.match(analysis.title_tokens)
        in_text = self.match(analysis.text_tokens)
        totals = dict.fromkeys(self.group_names, 0.0)
        for term_id, (group, weight) in in_text.items():
            if term_id not in in_title:
                totals[group] += weight
        for group, weight in in_title.values():
            totals[group] += weight * title_weight
        subject = min(totals[_SUBJECT], side_cap)
        policy = min(totals[_POLICY], side_cap)
        strong = totals[_STRONG]
        negative = totals[_NEGATIVE]
        score = strong + 2.0 * math.sqrt(subject * policy) - negative
        if score > 0 and not any(group in (_SUBJECT, _STRONG) for group, _ in in_title.values()):
            # the headline says what an item is mainly about: one naming neither the subject
            # nor a strong term mentions the topic in passing, so it needs more evidence
            score = max(score - float(options.get("headline_penalty", 0.0)), 0.0)
        sections = {
            name.removeprefix("section:"): value
            for name, value in totals.items()
            if name.startswith("section:")
        }
        return Scorecard(subject, policy, strong, negative, sections, round(score, 4))


@lru_cache(maxsize=16)
def compile_topic(topic: Topic) -> CompiledTopic:
    """The compiled matchers of `topic`, built once and reused for every item."""
    return CompiledTopic(topic)


def relevance_score(item: Item, topic: Topic) -> float:
    """How strongly `item` belongs to `topic` (compare with ``topic.threshold``)."""
    return compile_topic(topic).scorecard(analyze(item), topic.options).score


def select_relevant(items: Iterable[Item], topic: Topic) -> list[tuple[Item, float]]:
    """The items scoring at least the topic's threshold, with their scores, in input order."""
    compiled = compile_topic(topic)
    kept = []
    for item in items:
        score = compiled.scorecard(analyze(item), topic.options).score
        if score >= topic.threshold:
            kept.append((item, score))
    return kept
