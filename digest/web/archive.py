"""The web archive of `digest web`: `/archive`, `/archive/DATE` and the Atom feed `/archive.atom`.

Only editions that have gone out (or are going out) are public; drafts and held editions stay
private to the editor's desk.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from flask import Blueprint, Response, render_template

from digest.app import App
from digest.controls import strip_controls
from digest.editions.service import PUBLIC_STATUSES, Editions
from digest.sendtimes import known_zone
from digest.types import Edition

__all__ = ["archive_blueprint", "atom_feed", "PUBLIC_STATUSES"]
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 30


def archive_blueprint(app: App) -> Blueprint:
    archive = Blueprint("archive", __name__)
    digest_name = app.settings.digest.name
    editions = Editions(app)

    def not_found(message: str) -> tuple[str, int]:
        return render_template(
            "message.html.j2", digest_name=digest_name, heading="Not found", message=message
        ), 404

    @archive.get("/archive")
    def index() -> tuple[str, int]:
        renderer = app.renderer()
        dates = []
        for day, zoned in editions.public(limit=100):
            lead = _representative(zoned)
            dates.append(
                {
                    "date": day,
                    "subject": renderer.subject(lead),
                    "url": f"/archive/{day.isoformat()}",
                    "zones": [
                        (edition.zone, f"/archive/{day.isoformat()}/{edition.zone}")
                        for edition, _ in zoned
                        if edition.zone
                    ],
                }
            )
        return render_template(
            "archive.html.j2",
            digest_name=digest_name,
            topic_title=app.topic.title,
            dates=dates,
        ), 200

    @archive.get("/archive/<day>")
    @archive.get("/archive/<day>/<path:zone>")
    def edition(day: str, zone: str | None = None) -> tuple[str, int]:
        """The "read online" page of an edition that has gone out (or is going out); without a
        zone, the digest's own zone's edition of the date (else the first zone's sent)."""
        try:
            edition_date = date.fromisoformat(day)
        except ValueError:
            return not_found("No such edition.")
        if zone is not None and not known_zone(zone):
            return not_found("No such edition.")
        found = editions.public_edition(edition_date, zone)
        if found is None:
            return not_found(f"No edition of {day} has been sent.")
        return app.renderer().render_web(found), 200

    @archive.get("/archive.atom")
    def feed() -> Response:
        entries = [
            (_representative(zoned), zoned[0][1])
            for _, zoned in editions.public(limit=FEED_ENTRIES)
        ]
        body = atom_feed(app, entries)
        return Response(body, mimetype="application/atom+xml")

    return archive


def _representative(zoned: list[tuple[Edition, datetime]]) -> Edition:
    """The edition that stands for its date: the digest's own zone's (listed first) if it has
    gone out, else the first zone's."""
    return zoned[0][0]


def atom_feed(app: App, entries: list[tuple[Edition, datetime]]) -> bytes:
    """An Atom 1.0 document (RFC 4287) of the given editions, newest first.

    Built with ElementTree, so feed text in titles and summaries is always escaped.
    """
    renderer = app.renderer()
    base = app.settings.web.base_url.rstrip("/")
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = strip_controls(text)  # XML has no place for them, old rows included
        return element

    root = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(root, "id", f"{base}/archive")
    sub(root, "title", _one_line(app.settings.digest.name))
    sub(root, "subtitle", f"Daily digest on {_one_line(app.topic.title)}")
    sub(root, "link", rel="alternate", type="text/html", href=f"{base}/archive")
    sub(root, "link", rel="self", type="application/atom+xml", href=f"{base}/archive.atom")
    newest = max((when for _, when in entries), default=datetime(2000, 1, 1, tzinfo=UTC))
    sub(root, "updated", _stamp(newest))
    author = sub(root, "author")
    sub(author, "name", _one_line(app.settings.digest.name))
    for edition, when in entries:
        # One entry per date, whatever the zones: its id is the date's page, unique and stable.
        url = f"{base}/archive/{edition.date.isoformat()}"
        entry = sub(root, "entry")
        sub(entry, "id", url)
        sub(entry, "title", renderer.subject(edition))
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "updated", _stamp(when))
        sub(entry, "published", _stamp(when))
        headlines = [_one_line(story.title) for story in edition.stories]
        summary = (
            f"{len(headlines)} stories: " + "; ".join(headlines[:10])
            if headlines
            else "No major developments."
        )
        sub(entry, "summary", summary, type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
