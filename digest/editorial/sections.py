"""Sections and ranking.

- A story goes to the section whose terms score highest over all its items (title matches count
  ``options.title_weight`` times, see :mod:`digest.editorial.relevance`); ties go to the section
  listed first in the topic; a story matching no section term goes to the topic's last section.
- A story's score grows with the number of distinct outlets that carried it, its best item's
  relevance and its recency within the edition's window (weights in the topic's options).
- Within a section stories are ordered by score (then earliest first). Sections are ordered by
  the score of their lead story times the section's ``rank_weight`` (then by that weight times
  their stories' total, then in the topic's order), and empty sections are dropped: the section
  of the day's most important story leads, however many small stories another section
  gathers, and colour (company and market news, weighted below 1) leads only when it clearly
  outweighs the day's policy news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from digest.editorial.relevance import analyze, compile_topic
from digest.types import Item, Section, Story, Topic, Window

__all__ = ["assign_section", "choose_section", "order_sections", "story_score"]


def choose_section(totals: Mapping[str, float], topic: Topic) -> str:
    """The section key with the highest total; first listed on a tie; the last one if all are 0."""
    best_key, best = topic.sections[-1].key, 0.0
    for section in topic.sections:
        value = totals.get(section.key, 0.0)
        if value > best:
            best_key, best = section.key, value
    return best_key


def section_totals(scorecards: Iterable[Mapping[str, float]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for sections in scorecards:
        for key, value in sections.items():
            totals[key] = totals.get(key, 0.0) + value
    return totals


def assign_section(items: Sequence[Item], topic: Topic) -> str:
    """The key of the section a story made of `items` belongs in."""
    compiled = compile_topic(topic)
    cards = [compiled.scorecard(analyze(item), topic.options).sections for item in items]
    return choose_section(section_totals(cards), topic)


def story_score(
    *,
    outlets: int,
    relevance: float,
    latest: datetime,
    window: Window,
    options: Mapping[str, object],
) -> float:
    """Importance of a story (higher first); see the module docstring."""
    span = (window.end - window.start).total_seconds()
    recency = (latest - window.start).total_seconds() / span if span > 0 else 1.0
    recency = min(max(recency, 0.0), 1.0)
    score = (
        float(options.get("outlets_weight", 2.0)) * outlets  # type: ignore[arg-type]
        + float(options.get("relevance_weight", 0.2)) * relevance  # type: ignore[arg-type]
        + float(options.get("recency_weight", 1.0)) * recency  # type: ignore[arg-type]
    )
    return round(score, 4)


def order_sections(stories: Iterable[Story], topic: Topic) -> tuple[Section, ...]:
    """Stories grouped under the topic's sections, ranked; empty sections dropped."""
    by_key: dict[str, list[Story]] = {section.key: [] for section in topic.sections}
    for story in stories:
        by_key.setdefault(story.section, []).append(story)
    titles = {section.key: section.title for section in topic.sections}
    position = {section.key: n for n, section in enumerate(topic.sections)}
    weight = {section.key: section.rank_weight for section in topic.sections}
    sections = []
    for key, group in by_key.items():
        if not group:
            continue
        group.sort(key=lambda s: (-s.score, s.published, s.title))
        sections.append(Section(key=key, title=titles.get(key, key), stories=tuple(group)))
    sections.sort(
        key=lambda s: (
            -s.stories[0].score * weight.get(s.key, 1.0),
            -sum(story.score for story in s.stories) * weight.get(s.key, 1.0),
            position.get(s.key, len(position)),
        )
    )
    return tuple(sections)
