"""A confirmation link works once, and only for a pending subscriber (Flask's test client)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from digest.errors import SubscriberError
from subscribers.optin import confirm_url, send_queued
from subscribers.tokens import CONFIRM, UNSUBSCRIBE
from tests.clocks import Clock
from tests.conftest import Workspace
from tests.sites import T0, web_site

NEUTRAL = "Nothing to confirm"


@pytest.fixture
def site(workspace: Workspace):
    clock = Clock(T0)
    with web_site(workspace, clock) as (app, client):
        yield app, client, clock


def link_path(app, email: str) -> str:
    """The path of the link a confirmation email to ``email`` carries right now."""
    url = confirm_url(app, app.subscribers.find(email))
    return url[url.index("/confirm/") :]


def status(app, email: str) -> str:
    return app.subscribers.find(email).status


def test_a_link_replayed_after_confirm_and_unsubscribe_changes_nothing(site, smtp_server):
    app, client, clock = site
    client.post("/subscribe", data={"email": "bob@example.com"})
    send_queued(app)
    (message,) = smtp_server.handler.parsed()
    body = message.get_body(("plain",)).get_content()
    path = re.search(r"https://news\.example(/confirm/\S+)", body).group(1)
    assert "You are subscribed" in client.post(path).get_data(True)
    bob = app.subscribers.find("bob@example.com")
    assert bob.status == "active"
    # unsubscribe by one click, then replay the same link, by POST and by GET
    unsubscribe = app.signer().make(UNSUBSCRIBE, bob.id, email=bob.email)
    client.post(f"/u/{unsubscribe}", data={"List-Unsubscribe": "One-Click"})
    assert status(app, "bob@example.com") == "unsubscribed"
    clock.now += timedelta(hours=1)
    for replay in (client.post(path), client.get(path)):
        assert replay.status_code == 200 and NEUTRAL in replay.get_data(True)
        assert "Confirm</button>" not in replay.get_data(True)
    after = app.subscribers.find("bob@example.com")
    assert (after.status, after.consent_at) == ("unsubscribed", bob.consent_at)
    assert [s.email for s in app.subscribers.iter_active()] == []


def test_a_second_click_on_a_used_link_is_neutral(site):
    app, client, _ = site
    app.subscribers.add("cy@example.com", now=T0, status="pending")
    path = link_path(app, "cy@example.com")
    assert "You are subscribed" in client.post(path).get_data(True)
    again = client.post(path)
    assert again.status_code == 200 and NEUTRAL in again.get_data(True)


def test_a_link_does_not_reactivate_a_bounced_or_suppressed_subscriber(site):
    app, client, _ = site
    store = app.subscribers
    for email in ("dee@example.com", "eve@example.com"):
        store.add(email, now=T0, status="pending")
    bounced_path = link_path(app, "dee@example.com")
    suppressed_path = link_path(app, "eve@example.com")
    dee = store.find("dee@example.com")
    store.set_status(dee.id, "bounced", now=T0)
    store.suppress("eve@example.com", now=T0)
    for path in (bounced_path, suppressed_path):
        for answer in (client.get(path), client.post(path)):
            assert answer.status_code == 200 and NEUTRAL in answer.get_data(True)
    assert status(app, "dee@example.com") == "bounced"
    assert status(app, "eve@example.com") == "pending"
    assert list(store.iter_active()) == []


def test_only_the_link_of_the_current_pending_period_confirms(site):
    app, client, _ = site
    store = app.subscribers
    fay = store.add("fay@example.com", now=T0, status="pending")
    first = link_path(app, "fay@example.com")
    assert link_path(app, "fay@example.com") == first  # the same period: the same link
    client.post(first)
    store.set_status(fay.id, "unsubscribed", now=T0)
    store.set_status(fay.id, "pending", now=T0)  # asked again: a new email, a new link
    second = link_path(app, "fay@example.com")
    assert second != first
    assert NEUTRAL in client.post(first).get_data(True)
    assert status(app, "fay@example.com") == "pending"
    assert "You are subscribed" in client.post(second).get_data(True)


def test_a_link_without_a_nonce_confirms_only_a_pending_row_without_one(site):
    # links sent before an upgrade carry no nonce; rows made pending since have one
    app, client, _ = site
    gus = app.subscribers.add("gus@example.com", now=T0, status="pending")
    old_style = app.signer().make(CONFIRM, gus.id, email=gus.email)
    assert NEUTRAL in client.post(f"/confirm/{old_style}").get_data(True)
    assert status(app, "gus@example.com") == "pending"
    # a row pending from before the upgrade has no nonce: its old link still confirms it, once
    from sqlalchemy import text

    with app.database.sessions.begin() as session:
        session.execute(
            text("UPDATE subscribers SET confirm_nonce = NULL WHERE id = :i"), {"i": gus.id}
        )
    assert "You are subscribed" in client.post(f"/confirm/{old_style}").get_data(True)
    assert NEUTRAL in client.post(f"/confirm/{old_style}").get_data(True)


def test_resubscribe_on_the_preferences_page_never_activates_a_suppressed_address(site):
    from subscribers.tokens import PREFERENCES

    app, client, _ = site
    store = app.subscribers
    hal = store.add("hal@example.com", now=T0)
    token = app.signer().make(PREFERENCES, hal.id, email=hal.email)
    store.set_status(hal.id, "unsubscribed", now=T0)
    store.suppress("hal@example.com", now=T0)
    page = client.get(f"/preferences/{token}").get_data(as_text=True)
    assert "Subscribe again" not in page
    answer = client.post(f"/preferences/{token}", data={"action": "resubscribe"})
    assert answer.status_code == 200
    assert "cannot be subscribed again from this page" in answer.get_data(True)
    after = store.find("hal@example.com")
    assert (after.status, after.suppressed) == ("unsubscribed", True)
    assert list(store.iter_active()) == []


def test_no_way_into_active_while_suppressed(site):
    # a status may only move to active when the suppression list allows it
    app, _, _ = site
    store = app.subscribers
    ivy = store.add("ivy@example.com", now=T0)
    store.set_status(ivy.id, "unsubscribed", now=T0)
    store.suppress("ivy@example.com", now=T0)
    with pytest.raises(SubscriberError, match="suppression list"):
        store.confirm(ivy.id, now=T0, source="test")
    assert store.find("ivy@example.com").status == "unsubscribed"
