"""What the `lists` and `subscribers import` commands print: tables for people, dicts for --json."""

from __future__ import annotations

from typing import Any, cast

from rich.console import Console
from rich.markup import escape as _e
from rich.table import Table

from digest.jsonable import jsonable
from subscribers.types import ImportReport, SubscriberList


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def list_dict(lst: SubscriberList) -> dict[str, Any]:
    return {**jsonable(lst, omit=("id",)), "members": sum(lst.counts.values())}


def print_lists(lists: list[SubscriberList], configured_topic: str) -> None:
    if not lists:
        _out().print("no lists yet (subscribers added without --list go on the default list)")
        return
    table = Table("list", "topic", "members", "active", "description")
    for lst in lists:
        topic = lst.topic or f"{configured_topic} (configured)"
        table.add_row(
            _e(lst.name),
            _e(topic),
            str(sum(lst.counts.values())),
            str(lst.counts.get("active", 0)),
            _e(lst.description or ""),
        )
    _out().print(table)


def import_dict(report: ImportReport) -> dict[str, Any]:
    return cast(dict[str, Any], jsonable(report, omit=("pending_ids",)))


def print_import(report: ImportReport) -> None:
    console = _out()
    verb = "would add" if report.dry_run else "added"
    console.print(
        f"{report.rows} rows: {verb} {report.added}, "
        f"{'would update' if report.dry_run else 'updated'} {report.updated}, "
        f"{report.duplicates} duplicates merged, {len(report.skipped)} suppressed skipped, "
        f"{len(report.rejected)} rejected"
        + (f", {len(report.suppressed)} put on the suppression list" if report.suppressed else "")
    )
    if report.kept_status:
        console.print(
            f"{report.kept_status} had unsubscribed or bounced and were not re-subscribed"
        )
    for row in (*report.skipped, *report.suppressed):
        console.print(f"  line {row.line}: {_e(row.email or '')}: {_e(row.reason)}")
    for row in report.rejected:
        where = f"{_e(row.email)}: " if row.email else ""
        console.print(f"  line {row.line}: {where}[red]{_e(row.reason)}[/red]")
    if report.dry_run:
        console.print("dry run: nothing was changed")
