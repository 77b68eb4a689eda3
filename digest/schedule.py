"""`digest serve`: the jobs of the day, run by APScheduler with its jobs in our database.

Jobs (explicit ids, each ``max_instances=1``, ``coalesce``, a generous misfire grace):

- ``fetch``: every [schedule] fetch_every_minutes;
- ``build:<zone>``: each zone's edition, build_lead_minutes before its send time;
- ``send:<zone>``: at each zone's local send time (``default`` is the digest's own zone).

Only the daemon holding the lease row (digest/store/runs.py) runs them; it renews the lease and
keeps the zone jobs in step with the subscribers' time zones from a job of its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from digest import jobs
from digest.app import App, make_app
from digest.config import Settings, load_settings
from digest.editions.service import groups
from digest.errors import ConfigError, DigestError, LockError, one_line
from digest.redact import redact
from digest.sendtimes import LocalDailyTrigger, latest_send, next_send
from digest.stopping import stop_on_signals
from digest.store.database import driver_url
from digest.store.runs import DaemonLeases, RunLog

FETCH_JOB_ID = "fetch"
CATCH_UP_JOB_ID = "catch-up"
KEEPER_JOB_ID = "lease-keeper"
APPROVALS_JOB_ID = "late-approvals"
CONFIRMATIONS_JOB_ID = "confirmations"
#: How often the daemon sends the confirmation emails the subscribe form queued.
CONFIRMATIONS_EVERY_SECONDS = 30
#: How often a daemon with require_approval looks for editions approved after their send time.
APPROVALS_EVERY_SECONDS = 60
log = logging.getLogger("digest.schedule")


def zone_label(zone: str) -> str:
    return zone or "default"


def build_job_id(zone: str) -> str:
    return f"build:{zone_label(zone)}"


def send_job_id(zone: str) -> str:
    return f"send:{zone_label(zone)}"


def zone_from_label(label: str) -> str:
    return "" if label == "default" else label


class _StopSignal:
    """The running daemon's stop request, seen by the jobs it runs.

    APScheduler's database job store can only name a job by import path with plain arguments, so
    an in-process event cannot be handed to the job; this one slot per process is how a send
    learns that SIGTERM arrived (it then finishes the message in flight and gives back the rest).
    """

    event: threading.Event | None = None


def stop_event() -> threading.Event | None:
    return _StopSignal.event


@contextmanager
def _job_app(config_path: str) -> Iterator[App]:
    settings = load_settings(Path(config_path))
    with make_app(settings) as app:
        yield app


def _guarded(job: str, action: Callable[[], object]) -> None:
    # Errors are already in the run history; this keeps the scheduler thread quiet and alive.
    try:
        action()
    except DigestError as exc:
        log.error("job=%s outcome=error error=%r", job, str(exc))
    except SQLAlchemyError as exc:  # the database went away mid-job: the next run resumes
        log.error("job=%s outcome=error error=%r", job, f"database: {one_line(exc)}")


def fetch_job(config_path: str) -> None:
    def act() -> None:
        with _job_app(config_path) as app:
            jobs.run_fetch(app)

    _guarded(FETCH_JOB_ID, act)


def build_job(config_path: str, zone: str) -> None:
    def act() -> None:
        with _job_app(config_path) as app:
            jobs.run_build(app, zone)

    _guarded(build_job_id(zone), act)


def send_job(config_path: str, zone: str) -> None:
    """At the send time: fetch the last items (unless an editor approves what goes out), then
    send the zone's edition whose send time has just come."""

    def act() -> None:
        with _job_app(config_path) as app:
            if not app.settings.digest.require_approval:
                jobs.run_fetch(app)
            day, _ = latest_send(app.clock(), app.settings.digest, zone)
            jobs.run_send(app, day, zone, stop=stop_event())

    _guarded(send_job_id(zone), act)


def catch_up_job(config_path: str) -> None:
    def act() -> None:
        with _job_app(config_path) as app:
            jobs.catch_up(app, stop=stop_event())

    _guarded(CATCH_UP_JOB_ID, act)


