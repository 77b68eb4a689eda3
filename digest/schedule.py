"""`digest serve`: the daily job at send_time, run by APScheduler with its jobs in our database."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from digest import services
from digest.app import make_app
from digest.config import Settings, load_settings
from digest.errors import ConfigError, DigestError

DAILY_JOB_ID = "daily-digest"
#: A run that starts late (the machine slept, the daemon restarted) still happens within this.
MISFIRE_GRACE_SECONDS = 6 * 3600
log = logging.getLogger("digest.schedule")


def daily_job(config_path: str) -> None:
    """The scheduled job: fetch + build + send for today. Referenced by name in the job store."""
    try:
        settings = load_settings(Path(config_path))
        with make_app(settings) as app:
            report = services.run(app)
        log.info(
            "daily run %s: %d stories, deliveries %s",
            report.date,
            len(report.edition.stories),
            report.send.counts,
        )
    except DigestError as exc:
        log.error("daily run failed: %s", exc)


def daily_trigger(settings: Settings) -> CronTrigger:
    send = settings.digest.send_clock_time
    return CronTrigger(hour=send.hour, minute=send.minute, timezone=settings.digest.zone)


def build_scheduler(settings: Settings) -> BlockingScheduler:
    if settings.path is None:
        raise ConfigError(
            "`digest serve` needs a config file (digest.toml, --config or DIGEST_CONFIG)"
        )
    d = settings.digest
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=d.database)},
        timezone=d.zone,
    )
    scheduler.add_job(
        "digest.schedule:daily_job",
        daily_trigger(settings),
        args=[str(settings.path)],
        id=DAILY_JOB_ID,
        name="fetch, build and send the daily digest",
        replace_existing=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        coalesce=True,
        max_instances=1,
    )
    return scheduler


def serve(settings: Settings, *, echo: Callable[[str], None]) -> None:
    """Run until SIGTERM or SIGINT; a job in progress is allowed to finish."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(settings)

    def stop(signum: int, _frame: FrameType | None) -> None:
        echo(f"received {signal.Signals(signum).name}: finishing the current job and stopping")
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    echo(
        f"digest serve: daily digest at {settings.digest.send_time} {settings.digest.timezone}; "
        "stop with SIGTERM or Ctrl-C"
    )
    upcoming = daily_trigger(settings).get_next_fire_time(None, datetime.now(settings.digest.zone))
    echo(f"next run: {upcoming.isoformat() if upcoming else 'never'}")
    scheduler.start()  # blocks until stop() shuts it down
    echo("stopped")
