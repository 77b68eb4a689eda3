"""digest serve as a real process: its jobs in our database, one daemon per database, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from sqlalchemy.exc import OperationalError, ProgrammingError

from digest.loopback import free_port
from digest.schedule import daily_job
from tests.conftest import Workspace
from tests.databases import run_sql
from tests.servers import RecordingHandler

LEASE = "[schedule]\nlease_seconds = 3\n"
# One SMTP connection, so "the message in flight" is one message and the rest is observable.
ONE_CONNECTION = "[delivery]\nconnections = 1\n"


class ServeProcess:
    """`digest serve` (or another command) in a subprocess, its stderr collected line by line
    as it comes."""

    def __init__(self, config: Path, *command: str) -> None:
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self._ended = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "digest", "--config", str(config), *(command or ("serve",))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._arrived:
                self.lines.append(line)
                self._arrived.notify_all()
        with self._arrived:
            self._ended = True
            self._arrived.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a line with ``text`` arrives (or the process ends: then it fails at once)."""

        def seen() -> bool:
            return any(text in line for line in self.lines)

        with self._arrived:
            self._arrived.wait_for(lambda: seen() or self._ended, timeout)
            assert seen(), self.stderr

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        """Its exit status, once it has exited and all it wrote has been read."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(predicate, timeout: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    assert predicate()


def query(database: str, sql: str) -> list[tuple]:
    return run_sql(database, sql)


def test_daily_job_fetches_builds_and_sends_today(workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com")
    daily_job(str(workspace.config))
    assert smtp_server.handler.recipients() == ["ada@example.com"]
    daily_job(str(workspace.config))  # a second run the same day sends nothing more
    assert len(smtp_server.handler.messages) == 1


def test_serve_stores_its_jobs_and_stops_cleanly_on_sigterm(workspace: Workspace):
    workspace.write_config(extra=LEASE, timezone="Europe/Paris", send_time="07:15")
    workspace.invoke("feeds", "list")  # creates the database
    started = datetime.now(UTC)
    serve = ServeProcess(workspace.config)
    try:
        serve.wait_for("next run:")
        wait_until(lambda: len(stored_jobs(workspace.database)) == 3)
        jobs = stored_jobs(workspace.database)
        looked = datetime.now(UTC)
        assert set(jobs) == {"fetch", "build:default", "send:default"}
        # Each job's next run is the next 07:15 (send) and 06:15 (build, build_lead_minutes
        # = 60) in Paris after the daemon started: between build and send time, the build's
        # is tomorrow and the send's today. Read against the clock before and after, in case
        # one of those moments passed while the daemon started.
        paris = ZoneInfo("Europe/Paris")
        for job, at in (("send:default", dt_time(7, 15)), ("build:default", dt_time(6, 15))):
            expected = {next_local(moment, paris, at) for moment in (started, looked)}
            assert jobs[job] in expected, (job, jobs[job], expected)
        [(holder,)] = query(workspace.database, "select holder from daemon_lease")
        assert f"pid {serve.process.pid}" in holder
        # a subscriber in a new time zone gets that zone's jobs while the daemon runs
        workspace.invoke("subscribers", "add", "kenji@example.jp")
        workspace.sql("update subscribers set timezone = 'Asia/Tokyo'")
        wait_until(lambda: "send:Asia/Tokyo" in stored_jobs(workspace.database))
        tokyo = time.gmtime(stored_jobs(workspace.database)["send:Asia/Tokyo"])
        assert (tokyo.tm_hour, tokyo.tm_min) == (22, 15)  # 07:15 in Tokyo
        status = workspace.json("status")
        assert status["daemon"]["holder"] == holder
        assert {j["job"] for j in status["next_runs"]} == {
            "fetch",
            "build:default",
            "send:default",
            "build:Asia/Tokyo",
            "send:Asia/Tokyo",
        }
        code = serve.stop()
    finally:
        serve.kill()
    assert code == 0, serve.stderr
    assert "daily digest at 07:15 Europe/Paris" in serve.stderr
    assert "stopped" in serve.stderr
    assert "Traceback" not in serve.stderr
    assert query(workspace.database, "select * from daemon_lease") == []  # released


def next_local(after: datetime, zone: ZoneInfo, at: dt_time) -> float:
    """The first time after ``after`` that the clock in ``zone`` shows ``at``, as epoch seconds."""
    day = after.astimezone(zone).date()
    while (moment := datetime.combine(day, at, tzinfo=zone)) <= after:
        day += timedelta(days=1)
    return moment.timestamp()


def test_next_local_crosses_midnight_and_dst():
    paris = ZoneInfo("Europe/Paris")
    before_build = datetime(2026, 3, 28, 5, 0, tzinfo=UTC)  # 06:00 Paris, CET
    assert (
        next_local(before_build, paris, dt_time(6, 15))
        == datetime(2026, 3, 28, 5, 15, tzinfo=UTC).timestamp()
    )
    between = datetime(2026, 3, 28, 5, 30, tzinfo=UTC)  # 06:30: build tomorrow, send today
    assert (
        next_local(between, paris, dt_time(7, 15))
        == datetime(2026, 3, 28, 6, 15, tzinfo=UTC).timestamp()
    )
    assert (
        next_local(between, paris, dt_time(6, 15))
        == datetime(
            2026,
            3,
            29,
            4,
            15,
            tzinfo=UTC,  # CEST from 29 March
        ).timestamp()
    )


def stored_jobs(database: str) -> dict[str, float]:
    """APScheduler's rows: job id -> next run (epoch seconds); empty before the first start."""
    try:
        return dict(query(database, "select id, next_run_time from apscheduler_jobs"))
    except (OperationalError, ProgrammingError):  # no such table (each database its own error)
        return {}


