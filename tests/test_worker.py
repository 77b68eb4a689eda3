"""`digest worker`: several processes share the leader's send, each recipient once."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter

from tests.conftest import Workspace
from tests.processes import digest_process
from tests.servers import SmtpServer
from tests.test_delivery import DAY, add_subscribers, built, delivery_config


def test_workers_share_the_leaders_send_and_nobody_gets_two(
    workspace: Workspace, fixture_feeds, smtp_server: SmtpServer
):
    built(workspace, fixture_feeds)
    people = [f"w{n}@example.com" for n in range(120)]
    add_subscribers(workspace, people)
    delivery_config(workspace, connections=1)
    # the relay holds every message after the first until a worker is in: however slowly the
    # workers start, the leader cannot send the whole edition before they take part
    smtp_server.handler.hold_after = 1
    leader = digest_process(workspace, "send", "--any-date", "--json", "--date", DAY)
    workers: list[subprocess.Popen[str]] = []
    try:
        # the leader has written the rows and started: the edition is being sent
        assert smtp_server.handler.wait_for(1), "the leader never started"
        workers += [digest_process(workspace, "worker", "--once", "--json") for _ in range(3)]
        # a worker connects only with rows it has claimed in hand
        assert smtp_server.handler.wait_for_connections(2), "no worker took part"
        assert smtp_server.handler.release_held()
        outputs = [process.communicate(timeout=120) for process in (leader, *workers)]
    finally:
        for process in [leader, *workers]:
            if process.poll() is None:
                process.kill()
                process.wait()
    codes = [process.returncode for process in (leader, *workers)]
    assert codes == [0, 0, 0, 0], [err for _, err in outputs]
    assert Counter(smtp_server.handler.recipients()) == Counter(people)  # each exactly once
    leader_sent = json.loads(outputs[0][0])["sent_now"]
    worker_sent = [json.loads(out)["sent"] for out, _ in outputs[1:]]
    assert leader_sent + sum(worker_sent) == len(people)
    assert sum(worker_sent) > 0  # the workers did take part
    # workers write no ledger rows: there is one per subscriber, all sent
    assert workspace.sql("select status, count(*) from deliveries group by status") == [
        ("sent", len(people))
    ]


def test_an_idle_worker_stops_cleanly_on_sigterm(workspace: Workspace):
    workspace.invoke("subscribers", "list")  # creates the database
    worker = digest_process(workspace, "worker", "--poll-seconds", "0.2")
    try:
        assert worker.stderr is not None
        first = worker.stderr.readline()  # printed once the signal handlers are in place
        assert "waiting for editions to send" in first
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert "received SIGTERM" in err and "Traceback" not in err
    assert "worker: sent 0 messages" in err
