"""Claims with owners: several senders on one ledger, each sending only the rows it holds.

These run on SQLite and, with DIGEST_TEST_DATABASE_URL set, on PostgreSQL (where claims take
rows with FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

from tests.conftest import Workspace
from tests.processes import digest_process, python_module
from tests.servers import SmtpServer
from tests.test_delivery import DAY, add_subscribers, built, delivery_config

STAMP = "2025-06-01 00:00:00.000000"


def ledger_of(workspace: Workspace, rows: int) -> int:
    """An edition with ``rows`` pending deliveries, written directly; returns its id."""
    add_subscribers(workspace, [f"c{n}@example.com" for n in range(rows)])
    workspace.sql(
        "insert into editions (topic, edition_date, status, content, changes, built_at, zone)"
        " values ('t', '2025-06-01', 'sending', '{}', '{}', :stamp, '')",
        stamp=STAMP,
    )
    [(edition,)] = workspace.sql("select id from editions")
    workspace.sql(
        "insert into deliveries (edition_id, subscriber_id, email, status, attempts,"
        " message_id, created_at, uncertain)"
        " select :edition, id, email, 'pending', 0, '<' || id || '@t>', :stamp, :no"
        " from subscribers",
        edition=edition,
        stamp=STAMP,
        no=False,
    )
    return int(edition)


def test_six_claimers_at_once_take_every_row_exactly_once_and_never_fail(workspace: Workspace):
    edition = ledger_of(workspace, 3000)
    claimers = [python_module("tests.claimer", workspace.database, str(edition)) for _ in range(6)]
    outputs = [claimer.communicate(timeout=300) for claimer in claimers]
    # a deadlock or serialization failure the ledger did not retry would end a claimer here
    assert [claimer.returncode for claimer in claimers] == [0] * 6, [err for _, err in outputs]
    taken = [json.loads(out) for out, _ in outputs]
    everything = Counter(row for rows in taken for row in rows)
    assert len(everything) == 3000 and set(everything.values()) == {1}  # each row once
    assert workspace.sql("select status, count(*) from deliveries group by status") == [
        ("sent", 3000)
    ]
    assert workspace.sql("select count(*) from deliveries where uncertain") == [(0,)]


def test_a_sender_stopped_past_its_lease_sends_nothing_it_no_longer_holds(
    workspace: Workspace, fixture_feeds, smtp_server: SmtpServer
):
    built(workspace, fixture_feeds)
    people = [f"p{n}@example.com" for n in range(12)]
    add_subscribers(workspace, people)
    delivery_config(workspace, connections=1, lease_seconds=2)
    smtp_server.handler.delay = 0.3  # a slow relay: the stop lands mid-run
    paused = digest_process(workspace, "send", "--any-date", "--json", "--date", DAY)
    try:
        assert smtp_server.handler.wait_for(2), "the first sender never got going"
        paused.send_signal(signal.SIGSTOP)
        # Another sender finishes the edition: at first the rows that were still pending, then,
        # once the stopped sender's lease has run out, the rows it had claimed.
        deadline = time.monotonic() + 60
        while workspace.sql(
            "select count(*) from deliveries where status in ('pending', 'sending')"
        ) != [(0,)]:
            assert time.monotonic() < deadline, "the stopped sender's rows were never taken"
            workspace.invoke("send", "--any-date", "--date", DAY)
        before_resume = len(smtp_server.handler.messages)
        paused.send_signal(signal.SIGCONT)
        out, err = paused.communicate(timeout=60)
    finally:
        if paused.poll() is None:
            paused.send_signal(signal.SIGCONT)
            paused.kill()
            paused.wait()
    assert paused.returncode == 0, err
    assert "Traceback" not in err
    # Resumed, it sent at most the message that was already in flight on its one connection.
    assert len(smtp_server.handler.messages) - before_resume <= 1
    received = Counter(smtp_server.handler.recipients())
    assert set(received) == set(people)
    repeated = {email for email, count in received.items() if count > 1}
    assert len(repeated) <= 1
    taken_over = {
        email for (email,) in workspace.sql("select email from deliveries where uncertain")
    }
    assert taken_over, "the rows taken from the stopped sender are flagged uncertain"
    assert repeated <= taken_over
    assert workspace.sql("select status, count(*) from deliveries group by status") == [
        ("sent", len(people))
    ]
    assert json.loads(out)["counts"]["sent"] == len(people)