def serve_holding_a_short_lease(workspace: Workspace) -> ServeProcess:
    """`digest serve` started (its database made first) with a short lease, once it is up."""
    workspace.write_config(extra=LEASE)
    workspace.invoke("feeds", "list")
    serve = ServeProcess(workspace.config)
    try:
        serve.wait_for("next run:")
    except BaseException:
        serve.kill()
        raise
    return serve


def test_a_second_serve_refuses_and_takes_over_when_the_lease_expires(workspace: Workspace):
    first = serve_holding_a_short_lease(workspace)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "digest", "--config", str(workspace.config), "serve"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        [line] = second.stderr.strip().splitlines()
        assert line.startswith("digest: error: another `digest serve` is running")
        assert f"pid {first.process.pid}" in line
        first.stop(signal.SIGKILL)  # dies without releasing its lease
        assert query(workspace.database, "select count(*) from daemon_lease") == [(1,)]
        # the lease runs out (3 s here); rather than wait, move its expiry into the past
        past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        workspace.sql("update daemon_lease set expires_at = :past", past=past)
        third = ServeProcess(workspace.config)
        try:
            third.wait_for("next run:")
            [(holder,)] = query(workspace.database, "select holder from daemon_lease")
            assert f"pid {third.process.pid}" in holder
            assert third.stop() == 0
        finally:
            third.kill()
    finally:
        first.kill()


class GatedHandler(RecordingHandler):
    """Accepts ``before`` messages, then holds the next one's reply until the test opens the
    gate: the test sends its signal while that message is surely in flight, whatever the
    machine's load (no race between the signal and the messages)."""

    def __init__(self, before: int = 2) -> None:
        super().__init__()
        self.before = before
        self.holding = threading.Event()
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if len(self.messages) == self.before and not self.gate.is_set():
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 60)
        return await super().handle_DATA(server, session, envelope)

    def hold_then_release(self, signalled: Callable[[], None]) -> None:
        """Wait for the held message, let ``signalled`` send the signal and see it arrive,
        then let the held message through."""
        assert self.holding.wait(60), "the sender never reached the held message"
        try:
            signalled()
        finally:
            self.gate.set()


READERS = [f"reader{i}@example.com" for i in range(8)]


@contextmanager
def relay_holding_the_third(
    isolated: Path, database_url: str, extra: str, **digest: str
) -> Iterator[tuple[GatedHandler, Workspace]]:
    """A relay that holds the third message, and a workspace of READERS that sends to it."""
    handler = GatedHandler(before=2)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        workspace = Workspace(isolated, port, database_url)
        workspace.write_config(extra=extra, **digest)
        for email in READERS:
            workspace.invoke("subscribers", "add", email)
        yield handler, workspace
    finally:
        controller.stop()


