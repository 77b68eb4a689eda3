"""The subscriber pages of `digest web`, through Flask's test client on a real database."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from digest.app import make_app
from digest.config import load_settings
from subscribers.tokens import PREFERENCES, UNSUBSCRIBE, TokenSigner
from tests.conftest import Workspace

NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def web(workspace: Workspace):
    from digest.web.app import create_web_app

    app = make_app(load_settings(workspace.config))
    app.subscribers.add("ada@example.com", name="Ada <script>", now=NOW)
    flask_app = create_web_app(app)
    flask_app.testing = True
    yield app, flask_app.test_client()
    app.close()


def status_of(app) -> str:
    return app.subscribers.find("ada@example.com").status


def test_get_shows_a_button_and_changes_nothing(web):
    app, client = web
    token = TokenSigner("test-secret-key").make(UNSUBSCRIBE, 1)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<form method="post">' in body and "ada@example.com" in body
    assert status_of(app) == "active"


def test_one_click_post_unsubscribes_at_once(web):
    app, client = web
    token = TokenSigner("test-secret-key").make(UNSUBSCRIBE, 1)
    response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status_of(app) == "unsubscribed"
    # again: still fine, still unsubscribed (mail clients retry)
    assert client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert "You are unsubscribed" in client.get(f"/u/{token}").get_data(as_text=True)


def test_button_post_shows_a_confirmation_page(web):
    app, client = web
    token = TokenSigner("test-secret-key").make(UNSUBSCRIBE, 1)
    page = client.post(f"/u/{token}")
    assert page.status_code == 200 and "You are unsubscribed" in page.get_data(as_text=True)
    assert status_of(app) == "unsubscribed"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        TokenSigner("another-key").make(UNSUBSCRIBE, 1),  # signed with a different secret
        TokenSigner("test-secret-key").make(PREFERENCES, 1),  # meant for another page
    ],
)
def test_tampered_or_wrong_purpose_tokens_get_400_and_change_nothing(web, token):
    app, client = web
    response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    assert status_of(app) == "active"


def test_a_token_whose_last_character_is_changed_is_refused(web):
    app, client = web
    token = TokenSigner("test-secret-key").make(UNSUBSCRIBE, 1)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.post(f"/u/{tampered}").status_code == 400
    assert status_of(app) == "active"


def test_pages_escape_what_subscribers_typed(web):
    _, client = web
    token = TokenSigner("test-secret-key").make(PREFERENCES, 1)
    body = client.get(f"/preferences/{token}").get_data(as_text=True)
    assert "ada@example.com" in body and "<script>" not in body


def test_link_from_a_sent_email_unsubscribes(workspace, fixture_feeds, smtp_server):
    from digest.web.app import create_web_app

    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com")
    workspace.invoke("run", "--any-date", "--date", "2025-06-02")
    (message,) = smtp_server.handler.parsed()
    link = re.match(r"<(https://news\.example(/u/[^>]+))>", message["List-Unsubscribe"]).group(2)
    with make_app(load_settings(workspace.config)) as app:
        client = create_web_app(app).test_client()
        assert client.get("/archive/2025-06-02").status_code == 200
        assert client.get("/archive/2020-01-01").status_code == 404
        assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        assert app.subscribers.find("ada@example.com").status == "unsubscribed"
    assert workspace.json("send", "--any-date", "--date", "2025-06-02")["counts"]["sent"] == 1
    assert len(smtp_server.handler.messages) == 1
