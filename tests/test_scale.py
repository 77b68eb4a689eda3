"""At scale on PostgreSQL: four `digest worker`s and the leader share one edition's send to
20,000 subscribers, and a worker killed mid-run has its rows finished by the others.

A loopback SMTP sink counts Message-IDs (it keeps no message text, so 20,000 cost little).
These need a server database: SQLite serialises writers, and its claims are not the
``FOR UPDATE SKIP LOCKED`` ones these exercise.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from digest.loopback import free_port
from tests.conftest import Workspace
from tests.databases import on_postgres
from tests.test_delivery import DAY, add_subscribers, built, delivery_config

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not on_postgres(),
    reason="needs a server database: set DIGEST_TEST_DATABASE_URL to a PostgreSQL role",
)


class CountingHandler:
    """Accepts every message and counts its Message-ID and recipients, keeping nothing else."""

    def __init__(self) -> None:
        self.ids: Counter[bytes] = Counter()
        self.recipients: Counter[str] = Counter()
        #: Seconds the relay takes to answer DATA (a slow relay keeps a run going).
        self.delay = 0.0
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        found = [
            line[len(b"message-id:") :].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"message-id:")
        ]
        with self._arrived:
            self.ids.update(found[:1] or [b""])
            self.recipients.update(envelope.rcpt_tos)
            self._arrived.notify_all()
        return "250 2.0.0 queued"

    def messages(self) -> int:
        with self._arrived:
            return sum(self.ids.values())

    def wait_for_messages(self, count: int, timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: sum(self.ids.values()) >= count, timeout)

    def wait_for_distinct(self, count: int, timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.ids) >= count, timeout)


@pytest.fixture
def sink() -> Iterator[tuple[CountingHandler, int]]:
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _digest(workspace: Workspace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(workspace.config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _stop_all(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait()


def _leader_sending(
    workspace: Workspace, fixture_feeds, port: int, people: list[str], **delivery: object
) -> subprocess.Popen[str]:
    """The day's edition built for `people`, mail going to the sink on `port`, and the leader's
    `digest send` started."""
    built(workspace, fixture_feeds)
    add_subscribers(workspace, people)
    workspace.smtp_port = port
    workspace.write_config()
    delivery_config(workspace, **delivery)
    return _digest(workspace, "send", "--any-date", "--json", "--date", DAY)


def test_four_workers_and_the_leader_send_20000_each_exactly_once(
    workspace: Workspace, fixture_feeds, sink: tuple[CountingHandler, int]
):
    handler, port = sink
    people = [f"reader{n}@example.com" for n in range(20_000)]
    leader = _leader_sending(workspace, fixture_feeds, port, people, connections=4)
    workers: list[subprocess.Popen[str]] = []
    try:
        # the leader has written every ledger row and started: the edition is being sent
        assert handler.wait_for_messages(1, timeout=300), "the leader never started"
        workers += [_digest(workspace, "worker", "--once", "--json") for _ in range(4)]
        outputs = [process.communicate(timeout=600) for process in (leader, *workers)]
    finally:
        _stop_all([leader, *workers])
    assert [p.returncode for p in (leader, *workers)] == [0] * 5, [e for _, e in outputs]
    assert len(handler.ids) == len(people) and set(handler.ids.values()) == {1}
    assert handler.recipients == Counter(people)  # each subscriber exactly once
    leader_sent = json.loads(outputs[0][0])["sent_now"]
    worker_sent = [json.loads(out)["sent"] for out, _ in outputs[1:]]
    assert leader_sent + sum(worker_sent) == len(people)
    assert sum(1 for sent in worker_sent if sent > 0) >= 2  # the work was shared
    assert workspace.sql("select status, count(*) from deliveries group by status") == [
        ("sent", len(people))
    ]
    assert workspace.sql("select count(*) from deliveries where uncertain") == [(0,)]


def _held_by_others(workspace: Workspace, known: set[str]) -> set[str]:
    rows = workspace.sql(
        "select distinct claim_token from deliveries"
        " where status = 'sending' and claim_token is not null"
    )
    return {token for (token,) in rows} - known


def test_a_worker_killed_mid_run_has_its_rows_finished_by_the_others(
    workspace: Workspace, fixture_feeds, sink: tuple[CountingHandler, int]
):
    handler, port = sink
    people = [f"k{n}@example.com" for n in range(2000)]
    connections = 2
    handler.delay = 0.005  # a relay that takes its time: the kill lands mid-run
    leader = _leader_sending(
        workspace, fixture_feeds, port, people, connections=connections, lease_seconds=5
    )
    victim = _digest(workspace, "worker", "--poll-seconds", "0.2")
    others: list[subprocess.Popen[str]] = []
    try:
        assert handler.wait_for_messages(1, timeout=300), "the leader never started"
        leaders = _held_by_others(workspace, set())
        # Each message the sink takes is a chance for the victim to have claimed: look again
        # until rows are held under a token that is not the leader's.
        victims: set[str] = set()
        while not victims:
            seen = handler.messages()
            assert seen < len(people) // 2, "the worker never claimed a row"
            victims = _held_by_others(workspace, leaders)
            assert handler.wait_for_messages(seen + 1, timeout=120)
        others += [_digest(workspace, "worker", "--poll-seconds", "0.2") for _ in range(3)]
        assert handler.wait_for_messages(handler.messages() + 50, timeout=120)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        [token] = victims
        # what it held when it died: rows only a take-over after the lease can finish
        held = {
            email
            for (email,) in workspace.sql(
                "select email from deliveries where claim_token = :token and status = 'sending'",
                token=token,
            )
        }
        assert held, "the killed worker held no rows"
        assert handler.wait_for_distinct(len(people), timeout=300), "rows were never finished"
        leader_out, leader_err = leader.communicate(timeout=300)
        for process in others:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=120) for process in others]
    finally:
        _stop_all([leader, victim, *others])
    assert victim.returncode == -signal.SIGKILL
    assert leader.returncode == 0, leader_err
    assert [p.returncode for p in others] == [0, 0, 0], [e for _, e in outputs]
    assert all("Traceback" not in err for _, err in [*outputs, (leader_out, leader_err)])
    # everyone got it; the only repeats are messages the killed worker had in flight
    assert set(handler.recipients) == set(people)
    repeated = {email for email, count in handler.recipients.items() if count > 1}
    assert sum(handler.recipients.values()) - len(people) <= connections
    assert len(repeated) <= connections
    assert workspace.sql("select status, count(*) from deliveries group by status") == [
        ("sent", len(people))
    ]
    uncertain = {
        email for (email,) in workspace.sql("select email from deliveries where uncertain")
    }
    assert held <= uncertain  # every row taken over from the dead worker is flagged
    assert repeated <= held
