"""What the editor's desk (and `digest approve` / `digest hold`) does, over an App.

Every change is stored on the edition (``editions.changes``) and applied again after each
rebuild by :func:`digest.desk.changes.apply_changes`; approval is of the content, so changing an
approved edition puts it back to draft.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from digest import services
from digest.app import App
from digest.delivery.message import ascii_address, build_message, make_message_id, parse_sender
from digest.desk.changes import story_key, update_changes
from digest.errors import EditionError, UsageError
from digest.types import Edition, EditionStatus, RenderedEmail
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
_LOCKED = (EditionStatus.SENDING, EditionStatus.SENT)


@dataclass(frozen=True)
class DeskEdition:
    """An edition as the desk shows it: changes applied, plus the built stories and changes."""

    #: The edition with the editor's changes applied (what subscribers will get).
    edition: Edition
    #: The edition as built, before changes (to list excluded stories and undo edits).
    built: Edition
    changes: dict[str, Any]

    @property
    def excluded(self) -> set[str]:
        return set(self.changes.get("exclude") or [])

    @property
    def pinned(self) -> list[str]:
        return list(self.changes.get("pin") or [])

    @property
    def hold_reason(self) -> str:
        return str(self.changes.get("hold_reason") or "")


def load(app: App, day: date) -> DeskEdition:
    """The day's edition (built now if there is none yet) with the editor's changes."""
    services.get_or_build(app, day)
    built = app.store.get_edition(app.topic.key, day)
    assert built is not None and built.id is not None
    changes = app.store.get_edition_changes(built.id)
    return DeskEdition(edition=services.with_changes(app, built), built=built, changes=changes)


def _editable(app: App, day: date) -> Edition:
    edition = services.get_or_build(app, day)
    if edition.status in _LOCKED:
        raise EditionError(f"the {day} edition is already {edition.status}; it cannot change")
    return edition


def record(app: App, day: date, action: str, key: str = "", value: str = "") -> Edition:
    """Record one editor action (see digest.desk.changes.update_changes); returns the result."""
    edition = _editable(app, day)
    assert edition.id is not None
    if key and key not in {story_key(story) for story in load(app, day).built.stories}:
        raise UsageError(f"no story {key} in the {day} edition")
    if action == "move" and value and value not in {s.key for s in edition.sections}:
        raise UsageError(f"no section {value!r} in the {day} edition")
    changes = update_changes(app.store.get_edition_changes(edition.id), action, key, value)
    app.store.set_edition_changes(edition.id, changes)
    if edition.status == EditionStatus.APPROVED:
        # what was approved has changed: it needs approving again
        app.store.set_edition_status(edition.id, EditionStatus.DRAFT, now=app.clock())
    return services.get_or_build(app, day)


def approve(app: App, day: date) -> Edition:
    """Approve the day's edition for sending (a held one too); it is built first if needed."""
    edition = _editable(app, day)
    assert edition.id is not None
    changes = app.store.get_edition_changes(edition.id)
    if changes.pop("hold_reason", None) is not None:
        app.store.set_edition_changes(edition.id, changes)
    app.store.set_edition_status(edition.id, EditionStatus.APPROVED, now=app.clock())
    return services.get_or_build(app, day)


def hold(app: App, day: date, reason: str = "") -> Edition:
    """Hold the day's edition: `digest send` refuses it until it is approved."""
    edition = _editable(app, day)
    assert edition.id is not None
    changes = app.store.get_edition_changes(edition.id)
    reason = " ".join(reason.split())[:500]
    if reason:
        changes["hold_reason"] = reason
    else:
        changes.pop("hold_reason", None)
    app.store.set_edition_changes(edition.id, changes)
    app.store.set_edition_status(edition.id, EditionStatus.HELD, now=app.clock())
    return services.get_or_build(app, day)


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
    app: App, day: date, address: str, subscriber: Subscriber | None = None
) -> RenderedEmail:
    """Send the edition (``subscriber``'s sections) to ``address``, subject "[TEST] ...".

    Goes through the configured SMTP server but nowhere near the deliveries ledger: a test
    changes nothing about who has been sent what.
    """
    recipient = normalize_email(address)
    edition = services.get_or_build(app, day)
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
