"""Scoring built editions against the corpus labels (pure: values in, figures out).

Per edition (one day):

- precision: share of the edition's items labelled 1 or 2;
- recall: share of the window's label-2 items that the edition carries;
- clustering: pairwise precision/recall/F1 of "same story" against the labelled clusters, over
  the labelled items the edition carries (two items can only share a story in one edition);
  the lenient figures count a pair from two clusters of one running story (the labels'
  ``story``: the days of a minister's visit) as neither right nor wrong when merged;
- section accuracy: share of stories holding a label-2 item that sit in the section most of
  their label-2 items are labelled with;
- faithfulness: share of summaries whose every sentence occurs verbatim in one of the story's
  sources (HTML stripped, entities decoded, spaces collapsed), and the share of summaries with
  feed boilerplate in them (checked by patterns of this module, independent of the builder's).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

from digest.evaluation.corpus import Label
from digest.types import Edition, Story

__all__ = [
    "DayScore",
    "EvalReport",
    "has_boilerplate",
    "is_faithful",
    "plain",
    "score_edition",
    "total_score",
]

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
#: Generic feed furniture that must never reach a summary.
_BOILERPLATE = re.compile(
    r"appeared first on|continue reading|keep reading|read more\b|read the full|"
    r"comments (?:are|have been) closed|receive free\b|sign up\b|subscribe (?:to|now|here)|"
    r"click here|all rights reserved|\bphoto(?:graph)?s?(?: credit)?\s*:|\bimage credit|"
    r"getty images|^by [A-Z][a-z]+ [A-Z]|\[(?:\.\.\.|…|\+\d+ chars)\]|(?:\.\.\.|…)$",
    re.I,
)
#: Where a summary may be cut into sentences: after ., ! or ? (and closing quotes) and a space.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+")


def plain(text: str) -> str:
    """Text with tags removed, entities decoded and runs of white space made single spaces."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def is_faithful(summary: str, sources: Sequence[str]) -> bool:
    """True when `summary` splits at sentence ends into pieces each found verbatim in a source.

    `sources` are plain texts (see :func:`plain`). Trying every split keeps this check
    independent of how the builder splits sentences.
    """
    text = plain(summary)
    if not text:
        return False
    cuts = [0] + [m.end() for m in _BOUNDARY.finditer(text)] + [len(text)]
    cuts = sorted(set(cuts))
    reachable = {0}
    for i, start in enumerate(cuts):
        if start not in reachable:
            continue
        for end in cuts[i + 1 :]:
            piece = text[start:end].strip()
            if piece and any(piece in source for source in sources):
                reachable.add(end)
    return len(text) in reachable


def has_boilerplate(summary: str) -> bool:
    return _BOILERPLATE.search(plain(summary)) is not None