def assert_in_flight_finished(handler: GatedHandler, workspace: Workspace) -> None:
    """The two before the signal and the one in flight went out and are recorded as sent; the
    rest went back to pending."""
    delivered = handler.recipients()
    assert len(delivered) == 3
    statuses = dict(
        query(workspace.database, "select status, count(*) from deliveries group by status")
    )
    assert statuses == {"sent": len(delivered), "pending": len(READERS) - len(delivered)}


def zone_at_noon(now: datetime) -> tuple[str, str]:
    """A fixed-offset zone where ``now`` is between 12:00 and 13:00, and the local time 30
    minutes before ``now`` there ("HH:MM")."""
    offset = 12 - now.hour  # -11..12 hours: every one has an Etc/GMT zone
    zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is UTC+3
    return zone, (now.astimezone(ZoneInfo(zone)) - timedelta(minutes=30)).strftime("%H:%M")


def test_zone_at_noon_gives_a_send_time_earlier_the_same_local_day():
    for hour in range(24):
        now = datetime(2026, 3, 10, hour, 59, 59, tzinfo=UTC)
        zone, send_time = zone_at_noon(now)
        assert now.astimezone(ZoneInfo(zone)).hour == 12
        assert "11:29" <= send_time <= "12:29"


def test_sigterm_during_a_send_loses_nothing_and_doubles_nothing(isolated: Path, database_url: str):
    # the send time was 30 minutes ago: the start-up catch-up sends it right away. The daemon
    # is a real process on the real clock, so the test cannot hand it a clock; instead the
    # digest's zone is the one where it is now about noon: whatever the hour the test runs at
    # and however slowly, the send time and the daemon's start fall on the same local day.
    zone, send_time = zone_at_noon(datetime.now(UTC))
    with relay_holding_the_third(
        isolated, database_url, LEASE + ONE_CONNECTION, send_time=send_time, timezone=zone
    ) as (handler, workspace):
        serve = ServeProcess(workspace.config)
        try:

            def signalled() -> None:
                serve.process.send_signal(signal.SIGTERM)
                serve.wait_for("received SIGTERM")

            handler.hold_then_release(signalled)
            code = serve.stop()
        finally:
            handler.gate.set()
            serve.kill()
        assert code == 0, serve.stderr
        assert "Traceback" not in serve.stderr
        assert_in_flight_finished(handler, workspace)
        [(outcome,)] = query(workspace.database, "select outcome from runs where job = 'send'")
        assert outcome == "stopped"
        [(day,)] = query(workspace.database, "select edition_date from editions")
        workspace.invoke("send", "--any-date", "--date", str(day))
        assert sorted(handler.recipients()) == sorted(READERS)  # everyone once, nobody twice


def test_sigterm_to_digest_send_finishes_the_message_in_flight(isolated: Path, database_url: str):
    with relay_holding_the_third(isolated, database_url, ONE_CONNECTION) as (handler, workspace):
        send = ServeProcess(workspace.config, "send", "--any-date", "--date", "2026-02-03")
        try:

            def signalled() -> None:
                send.process.send_signal(signal.SIGTERM)
                send.wait_for("received SIGTERM: finishing the message in flight")

            handler.hold_then_release(signalled)
            assert send.wait() == 0, send.stderr
        finally:
            handler.gate.set()
            send.kill()
        stderr = send.stderr
        assert "stopped: run `digest send` again" in stderr and "Traceback" not in stderr
        assert_in_flight_finished(handler, workspace)
        workspace.invoke("send", "--any-date", "--date", "2026-02-03")
        assert sorted(handler.recipients()) == sorted(READERS)


def test_serve_without_a_config_file_refuses(isolated):
    result = subprocess.run(
        [sys.executable, "-m", "digest", "serve"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "no digest.toml" in result.stderr


def test_a_daemon_whose_lease_was_taken_stops(workspace: Workspace):
    serve = serve_holding_a_short_lease(workspace)
    try:
        workspace.sql("update daemon_lease set holder = 'another host pid 1'")
        code = serve.process.wait(timeout=30)
    finally:
        serve.kill()
    assert code == 1
    assert "digest: error: stopped: another `digest serve` took over" in serve.stderr
    assert "Traceback" not in serve.stderr
    [(holder,)] = query(workspace.database, "select holder from daemon_lease")
    assert holder == "another host pid 1"  # the new holder's lease is left alone
