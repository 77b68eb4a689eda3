"""The scheduled jobs as plain functions over an App: fetch, build ahead, send at the send time.

Every run is recorded in the run history (`digest runs`) and logged as one key=value line.
Deciding what a send does (quiet day, editor approval, force) lives here, so `digest run` and
`digest serve` behave the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from digest import services
from digest.app import App
from digest.config import Settings
from digest.editions.decide import Action, Policy, decide, send_date_problem
from digest.editions.service import Editions, describe, groups
from digest.errors import DigestError, EditionError, UsageError, database_error
from digest.redact import redact
from digest.sendtimes import DEFAULT_ZONE, catch_up_date, next_send, zone_of
from digest.store.runs import RunLog
from digest.types import (
    Delivery,
    Edition,
    EditionKey,
    EditionStatus,
    FeedFetchReport,
    Run,
    RunOutcome,
)

log = logging.getLogger("digest.jobs")
# Silent unless the program configures logging (`digest serve` does): a command's own output
# already says what happened, in one line.
log.addHandler(logging.NullHandler())

FETCH, BUILD, SEND = "fetch", "build", "send"


def catch_up_ttl_for(settings: Settings) -> timedelta:
    """How late a missed send may still go out: [delivery] ttl_hours when the delivery settings
    have it, else [schedule] catch_up_hours."""
    hours = getattr(settings.delivery, "ttl_hours", None)
    return timedelta(hours=hours or settings.schedule.catch_up_hours)


def catch_up_ttl(app: App) -> timedelta:
    return catch_up_ttl_for(app.settings)


def policy(app: App, *, force: bool = False) -> Policy:
    return Policy(
        require_approval=app.settings.digest.require_approval,
        quiet_day=app.settings.schedule.quiet_day,
        force=force,
    )


@dataclass
class _Record:
    """What a run found out, filled in as it goes; written to the run history at the end."""

    job: str
    zone: str
    day: date | None
    outcome: str = RunOutcome.OK
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    run: Run | None = None
    #: The project error that ended the run, for a command to report.
    exc: DigestError | None = None


@contextmanager
def _recorded(app: App, job: str, zone: str = "", day: date | None = None) -> Iterator[_Record]:
    runs = RunLog(app.database)
    started = app.clock()
    run_id = runs.start(job, now=started, zone=zone, day=day)
    record = _Record(job=job, zone=zone, day=day)
    try:
        yield record
    except DigestError as exc:
        record.outcome, record.error, record.exc = RunOutcome.ERROR, redact(str(exc)), exc
    except Exception as exc:  # a bug: still recorded, then raised for the scheduler's log
        stored = database_error(exc)  # not the statement: it holds item text and addresses
        text = str(stored) if stored is not None else f"{type(exc).__name__}: {exc}"
        record.outcome, record.error = RunOutcome.ERROR, redact(text)
        _finish(app, runs, run_id, record, started)
        raise
    _finish(app, runs, run_id, record, started)


def _finish(app: App, runs: RunLog, run_id: int, record: _Record, started: datetime) -> None:
    finished = app.clock()
    record.run = runs.finish(
        run_id,
        record.outcome,
        now=finished,
        counts=record.counts,
        error=record.error,
        day=record.day,
    )
    fields = {
        "job": record.job,
        "zone": record.zone or app.settings.digest.timezone,
        "date": record.day.isoformat() if record.day else "-",
        "outcome": record.outcome,
        **record.counts,
        "seconds": round((finished - started).total_seconds(), 3),
    }
    line = " ".join(f"{key}={value}" for key, value in fields.items())
    if record.error:
        line += f" error={record.error!r}"
    log.log(logging.ERROR if record.outcome == RunOutcome.ERROR else logging.INFO, "run %s", line)


def run_fetch(app: App) -> list[FeedFetchReport]:
    reports: list[FeedFetchReport] = []
    with _recorded(app, FETCH) as record:
        reports = services.fetch(app)
        record.counts = {
            "feeds": len(reports),
            "failed": sum(1 for r in reports if r.status == "error"),
            "new": sum(r.items_new for r in reports),
        }
        if reports and record.counts["failed"] == len(reports):
            record.outcome, record.error = RunOutcome.ERROR, "every feed failed"
    return reports


def run_build(app: App, zone: str) -> Edition | None:
    """Build the next edition of ``zone`` ahead of its send time, for an editor to look at."""
    day, _ = next_send(app.clock(), app.settings.digest, zone)
    editions = Editions(app)
    edition = None
    with _recorded(app, BUILD, zone, day) as record:
        key = editions.key(day, zone)
        existing = editions.get(key)
        if existing is not None and existing.status != EditionStatus.DRAFT:
            # approved, held, sending or sent: an editor's decision is never rebuilt over
            record.counts = {"stories": len(existing.stories)}
            return existing
        edition = editions.build(key)
        record.counts = {"stories": len(edition.stories)}
    return edition


@dataclass
class SendResult:
    zone: str
    day: date
    #: The run history entry (for a dry run, one that was not written: id 0).
    run: Run
    edition: Edition | None = None
    report: services.SendReport | None = None


def check_send_date(app: App, day: date, zone: str) -> None:
    """Refuse a date a person probably did not mean: past its time-to-live, or more than a
    day ahead (``--any-date`` skips this)."""
    editions = Editions(app)
    key = editions.key(day, zone)
    problem = send_date_problem(
        day,
        today=editions.today(key.zone),
        send_at=editions.send_moment(key),
        now=app.clock(),
        ttl=catch_up_ttl(app),
    )
    if problem:
        raise UsageError(f"{problem}; pass --any-date if you mean it")


def run_send(
    app: App,
    day: date,
    zone: str = DEFAULT_ZONE,
    *,
    force: bool = False,
    stop: threading.Event | None = None,
    at_send_time: bool = True,
    dry_run: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_message: Callable[[Delivery, str], None] | None = None,
) -> SendResult:
    """Send ``zone``'s edition of ``day`` to that zone's subscribers, as
    :func:`digest.editions.decide.decide` says (sent once, held, quiet, rebuilt when stale).

    ``at_send_time``: the edition's send time has come, so one not approved by now is marked
    held. Without it (`digest send` by hand) such an edition is refused, unmarked, and a
    project error is raised instead of only recorded.
    """
    editions = Editions(app)
    key = editions.key(day, zone)
    found: dict[str, Any] = {}

    def act(record: _Record) -> None:
        _decide_and_send(
            app,
            editions,
            key,
            record,
            found,
            force=force,
            stop=stop,
            at_send_time=at_send_time,
            dry_run=dry_run,
            on_start=on_start,
            on_message=on_message,
        )

    if dry_run:  # writes no run history
        record = _Record(job=SEND, zone=key.zone, day=day)
        act(record)
    else:
        with _recorded(app, SEND, key.zone, day) as record:
            act(record)
    if not at_send_time:
        if record.exc is not None:
            raise record.exc
        if record.outcome == RunOutcome.HELD:
            raise EditionError(
                f"the {describe(key)} edition is {record.error}; approve it first "
                f"(`digest approve --date {day}`)"
            )
    run = record.run or Run(
        id=0,
        job=SEND,
        zone=key.zone,
        edition_date=day,
        started_at=app.clock(),
        finished_at=app.clock(),
        outcome=record.outcome,
        counts=record.counts,
        error=record.error,
    )
    return SendResult(
        zone=key.zone,
        day=day,
        run=run,
        edition=found.get("edition"),
        report=found.get("report"),
    )


def _decide_and_send(
    app: App,
    editions: Editions,
    key: EditionKey,
    record: _Record,
    found: dict[str, Any],
    *,
    force: bool,
    stop: threading.Event | None,
    at_send_time: bool,
    dry_run: bool,
    on_start: Callable[[int], None] | None,
    on_message: Callable[[Delivery, str], None] | None,
) -> None:
    now = app.clock()
    rules = policy(app, force=force)
    edition = editions.get(key)
    decision = decide(edition, rules, now)
    if decision.action == Action.BUILD:
        edition = editions.build(key)
        decision = decide(edition, rules, now)
    assert edition is not None
    found["edition"] = edition
    record.counts = {"stories": len(edition.stories)}
    if decision.action == Action.HOLD:
        if at_send_time and edition.status != EditionStatus.HELD:
            found["edition"] = editions.mark_held(edition)
        record.outcome = RunOutcome.HELD
        record.error = (
            decision.reason if at_send_time else decision.reason.replace(" by its send time", "")
        )
        return
    if decision.action == Action.QUIET:
        record.outcome = RunOutcome.QUIET_SKIPPED
        return
    # SEND, or DONE: a sent edition's run only reports its ledger (nothing is due)
    report = services.send(
        app,
        edition,
        timezones=groups(app).get(key.zone, frozenset()),
        stop=stop,
        dry_run=dry_run,
        on_start=on_start,
        on_message=on_message,
    )
    found["report"] = report
    record.counts = {"stories": len(edition.stories), **report.counts, "sent_now": report.sent_now}
    if stop is not None and stop.is_set():
        record.outcome = RunOutcome.STOPPED
    elif decision.quiet:
        record.outcome = RunOutcome.QUIET_NOTE


def run_all_zones(
    app: App,
    day_for: Callable[[str], date],
    *,
    force: bool = False,
    stop: threading.Event | None = None,
) -> list[SendResult]:
    """:func:`run_send` for every zone group, each for the date ``day_for(zone)``."""
    results = []
    for zone in groups(app):
        results.append(run_send(app, day_for(zone), zone, force=force, stop=stop))
        if stop is not None and stop.is_set():
            break
    return results


def catch_up(app: App, *, stop: threading.Event | None = None) -> list[SendResult]:
    """On start-up: each zone's latest send, if it was missed and is still within its
    time-to-live, goes out once. Only the latest: after days of downtime, today's only."""
    now, ttl = app.clock(), catch_up_ttl(app)
    due = []
    for zone in groups(app):
        day = catch_up_date(now, app.settings.digest, zone, ttl)
        if day is not None and not _already_done(app, zone, day):
            due.append((zone, day))
    if due and not app.settings.digest.require_approval:
        run_fetch(app)  # the feeds have not been read while the daemon was down
    results = []
    for zone, day in due:
        results.append(run_send(app, day, zone, stop=stop))
        if stop is not None and stop.is_set():
            break
    return results


