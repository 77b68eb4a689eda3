"""What `digest eval` prints: a rich table per day and overall, or a plain dict for --json.

With several corpus folders (weeks), each week's report is printed, then a table of every
week's overall figures and of all weeks pooled (their counts summed, so a big week weighs more).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Column, Table

from digest.evaluation.metrics import DayScore, EvalReport, total_score

__all__ = ["eval_dict", "pooled", "pooled_dict", "print_eval", "print_pooled", "progress"]

#: (figure, column heading); the legend under the table spells the headings out.
_COLUMNS = (
    ("precision", "P"),
    ("recall", "R"),
    ("cluster_precision", "CluP"),
    ("cluster_recall", "CluR"),
    ("cluster_f1", "CluF1"),
    ("lenient_cluster_precision", "LenP"),
    ("lenient_cluster_f1", "LenF1"),
    ("section_accuracy", "Sect"),
    ("faithfulness", "Faith"),
    ("boilerplate", "Boil"),
)
_LEGEND = (
    "P precision, R recall of core items, CluP/CluR/CluF1 pairwise same-story precision/recall/F1, "
    "LenP/LenF1 the same counting merged sub-events of one running story as neither right nor "
    "wrong, Sect section accuracy, Faith faithful summaries, Boil summaries with boilerplate, "
    "Build seconds to build the edition (overall: the slowest day)"
)


def _day_dict(day: DayScore) -> dict[str, Any]:
    return {
        "date": day.date.isoformat() if day.date else None,
        "items_in_window": day.items_in_window,
        "stories": day.stories,
        "items_included": day.included,
        **{k: None if v is None else round(v, 4) for k, v in day.figures().items()},
        "summaries": day.summaries,
        "empty_summaries": day.empty_summaries,
        "build_seconds": round(day.build_seconds, 4),
        "build_cpu_seconds": round(day.build_cpu_seconds, 4),
    }


def eval_dict(report: EvalReport) -> dict[str, Any]:
    total = _day_dict(report.total)
    total.pop("date")
    total["slowest_build_seconds"] = round(_slowest(report), 4)
    return {
        "corpus": report.corpus,
        "topic": report.topic,
        "feeds": report.feeds,
        "items": report.items,
        "days": [_day_dict(day) for day in report.days],
        "overall": total,
        "missed": [{"id": c, "title": report.titles.get(c, "")} for c in report.total.missed],
        "off_topic": [{"id": c, "title": report.titles.get(c, "")} for c in report.total.off_topic],
        "summaryless": _summaryless(report.total, report.titles),
    }


def _summaryless(total: DayScore, titles: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "date": day,
            "headline": headline,
            "items": [{"id": c, "title": titles.get(c, "")} for c in ids],
        }
        for day, headline, ids in total.summaryless
    ]


def pooled(reports: Sequence[EvalReport]) -> DayScore:
    """Every week's counts summed: the figures of all the weeks as one."""
    return total_score(report.total for report in reports)


def pooled_dict(reports: Sequence[EvalReport]) -> dict[str, Any]:
    total = _day_dict(pooled(reports))
    total.pop("date")
    return {"weeks": [eval_dict(report) for report in reports], "pooled": total}


def _slowest(report: EvalReport) -> float:
    return max((day.build_seconds for day in report.days), default=0.0)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def print_eval(report: EvalReport) -> None:
    # The table needs about 120 columns; wider than a narrow terminal beats cut-off figures.
    console = Console(highlight=False, soft_wrap=True)
    console.width = max(console.width, 130)
    console.print(
        f"[bold]{report.corpus}[/bold] with topic {report.topic}: {report.feeds} feeds, "
        f"{report.items} items, {len(report.days)} editions"
    )
    table = Table(
        Column("Edition", no_wrap=True, min_width=10),
        "Items",
        "Stories",
        *(title for _, title in _COLUMNS),
        "Build",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    rows = [(day.date.isoformat() if day.date else "", day) for day in report.days]
    for label, day in [*rows, ("overall", report.total)]:
        figures = day.figures()
        table.add_row(
            f"[bold]{label}[/bold]" if label == "overall" else label,
            str(day.items_in_window),
            str(day.stories),
            *(_fmt(figures[key]) for key, _ in _COLUMNS),
            f"{_slowest(report) if day is report.total else day.build_seconds:.2f}",
            end_section=label == rows[-1][0] if rows else False,
        )
    console.print(table)
    console.print(f"[dim]{_LEGEND}[/dim]")
    total = report.total
    console.print(
        f"{total.core_included}/{total.core} core items in, {len(total.off_topic)} "
        f"off-topic items let in, {total.empty_summaries} stories without a summary "
        "(--json lists the items)"
    )
    for when, headline, ids in total.summaryless:
        titles = "; ".join(report.titles.get(c, c) for c in ids)
        console.print(f"  no summary {when}: {headline} ({len(ids)} items: {titles})")


def print_pooled(reports: Sequence[EvalReport]) -> None:
    """Each week's overall figures and all weeks pooled, one row each."""
    console = Console(highlight=False, soft_wrap=True)
    console.width = max(console.width, 130)
    table = Table(
        Column("Week", no_wrap=True),
        "Items",
        "Stories",
        *(title for _, title in _COLUMNS),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    rows = [(report.corpus, report.total) for report in reports]
    for label, day in [*rows, ("pooled", pooled(reports))]:
        figures = day.figures()
        table.add_row(
            f"[bold]{label}[/bold]" if label == "pooled" else label,
            str(day.items_in_window),
            str(day.stories),
            *(_fmt(figures[key]) for key, _ in _COLUMNS),
            end_section=label == rows[-1][0],
        )
    console.print(table)


def progress(line: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[dim]{line}[/dim]")
