"""Double opt-in: a pending subscriber gets an email with a signed, expiring confirmation link.

Only a confirmed (active) subscriber receives the digest. The same path serves the admin's
``digest subscribers add --confirm`` and the public ``/subscribe`` form. Asking only queues the
email (subscribers/outbox.py); :func:`send_queued` sends it, from `digest serve`,
`digest confirmations send` or the admin's command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
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
from digest.errors import (
    DeliveryError,
    HeaderError,
    SmtpUnavailableError,
    SubscriberError,
    TemporaryDeliveryError,
)
from digest.i18n import translations
from digest.render.templates import make_environment
from subscribers.outbox import FAILED, SENT, SKIPPED, ConfirmationOutbox, QueuedConfirmation
from subscribers.signups import SignupQueue
from subscribers.tokens import CONFIRM
from subscribers.types import Subscriber, SubscriberStatus

if TYPE_CHECKING:
    from digest.app import App
    from digest.delivery.smtp import SmtpMailer


@dataclass(frozen=True)
class OptIn:
    subscriber: Subscriber
    #: False when nothing was queued (already active, a suppressed address on the web form,
    #: or a confirmation for this address already waiting or sent within the resend window).
    queued: bool


@dataclass(frozen=True)
class OutboxRun:
    """What one pass over the outbox did."""

    sent: int = 0
    #: Sign-ups from the form applied first (each made pending and queued, or left alone).
    signups: int = 0
    #: No longer pending (confirmed, left, erased, suppressed): nothing sent.
    skipped: int = 0
    #: Given back to the outbox for a later try (relay down, a temporary refusal).
    deferred: int = 0
    #: Refused for good, or given up when its link would have expired.
    failed: int = 0
    #: Why the relay could not be used at all, if so.
    relay_error: str | None = None


def request_confirmation(
    app: App,
    email: str,
    *,
    name: str | None = None,
    lists: tuple[str, ...] = (),
    source: str,
    strict: bool = True,
    resend_after: timedelta | None = None,
) -> OptIn:
    """Make ``email`` pending (unless active) and queue a confirmation email for it.

    ``strict`` (the CLI) refuses an address already active or suppressed; the web form passes
    False so it answers the same whatever the address, and tells a stranger nothing. Nothing
    is queued while one is waiting, nor (with ``resend_after``) within that long of the last
    one of the same pending period: someone who left and signs up again gets a new link at
    once (the old one no longer works), and only their own leaving starts another period.
    """
    now = app.clock()
    store = app.subscribers
    existing = store.find(email)
    if store.is_suppressed(email):
        if strict:
            raise SubscriberError(f"{email} is on the suppression list; it is never mailed again")
        return OptIn(existing or _nobody(email, now), queued=False)
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
            return OptIn(existing, queued=False)
        subscriber = existing
        if lists and not set(lists) <= set(existing.lists):
            subscriber = store.add(email, now=now, lists=lists, consent_source=source)
        if subscriber.status != SubscriberStatus.PENDING:
            subscriber = store.set_status(subscriber.id, SubscriberStatus.PENDING, now=now)
            resend_after = None  # a new pending period: its link is not the last one's
    outbox = ConfirmationOutbox(app.database)
    queued = outbox.queue(subscriber.id, now=now, resend_after=resend_after)
    return OptIn(subscriber, queued=queued)


def confirm_url(app: App, subscriber: Subscriber) -> str:
    nonce = app.subscribers.confirmation_nonce(subscriber.id)
    if nonce is None:
        raise SubscriberError(f"{subscriber.email} is not waiting for a confirmation")
    token = app.signer().make(CONFIRM, subscriber.id, email=subscriber.email, nonce=nonce)
    return f"{app.settings.web.base_url.rstrip('/')}/confirm/{token}"


def confirm_max_age(app: App) -> timedelta:
    return timedelta(hours=app.settings.web.confirm_link_hours)


def queue_confirmations(
    app: App, subscriber_ids: list[int], *, resend_after: timedelta | None
) -> tuple[int, int]:
    """Queue a confirmation email for each of these (pending) subscribers: (queued, left out
    because one is waiting or went out within ``resend_after``)."""
    outbox = ConfirmationOutbox(app.database)
    now = app.clock()
    queued = sum(outbox.queue(i, now=now, resend_after=resend_after) for i in subscriber_ids)
    return queued, len(subscriber_ids) - queued


#: The longest wait between two tries of a confirmation the relay deferred.
MAX_RETRY_DELAY = timedelta(hours=1)


def apply_signups(app: App, *, batch_size: int = 200) -> int:
    """Apply the form's queued sign-ups, oldest first: each address becomes pending (unless
    active or suppressed) and gets a confirmation queued, at most one per resend window."""
    queue = SignupQueue(app.database)
    window = timedelta(hours=app.settings.web.confirm_resend_hours)
    applied = last = 0
    while batch := queue.claim(now=app.clock(), limit=batch_size, after_id=last):
        last = batch[-1].id
        for signup in batch:
            # a SubscriberError: e.g. its list was removed since, nothing to subscribe to
            with suppress(SubscriberError):
                request_confirmation(
                    app,
                    signup.email,
                    name=signup.name,
                    lists=(signup.list_name,) if signup.list_name else (),
                    source=signup.source,
                    strict=False,
                    resend_after=window,
                )
            queue.done(signup.id)
            applied += 1
    return applied


def send_queued(app: App, *, batch_size: int = 200) -> OutboxRun:
    """Apply the form's sign-ups, then send the confirmation emails that are due, over one
    connection.

    Each goes to a subscriber still pending and not suppressed, with the link of their current
    pending period. The relay down gives every claimed row back for a later try; a row whose
    link would have expired before it went out is given up.
    """
    signups = apply_signups(app, batch_size=batch_size)
    now = app.clock()
    outbox = ConfirmationOutbox(app.database)
    counts = {SENT: 0, SKIPPED: 0, FAILED: 0, "deferred": 0}
    relay_error: str | None = None
    initial = timedelta(seconds=app.settings.delivery.retry_initial_seconds)
    mailer: SmtpMailer | None = None

    def defer(row: QueuedConfirmation, error: str) -> None:
        delay = min(initial * 2 ** (row.attempts - 1), MAX_RETRY_DELAY)
        outbox.retry(row.id, at=now + delay, error=error)
        counts["deferred"] += 1

    def batches() -> Iterator[list[QueuedConfirmation]]:
        # one pass in id order: a row given back for a retry is not taken again by this pass
        last = 0
        while batch := outbox.claim_due(now=now, limit=batch_size, after_id=last):
            last = batch[-1].id
            yield batch

    try:
        for row in (row for batch in batches() for row in batch):
            if relay_error is not None:
                defer(row, relay_error)
                continue
            subscriber = app.subscribers.get(row.subscriber_id)
            if (
                subscriber is None
                or subscriber.status != SubscriberStatus.PENDING
                or subscriber.suppressed
            ):
                outbox.finish(row.id, SKIPPED, now=now)
                counts[SKIPPED] += 1
                continue
            if now - row.queued_at >= confirm_max_age(app):
                outbox.finish(row.id, FAILED, now=now, error="not sent before its link expired")
                counts[FAILED] += 1
                continue
            try:
                message, envelope_from = build_confirmation(app, subscriber)
                if mailer is None:
                    mailer = app.mailer_factory()
                    mailer.open()
                mailer.send(envelope_from, ascii_address(subscriber.email), message)
            except SmtpUnavailableError as exc:
                relay_error = str(exc)
                defer(row, relay_error)
            except TemporaryDeliveryError as exc:
                defer(row, str(exc))
            except (DeliveryError, HeaderError) as exc:
                outbox.finish(row.id, FAILED, now=now, error=str(exc))
                counts[FAILED] += 1
            else:
                outbox.finish(row.id, SENT, now=now)
                counts[SENT] += 1
    finally:
        if mailer is not None:
            mailer.close()
    return OutboxRun(
        sent=counts[SENT],
        signups=signups,
        skipped=counts[SKIPPED],
        deferred=counts["deferred"],
        failed=counts[FAILED],
        relay_error=relay_error,
    )


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