def send_late_approvals(app: App, *, stop: threading.Event | None = None) -> list[SendResult]:
    """An edition held at its send time and approved since goes out, while still within its
    time-to-live."""
    now, ttl = app.clock(), catch_up_ttl(app)
    results = []
    for zone in groups(app):
        day = catch_up_date(now, app.settings.digest, zone, ttl)
        if day is None:
            continue
        edition = app.store.get_edition(Editions(app).key(day, zone))
        last = RunLog(app.database).last_send(zone, day)
        if (
            edition is not None
            and edition.status == EditionStatus.APPROVED
            and last is not None
            and last.outcome == RunOutcome.HELD
        ):
            results.append(run_send(app, day, zone, stop=stop))
    return results


def _already_done(app: App, zone: str, day: date) -> bool:
    edition = app.store.get_edition(Editions(app).key(day, zone))
    if edition is not None and edition.status == EditionStatus.SENT:
        return True
    last = RunLog(app.database).last_send(zone, day)
    # an error or a stop is resumed; anything else was a decision (sent, skipped, held)
    return last is not None and last.outcome not in (
        RunOutcome.ERROR,
        RunOutcome.STOPPED,
        RunOutcome.INTERRUPTED,
    )


@dataclass
class DailyRun:
    fetch: list[FeedFetchReport]
    sends: list[SendResult]


def run_daily(
    app: App,
    edition_date: date | None = None,
    *,
    force: bool = False,
    stop: threading.Event | None = None,
    any_date: bool = False,
) -> DailyRun:
    """`digest run`: fetch, then each zone's edition of ``edition_date`` (default: today in
    that zone) through :func:`run_send`. A date given is checked first (see
    :func:`check_send_date`) unless ``any_date``."""
    if edition_date is not None and not any_date:
        for zone in groups(app):
            check_send_date(app, edition_date, zone)
    fetched = run_fetch(app)
    now = app.clock()

    def day_for(zone: str) -> date:
        return edition_date or now.astimezone(zone_of(app.settings.digest, zone)).date()

    return DailyRun(fetch=fetched, sends=run_all_zones(app, day_for, force=force, stop=stop))
