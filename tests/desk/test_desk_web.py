"""The editor's desk through Flask's test client, on a real database built from real feeds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from digest.app import make_app
from digest.config import load_settings
from digest.desk.changes import story_key
from digest.store.models import SubscriberRow
from digest.web.desk import create_desk_app
from tests.conftest import Workspace

DAY = "2025-06-02"
NOW = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)
TOKEN = "test-desk-token"


@pytest.fixture
def desk(workspace: Workspace, fixture_feeds):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    app = make_app(load_settings(workspace.config))
    flask_app = create_desk_app(app, csrf_token=TOKEN)
    flask_app.testing = True
    yield app, flask_app.test_client()
    app.close()


def stored(app):
    from digest.editions.service import Editions

    editions = Editions(app)
    return editions.get_or_build(editions.key(date(2025, 6, 2)))


def changes_of(app):
    return app.store.get_changes(app.topic.key, date(2025, 6, 2))


def key_of(app, fragment: str) -> str:
    return next(story_key(s) for s in stored(app).stories if fragment in s.title)


def post(client, path: str, **form: str):
    return client.post(path, data={"csrf_token": TOKEN, **form})


def test_page_shows_the_email_beside_its_text_part(desk):
    app, client = desk
    page = client.get(f"/edition/{DAY}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'src="/edition/{DAY}/email.html"' in body
    assert "China imposes export licences on gallium" in body
    assert 'id="text-part"' in body and "TARIFFS" in body
    # feed text stays text on the desk too
    assert "<script>alert" not in body
    email = client.get(f"/edition/{DAY}/email.html")
    assert email.status_code == 200 and email.mimetype == "text/html"
    assert "script-src" not in email.headers["Content-Security-Policy"]
    assert "default-src 'none'" in email.headers["Content-Security-Policy"]
    assert "Today in brief" in email.get_data(as_text=True)
    # today's edition by default
    assert client.get("/").status_code == 302


def test_posts_without_the_token_or_from_another_host_are_refused(desk):
    app, client = desk
    key = key_of(app, "gallium")
    assert (
        client.post(f"/edition/{DAY}/story", data={"action": "exclude", "key": key}).status_code
        == 403
    )
    assert client.post(f"/edition/{DAY}/approve", data={"csrf_token": "guessed"}).status_code == 403
    # a page served under another name (DNS rebinding) is refused outright
    assert client.get(f"/edition/{DAY}", headers={"Host": "evil.example"}).status_code == 421
    assert client.get(f"/edition/{DAY}", headers={"Host": "[::1]:8025"}).status_code == 200
    assert stored(app).status == "draft"
    assert len(stored(app).stories) == 4


def test_actions_are_stored_and_survive_a_rebuild(desk):
    app, client = desk
    gallium, geneva, chips = (key_of(app, t) for t in ("gallium", "Geneva", "entity list"))
    assert post(client, f"/edition/{DAY}/story", action="exclude", key=gallium).status_code == 303
    post(client, f"/edition/{DAY}/story", action="pin", key=geneva)
    post(client, f"/edition/{DAY}/story", action="move", key=chips, section="tariffs")
    post(
        client, f"/edition/{DAY}/story", action="title", key=chips, title="Entity list grows by 12"
    )
    post(client, f"/edition/{DAY}/note", note="Markets in Hong Kong were shut for a holiday.")

    def check() -> None:
        edition = stored(app)
        titles = [s.title for s in edition.stories]
        assert not any("gallium" in t for t in titles)
        assert "Geneva" in titles[0]
        tariffs = next(s for s in edition.sections if s.key == "tariffs")
        assert "Entity list grows by 12" in [s.title for s in tariffs.stories]
        assert edition.note == "Markets in Hong Kong were shut for a holiday."

    check()
    changes = changes_of(app)
    # keyed by the story under each of its outlets (another zone may lead with another one)
    assert changes["exclude"][0] == gallium and changes["pin"][0] == geneva
    # a rebuild (new items, or the editor's button) keeps every change
    assert post(client, f"/edition/{DAY}/rebuild").status_code == 303
    check()
    page = client.get(f"/edition/{DAY}").get_data(as_text=True)
    assert "Markets in Hong Kong were shut for a holiday." in page
    assert "Rebuilt from the latest items" in page
    subject = re.search(r'<span id="subject">(.*?)</span>', page).group(1)
    assert "Treasury chief to meet" in subject  # the pinned story leads


def test_approve_hold_and_approval_lapses_on_change(desk):
    app, client = desk
    post(client, f"/edition/{DAY}/hold", reason="waiting for the Geneva readout")
    assert stored(app).status == "held"
    page = client.get(f"/edition/{DAY}").get_data(as_text=True)
    assert "waiting for the Geneva readout" in page
    post(client, f"/edition/{DAY}/rebuild")
    assert stored(app).status == "held"  # a rebuild does not lift a hold
    post(client, f"/edition/{DAY}/approve")
    assert stored(app).status == "approved"
    assert "hold_reason" not in changes_of(app)
    post(client, f"/edition/{DAY}/story", action="exclude", key=key_of(app, "gallium"))
    assert stored(app).status == "draft"  # what was approved changed
    # an unknown story or section is a message, not a crash, and changes nothing
    page = client.post(
        f"/edition/{DAY}/story",
        data={"csrf_token": TOKEN, "action": "move", "key": key_of(app, "Geneva"), "section": "x"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "no section &#39;x&#39;" in page or "no section 'x'" in page
    assert "move" not in changes_of(app)


def test_view_as_a_subscriber_and_send_a_test(desk, smtp_server):
    app, client = desk
    ada = app.subscribers.add("ada@example.com", now=NOW)
    with app.database.sessions.begin() as session:
        session.execute(
            update(SubscriberRow).where(SubscriberRow.id == ada.id).values(sections=["minerals"])
        )
    page = client.get(f"/edition/{DAY}?as={ada.id}").get_data(as_text=True)
    assert "as ada@example.com gets it" in page
    email = client.get(f"/edition/{DAY}/email.html?as={ada.id}").get_data(as_text=True)
    assert "gallium" in email and "Geneva" not in email

    response = post(
        client, f"/edition/{DAY}/test", address="editor@example.com", **{"as": str(ada.id)}
    )
    assert response.status_code == 303 and response.location.endswith(f"?as={ada.id}")
    (message,) = smtp_server.handler.parsed()
    assert message["Subject"].startswith("[TEST] ")
    assert message["To"] == "editor@example.com"
    assert "gallium" in message.get_body(("plain",)).get_content()
    assert "Geneva" not in message.get_body(("plain",)).get_content()
    # a test is not a delivery: the ledger is untouched and the edition still a draft
    assert sum(app.ledger.counts(stored(app).id).values()) == 0
    assert stored(app).status == "draft"
    # a bad address is a message on the page
    page = client.post(
        f"/edition/{DAY}/test",
        data={"csrf_token": TOKEN, "address": "not an address"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "invalid address" in page
    assert len(smtp_server.handler.messages) == 1


def test_a_sent_edition_cannot_change(desk):
    app, client = desk
    edition = stored(app)
    app.store.set_edition_status(edition.id, "sending", now=NOW)
    app.store.set_edition_status(edition.id, "sent", now=NOW)
    page = client.post(
        f"/edition/{DAY}/story",
        data={"csrf_token": TOKEN, "action": "exclude", "key": key_of(app, "gallium")},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "already sent" in page
    assert changes_of(app) == {}


def test_view_as_a_text_only_subscriber_and_bad_dates(desk):
    app, client = desk
    bob = app.subscribers.add("bob@example.com", now=NOW)
    with app.database.sessions.begin() as session:
        session.execute(
            update(SubscriberRow).where(SubscriberRow.id == bob.id).values(format="text")
        )
    page = client.get(f"/edition/{DAY}?as={bob.id}").get_data(as_text=True)
    assert "bob@example.com reads the plain-text part only." in page
    assert "<iframe" not in page and 'id="text-part"' in page
    assert client.get("/edition/yesterday").status_code == 404
    assert client.get("/edition?date=2025-13-40").status_code == 404
    assert client.get("/edition?date=2025-06-01").location.endswith("/edition/2025-06-01")


def test_the_desk_shows_each_zone_of_the_date_and_approves_them_all(desk):
    app, client = desk
    app.subscribers.add("ada@example.com", now=NOW)
    kei = app.subscribers.add("kei@example.jp", now=NOW)
    app.subscribers.update_preferences(kei.id, now=NOW, timezone="Asia/Tokyo")
    page = client.get(f"/edition/{DAY}").get_data(as_text=True)
    zones = page[page.index('id="zones"') : page.index("</table>", page.index('id="zones"'))]
    assert "default" in zones and "Asia/Tokyo" in zones
    tokyo = client.get(f"/edition/{DAY}?zone=Asia/Tokyo")
    assert tokyo.status_code == 200
    client.post(f"/edition/{DAY}/approve", data={"csrf_token": TOKEN})
    statuses = {
        e.zone: e.status for e in app.store.editions_of_date(app.topic.key, date(2025, 6, 2))
    }
    assert statuses == {"": "approved", "Asia/Tokyo": "approved"}
