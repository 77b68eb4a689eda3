"""What the commands do, as plain functions over an App. The CLI only parses and prints."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from digest.app import App
from digest.delivery.message import ascii_address, build_message, make_message_id, parse_sender
from digest.delivery.smtp import Mailer
from digest.editorial import build_edition
from digest.errors import (
    DeliveryError,
    EditionError,
    HeaderError,
    PermanentDeliveryError,
    SmtpUnavailableError,
    UsageError,
)
from digest.ingest.check import FeedCheck, inspect_feed
from digest.ingest.opml import read_opml
from digest.ingest.service import fetch_all
from digest.render.email import RenderedEdition
from digest.types import Delivery, DeliveryStatus, Edition, EditionStatus, FeedFetchReport
from digest.windows import edition_window, local_today
from subscribers.tokens import PREFERENCES, UNSUBSCRIBE, TokenSigner

CLAIM_BATCH = 50
RETRY_INITIAL = timedelta(minutes=5)


def edition_date_or_today(app: App, value: date | None) -> date:
    return value or local_today(app.clock(), app.settings.digest)


# --- feeds ---------------------------------------------------------------------------------


def add_feed(app: App, url: str) -> str:
    """Add a feed; adding a disabled feed again enables it. Returns "added" or "enabled"."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"feed URL must start with http:// or https://: {url}")
    known = app.store.get_feed(url)
    if known is not None and (known.disabled_at or known.next_attempt_at):
        app.store.set_feed_enabled(url, now=app.clock())
        return "enabled"
    app.store.add_feed(url, title=None, now=app.clock())
    return "added"


def enable_feed(app: App, url: str) -> None:
    """Fetch a disabled or backed-off feed again from the next run on."""
    app.store.set_feed_enabled(url, now=app.clock())


def check_feed(app: App, url: str) -> FeedCheck:
    """Fetch and read ``url`` without adding it: what a subscriber would get from it."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"feed URL must start with http:// or https://: {url}")
    return inspect_feed(app.fetcher(), url, app.clock)


def import_opml(app: App, data: bytes) -> tuple[list[str], list[str]]:
    """Add every feed of an OPML file; returns (added, already present)."""
    added, present = [], []
    known = {feed.url for feed in app.store.list_feeds()}
    for url, title in read_opml(data):
        if url in known:
            present.append(url)
            continue
        if not url.startswith(("http://", "https://")):
            present.append(url)
            continue
        app.store.add_feed(url, title=title, now=app.clock())
        known.add(url)
        added.append(url)
    return added, present


def fetch(
    app: App, on_feed: Callable[[FeedFetchReport], None] | None = None
) -> list[FeedFetchReport]:
    return fetch_all(
        app.store,
        app.fetcher(),
        app.clock,
        workers=app.settings.fetch.concurrency,
        on_feed=on_feed,
    )


# --- editions ------------------------------------------------------------------------------


def build(app: App, edition_date: date) -> Edition:
    """Build (or rebuild) the draft edition for ``edition_date`` and store it."""
    existing = app.store.get_edition(app.topic.key, edition_date)
    if existing is not None and existing.status in (EditionStatus.SENDING, EditionStatus.SENT):
        raise EditionError(
            f"the {edition_date} edition is already {existing.status}; it is not rebuilt"
        )
    window = edition_window(edition_date, app.settings.digest)
    items = app.store.items_published_between(window.start, window.end)
    edition = build_edition(items, app.topic, edition_date=edition_date, window=window)
    return app.store.save_edition(edition, now=app.clock())


def get_or_build(app: App, edition_date: date) -> Edition:
    existing = app.store.get_edition(app.topic.key, edition_date)
    return existing if existing is not None else build(app, edition_date)


@dataclass(frozen=True)
class PreviewFiles:
    html: Path
    text: Path


def preview(app: App, edition: Edition, folder: Path) -> PreviewFiles:
    """Write the edition's HTML and text renderings for an editor to look at."""
    email = app.renderer().render_preview(edition)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{edition.date.isoformat()}"
    html_path, text_path = folder / f"{stem}.html", folder / f"{stem}.txt"
    html_path.write_text(email.html, encoding="utf-8")
    text_path.write_text(email.text, encoding="utf-8")
    return PreviewFiles(html=html_path, text=text_path)


