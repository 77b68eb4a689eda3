"""Building an edition: the editorial stages end to end, pure (no I/O, no clock).

    window filter -> relevance -> cluster -> headline, summary, section, score -> rank

Headline rule: a story's headline and link are those of the source whose title is most central
to the story — the title whose content words are used by the largest share of the story's
outlets (two feeds of one outlet count once), summed over its distinct words, divided by the
square root of their number so that long titles do not win by length; titles longer than 25
words count half as they read like standfirsts. Ties go to the earliest published source, then
to the lowest item id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import TypedDict

from digest.editorial.attach import attach_near_misses
from digest.editorial.cluster import cluster_items, document_frequencies
from digest.editorial.pointers import fold_pointers, topic_sides
from digest.editorial.relevance import Analysis, analyze, compile_topic
from digest.editorial.sections import choose_section, order_sections, section_totals, story_score
from digest.editorial.summarize import summarize
from digest.editorial.text import content_words, word_count
from digest.types import Edition, EditionStatus, Item, Source, Story, Topic, Window

__all__ = ["build_edition", "choose_headline"]


class _Linking(TypedDict):
    """The settings shared by the clustering and the near misses."""

    threshold: float
    window_hours: float
    title_boost: float
    min_shared: int
    rare_share: float


def choose_headline(analyses: Sequence[Analysis]) -> int:
    """Index in `analyses` of the item giving the story its headline (rule in module doc)."""
    if len(analyses) == 1:
        return 0
    title_words = [set(content_words(a.title_tokens)) for a in analyses]
    # agreement is counted per outlet: two feeds of one newspaper are one voice
    used_by: dict[str, set[str]] = {}
    for k, a in enumerate(analyses):
        outlet = a.item.outlet or a.item.feed_title
        for word in title_words[k] | set(content_words(a.text_tokens)):
            used_by.setdefault(word, set()).add(outlet)
    doc_freq = {word: len(outlets) for word, outlets in used_by.items()}
    n = len({a.item.outlet or a.item.feed_title for a in analyses})

    def centrality(k: int) -> float:
        words = title_words[k]
        if not words:
            return 0.0
        value = sum(doc_freq[w] / n for w in words) / math.sqrt(len(words))
        if word_count(analyses[k].item.title) > 25:
            value /= 2
        return value

    return min(
        range(n),
        key=lambda k: (-round(centrality(k), 9), analyses[k].item.published, analyses[k].item.id),
    )


def build_edition(
    items: Sequence[Item], topic: Topic, *, edition_date: date, window: Window
) -> Edition:
    """The draft edition of `topic` for `edition_date` from the items published in `window`."""
    options = topic.options
    compiled = compile_topic(topic)

    selected: list[tuple[Analysis, float, dict[str, float]]] = []
    # items just below the threshold: kept only if they repeat a story (digest.editorial.attach)
    near: list[tuple[Analysis, float, dict[str, float]]] = []
    near_bar = topic.threshold * float(options.get("near_miss_share", 0.8))
    day: list[Analysis] = []
    for item in items:
        if item.published not in window:
            continue
        analysis = analyze(item)
        day.append(analysis)
        card = compiled.scorecard(analysis, options)
        if card.score >= topic.threshold:
            selected.append((analysis, card.score, card.sections))
        elif card.score >= near_bar:
            near.append((analysis, card.score, card.sections))

    chosen = [a.item for a, _, _ in selected]
    info = {a.item.id: (a, score, sections) for a, score, sections in selected + near}
    background = document_frequencies((a.title_tokens, a.text_tokens) for a in day)
    # What makes two items one story, for the clustering and for the near misses alike.
    linking: _Linking = {
        "threshold": float(options.get("cluster_threshold", 0.15)),
        "window_hours": float(options.get("merge_window_hours", 36)),
        "title_boost": float(options.get("cluster_title_boost", 2.0)),
        "min_shared": int(options.get("cluster_min_shared_words", 2)),
        "rare_share": float(options.get("cluster_rare_share", 0.05)),
    }
    groups = cluster_items(
        chosen,
        link_factor=float(options.get("cluster_link_factor", 1.75)),
        token_pairs=[(a.title_tokens, a.text_tokens) for a, _, _ in selected],
        background=background,
        **linking,
    )
    groups = attach_near_misses(
        groups,
        [a.item for a, _, _ in near],
        token_pairs={a.item.id: (a.title_tokens, a.text_tokens) for a, _, _ in selected + near},
        background=background,
        similarity=float(options.get("near_miss_similarity", 0.5)),
        **linking,
    )
    max_words = int(options.get("summary_max_words", 50))

    stories = []
    for group in groups:
        analyses = [info[item.id][0] for item in group]
        head = choose_headline(analyses)
        headline = group[head]
        others = sorted(
            (item for k, item in enumerate(group) if k != head),
            key=lambda item: (item.published, item.id),
        )
        sources = tuple(
            Source(
                item_id=i.id,
                feed=i.feed_title,
                title=i.title,
                url=i.url,
                published=i.published,
                outlet=i.outlet,
            )
            for i in [headline, *others]
        )
        summary = summarize(
            group, max_words, cleaned=[a.clean for a in analyses], headline=headline.title
        )
        section = choose_section(section_totals(info[i.id][2] for i in group), topic)
        score = story_score(
            outlets=len({i.outlet or i.feed_title for i in group}),  # two feeds of one count once
            relevance=max(info[i.id][1] for i in group),
            latest=max(i.published for i in group),
            window=window,
            options=options,
        )
        stories.append(
            Story(
                title=headline.title,
                url=headline.url,
                summary=summary,
                published=min(i.published for i in group),
                section=section,
                score=score,
                sources=sources,
            )
        )

    # a lone teaser naming only the beat is shown under the day's lead (digest.editorial.pointers)
    stories = fold_pointers(
        stories,
        sides=topic_sides(topic),
        day_texts=(text for a in day for text in (a.item.title, a.clean)),
        ratio=float(options.get("pointer_lead_ratio", 0.0)),
    )
    return Edition(
        topic=topic.key,
        topic_title=topic.title,
        date=edition_date,
        window=window,
        sections=order_sections(stories, topic),
        status=EditionStatus.DRAFT,
    )
