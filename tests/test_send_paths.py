"""The send's fast paths: one held ledger connection per run, the record written as the
driver's own SQL, the deliverable check built once per topic.

These run on SQLite and, with DIGEST_TEST_DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, text

from digest import services
from digest.app import make_app
from digest.config import load_settings
from digest.delivery.ledger import Outcome
from digest.editions.service import Editions
from digest.store.models import DeliveryRow
from digest.types import DeliveryStatus
from subscribers.store import SubscriberStore
from tests.conftest import Workspace
from tests.databases import on_postgres
from tests.servers import SmtpServer
from tests.test_claims import ledger_of
from tests.test_delivery import DAY, add_subscribers, built, delivery_config

LEASE = timedelta(minutes=10)


def test_recorded_outcomes_read_back_as_written(workspace: Workspace):
    """The record's own SQL stores times as every other write does: read back through the
    models, they are the times given (aware, to the microsecond)."""
    edition = ledger_of(workspace, 4)
    now = datetime(2025, 6, 1, 6, 30, 15, 123456, tzinfo=UTC)
    retry_at = now + timedelta(minutes=7, microseconds=1)
    with make_app(load_settings(workspace.config)) as app, app.ledger.held() as ledger:
        sent, deferred, failed, other = ledger.claim(
            edition, now=now, lease=LEASE, limit=4, token="a" * 32
        )
        ledger.record(
            [
                Outcome(sent.id, sent.subscriber_id, DeliveryStatus.SENT, "250 queued as X1"),
                Outcome(
                    deferred.id,
                    deferred.subscriber_id,
                    DeliveryStatus.DEFERRED,
                    "451 try later",
                    retry_at,
                ),
                Outcome(failed.id, failed.subscriber_id, DeliveryStatus.FAILED, "550 no"),
            ],
            now=now,
            max_hard_bounces=3,
            token="a" * 32,
        )
        # another sender's token changes nothing
        ledger.record(
            [Outcome(other.id, other.subscriber_id, DeliveryStatus.SENT, "250 ok")],
            now=now,
            max_hard_bounces=3,
            token="b" * 32,
        )
        with app.database.sessions() as session:
            rows = {row.id: row for row in session.query(DeliveryRow)}
    assert (rows[sent.id].status, rows[sent.id].sent_at, rows[sent.id].last_reply) == (
        "sent",
        now,
        "250 queued as X1",
    )
    assert rows[sent.id].claimed_at is None and rows[sent.id].claim_token is None
    assert (rows[deferred.id].status, rows[deferred.id].next_attempt_at) == ("deferred", retry_at)
    assert rows[deferred.id].sent_at is None
    assert (rows[failed.id].status, rows[failed.id].last_reply) == ("failed", "550 no")
    assert (rows[other.id].status, rows[other.id].claim_token) == ("sending", "a" * 32)


def test_a_run_reuses_one_connection_for_its_claims_and_records(
    workspace: Workspace, fixture_feeds, smtp_server: SmtpServer
):
    """Connections taken from the pool during a send grow with its claims, not with its
    messages: the outcomes are recorded on the run's own connection."""
    built(workspace, fixture_feeds)
    people = [f"h{n}@example.com" for n in range(200)]
    add_subscribers(workspace, people)
    delivery_config(workspace, connections=2)
    with make_app(load_settings(workspace.config)) as app:
        edition = Editions(app).get_or_build(Editions(app).key(date.fromisoformat(DAY)))
        checkouts: list[object] = []
        event.listen(app.database.engine, "checkout", lambda *_: checkouts.append(1))
        report = services.send(app, edition)
    assert report.counts["sent"] == len(people)
    assert sorted(smtp_server.handler.recipients()) == sorted(people)
    # A claim (a few dozen rows) checks on a pooled connection who is still deliverable;
    # recording on pooled connections took one per record, a record every message or two.
    assert len(checkouts) < len(people) / 3, len(checkouts)


@pytest.mark.skipif(
    not on_postgres(), reason="needs a server database: a SQLite connection cannot be cut"
)
def test_a_held_ledger_reconnects_when_the_server_ends_its_connection(workspace: Workspace):
    edition = ledger_of(workspace, 3)
    now = datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
    with make_app(load_settings(workspace.config)) as app, app.ledger.held() as ledger:
        first, second, third = ledger.claim(edition, now=now, lease=LEASE, limit=3, token="c" * 32)
        ledger.record(
            [Outcome(first.id, first.subscriber_id, DeliveryStatus.SENT, "250 ok")],
            now=now,
            max_hard_bounces=3,
            token="c" * 32,
        )
        with app.database.engine.connect() as admin:
            # the held connection is the only other one on this test's database
            admin.execute(
                text(
                    "select pg_terminate_backend(pid) from pg_stat_activity"
                    " where datname = current_database() and pid <> pg_backend_pid()"
                )
            )
        ledger.record(
            [Outcome(second.id, second.subscriber_id, DeliveryStatus.SENT, "250 ok")],
            now=now,
            max_hard_bounces=3,
            token="c" * 32,
        )
        assert ledger.renew(edition, token="c" * 32, now=now) == {third.id}
    assert workspace.sql("select status, count(*) from deliveries group by status order by 1") == [
        ("sending", 1),
        ("sent", 2),
    ]


def test_the_deliverable_check_follows_the_topic(workspace: Workspace):
    """The check a sender runs per claim is built once, but per topic: a list of another
    topic does not make its members deliverable."""
    add_subscribers(workspace, ["t1@example.com"])
    workspace.sql("update lists set topic = 'tariffs'")
    [(subscriber_id,)] = workspace.sql("select id from subscribers")
    topic = ["tariffs"]
    with make_app(load_settings(workspace.config)) as app:
        store = SubscriberStore(app.database, topic_key=lambda: topic[0])
        assert store.still_deliverable([subscriber_id]) == {subscriber_id: None}
        topic[0] = "chips"
        assert store.still_deliverable([subscriber_id]) == {}
        topic[0] = "tariffs"
        assert store.still_deliverable([subscriber_id]) == {subscriber_id: None}
