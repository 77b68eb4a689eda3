"""What `digest eval` prints: a rich table per day and overall, or a plain dict for --json."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from digest.evaluation.metrics import DayScore, EvalReport

__all__ = ["eval_dict", "print_eval", "progress"]

_COLUMNS = (
    ("precision", "Prec"),
    ("recall", "Rec"),
    ("cluster_precision", "Clu P"),
    ("cluster_recall", "Clu R"),
    ("cluster_f1", "Clu F1"),
    ("section_accuracy", "Section"),
    ("faithfulness", "Faithful"),
    ("boilerplate", "Boilerpl."),
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
    }


def eval_dict(report: EvalReport) -> dict[str, Any]:
    total = _day_dict(report.total)
    total.pop("date")
    return {
        "corpus": report.corpus,
        "topic": report.topic,
        "feeds": report.feeds,
        "items": report.items,
        "days": [_day_dict(day) for day in report.days],
        "overall": total,
        "missed": [{"id": c, "title": report.titles.get(c, "")} for c in report.total.missed],
        "off_topic": [{"id": c, "title": report.titles.get(c, "")} for c in report.total.off_topic],
    }


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def print_eval(report: EvalReport) -> None:
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"[bold]{report.corpus}[/bold] with topic {report.topic}: {report.feeds} feeds, "
        f"{report.items} items, {len(report.days)} editions"
    )
    table = Table("Edition", "Items", "Stories", *(title for _, title in _COLUMNS), "Build s")
    rows = [(day.date.isoformat() if day.date else "", day) for day in report.days]
    for label, day in [*rows, ("overall", report.total)]:
        figures = day.figures()
        table.add_row(
            f"[bold]{label}[/bold]" if label == "overall" else label,
            str(day.items_in_window),
            str(day.stories),
            *(_fmt(figures[key]) for key, _ in _COLUMNS),
            f"{day.build_seconds:.2f}",
            end_section=label == rows[-1][0] if rows else False,
        )
    console.print(table)
    total = report.total
    console.print(
        f"{total.core_included}/{total.core} core items in, {total.off_topic.__len__()} "
        f"off-topic items let in, {total.empty_summaries} stories without a summary "
        "(--json lists the items)"
    )


def progress(line: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[dim]{line}[/dim]")
