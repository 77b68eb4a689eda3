"""Pointers: a lone item that only points to the day's news on the beat is listed under the
day's lead story instead of standing as a story of its own.

Some items report no event of their own. A newsletter's teaser is headed with the beat itself
("Washington and Beijing trade barbs again") and its text only lists the newsletter's other
subjects; alone it makes a story with nothing under its headline to say which news it means.
Read on the day, it means the day's big story. The rule:

- a **pointer** is a story of one item without a summary (its text gave no sentence of its
  own: empty, a teaser, a list of other subjects) whose headline is about the beat as a whole:
  it names at least two of the topic's sides (the places its subject and strong terms name:
  China and the US on this beat) and no one else. A capitalised word that is not a side is a
  name unless the day's news also writes it in lower case (so "Trade" opening a headline, or a
  word of a headline in title case, is an ordinary word, and "Micron" is a name);
- the **lead** is the highest-scoring story with a summary that is not a pointer; it is
  **clearly ahead** when its score is at least ``ratio`` times the next story's (pointers
  aside), or when there is no other story;
- when the lead is clearly ahead, the pointers are listed among its sources, after its own; the
  lead keeps its headline, summary, section and score (a pointer adds no news, so no weight).
  Otherwise the pointers stay as they are. ``ratio`` 0 turns the rule off.

Pure: stories and texts in, stories out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from digest.editorial.cluster import place_words
from digest.editorial.text import STOP_WORDS, tokens
from digest.types import Story, Topic

__all__ = ["about_the_beat", "fold_pointers", "lower_case_words", "topic_sides"]

#: A word as written, case kept: letters with inner apostrophes or dots ("China's", "U.S.");
#: a hyphen splits ("US-China" is two words).
_WRITTEN = re.compile(r"[^\W\d_]+(?:['’.][^\W\d_]+)*\.?")
#: A word written in lower case (not the tail of another word or of "U.S.").
_LOWER = re.compile(r"(?<![\w'’.])[a-z]{2,}")


def topic_sides(topic: Topic) -> dict[str, str]:
    """Token -> side, for every form of the places the topic's subject and strong terms name."""
    return place_words(term.phrase for term in (*topic.subject_terms, *topic.strong_terms))


def lower_case_words(texts: Iterable[str]) -> frozenset[str]:
    """The tokens of the words that `texts` write in lower case somewhere: ordinary words."""
    found: set[str] = set()
    for text in texts:
        found.update(_LOWER.findall(text))
    return frozenset(token for word in found for token in tokens(word))


def about_the_beat(headline: str, sides: Mapping[str, str], lower_words: frozenset[str]) -> bool:
    """Whether `headline` names at least two sides and no one else (see the module docstring)."""
    named: set[str] = set()
    for word in _WRITTEN.findall(headline):
        if not word[0].isupper():
            continue  # an ordinary word ("us" is not the US)
        for token in tokens(word):
            if token in sides:
                named.add(sides[token])
            elif token not in STOP_WORDS and token not in lower_words:
                return False  # a name: a person, company, body or place of its own
    return len(named) >= 2


def fold_pointers(
    stories: Sequence[Story], *, sides: Mapping[str, str], day_texts: Iterable[str], ratio: float
) -> list[Story]:
    """`stories` with the pointers listed under the lead story when it is clearly ahead (see the
    module docstring); unchanged otherwise, and with `ratio` 0.

    `day_texts` are the titles and texts of the day's news, read only when a lone item without a
    summary has a headline naming two sides (to tell the names in it from ordinary words).
    """
    if ratio <= 0:
        return list(stories)
    # the cheap tests first: the day's words are read only for a lone headline naming two sides
    lone = [
        len(story.sources) == 1
        and not story.summary.strip()
        and len({sides[t] for t in tokens(story.title) if t in sides}) >= 2
        for story in stories
    ]
    if not any(lone):
        return list(stories)
    lower_words = lower_case_words(day_texts)
    pointer = [
        alone and about_the_beat(story.title, sides, lower_words)
        for alone, story in zip(lone, stories, strict=True)
    ]
    ranked = sorted(
        (k for k in range(len(stories)) if not pointer[k]),
        key=lambda k: (-stories[k].score, stories[k].published, stories[k].title),
    )
    leads = [k for k in ranked if stories[k].summary.strip()]
    if not any(pointer) or not leads:
        return list(stories)
    lead = leads[0]
    runner_up = next((k for k in ranked if k != lead), None)
    if runner_up is not None and stories[lead].score < ratio * stories[runner_up].score:
        return list(stories)
    folded = [source for k, story in enumerate(stories) if pointer[k] for source in story.sources]
    merged = replace(
        stories[lead],
        sources=(*stories[lead].sources, *folded),
        # a story's time is its earliest source's, the pointers' included
        published=min(stories[lead].published, *(source.published for source in folded)),
    )
    return [merged if k == lead else story for k, story in enumerate(stories) if not pointer[k]]