# --- sending -------------------------------------------------------------------------------


@dataclass
class SendReport:
    date: date
    counts: dict[str, int]
    #: Messages handed to the server in this run.
    sent_now: int = 0
    #: When the earliest deferred delivery is due again, if any.
    next_retry: datetime | None = None
    failures: list[str] = field(default_factory=list)


def send(
    app: App,
    edition_date: date,
    *,
    on_message: Callable[[Delivery, str], None] | None = None,
) -> SendReport:
    """Send the edition to every active subscriber; safe to run again, it resumes.

    The ledger rows are written first, in one transaction; each row is claimed, sent, and marked
    sent only after the server's 250.
    """
    edition = get_or_build(app, edition_date)
    edition_id = edition.id
    assert edition_id is not None
    if edition.status == EditionStatus.HELD:
        raise EditionError(f"the {edition_date} edition is held by an editor; approve it first")
    now = app.clock()
    _, envelope_from = parse_sender(app.settings.smtp.sender)
    domain = envelope_from.rpartition("@")[2] or "localhost"
    if edition.status != EditionStatus.SENT:
        app.ledger.ensure_rows(
            edition_id,
            app.subscribers.iter_active(),
            make_message_id=lambda: make_message_id(domain),
            now=now,
        )
        counts = app.ledger.counts(edition_id)
        if not any(counts.values()):
            # Nobody to send to: leave the edition as it is, so subscribers added later get it.
            return SendReport(date=edition_date, counts=counts)
        edition = app.store.set_edition_status(edition_id, EditionStatus.SENDING, now=now)
    sender = _Sender(
        app, edition, app.renderer().render(edition), app.signer(), envelope_from=envelope_from
    )
    report = SendReport(date=edition_date, counts={})
    try:
        report.sent_now, report.failures = sender.run(on_message)
    finally:
        sender.close()
    report.counts = app.ledger.counts(edition_id)
    report.next_retry = app.ledger.next_due(edition_id)
    if (
        report.counts[DeliveryStatus.PENDING]
        + report.counts[DeliveryStatus.SENDING]
        + report.counts[DeliveryStatus.DEFERRED]
        == 0
    ):
        app.store.set_edition_status(edition_id, EditionStatus.SENT, now=app.clock())
    return report


