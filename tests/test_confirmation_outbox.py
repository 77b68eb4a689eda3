"""The confirmation outbox: who gets sent what, by which sender, and when it gives up."""

from __future__ import annotations

from datetime import timedelta

from digest.app import make_app
from digest.config import load_settings
from subscribers.optin import request_confirmation, send_queued
from subscribers.outbox import ConfirmationOutbox
from tests.clocks import Clock
from tests.conftest import Workspace
from tests.sites import T0


def test_the_daemons_job_sends_what_the_form_queued(workspace: Workspace, smtp_server):
    from digest.schedule import confirmations_job

    with make_app(load_settings(workspace.config)) as app:
        request_confirmation(app, "ada@example.com", source="test", strict=False)
    confirmations_job(str(workspace.config))
    assert smtp_server.handler.recipients() == ["ada@example.com"]
    confirmations_job(str(workspace.config))
    assert len(smtp_server.handler.messages) == 1


def test_two_senders_never_send_the_same_row(workspace: Workspace):
    clock = Clock(T0)
    apps = [make_app(load_settings(workspace.config), clock=clock) for _ in range(2)]
    try:
        request_confirmation(apps[0], "bob@example.com", source="test", strict=False)
        outboxes = [ConfirmationOutbox(app.database) for app in apps]
        first = outboxes[0].claim_due(now=T0)
        assert [row.attempts for row in first] == [1]
        assert outboxes[1].claim_due(now=T0) == []
        # a sender that died holding it: after the claim's lease, another takes it over
        assert outboxes[1].claim_due(now=T0 + timedelta(minutes=11))[0].id == first[0].id
    finally:
        for app in apps:
            app.close()


def test_rows_for_someone_no_longer_pending_are_skipped_and_stale_ones_given_up(
    workspace: Workspace, smtp_server
):
    clock = Clock(T0)
    with make_app(load_settings(workspace.config), clock=clock) as app:
        for email in ("cy@example.com", "dee@example.com", "eve@example.com"):
            request_confirmation(app, email, source="test", strict=False)
        cy = app.subscribers.find("cy@example.com")
        app.subscribers.set_status(cy.id, "unsubscribed", now=T0)
        app.subscribers.suppress("dee@example.com", now=T0)
        run = send_queued(app)
        assert (run.sent, run.skipped) == (1, 2)
        assert smtp_server.handler.recipients() == ["eve@example.com"]
        # queued, then the relay is away past the link's validity: given up, not sent late
        request_confirmation(app, "fay@example.com", source="test", strict=False)
        clock.now = T0 + timedelta(hours=app.settings.web.confirm_link_hours)
        assert send_queued(app).failed == 1
        assert ConfirmationOutbox(app.database).counts() == {"sent": 1, "skipped": 2, "failed": 1}


def test_a_queued_sign_up_is_applied_once_whoever_applies_it(workspace: Workspace, smtp_server):
    from subscribers.signups import SignupQueue

    clock = Clock(T0)
    apps = [make_app(load_settings(workspace.config), clock=clock) for _ in range(2)]
    try:
        queue = SignupQueue(apps[0].database)
        queue.add("gus@example.com", name="Gus", list_name=None, source="web form", now=T0)
        (held,) = queue.claim(now=T0)
        assert SignupQueue(apps[1].database).claim(now=T0) == []  # held by the first
        queue.done(held.id)
        queue.add("hal@example.com", name=None, list_name=None, source="web form", now=T0)
        runs = [send_queued(app) for app in apps]
        assert [run.signups for run in runs] == [1, 0] and queue.waiting() == 0
        assert smtp_server.handler.recipients() == ["hal@example.com"]
    finally:
        for app in apps:
            app.close()


def test_erasure_also_forgets_a_waiting_sign_up_and_confirmation(workspace: Workspace):
    from subscribers.signups import SignupQueue

    with make_app(load_settings(workspace.config), clock=Clock(T0)) as app:
        request_confirmation(app, "ivy@example.com", source="test", strict=False)
        queue = SignupQueue(app.database)
        queue.add("ivy@example.com", name="Ivy", list_name=None, source="web form", now=T0)
        app.subscribers.erase("ivy@example.com", now=T0)
        assert queue.waiting() == 0
        assert ConfirmationOutbox(app.database).counts() == {}
        assert send_queued(app).sent == 0
        assert app.subscribers.find("ivy@example.com") is None


def test_status_shows_what_waits_in_the_sign_up_queue_and_the_outbox(workspace: Workspace):
    from subscribers.signups import SignupQueue

    with make_app(load_settings(workspace.config), clock=Clock(T0)) as app:
        request_confirmation(app, "jo@example.com", source="test", strict=False)
        SignupQueue(app.database).add(
            "kit@example.com", name=None, list_name=None, source="web form", now=T0
        )
    status = workspace.json("status")
    assert status["confirmations"] == {"signups_waiting": 1, "queued": 1}
    text = workspace.invoke("status").stdout
    assert "confirmations: 1 sign-ups and 1 emails waiting, 0 failed" in text
