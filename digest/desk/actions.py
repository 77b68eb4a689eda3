"""What the editor's desk (and `digest approve` / `digest hold`) does, over an App.

Every change is stored on the edition (``editions.changes``) and applied again after each
rebuild by :func:`digest.desk.changes.apply_changes`; approval is of the content, so changing an
approved edition puts it back to draft.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from digest.app import App
from digest.delivery.message import ascii_address, build_message, make_message_id, parse_sender
from digest.editions.service import Editions
from digest.types import Edition, RenderedEmail
from subscribers.types import Subscriber
from subscribers.validation import normalize_email

__all__ = [
    "DeskEdition",
    "load",
    "record",
    "approve",
    "hold",
    "for_subscriber",
    "render_for",
    "send_test",
    "TEST_PREFIX",
]

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class DeskEdition:
    """An edition as the desk shows it: changes applied, plus the built stories and changes."""

    #: The edition with the editor's changes applied (what subscribers will get).
    edition: Edition
    #: The edition as built, before changes (to list excluded stories and undo edits).
    built: Edition
    changes: dict[str, Any]
    #: Every zone's edition of the date (changes applied), the digest's own zone first.
    zones: tuple[Edition, ...] = ()

    @property
    def excluded(self) -> set[str]:
        return set(self.changes.get("exclude") or [])

    @property
    def pinned(self) -> list[str]:
        return list(self.changes.get("pin") or [])

    @property
    def hold_reason(self) -> str:
        return str(self.changes.get("hold_reason") or "")


def load(app: App, day: date, zone: str = "") -> DeskEdition:
    """The date's edition for ``zone`` with the changes, and every zone's edition of the date
    (each built now if there is none yet)."""
    editions = Editions(app)
    key = editions.key(day, zone)
    edition = editions.get_or_build(key)
    for other in editions.zones(day):
        editions.get_or_build(editions.key(day, other))
    built = editions.built(key)
    assert built is not None
    return DeskEdition(
        edition=edition,
        built=built,
        changes=dict(editions.changes(day)),
        zones=tuple(editions.of_date(day)),
    )


def record(app: App, day: date, action: str, key: str = "", value: str = "") -> list[Edition]:
    """Record one editor action for the date (see digest.desk.changes.update_changes): it
    applies to every zone's edition not yet sent. Returns those editions."""
    return Editions(app).record(day, action, key, value)


def approve(app: App, day: date, zone: str | None = None) -> list[Edition]:
    """Approve the date's editions (every zone's, or ``zone``'s), a held one too."""
    return Editions(app).approve(day, zone)


def hold(app: App, day: date, reason: str = "", zone: str | None = None) -> list[Edition]:
    """Hold the date's editions (every zone's, or ``zone``'s): not sent until approved."""
    return Editions(app).hold(day, zone, reason)


def for_subscriber(edition: Edition, subscriber: Subscriber | None) -> Edition:
    """The edition as one subscriber gets it: only their sections (all when they chose none)."""
    if subscriber is None or not subscriber.sections:
        return edition
    wanted = set(subscriber.sections)
    return replace(
        edition, sections=tuple(section for section in edition.sections if section.key in wanted)
    )


def render_for(app: App, edition: Edition, subscriber: Subscriber | None = None) -> RenderedEmail:
    """The preview email (sample links) of the edition as ``subscriber`` would get it."""
    email = app.renderer().render_preview(for_subscriber(edition, subscriber))
    if subscriber is not None and subscriber.format == "text":
        return replace(email, html="")
    return email


def send_test(
    app: App, day: date, address: str, subscriber: Subscriber | None = None, zone: str = ""
) -> RenderedEmail:
    """Send the edition (``subscriber``'s sections) to ``address``, subject "[TEST] ...".

    Goes through the configured SMTP server but nowhere near the deliveries ledger: a test
    changes nothing about who has been sent what.
    """
    recipient = normalize_email(address)
    edition = load(app, day, zone).edition
    # both parts, whatever the subscriber's format: the test is for checking the edition
    email = app.renderer().render_preview(for_subscriber(edition, subscriber))
    email = replace(email, subject=TEST_PREFIX + email.subject)
    _, envelope_from = parse_sender(app.settings.smtp.sender)
    domain = envelope_from.rpartition("@")[2] or "localhost"
    message = build_message(
        email,
        sender=app.settings.smtp.sender,
        recipient=recipient,
        message_id=make_message_id(domain),
        date=app.clock(),
        list_id=f"{edition.topic} <{edition.topic}.{domain}>",
        unsubscribe_url=f"{app.settings.web.base_url.rstrip('/')}/u/preview",
    )
    mailer = app.mailer_factory()
    mailer.open()
    try:
        mailer.send(envelope_from, ascii_address(recipient), message)
    finally:
        mailer.close()
    return email
