"""Preferences, the subscribe form and confirmation links, through Flask's test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from digest.app import make_app
from digest.config import load_settings
from subscribers.optin import send_queued
from subscribers.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, TokenSigner
from tests.clocks import Clock
from tests.conftest import Workspace
from tests.sites import T0, web_site


@pytest.fixture
def site(workspace: Workspace):
    clock = Clock(T0)
    with web_site(workspace, clock) as (app, client):
        app.subscribers.add("ada@example.com", name="Ada", now=T0)
        yield app, client, clock


def ada(app):
    return app.subscribers.find("ada@example.com")


def test_preferences_save_sections_format_timezone_and_pause(site):
    app, client, _ = site
    token = app.signer().make(PREFERENCES, ada(app).id)
    page = client.get(f"/preferences/{token}").get_data(as_text=True)
    assert 'name="sections" value="tariffs"' in page and "Europe/Paris" in page
    response = client.post(
        f"/preferences/{token}",
        data={
            "sections": ["tariffs", "export-controls", "no-such-section"],
            "format": "text",
            "timezone": "Asia/Singapore",
            "paused": "on",
        },
    )
    assert response.status_code == 200 and "preferences are saved" in response.get_data(True)
    saved = ada(app)
    assert saved.sections == ("tariffs", "export-controls")
    assert (saved.format, saved.timezone, saved.paused) == ("text", "Asia/Singapore", True)
    assert list(app.subscribers.iter_active()) == []  # paused: nothing is sent
    # resume, every section ticked means "everything"
    every = [section.key for section in app.topic.sections]
    client.post(f"/preferences/{token}", data={"sections": every, "format": "html"})
    saved = ada(app)
    assert (saved.sections, saved.paused, saved.timezone) == ((), False, None)
    assert [s.email for s in app.subscribers.iter_active()] == ["ada@example.com"]


def test_a_bad_time_zone_changes_nothing(site):
    app, client, _ = site
    token = app.signer().make(PREFERENCES, ada(app).id)
    response = client.post(
        f"/preferences/{token}", data={"timezone": "Atlantis/Central", "format": "text"}
    )
    assert response.status_code == 400 and "unknown time zone" in response.get_data(True)
    assert (ada(app).format, ada(app).timezone) == ("html", None)


def test_leave_from_preferences_then_come_back(site):
    app, client, _ = site
    token = app.signer().make(PREFERENCES, ada(app).id)
    page = client.get(f"/preferences/{token}").get_data(as_text=True)
    leave = re.search(r'action="(/u/[^"]+)"', page).group(1)
    assert client.post(leave).status_code == 200
    assert ada(app).status == "unsubscribed"
    page = client.get(f"/preferences/{token}").get_data(as_text=True)
    assert "Subscribe again" in page
    client.post(f"/preferences/{token}", data={"action": "resubscribe"})
    assert ada(app).status == "active" and ada(app).consent_source == "preferences page"


@pytest.mark.parametrize("path", ["/preferences/{}", "/confirm/{}"])
def test_wrong_purpose_and_tampered_tokens_get_400(site, path):
    app, client, _ = site
    unsubscribe_token = app.signer().make(UNSUBSCRIBE, ada(app).id)
    for token in (unsubscribe_token, "x" + unsubscribe_token[1:], "garbage"):
        assert client.get(path.format(token)).status_code == 400
        response = client.post(path.format(token), data={"format": "text", "paused": "on"})
        assert response.status_code == 400 and "not valid" in response.get_data(True)
    assert (ada(app).status, ada(app).format, ada(app).paused) == ("active", "html", False)


def test_subscribe_form_confirm_by_email_link(site, smtp_server):
    app, client, clock = site
    assert 'type="email"' in client.get("/subscribe").get_data(as_text=True)
    response = client.post("/subscribe", data={"email": "Bob@Example.com", "name": "Bob"})
    assert response.status_code == 200 and "Check your inbox" in response.get_data(True)
    # only queued within the request: applied and mailed by the outbox's sender
    assert app.subscribers.find("bob@example.com") is None
    assert smtp_server.handler.messages == []
    run = send_queued(app)
    assert (run.signups, run.sent) == (1, 1)
    bob = app.subscribers.find("bob@example.com")
    assert bob.status == "pending" and bob.consent_source.startswith("web form")
    assert bob.name == "Bob"
    assert [s.email for s in app.subscribers.iter_active()] == ["ada@example.com"]
    (message,) = smtp_server.handler.parsed()
    link = re.search(
        r"https://news\.example(/confirm/\S+)", message.get_body(("plain",)).get_content()
    )
    path = link.group(1)
    page = client.get(path)
    assert page.status_code == 200 and "Confirm your subscription" in page.get_data(True)
    assert app.subscribers.find("bob@example.com").status == "pending"  # GET changes nothing
    clock.now = T0 + timedelta(hours=71)
    done = client.post(path)
    assert done.status_code == 200 and "You are subscribed" in done.get_data(True)
    bob = app.subscribers.find("bob@example.com")
    assert bob.status == "active" and bob.consent_at == clock.now
    assert bob.consent_source == "confirmed by email link"
    assert "bob@example.com" in [s.email for s in app.subscribers.iter_active()]


def test_confirmation_links_expire(site, smtp_server):
    app, client, clock = site
    client.post("/subscribe", data={"email": "bob@example.com"})
    send_queued(app)
    token = app.signer().make(CONFIRM, app.subscribers.find("bob@example.com").id)
    clock.now = T0 + timedelta(hours=73)
    response = client.post(f"/confirm/{token}")
    assert response.status_code == 400 and "expired" in response.get_data(True)
    assert app.subscribers.find("bob@example.com").status == "pending"


def test_the_form_says_the_same_for_active_and_suppressed_addresses(site, smtp_server):
    app, client, _ = site
    app.subscribers.suppress("spam@example.com", now=T0)
    for email in ("ada@example.com", "spam@example.com"):
        response = client.post("/subscribe", data={"email": email})
        assert response.status_code == 200 and "Check your inbox" in response.get_data(True)
    assert send_queued(app).sent == 0 and smtp_server.handler.messages == []
    assert app.subscribers.find("spam@example.com") is None
    bad = client.post("/subscribe", data={"email": "not an address"})
    assert bad.status_code == 400 and "invalid address" in bad.get_data(True)
    nolist = client.post("/subscribe", data={"email": "x@example.com", "list": "secret"})
    assert nolist.status_code == 404


def test_an_smtp_outage_on_subscribe_changes_no_answer_and_loses_nothing(
    workspace: Workspace, smtp_server
):
    from digest.web.app import create_web_app

    config = workspace.config.read_text()
    workspace.config.write_text(config.replace(f"port = {workspace.smtp_port}", "port = 9"))
    with make_app(load_settings(workspace.config), clock=lambda: T0) as app:
        client = create_web_app(app).test_client()
        response = client.post("/subscribe", data={"email": "bob@example.com"})
        assert response.status_code == 200 and "Check your inbox" in response.get_data(True)
        run = send_queued(app)
        assert (run.sent, run.deferred) == (0, 1) and "cannot connect" in run.relay_error
        assert app.subscribers.find("bob@example.com").status == "pending"
    # the relay back, the retry is due later: the command sends it then, once
    workspace.config.write_text(config)
    later = T0 + timedelta(hours=1)
    with make_app(load_settings(workspace.config), clock=lambda: later) as app:
        assert send_queued(app).sent == 1
        assert send_queued(app).sent == 0
    assert smtp_server.handler.recipients() == ["bob@example.com"]


def test_rotated_secret_key_keeps_old_links_working(workspace: Workspace):
    from digest.web.app import create_web_app

    with make_app(load_settings(workspace.config)) as app:
        subscriber = app.subscribers.add("ada@example.com", now=T0)
        app.subscribers.suppress("gone@example.com", now=T0)
    old_token = TokenSigner("test-secret-key").make(UNSUBSCRIBE, subscriber.id)
    old_preferences = TokenSigner("test-secret-key").make(PREFERENCES, subscriber.id)
    rotated = workspace.config.read_text().replace(
        'secret_key = "test-secret-key"',
        'secret_key = "a-brand-new-key"\nold_secret_keys = ["test-secret-key"]',
    )
    workspace.config.write_text(rotated)
    with make_app(load_settings(workspace.config)) as app:
        client = create_web_app(app).test_client()
        assert client.get(f"/preferences/{old_preferences}").status_code == 200
        new_token = app.signer().make(UNSUBSCRIBE, subscriber.id)
        assert new_token != old_token
        # suppressions hashed under the old key still hold
        assert app.subscribers.is_suppressed("gone@example.com")
        assert (
            client.post(f"/u/{old_token}", data={"List-Unsubscribe": "One-Click"}).status_code
            == 200
        )
        assert app.subscribers.find("ada@example.com").status == "unsubscribed"
    # once the old key is dropped, its links stop working
    workspace.config.write_text(rotated.replace('old_secret_keys = ["test-secret-key"]', ""))
    with make_app(load_settings(workspace.config)) as app:
        client = create_web_app(app).test_client()
        assert client.get(f"/u/{old_token}").status_code == 400


def test_old_keys_from_the_environment(workspace: Workspace, monkeypatch):
    monkeypatch.setenv("DIGEST_SECRET_KEY", "newer")
    monkeypatch.setenv("DIGEST_OLD_SECRET_KEYS", "test-secret-key, older")
    settings = load_settings(workspace.config)
    assert settings.secret_key == "newer"
    assert settings.digest.old_secret_keys == ("test-secret-key", "older")
    token = TokenSigner("older").make(PREFERENCES, 7)
    with make_app(settings) as app:
        assert app.signer().read(PREFERENCES, token) == 7


def test_still_deliverable_rechecks_pause_suppression_and_status(site):
    app, _, _ = site
    store = app.subscribers
    bob = store.add("bob@example.com", name="Bob", now=T0)
    cy = store.add("cy@example.com", now=T0)
    dee = store.add("dee@example.com", now=T0)
    ids = [ada(app).id, bob.id, cy.id, dee.id]
    assert store.still_deliverable(ids) == {ids[0]: "Ada", bob.id: "Bob", cy.id: None, dee.id: None}
    store.update_preferences(bob.id, now=T0, paused=True)
    store.suppress("cy@example.com", now=T0)
    store.set_status(dee.id, "unsubscribed", now=T0)
    assert store.still_deliverable(ids) == {ids[0]: "Ada"}
    assert [s.id for s in store.iter_active()] == [ids[0]]


def test_old_secret_keys_must_be_a_list_of_strings(workspace: Workspace):
    text = workspace.config.read_text()
    workspace.config.write_text(text.replace("[fetch]", 'old_secret_keys = "k1"\n[fetch]', 1))
    result = workspace.invoke("subscribers", "list", code=2)
    assert "old_secret_keys must be a list of strings" in result.stderr
    workspace.config.write_text(text.replace("[web]", "[web]\nconfirm_link_hours = 0", 1))
    assert "confirm_link_hours" in workspace.invoke("subscribers", "list", code=2).stderr


def test_links_that_name_the_address_do_not_follow_a_reused_id(site):
    app, client, _ = site
    bob = app.subscribers.add("bob@example.com", now=T0)
    tagged = app.signer().make(UNSUBSCRIBE, bob.id, email=bob.email)
    untagged = app.signer().make(PREFERENCES, bob.id)
    assert client.get(f"/u/{tagged}").status_code == 200
    app.subscribers.erase("bob@example.com", now=T0)
    if app.database.engine.dialect.name == "postgresql":
        # SQLite hands the highest id out again after a delete; PostgreSQL's sequence does so
        # only when it is set back (a restored backup, say): set it back here
        with app.database.engine.begin() as connection:
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), :id, false)"),
                {"id": bob.id},
            )
    eve = app.subscribers.add("eve@example.com", now=T0)
    assert eve.id == bob.id
    response = client.post(f"/u/{tagged}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and "no longer on the list" in response.get_data(True)
    assert app.subscribers.find("eve@example.com").status == "active"
    # tokens made without the address (links already sent) keep working as before
    assert client.get(f"/preferences/{untagged}").status_code == 200
