"""Double opt-in: a pending subscriber gets an email with a signed, expiring confirmation link.

Only a confirmed (active) subscriber receives the digest. The same path serves the admin's
``digest subscribers add --confirm`` and the public ``/subscribe`` form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from digest.delivery.message import (
    POLICY,
    ascii_address,
    check_header_value,
    make_message_id,
    parse_sender,
)
from digest.errors import HeaderError, SubscriberError
from digest.i18n import translations
from digest.render.templates import make_environment
from subscribers.tokens import CONFIRM
from subscribers.types import Subscriber, SubscriberStatus

if TYPE_CHECKING:
    from digest.app import App


@dataclass(frozen=True)
class OptIn:
    subscriber: Subscriber
    #: False when nothing was sent (already active, or a suppressed address on the web form).
    sent: bool


def request_confirmation(
    app: App,
    email: str,
    *,
    name: str | None = None,
    lists: tuple[str, ...] = (),
    source: str,
    strict: bool = True,
) -> OptIn:
    """Make ``email`` pending (unless active) and send it a confirmation link.

    ``strict`` (the CLI) refuses an address already active or suppressed; the web form passes
    False so it answers the same whatever the address, and tells a stranger nothing.
    """
    now = app.clock()
    store = app.subscribers
    existing = store.find(email)
    if store.is_suppressed(email):
        if strict:
            raise SubscriberError(f"{email} is on the suppression list; it is never mailed again")
        return OptIn(existing or _nobody(email, now), sent=False)
    if existing is None:
        subscriber = store.add(
            email,
            now=now,
            name=name,
            status=SubscriberStatus.PENDING,
            lists=lists,
            consent_source=source,
        )
    else:
        if existing.status == SubscriberStatus.ACTIVE:
            if strict:
                raise SubscriberError(f"{existing.email} is already an active subscriber")
            return OptIn(existing, sent=False)
        subscriber = existing
        if lists and not set(lists) <= set(existing.lists):
            subscriber = store.add(email, now=now, lists=lists, consent_source=source)
        if subscriber.status != SubscriberStatus.PENDING:
            subscriber = store.set_status(subscriber.id, SubscriberStatus.PENDING, now=now)
    send_confirmation(app, subscriber)
    return OptIn(subscriber, sent=True)


def confirm_url(app: App, subscriber: Subscriber) -> str:
    nonce = app.subscribers.confirmation_nonce(subscriber.id)
    if nonce is None:
        raise SubscriberError(f"{subscriber.email} is not waiting for a confirmation")
    token = app.signer().make(CONFIRM, subscriber.id, email=subscriber.email, nonce=nonce)
    return f"{app.settings.web.base_url.rstrip('/')}/confirm/{token}"


def confirm_max_age(app: App) -> timedelta:
    return timedelta(hours=app.settings.web.confirm_link_hours)


def send_confirmation(app: App, subscriber: Subscriber) -> str:
    """Build and send the confirmation email; returns the server's reply."""
    message, envelope_from = build_confirmation(app, subscriber)
    mailer = app.mailer_factory()
    mailer.open()
    try:
        return mailer.send(envelope_from, ascii_address(subscriber.email), message)
    finally:
        mailer.close()


def build_confirmation(app: App, subscriber: Subscriber) -> tuple[bytes, str]:
    settings = app.settings
    sender_name, sender_addr = parse_sender(settings.smtp.sender)
    domain = sender_addr.rpartition("@")[2] or "localhost"
    context = {
        "digest_name": settings.digest.name,
        "email": subscriber.email,
        "confirm_url": confirm_url(app, subscriber),
        "hours": settings.web.confirm_link_hours,
        "contact_line": settings.web.contact_line,
    }
    language = settings.digest.language
    env = make_environment(overrides=settings.digest.templates_path, language=language)
    text = env.get_template("email/confirm.txt.j2").render(context)
    html = env.get_template("email/confirm.html.j2").render(context)
    name = " ".join(settings.digest.name.split())
    subject_text = translations(language).gettext("Confirm your subscription to %(name)s")
    subject = check_header_value("Subject", subject_text % {"name": name})
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(sender_name, sender_addr)
    message["To"] = _address(subscriber.name, subscriber.email)
    message["Subject"] = subject
    message["Date"] = format_datetime(app.clock())
    message["Message-ID"] = make_message_id(domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    try:
        return message.as_bytes(policy=POLICY), sender_addr
    except (ValueError, TypeError, UnicodeError) as exc:
        raise HeaderError(f"confirmation email headers cannot be encoded: {exc}") from exc


def _address(name: str | None, addr: str) -> Address:
    if name:
        check_header_value("To", name)
    local, _, domain = ascii_address(addr).rpartition("@")
    try:
        return Address(display_name=(name or "").strip(), username=local, domain=domain)
    except (ValueError, IndexError, TypeError) as exc:
        raise HeaderError(f"not a valid address: {addr!r}") from exc


def _nobody(email: str, now: datetime) -> Subscriber:
    """A stand-in for an address the form must not reveal anything about."""
    return Subscriber(
        id=0,
        email=email,
        name=None,
        status=SubscriberStatus.UNSUBSCRIBED,
        timezone=None,
        sections=(),
        format="html",
        consent_at=None,
        consent_source=None,
        created_at=now,
    )