def approvals_job(config_path: str) -> None:
    def act() -> None:
        with _job_app(config_path) as app:
            if app.settings.digest.require_approval:
                jobs.send_late_approvals(app, stop=stop_event())

    _guarded(APPROVALS_JOB_ID, act)


def confirmations_job(config_path: str) -> None:
    def act() -> None:
        from subscribers.optin import send_queued

        with _job_app(config_path) as app:
            run = send_queued(app)
            if run.signups or run.sent or run.deferred or run.failed:
                log.info(
                    "job=%s signups=%d sent=%d deferred=%d skipped=%d failed=%d",
                    CONFIRMATIONS_JOB_ID,
                    run.signups,
                    run.sent,
                    run.deferred,
                    run.skipped,
                    run.failed,
                )

    _guarded(CONFIRMATIONS_JOB_ID, act)


def daily_job(config_path: str) -> None:
    """The whole day at once (fetch, then each zone's due send); kept for job stores written by
    earlier versions, which named this function."""
    with _job_app(config_path) as app:
        jobs.run_fetch(app)
        now = app.clock()
        jobs.run_all_zones(app, lambda zone: latest_send(now, app.settings.digest, zone)[0])


def desired_jobs(settings: Settings, zones: list[str]) -> dict[str, dict[str, object]]:
    """Job id -> add_job arguments for the persistent schedule."""
    config = str(settings.path)
    d, s = settings.digest, settings.schedule
    grace = int(jobs.catch_up_ttl_for(settings).total_seconds())
    wanted: dict[str, dict[str, object]] = {
        FETCH_JOB_ID: {
            "func": "digest.schedule:fetch_job",
            "trigger": IntervalTrigger(minutes=s.fetch_every_minutes, timezone=d.zone),
            "args": [config],
            "name": f"fetch every feed every {s.fetch_every_minutes} min",
            "misfire_grace_time": max(60, s.fetch_every_minutes * 30),
        }
    }
    for zone in zones:
        tz = zone or d.timezone
        if s.build_lead_minutes:
            wanted[build_job_id(zone)] = {
                "func": "digest.schedule:build_job",
                "trigger": LocalDailyTrigger(d.send_time, tz, s.build_lead_minutes),
                "args": [config, zone],
                "name": f"build the {tz} edition {s.build_lead_minutes} min before sending",
                "misfire_grace_time": max(60, s.build_lead_minutes * 60),
            }
        wanted[send_job_id(zone)] = {
            "func": "digest.schedule:send_job",
            "trigger": LocalDailyTrigger(d.send_time, tz),
            "args": [config, zone],
            "name": f"send the {tz} edition at {d.send_time} {tz}",
            "misfire_grace_time": grace,
        }
    return wanted


def sync_jobs(scheduler: BackgroundScheduler, settings: Settings, zones: list[str]) -> None:
    """Add the jobs of new zones, drop those of zones nobody is in any more."""
    wanted = desired_jobs(settings, zones)
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    for job_id, spec in wanted.items():
        current = existing.get(job_id)
        if current is not None and str(current.trigger) == str(spec["trigger"]):
            continue
        scheduler.add_job(
            id=job_id,
            jobstore="default",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            **spec,
        )
    if scheduler.state == STATE_RUNNING:
        for job_id in existing.keys() - wanted.keys():
            scheduler.remove_job(job_id, jobstore="default")