class _Sender:
    """Claims ledger rows in batches and sends them over one reused connection."""

    def __init__(
        self,
        app: App,
        edition: Edition,
        rendered: RenderedEdition,
        signer: TokenSigner,
        *,
        envelope_from: str,
    ):
        self.app = app
        self.edition = edition
        self.rendered = rendered
        self.signer = signer
        self.settings = app.settings
        self.mailer: Mailer | None = None
        self.on_connection = 0
        # What is the same for every message is worked out once, not per subscriber.
        self.envelope_from = envelope_from
        domain = envelope_from.rpartition("@")[2] or "localhost"
        # ASCII on purpose: the topic title has an en dash, which would be RFC 2047-encoded.
        self.list_id = f"{edition.topic} <{edition.topic}.{domain}>"
        mailto = self.settings.web.unsubscribe_mailto
        self.unsubscribe_mailto = f"mailto:{mailto}?subject=unsubscribe" if mailto else None

    def run(self, on_message: Callable[[Delivery, str], None] | None) -> tuple[int, list[str]]:
        sent, failures = 0, list[str]()
        lease = timedelta(seconds=self.settings.delivery.lease_seconds)
        while True:
            batch = self.app.ledger.claim(
                self.edition.id or 0, now=self.app.clock(), lease=lease, limit=CLAIM_BATCH
            )
            if not batch:
                return sent, failures
            still_active = self.app.ledger.active_subscribers(d.subscriber_id for d in batch)
            for position, delivery in enumerate(batch):
                if delivery.subscriber_id not in still_active:
                    self._finish(delivery, DeliveryStatus.SKIPPED, "subscriber no longer active")
                    continue
                try:
                    reply = self._send_one(delivery, still_active[delivery.subscriber_id])
                except SmtpUnavailableError:
                    self.app.ledger.release(d.id for d in batch[position:])
                    raise
                except (PermanentDeliveryError, HeaderError) as exc:
                    # HeaderError: this one address cannot be written (e.g. needs SMTPUTF8)
                    self._finish(delivery, DeliveryStatus.FAILED, str(exc))
                    failures.append(f"{delivery.email}: {exc}")
                    outcome = DeliveryStatus.FAILED
                except DeliveryError as exc:
                    delay = RETRY_INITIAL * (2 ** (delivery.attempts - 1)) * random.uniform(1, 1.5)
                    self._finish(
                        delivery,
                        DeliveryStatus.DEFERRED,
                        str(exc),
                        next_attempt_at=self.app.clock() + delay,
                    )
                    failures.append(f"{delivery.email}: {exc}")
                    outcome = DeliveryStatus.DEFERRED
                else:
                    self._finish(delivery, DeliveryStatus.SENT, reply)
                    sent += 1
                    outcome = DeliveryStatus.SENT
                if on_message is not None:
                    on_message(delivery, outcome)

    def _send_one(self, delivery: Delivery, name: str | None) -> str:
        unsubscribe_url = self._link("u", UNSUBSCRIBE, delivery.subscriber_id)
        email = self.rendered.personalize(
            unsubscribe_url=unsubscribe_url,
            preferences_url=self._link("preferences", PREFERENCES, delivery.subscriber_id),
        )
        message = build_message(
            email,
            sender=self.settings.smtp.sender,
            recipient=delivery.email,
            recipient_name=name,
            message_id=delivery.message_id,
            date=self.app.clock(),
            list_id=self.list_id,
            unsubscribe_url=unsubscribe_url,
            unsubscribe_mailto=self.unsubscribe_mailto,
        )
        if (
            self.mailer is None
            or self.on_connection >= self.settings.delivery.messages_per_connection
        ):
            self.close()
            self.mailer = self.app.mailer_factory()
            self.mailer.open()
            self.on_connection = 0
        self.on_connection += 1
        try:
            return self.mailer.send(self.envelope_from, ascii_address(delivery.email), message)
        except DeliveryError:
            self.close()  # a fresh connection for the next message
            raise

    def _link(self, path: str, purpose: str, subscriber_id: int) -> str:
        token = self.signer.make(purpose, subscriber_id)
        return f"{self.settings.web.base_url.rstrip('/')}/{path}/{token}"

    def _finish(
        self, delivery: Delivery, status: str, reply: str, next_attempt_at: datetime | None = None
    ) -> None:
        self.app.ledger.finish(
            delivery.id, status, now=self.app.clock(), reply=reply, next_attempt_at=next_attempt_at
        )

    def close(self) -> None:
        if self.mailer is not None:
            self.mailer.close()
            self.mailer = None


def deliveries(app: App, edition_date: date) -> dict[str, int]:
    edition = app.store.get_edition(app.topic.key, edition_date)
    if edition is None or edition.id is None:
        return dict.fromkeys(DeliveryStatus.ALL, 0)
    return app.ledger.counts(edition.id)


# --- the daily job -------------------------------------------------------------------------


@dataclass
class RunReport:
    date: date
    fetch: list[FeedFetchReport]
    edition: Edition
    send: SendReport


def run(app: App, edition_date: date | None = None) -> RunReport:
    """The daily job: fetch, build (unless already sending or sent), send."""
    day = edition_date_or_today(app, edition_date)
    fetched = fetch(app)
    existing = app.store.get_edition(app.topic.key, day)
    if existing is None or existing.status in (EditionStatus.DRAFT, EditionStatus.APPROVED):
        edition = (
            build(app, day)
            if existing is None or existing.status == EditionStatus.DRAFT
            else existing
        )
    else:
        edition = existing
    sent = send(app, day)
    return RunReport(date=day, fetch=fetched, edition=edition, send=sent)
