"""What the commands print: rich tables for people, plain dicts for --json.

rich is imported by the printers that use it: the lines a fetch prints (the command that
runs most often) are plain click output, styled the same way, so it starts without rich.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from digest.controls import show_controls
from digest.fields import fields_of
from digest.jsonable import jsonable
from digest.redact import redact
from digest.types import DeliveryStatus, Edition, Feed, FeedCheck, FeedFetchReport
from subscribers.types import Subscriber

if TYPE_CHECKING:
    from rich.console import Console

    from digest.config_report import CheckResult
    from digest.demo import DemoResult
    from digest.services import DeliveriesReport, OpmlImport, SendReport
    from digest.workspace import InitResult


def _out() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _e(text: str) -> str:
    """``text`` shown as it is by rich: no markup, control characters written out."""
    from rich.markup import escape

    return escape(show_controls(text))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


# --- init ------------------------------------------------------------------------------------


def print_init(result: InitResult) -> None:
    console = _out()
    console.print(f"wrote {result.config}")
    if result.keys == "kept":
        console.print("kept its secret key, former keys and suppression key")
    elif result.keys == "rotated":
        console.print(
            "new secret key; the former one is in old_secret_keys, so links already sent keep "
            "working (restart `digest serve` and `digest web` to use it)"
        )
    console.print(f"database ready: {redact(result.database)}")
    console.print("next: `digest feeds add URL`, `digest subscribers add EMAIL`, `digest run`")


# --- config ----------------------------------------------------------------------------------


def print_config(data: dict[str, Any]) -> None:
    """`digest config show`: one line per key, TOML-like, with its source."""
    console = _out()
    console.print(f"# file: {_e(data['file'] or '(none: defaults and environment)')}")
    for table, keys in data["settings"].items():
        console.print(f"\n\\[{table}]")
        for key, entry in keys.items():
            value = json.dumps(entry["value"], ensure_ascii=False)
            console.print(f"{key} = {_e(value)}  [dim]# {_e(entry['source'])}[/dim]")
    for warning in data["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {_e(warning)}")


def print_config_check(result: CheckResult, path: Path | None) -> None:
    console = _out()
    for note in result.notes:
        console.print(f"note: {_e(note)}")
    for problem in result.problems:
        console.print(f"[red]problem:[/red] {_e(problem)}")
    where = str(path) if path else "the environment"
    if result.problems:
        console.print(f"{len(result.problems)} problem(s) in the configuration from {_e(where)}")
    else:
        console.print(f"configuration OK ({_e(where)})")


# --- feeds -----------------------------------------------------------------------------------


def feed_dict(feed: Feed) -> dict[str, Any]:
    fetched = ("last_fetched_at", "last_success_at", "last_status", "last_error")
    data: dict[str, Any] = jsonable(
        {
            **fields_of(feed, ("url", "title", "outlet")),
            "items": feed.item_count,
            **fields_of(feed, (*fetched, "consecutive_failures")),
            "state": feed_state(feed),
            **fields_of(feed, ("disabled_reason", "next_attempt_at")),
        }
    )
    return data


def feed_state(feed: Feed) -> str:
    """ "disabled", "backing-off" (not tried before next_attempt_at) or "active"."""
    if feed.disabled_at is not None:
        return "disabled"
    if feed.next_attempt_at is not None:
        return "backing-off"
    return "active"


def _feed_status(feed: Feed) -> str:
    """One line of health: the state, then the last error when there is one."""
    if feed.disabled_at is not None:
        return f"disabled: {feed.disabled_reason or 'by the operator'}"
    status = feed.last_status or "not fetched"
    if feed.last_error:
        status = f"error: {' '.join(feed.last_error.split())}"
    if feed.next_attempt_at is not None:
        status += f" (backing off until {_when(feed.next_attempt_at)})"
    return status


def print_feeds(feeds: list[Feed]) -> None:
    if not feeds:
        _out().print("no feeds yet: `digest feeds add URL`")
        return
    # URLs wrap rather than being cut short
    from rich.table import Column, Table

    table = Table(Column("feed", overflow="fold"), "items", "last success", "status", "failures")
    for feed in feeds:
        status = _feed_status(feed)
        table.add_row(
            _e(f"{feed.name}\n{feed.url}" if feed.name != feed.url else feed.url),
            str(feed.item_count),
            _when(feed.last_success_at),
            _e(status),
            str(feed.consecutive_failures),
        )
    _out().print(table)


def print_opml_import(result: OpmlImport) -> None:
    click.echo(
        f"added {len(result.added)} feeds, {len(result.present)} already present"
        + (f", {len(result.refused)} refused" if result.refused else "")
    )
    for url, problem in result.refused:
        click.echo(f"digest: refused {show_controls(url)}: {problem}", err=True)


def fetch_progress(report: FeedFetchReport) -> None:
    url, note, error = (show_controls(t or "") for t in (report.url, report.note, report.error))
    if report.note:
        _line_err(f"{click.style('note', fg='yellow')} {url}: {note}")
    if report.status == "skipped":
        _line_err(f"skipped {url}: {error}")
    elif report.status == "error":
        _line_err(f"{click.style('failed', fg='red')} {url}: {error}")
    elif report.status == "not-modified":
        _line_err(f"unchanged {url}")
    else:
        _line_err(
            f"ok {url}: {report.items_seen} items, {report.items_new} new, "
            f"{report.items_updated} updated"
        )


def _line_err(line: str) -> None:
    click.echo(line, err=True)  # styles are dropped when stderr is not a terminal


def fetch_dict(reports: list[FeedFetchReport]) -> dict[str, Any]:
    return {
        "feeds": [
            {
                "url": r.url,
                "status": r.status,
                "items": r.items_seen,
                "new": r.items_new,
                "updated": r.items_updated,
                "error": r.error,
                "note": r.note,
            }
            for r in reports
        ],
        "totals": {
            "feeds": len(reports),
            "ok": sum(r.status == "ok" for r in reports),
            "not_modified": sum(r.status == "not-modified" for r in reports),
            "failed": sum(r.status == "error" for r in reports),
            "skipped": sum(r.status == "skipped" for r in reports),
            "items": sum(r.items_seen for r in reports),
            "new": sum(r.items_new for r in reports),
            "updated": sum(r.items_updated for r in reports),
        },
    }


def print_fetch_summary(reports: list[FeedFetchReport]) -> None:
    totals = fetch_dict(reports)["totals"]
    click.echo(
        f"fetched {totals['feeds']} feeds: {totals['ok']} ok, {totals['not_modified']} unchanged, "
        f"{totals['failed']} failed; {totals['new']} new items, {totals['updated']} updated"
        + (f"; {totals['skipped']} skipped" if totals["skipped"] else "")
    )


def check_dict(check: FeedCheck) -> dict[str, Any]:
    return cast(dict[str, Any], jsonable(check))


def print_check(check: FeedCheck) -> None:
    out = _out()
    if check.error:
        out.print(f"[red]unusable[/red] {_e(check.url)}: {_e(check.error)}")
        return
    verdict = "[green]usable[/green]" if check.usable else "[red]unusable[/red]"
    out.print(f"{verdict} {_e(check.url)}")
    out.print(f"  format: {_e(check.format or 'unknown')}")
    out.print(f"  title: {_e(check.title or '(none)')}")
    out.print(
        f"  items: {check.items}" + (f", newest {_when(check.newest)}" if check.newest else "")
    )
    for problem in check.problems:
        out.print(f"  [yellow]problem[/yellow]: {_e(problem)}")


# --- editions --------------------------------------------------------------------------------


def print_edition(edition: Edition) -> None:
    console = _out()
    console.print(
        f"[bold]{edition.topic_title}[/bold], {edition.date.isoformat()}"
        f"{' ' + _e(edition.zone) if edition.zone else ''} ({edition.status}): "
        f"{len(edition.stories)} stories, items from {_when(edition.window.start)} "
        f"to {_when(edition.window.end)}"
    )
    if edition.is_empty:
        console.print("no on-topic stories in this window")
    for section in edition.sections:
        console.print(f"\n[bold underline]{_e(section.title)}[/bold underline]")
        for number, story in enumerate(section.stories, 1):
            console.print(f"{number}. [bold]{_e(story.title)}[/bold]")
            console.print(f"   {_e(story.summary)}")
            outlets = ", ".join(story.outlets)
            console.print(f"   [dim]{_e(outlets)} · {_e(story.url)}[/dim]")


def print_edition_states(editions: Iterable[Edition], reason: str = "") -> None:
    """One line per zone edition: ``2026-03-10: approved``, ``2026-03-10 Asia/Tokyo: held``."""
    for edition in editions:
        zone = f" {edition.zone}" if edition.zone else ""
        click.echo(f"{edition.date}{zone}: {edition.status}" + (f" ({reason})" if reason else ""))


def section_counts(edition: Edition) -> dict[str, int]:
    return {section.title: len(section.stories) for section in edition.sections}


# --- sending ---------------------------------------------------------------------------------


def send_dict(report: SendReport) -> dict[str, Any]:
    dry_run_only = ("dry_run", "would_send", "variants", "sizes")
    data: dict[str, Any] = jsonable(report, omit=() if report.dry_run else dry_run_only)
    data["zone"] = report.zone or "default"
    return data


def print_counts(day: date, counts: dict[str, int]) -> None:
    parts = ", ".join(f"{counts.get(status, 0)} {status}" for status in DeliveryStatus.ALL)
    _out().print(f"{day.isoformat()}: {parts}")


def print_send(report: SendReport) -> None:
    console = _out()
    if report.dry_run:
        console.print(
            f"{report.date.isoformat()} (dry run, nothing sent): "
            f"{report.would_send} messages would go out now"
        )
        for variant, count in sorted(report.variants.items()):
            size = report.sizes.get(variant, 0)
            console.print(f"  {_e(variant)}: {count} subscribers, {size / 1024:.1f} KB each")
        if report.next_retry:
            console.print(f"deferred deliveries are due again from {_when(report.next_retry)}")
        return
    if not any(report.counts.values()):
        console.print(f"{report.date.isoformat()}: no active subscribers, nothing sent")
        return
    print_counts(report.date, report.counts)
    console.print(f"sent {report.sent_now} messages in this run")
    for failure in report.failures[:20]:
        console.print(f"  [red]{_e(failure)}[/red]")
    if len(report.failures) > 20:
        console.print(f"  ... and {len(report.failures) - 20} more (`digest deliveries`)")
    if report.uncertain:
        console.print(
            f"[yellow]{report.uncertain} deliveries were in flight when a sender stopped "
            "abruptly: those subscribers may have received this edition twice[/yellow]"
        )
    if report.stopped:
        console.print("stopped on request; run `digest send` again to send the rest")
    if report.counts.get(DeliveryStatus.SENDING):
        console.print(
            f"{report.counts[DeliveryStatus.SENDING]} deliveries are claimed by another sender "
            "(or one that died: they are taken over after [delivery] lease_seconds)"
        )
    if report.next_retry:
        console.print(
            f"deferred deliveries are due again from {_when(report.next_retry)}: "
            "run `digest send` then"
        )


def is_terminal() -> bool:
    return _err().is_terminal


def send_progress(total: int) -> Any:
    """A rich progress bar for a send on a terminal: a context manager with ``advance()``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    progress = Progress(
        "sending",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_err(),
        transient=True,
    )
    task = progress.add_task("send", total=total)

    class _Bar:
        def __enter__(self) -> _Bar:
            progress.start()
            return self

        def __exit__(self, *exc: object) -> None:
            progress.stop()

        def advance(self, *_args: object) -> None:
            progress.advance(task)

        def total(self, count: int) -> None:
            progress.update(task, total=count)

    return _Bar()