@dataclass(frozen=True, slots=True)
class DayScore:
    """Counts behind one day's figures (or the whole window's, summed)."""

    date: date | None
    items_in_window: int = 0
    stories: int = 0
    #: Items carried by the edition, and how many of those are labelled 1 or 2.
    included: int = 0
    included_relevant: int = 0
    #: Label-2 items of the window, and how many the edition carries.
    core: int = 0
    core_included: int = 0
    #: Pairwise clustering counts: same story & same cluster, same story only, same cluster only.
    pairs_tp: int = 0
    pairs_fp: int = 0
    pairs_fn: int = 0
    #: Of `pairs_fp`, the pairs from two clusters of one running story (lenient: not wrong).
    pairs_fp_story: int = 0
    #: Stories holding a label-2 item, and how many sit in their labelled section.
    core_stories: int = 0
    section_correct: int = 0
    summaries: int = 0
    faithful: int = 0
    boilerplate: int = 0
    empty_summaries: int = 0
    build_seconds: float = 0.0
    #: CPU time of the same build: steadier than wall-clock time on a busy machine.
    build_cpu_seconds: float = 0.0
    #: Corpus ids of label-2 items left out, and of label-0 items let in.
    missed: tuple[str, ...] = field(default=())
    off_topic: tuple[str, ...] = field(default=())
    #: Stories without a summary: (edition date, headline, corpus ids of its items) each.
    summaryless: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())

    @property
    def precision(self) -> float | None:
        return _ratio(self.included_relevant, self.included)

    @property
    def recall(self) -> float | None:
        return _ratio(self.core_included, self.core)

    @property
    def cluster_precision(self) -> float | None:
        return _ratio(self.pairs_tp, self.pairs_tp + self.pairs_fp)

    @property
    def cluster_recall(self) -> float | None:
        return _ratio(self.pairs_tp, self.pairs_tp + self.pairs_fn)

    @property
    def cluster_f1(self) -> float | None:
        total = 2 * self.pairs_tp + self.pairs_fp + self.pairs_fn
        return _ratio(2 * self.pairs_tp, total)

    @property
    def lenient_cluster_precision(self) -> float | None:
        wrong = self.pairs_fp - self.pairs_fp_story
        return _ratio(self.pairs_tp, self.pairs_tp + wrong)

    @property
    def lenient_cluster_f1(self) -> float | None:
        wrong = self.pairs_fp - self.pairs_fp_story
        return _ratio(2 * self.pairs_tp, 2 * self.pairs_tp + wrong + self.pairs_fn)

    @property
    def section_accuracy(self) -> float | None:
        return _ratio(self.section_correct, self.core_stories)

    @property
    def faithfulness(self) -> float | None:
        return _ratio(self.faithful, self.summaries)

    @property
    def boilerplate_share(self) -> float | None:
        return _ratio(self.boilerplate, self.summaries)

    def figures(self) -> dict[str, float | None]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "cluster_precision": self.cluster_precision,
            "cluster_recall": self.cluster_recall,
            "cluster_f1": self.cluster_f1,
            "lenient_cluster_precision": self.lenient_cluster_precision,
            "lenient_cluster_f1": self.lenient_cluster_f1,
            "section_accuracy": self.section_accuracy,
            "faithfulness": self.faithfulness,
            "boilerplate": self.boilerplate_share,
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    corpus: str
    topic: str
    feeds: int
    items: int
    days: tuple[DayScore, ...]
    total: DayScore
    #: Titles of the corpus items named in `missed` / `off_topic`, for the JSON report.
    titles: Mapping[str, str]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score_edition(
    edition: Edition,
    *,
    corpus_ids: Mapping[int, str],
    labels: Mapping[str, Label],
    source_texts: Mapping[int, Sequence[str]],
    core_in_window: Iterable[str],
    items_in_window: int = 0,
    build_seconds: float = 0.0,
    build_cpu_seconds: float = 0.0,
) -> DayScore:
    """The counts of one edition.

    `corpus_ids` maps store item ids to corpus ids, `labels` corpus ids to labels (missing =
    off-topic), `source_texts` store item ids to plain texts a summary may quote, and
    `core_in_window` lists the corpus ids of the label-2 items published in the edition's window.
    """
    off = Label(0, None, None)
    stories = edition.stories
    story_of: dict[str, int] = {}
    included: list[str] = []
    for number, story in enumerate(stories):
        for source in story.sources:
            cid = corpus_ids.get(source.item_id, f"store:{source.item_id}")
            included.append(cid)
            story_of[cid] = number
    relevant = [cid for cid in included if labels.get(cid, off).label >= 1]
    core = set(core_in_window)

    tp = fp = fp_story = fn = 0
    for a, b in combinations(sorted(set(relevant)), 2):
        same_story = story_of[a] == story_of[b]
        same_cluster = labels[a].cluster == labels[b].cluster
        tp += same_story and same_cluster
        fp += same_story and not same_cluster
        fn += same_cluster and not same_story
        running = labels[a].story
        fp_story += (
            same_story and not same_cluster and running is not None and (running == labels[b].story)
        )

    core_stories = section_correct = 0
    summaries = faithful = boilerplate = empty = 0
    summaryless = []
    for story in stories:
        core_labels = [labels.get(corpus_ids.get(s.item_id, ""), off) for s in story.sources]
        sections = Counter(label.section for label in core_labels if label.label == 2)
        if sections:
            core_stories += 1
            top = max(sections.values())
            section_correct += sections.get(story.section, 0) == top
        summary_counts = _summary_counts(story, source_texts)
        summaries += summary_counts[0]
        faithful += summary_counts[1]
        boilerplate += summary_counts[2]
        empty += 1 - summary_counts[0]
        if not summary_counts[0]:
            ids = tuple(corpus_ids.get(s.item_id, f"store:{s.item_id}") for s in story.sources)
            summaryless.append((edition.date.isoformat(), story.title, ids))

    return DayScore(
        date=edition.date,
        items_in_window=items_in_window,
        stories=len(stories),
        included=len(included),
        included_relevant=len(relevant),
        core=len(core),
        core_included=len(core & set(included)),
        pairs_tp=tp,
        pairs_fp=fp,
        pairs_fn=fn,
        pairs_fp_story=fp_story,
        core_stories=core_stories,
        section_correct=section_correct,
        summaries=summaries,
        faithful=faithful,
        boilerplate=boilerplate,
        empty_summaries=empty,
        build_seconds=build_seconds,
        build_cpu_seconds=build_cpu_seconds,
        missed=tuple(sorted(core - set(included))),
        off_topic=tuple(cid for cid in included if labels.get(cid, off).label == 0),
        summaryless=tuple(summaryless),
    )


def _summary_counts(
    story: Story, source_texts: Mapping[int, Sequence[str]]
) -> tuple[int, int, int]:
    if not story.summary.strip():
        return 0, 0, 0
    texts = [text for s in story.sources for text in source_texts.get(s.item_id, ())]
    return 1, int(is_faithful(story.summary, texts)), int(has_boilerplate(story.summary))


def total_score(days: Iterable[DayScore]) -> DayScore:
    """The window's counts: every day's summed."""
    days = list(days)
    summed = {
        name: sum(getattr(day, name) for day in days)
        for name in (
            "items_in_window",
            "stories",
            "included",
            "included_relevant",
            "core",
            "core_included",
            "pairs_tp",
            "pairs_fp",
            "pairs_fn",
            "pairs_fp_story",
            "core_stories",
            "section_correct",
            "summaries",
            "faithful",
            "boilerplate",
            "empty_summaries",
            "build_seconds",
            "build_cpu_seconds",
        )
    }
    return DayScore(
        date=None,
        missed=tuple(cid for day in days for cid in day.missed),
        off_topic=tuple(cid for day in days for cid in day.off_topic),
        summaryless=tuple(entry for day in days for entry in day.summaryless),
        **summed,
    )