class RedactingFormatter(logging.Formatter):
    """Log lines, tracebacks included, never show a URL's password (a database error quotes
    the URL it was given)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def build_scheduler(settings: Settings, zones: list[str]) -> BackgroundScheduler:
    if settings.path is None:
        raise ConfigError(
            "`digest serve` needs a config file (digest.toml, --config or DIGEST_CONFIG)"
        )
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(
                url=driver_url(settings.digest.database),
                # a database restart must not leave the scheduler holding dead connections
                engine_options={"pool_pre_ping": True},
            ),
            # this daemon's own housekeeping: never shared through the database
            "local": MemoryJobStore(),
        },
        timezone=settings.digest.zone,
    )
    sync_jobs(scheduler, settings, zones)
    return scheduler


def serve(settings: Settings, *, echo: Callable[[str], None]) -> None:
    """Run until SIGTERM or SIGINT; a send in progress finishes its current message first."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.path is None:
        raise ConfigError(
            "`digest serve` needs a config file (digest.toml, --config or DIGEST_CONFIG)"
        )
    holder = f"{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:8]})"
    ttl = timedelta(seconds=settings.schedule.lease_seconds)
    app = make_app(settings)
    leases = DaemonLeases(app.database)
    try:
        previous = leases.current()
        lease = leases.acquire(holder, now=app.clock(), ttl=ttl)
        if lease is not None and previous is not None:
            # taking over from a daemon that died: what it left "running" is not running
            RunLog(app.database).mark_interrupted(started_before=previous.renewed_at)
        if lease is None:
            other = leases.current()
            who = (
                f"{other.holder}, lease until {other.expires_at:%Y-%m-%d %H:%M:%S} UTC"
                if other
                else "?"
            )
            raise LockError(
                f"another `digest serve` is running on this database ({who}); "
                "it is taken over when that lease expires"
            )
        _serve_holding(app, leases, holder, ttl, echo)
    finally:
        app.close()


def _serve_holding(
    app: App,
    leases: DaemonLeases,
    holder: str,
    ttl: timedelta,
    echo: Callable[[str], None],
) -> None:
    lost = threading.Event()
    # Handlers first: a signal at any moment from here on is a clean stop, never a lost one.
    with stop_on_signals(lambda line: echo(f"{line} and stopping")) as stop:
        _run_schedule(app, leases, holder, ttl, echo, stop, lost)
    if lost.is_set():
        raise LockError("stopped: another `digest serve` took over this database's lease")
    leases.release(holder)
    echo("stopped")


def _run_schedule(
    app: App,
    leases: DaemonLeases,
    holder: str,
    ttl: timedelta,
    echo: Callable[[str], None],
    stop: threading.Event,
    lost: threading.Event,
) -> None:
    settings = app.settings
    _StopSignal.event = stop
    try:
        scheduler = build_scheduler(settings, list(groups(app)))

        def keep() -> None:
            try:
                renewed = leases.renew(holder, now=app.clock(), ttl=ttl)
            except SQLAlchemyError as exc:  # tried again at the next beat, within the lease
                log.error("lease not renewed: database: %s", one_line(exc))
                return
            if not renewed:
                log.error("lease lost: another digest serve took over; stopping")
                lost.set()
                stop.set()
                return
            sync_jobs(scheduler, settings, list(groups(app)))

        every = max(1.0, settings.schedule.lease_seconds / 3)
        scheduler.add_job(keep, IntervalTrigger(seconds=every), id=KEEPER_JOB_ID, jobstore="local")
        scheduler.add_job(
            catch_up_job, args=[str(settings.path)], id=CATCH_UP_JOB_ID, jobstore="local"
        )
        periodic = [(confirmations_job, CONFIRMATIONS_EVERY_SECONDS, CONFIRMATIONS_JOB_ID)]
        if settings.digest.require_approval:
            periodic.append((approvals_job, APPROVALS_EVERY_SECONDS, APPROVALS_JOB_ID))
        for job, seconds, job_id in periodic:
            # one run at a time: a slow round is not stacked up behind itself
            scheduler.add_job(
                job,
                IntervalTrigger(seconds=seconds),
                args=[str(settings.path)],
                id=job_id,
                jobstore="local",
                coalesce=True,
                max_instances=1,
            )
        d = settings.digest
        echo(
            f"digest serve: daily digest at {d.send_time} {d.timezone}; stop with SIGTERM or Ctrl-C"
        )
        now = app.clock()
        for zone in groups(app):
            day, moment = next_send(now, d, zone)
            echo(f"next run: {moment.isoformat()} ({zone or d.timezone} edition of {day})")
        scheduler.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            scheduler.shutdown(wait=True)  # a running job sees `stop` and finishes its message
    finally:
        _StopSignal.event = None
