"""The operator's view: `digest status` and `digest runs`, as values and as what they print."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape

from digest import console
from digest.app import App
from digest.bounces.record import edition_report_counts
from digest.controls import show_controls
from digest.editions.service import Editions, groups
from digest.jobs import DailyRun, SendResult
from digest.sendtimes import next_send
from digest.store.runs import DaemonLeases, OperatorQueries, RunLog
from digest.types import DeliveryStatus, Edition, Feed, Lease, Run, RunOutcome
from subscribers.outbox import ConfirmationOutbox
from subscribers.signups import SignupQueue

FAILED_LOOKBACK = timedelta(days=7)


def _e(text: str) -> str:
    """``text`` shown as it is by rich: no markup, control characters written out."""
    return escape(show_controls(text))


@dataclass(frozen=True)
class EditionSummary:
    edition: Edition
    counts: dict[str, int]
    #: Bounce and complaint reports about its messages: {"hard", "soft", "complaint"}.
    reports: dict[str, int]


@dataclass(frozen=True)
class Status:
    now: datetime
    #: (job id, next run UTC); from the job store when a daemon has run, else computed sends.
    next_runs: list[tuple[str, datetime | None]]
    scheduled: bool
    lease: Lease | None
    last_editions: list[EditionSummary]
    failing_feeds: list[Feed]
    open_deliveries: dict[str, int]
    failed_deliveries: int
    last_runs: list[Run]
    #: The sign-up form's queue: sign-ups not applied yet, confirmation emails by status.
    signups_waiting: int = 0
    confirmations: dict[str, int] = field(default_factory=dict)


def status(app: App) -> Status:
    now = app.clock()
    queries = OperatorQueries(app.database)
    next_runs = queries.scheduled_jobs()
    scheduled = bool(next_runs)
    if not scheduled:
        next_runs = [
            (f"send:{zone or 'default'}", next_send(now, app.settings.digest, zone)[1])
            for zone in groups(app)
        ]
    editions = []
    service = Editions(app)
    for day, zone in queries.latest_edition_keys(app.topic.key):
        edition = service.get(service.key(day, zone))
        if edition is not None and edition.id is not None:
            editions.append(
                EditionSummary(
                    edition,
                    app.ledger.counts(edition.id),
                    edition_report_counts(app, edition.id),
                )
            )
    lease = DaemonLeases(app.database).current()
    return Status(
        now=now,
        next_runs=next_runs,
        scheduled=scheduled,
        lease=lease if lease is not None and lease.expires_at > now else None,
        last_editions=editions,
        failing_feeds=[
            feed
            for feed in app.store.list_feeds()
            if feed.last_status == "error" or feed.consecutive_failures
        ],
        open_deliveries=queries.open_deliveries(),
        failed_deliveries=queries.failed_since((now - FAILED_LOOKBACK).date()),
        last_runs=_last_of_each_job(RunLog(app.database).recent(limit=50)),
        signups_waiting=SignupQueue(app.database).waiting(),
        confirmations=ConfirmationOutbox(app.database).counts(),
    )


def _last_of_each_job(runs: list[Run]) -> list[Run]:
    seen: dict[tuple[str, str], Run] = {}
    for run in runs:
        seen.setdefault((run.job, run.zone), run)
    return list(seen.values())


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_dict(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job,
        "zone": run.zone or "default",
        "date": _iso(run.edition_date),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "outcome": run.outcome,
        "counts": run.counts,
        "error": run.error,
    }


def status_dict(s: Status) -> dict[str, Any]:
    return {
        "now": _iso(s.now),
        "daemon": (
            {
                "holder": s.lease.holder,
                "since": _iso(s.lease.acquired_at),
                "renewed_at": _iso(s.lease.renewed_at),
                "expires_at": _iso(s.lease.expires_at),
            }
            if s.lease
            else None
        ),
        "scheduled": s.scheduled,
        "next_runs": [{"job": job, "at": _iso(at)} for job, at in s.next_runs],
        "last_editions": [
            {
                "date": e.edition.date.isoformat(),
                "zone": e.edition.zone or "default",
                "status": e.edition.status,
                "stories": len(e.edition.stories),
                "deliveries": e.counts,
                "reports": e.reports,
            }
            for e in s.last_editions
        ],
        "failing_feeds": [
            {
                "url": f.url,
                "consecutive_failures": f.consecutive_failures,
                "last_error": f.last_error,
            }
            for f in s.failing_feeds
        ],
        "deliveries": {"open": s.open_deliveries, "failed_last_7_days": s.failed_deliveries},
        "confirmations": {"signups_waiting": s.signups_waiting, **s.confirmations},
        "last_runs": [run_dict(run) for run in s.last_runs],
    }


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def print_status(s: Status) -> None:
    out = Console(highlight=False, soft_wrap=True)
    if s.lease:
        out.print(
            f"daemon: {_e(s.lease.holder)}, since {_when(s.lease.acquired_at)}, "
            f"lease until {_when(s.lease.expires_at)}"
        )
    else:
        out.print("daemon: [yellow]none running[/yellow] (start it with `digest serve`)")
    title = "next runs" if s.scheduled else "next sends (not scheduled until `digest serve` runs)"
    out.print(f"{title}:")
    for job, at in s.next_runs:
        out.print(f"  {_e(job)}: {_when(at)}")
    if not s.last_editions:
        out.print("last edition: none yet")
    for summary in s.last_editions:
        e = summary.edition
        counts = ", ".join(f"{n} {status}" for status, n in summary.counts.items() if n)
        out.print(
            f"last edition: {e.date} ({_e(e.zone or 'default zone')}) {e.status}, "
            f"{len(e.stories)} stories; deliveries: {counts or 'none'}"
        )
        if any(summary.reports.values()):
            out.print(f"  {console.report_counts_line(summary.reports)}")
    open_total = sum(s.open_deliveries.values())
    out.print(
        f"deliveries: {open_total} pending or deferred, "
        f"{s.failed_deliveries} failed in the last 7 days"
    )
    waiting = s.confirmations.get("queued", 0) + s.confirmations.get("sending", 0)
    out.print(
        f"confirmations: {s.signups_waiting} sign-ups and {waiting} emails waiting, "
        f"{s.confirmations.get('failed', 0)} failed"
    )
    if s.failing_feeds:
        out.print(f"[red]failing feeds: {len(s.failing_feeds)}[/red]")
        for feed in s.failing_feeds:
            out.print(
                f"  {_e(feed.url)} ({feed.consecutive_failures} failures): "
                f"{_e(feed.last_error or '')}"
            )
    else:
        out.print("failing feeds: none")
    for run in s.last_runs:
        zone = "" if run.job == "fetch" else f" ({_e(run.zone or 'default')})"
        out.print(f"last {run.job}{zone}: {_run_line(run)}")


def _run_line(run: Run) -> str:
    return f"{_when(run.started_at)} {_outcome_text(run)}"


def print_runs(runs: list[Run]) -> None:
    """One line per run, newest first: easy to read and to grep."""
    out = Console(highlight=False, soft_wrap=True)
    if not runs:
        out.print("no runs yet")
        return
    for run in runs:
        took = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}s"
            if run.finished_at
            else "still running"
        )
        day = f" {run.edition_date}" if run.edition_date else ""
        zone = "" if run.job == "fetch" else f" {_e(run.zone or 'default')}"
        out.print(
            f"{_when(run.started_at)}  {run.job}{zone}{day}: {_e(_outcome_text(run))} ({took})"
        )


def _outcome_text(run: Run) -> str:
    counts = " ".join(f"{k}={v}" for k, v in run.counts.items() if v)
    error = f" - {run.error}" if run.error else ""
    return f"{run.outcome} {counts}".rstrip() + error


def send_result_dict(result: SendResult) -> dict[str, Any]:
    report = result.report
    return {
        "zone": result.zone or "default",
        "date": result.day.isoformat(),
        "outcome": result.run.outcome,
        "stories": len(result.edition.stories) if result.edition else 0,
        "counts": report.counts if report else {},
        "sent_now": report.sent_now if report else 0,
        "error": result.run.error,
    }


def daily_dict(daily: DailyRun) -> dict[str, Any]:
    """`digest run --json`: the digest's own zone at the top level (as before zones existed),
    every zone under "zones"."""
    main = daily.sends[0]
    report = main.report
    return {
        "date": main.day.isoformat(),
        "fetch": console.fetch_dict(daily.fetch)["totals"],
        "stories": len(main.edition.stories) if main.edition else 0,
        "sections": console.section_counts(main.edition) if main.edition else {},
        "outcome": main.run.outcome,
        "counts": report.counts if report else dict.fromkeys(DeliveryStatus.ALL, 0),
        "sent_now": report.sent_now if report else 0,
        "next_retry": _iso(report.next_retry) if report else None,
        "failures": report.failures if report else [],
        "zones": [send_result_dict(result) for result in daily.sends],
    }


def print_daily(daily: DailyRun) -> None:
    console.print_fetch_summary(daily.fetch)
    out = Console(highlight=False, soft_wrap=True)
    for result in daily.sends:
        stories = len(result.edition.stories) if result.edition else 0
        zone = result.zone or "default zone"
        out.print(f"edition {result.day} ({_e(zone)}): {stories} stories, {result.run.outcome}")
        if result.report is not None:
            console.print_send(result.report)
        elif result.run.error:
            out.print(f"  {_e(result.run.error)}")


def daily_errors(daily: DailyRun) -> list[str]:
    return [
        f"{result.zone or 'default zone'} {result.day}: {result.run.error}"
        for result in daily.sends
        if result.run.outcome == RunOutcome.ERROR
    ]