def deliveries_dict(report: DeliveriesReport) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(report, omit=("failures",))
    data.update(
        zone=report.zone or "default",
        other_zones=[zone or "default" for zone in report.other_zones],
        recent_failures=jsonable(report.failures),
    )
    return data


def report_counts_line(reports: dict[str, int]) -> str:
    """Bounce and complaint reports received, in words."""
    return (
        f"reported later: {reports.get('hard', 0)} hard bounces, "
        f"{reports.get('soft', 0)} soft bounces, {reports.get('complaint', 0)} complaints"
    )


def print_deliveries(report: DeliveriesReport) -> None:
    console = _out()
    if report.zone:
        console.print(f"zone {_e(report.zone)}")
    print_counts(report.date, report.counts)
    if report.other_zones:
        others = ", ".join(zone or "default" for zone in report.other_zones)
        console.print(f"other zones of {report.date}: {_e(others)} (see --zone)")
    if report.uncertain:
        console.print(f"{report.uncertain} uncertain (a sender died while sending them)")
    if any(report.reports.values()):
        console.print(report_counts_line(report.reports))
    if report.next_retry:
        console.print(f"deferred deliveries are due again from {_when(report.next_retry)}")
    if report.failures:
        from rich.table import Column, Table

        table = Table("recipient", "status", "attempts", Column("last reply", overflow="fold"))
        for f in report.failures:
            table.add_row(_e(f.email), f.status, str(f.attempts), _e(f.reply))
        console.print(table)


