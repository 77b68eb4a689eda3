"""`/archive`, `/archive/DATE` and `/archive.atom` of `digest web`, on a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import feedparser
import pytest

from digest.app import make_app
from digest.config import load_settings
from digest.desk.changes import story_key, update_changes
from digest.store.store import Store
from tests.conftest import Workspace
from tests.render.conftest import HOSTILE_TITLE, sample_edition

SENT_AT = datetime(2026, 3, 10, 6, 5, tzinfo=UTC)


def store_edition(store: Store, day: date, status: str) -> int:
    edition = store.save_edition(replace(sample_edition(), date=day), now=SENT_AT)
    assert edition.id is not None
    if status != "draft":
        store.set_edition_status(edition.id, "sending", now=SENT_AT)
        store.set_edition_status(edition.id, status, now=SENT_AT)
    return edition.id


@pytest.fixture
def site(workspace: Workspace):
    from digest.web.app import create_web_app

    app = make_app(load_settings(workspace.config))
    store_edition(app.store, date(2026, 3, 9), "sent")
    store_edition(app.store, date(2026, 3, 10), "sent")
    store_edition(app.store, date(2026, 3, 11), "draft")
    # an editor excluded a story of the 9 March edition before it went out
    dutch = next(story_key(s) for s in sample_edition().stories if "Dutch" in s.title)
    app.store.set_changes(
        app.topic.key, date(2026, 3, 9), update_changes({}, "exclude", dutch), now=SENT_AT
    )
    flask_app = create_web_app(app)
    flask_app.testing = True
    yield app, flask_app.test_client()
    app.close()


def test_archive_lists_sent_editions_newest_first(site):
    _, client = site
    page = client.get("/archive")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.index("/archive/2026-03-10") < body.index("/archive/2026-03-09")
    assert "/archive/2026-03-11" not in body  # a draft is not public
    assert 'href="/archive.atom"' in body
    assert "<script>alert(1)" not in body


def test_edition_page_is_the_web_edition_with_editor_changes(site):
    _, client = site
    page = client.get("/archive/2026-03-09")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Washington widens curbs" in body
    assert "Dutch supplier" not in body  # excluded by the editor
    assert "DIGEST-" not in body and "/u/" not in body  # no subscriber links on the web
    assert 'href="https://news.example/archive"' in body
    assert client.get("/archive/2026-03-11").status_code == 404
    assert client.get("/archive/not-a-date").status_code == 404
    assert client.get("/archive/2030-01-01").status_code == 404


def test_web_edition_shows_every_story(workspace: Workspace):
    from tests.render.conftest import _big_edition, sample_renderer

    page = sample_renderer().render_web(_big_edition(stories_per_section=20, sections=2))
    assert page.count("<h3") == 40
    assert "on the web</a>" not in page


def test_atom_feed_is_valid_and_escaped(site):
    _, client = site
    response = client.get("/archive.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title and feed.feed.links
    links = [entry.link for entry in feed.entries]
    assert links == [
        "https://news.example/archive/2026-03-10",
        "https://news.example/archive/2026-03-09",
    ]
    assert all(entry.id and entry.updated for entry in feed.entries)
    # hostile feed text arrives as text: escaped in the XML, intact after parsing
    assert b"<script>" not in response.data
    assert HOSTILE_TITLE in feed.entries[0].summary
    assert feed.entries[0].title.startswith("US–China trade, 10 Mar: ")
