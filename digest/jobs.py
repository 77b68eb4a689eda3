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

from digest import services
from digest.app import App
from digest.config import Settings
from digest.errors import DigestError
from digest.sendtimes import DEFAULT_ZONE, catch_up_date, next_send, zone_groups, zone_of
from digest.store.runs import RunLog
from digest.types import Edition, EditionStatus, FeedFetchReport, Run, RunOutcome

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


def groups(app: App) -> dict[str, frozenset[str | None]]:
    return zone_groups(app.settings.digest, app.subscribers.active_timezones())


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


@contextmanager
def _recorded(app: App, job: str, zone: str = "", day: date | None = None) -> Iterator[_Record]:
    runs = RunLog(app.database)
    started = app.clock()
    run_id = runs.start(job, now=started, zone=zone, day=day)
    record = _Record(job=job, zone=zone, day=day)
    try:
        yield record
    except DigestError as exc:
        record.outcome, record.error = RunOutcome.ERROR, str(exc)
    except Exception as exc:  # a bug: still recorded, then raised for the scheduler's log
        record.outcome, record.error = RunOutcome.ERROR, f"{type(exc).__name__}: {exc}"
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
    edition = None
    with _recorded(app, BUILD, zone, day) as record:
        existing = app.store.get_edition(app.topic.key, day, zone)
        if existing is not None and existing.status != EditionStatus.DRAFT:
            # approved, held, sending or sent: an editor's decision is never rebuilt over
            record.counts = {"stories": len(existing.stories)}
            return existing
        edition = services.build(app, day, zone=zone)
        record.counts = {"stories": len(edition.stories)}
    return edition


@dataclass
class SendResult:
    zone: str
    day: date
    run: Run
    edition: Edition | None = None
    report: services.SendReport | None = None


def run_send(
    app: App,
    day: date,
    zone: str = DEFAULT_ZONE,
    *,
    force: bool = False,
    stop: threading.Event | None = None,
) -> SendResult:
    """Send ``zone``'s edition of ``day`` to that zone's subscribers, as the policies say.

    - an edition already sent is left alone (a re-run sends nothing twice);
    - require_approval: an edition not approved by now is held, not sent;
    - a quiet day (no stories) is skipped or sent as a short note ([schedule] quiet_day);
      ``force`` sends it anyway.
    """
    found: dict[str, object] = {}
    with _recorded(app, SEND, zone, day) as record:
        _send(app, day, zone, record, found, force=force, stop=stop)
    return SendResult(
        zone=zone,
        day=day,
        run=record.run,  # type: ignore[arg-type]
        edition=found.get("edition"),  # type: ignore[arg-type]
        report=found.get("report"),  # type: ignore[arg-type]
    )


def _send(
    app: App,
    day: date,
    zone: str,
    record: _Record,
    found: dict[str, object],
    *,
    force: bool,
    stop: threading.Event | None,
) -> None:
    settings = app.settings
    edition = app.store.get_edition(app.topic.key, day, zone)
    started = edition is not None and edition.status in (EditionStatus.SENDING, EditionStatus.SENT)
    if settings.digest.require_approval and not started:
        if edition is None:
            edition = services.build(app, day, zone=zone)
        if edition.status != EditionStatus.APPROVED:
            assert edition.id is not None
            if edition.status != EditionStatus.HELD:
                edition = app.store.set_edition_status(
                    edition.id, EditionStatus.HELD, now=app.clock()
                )
            found["edition"] = edition
            record.outcome, record.error = RunOutcome.HELD, "not approved by its send time"
            return
    if edition is None or edition.status == EditionStatus.DRAFT:
        edition = services.build(app, day, zone=zone)  # the whole window, up to the send time
    found["edition"] = edition
    if edition.status == EditionStatus.HELD:
        record.outcome, record.error = RunOutcome.HELD, "held by an editor"
        return
    quiet = edition.is_empty and not started
    if quiet and not force and settings.schedule.quiet_day == "skip":
        record.outcome = RunOutcome.QUIET_SKIPPED
        return
    report = services.send(
        app, day, zone=zone, timezones=groups(app).get(zone, frozenset()), stop=stop
    )
    found["report"] = report
    record.counts = {**report.counts, "sent_now": report.sent_now}
    if stop is not None and stop.is_set():
        record.outcome = RunOutcome.STOPPED
    elif quiet:
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
        edition = app.store.get_edition(app.topic.key, day, zone)
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
    edition = app.store.get_edition(app.topic.key, day, zone)
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
) -> DailyRun:
    """`digest run`: fetch, then each zone's edition of ``edition_date`` (default: today in
    that zone) through :func:`run_send`."""
    fetched = run_fetch(app)
    now = app.clock()

    def day_for(zone: str) -> date:
        return edition_date or now.astimezone(zone_of(app.settings.digest, zone)).date()

    return DailyRun(fetch=fetched, sends=run_all_zones(app, day_for, force=force, stop=stop))