# --- subscribers -----------------------------------------------------------------------------


def subscriber_dict(subscriber: Subscriber) -> dict[str, Any]:
    return cast(dict[str, Any], jsonable(subscriber, omit=("id",)))


def print_subscribers(subscribers: Iterable[Subscriber]) -> None:
    rows = list(subscribers)
    if not rows:
        _out().print("no subscribers")
        return
    from rich.table import Table

    table = Table("email", "name", "status", "lists", "since")
    for s in rows:
        status = (
            s.status + (" (paused)" if s.paused else "") + (" (suppressed)" if s.suppressed else "")
        )
        table.add_row(
            _e(s.email),
            _e(s.name or ""),
            status,
            _e(", ".join(s.lists)),
            s.created_at.strftime("%Y-%m-%d"),
        )
    _out().print(table)


# --- demo ------------------------------------------------------------------------------------


def demo_progress(line: str) -> None:
    _err().print(line)


def demo_dict(result: DemoResult) -> dict[str, Any]:
    return {
        "date": result.edition.date.isoformat(),
        "feeds": result.feeds,
        "items": result.items,
        "stories": len(result.edition.stories),
        "sections": section_counts(result.edition),
        "messages": [str(path) for path in result.messages],
        "counts": result.counts,
        "preview": {"html": str(result.preview.html), "text": str(result.preview.text)},
        "seconds": round(result.seconds, 2),
    }


def print_demo(result: DemoResult) -> None:
    console = _out()
    edition = result.edition
    console.print(
        f"\n[bold]{edition.topic_title} — demo edition of {edition.date.isoformat()}[/bold]"
    )
    console.print(f"feeds fetched over loopback HTTP: {result.feeds}, items stored: {result.items}")
    console.print(f"stories: {len(edition.stories)} (from {result.on_topic_items} on-topic items)")
    for title, count in section_counts(edition).items():
        console.print(f"  {title}: {count}")
    console.print(
        f"messages sent over SMTP: {result.counts.get('sent', 0)} "
        f"(saved as .eml in {result.outbox}/)"
    )
    console.print(f"preview: {result.preview.html}  and  {result.preview.text}")
    console.print(f"done in {result.seconds:.1f} s")
