"""What the commands do, as plain functions over an App. The CLI only parses and prints.

Each function imports the stack it drives (fetching, editions, delivery) when it runs, so a
command loads only what it uses.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import UsageError
from digest.types import (
    Delivery,
    DeliveryStatus,
    Edition,
    EditionStatus,
    FeedCheck,
    FeedFetchReport,
)

if TYPE_CHECKING:
    from digest.app import App
    from digest.config import Settings
    from digest.delivery.ledger import FailureRecord
    from digest.delivery.variants import VariantTemplates
    from digest.ingest.service import Fetcher
    from digest.render.email import RenderedEdition
    from subscribers.types import Subscriber


def edition_date_or_today(app: App, value: date | None, zone: str = "") -> date:
    from digest.editions.service import Editions

    return value or Editions(app).today(zone)


# --- feeds ---------------------------------------------------------------------------------


def valid_feed_url(url: str) -> str:
    """``url`` when it can be a feed's address; UsageError saying why not otherwise."""
    from digest.ingest.urls import feed_url_problem

    problem = feed_url_problem(url)
    if problem is not None:
        raise UsageError(f"{problem}: {url}")
    return url


def add_feeds(app: App, urls: Collection[str], name: str | None = None) -> list[tuple[str, str]]:
    """Add feeds, each URL checked before any is added; (verb, url) per URL (see add_feed)."""
    for url in urls:
        valid_feed_url(url)
    return [(add_feed(app, url, name), url) for url in urls]


def add_feed(app: App, url: str, name: str | None = None) -> str:
    """Add a feed (of the outlet called ``name``, when given); adding a disabled feed again
    enables it. Returns "added" or "enabled"."""
    valid_feed_url(url)
    outlet = None if name is None else outlet_name(name)
    known = app.store.get_feed(url)
    if known is not None and (known.disabled_at or known.next_attempt_at):
        app.store.set_feed_enabled(url, now=app.clock())
        if outlet is not None:
            app.store.set_feed_outlet(url, outlet)
        return "enabled"
    app.store.add_feed(url, title=None, now=app.clock(), outlet=outlet)
    return "added"


def rename_feed(app: App, url: str, name: str) -> str:
    """Name the outlet of the feed at ``url``; returns the name as stored."""
    outlet = outlet_name(name)
    app.store.set_feed_outlet(url, outlet)
    return outlet


def outlet_name(name: str) -> str:
    """An admin's outlet name, checked: one line, not empty, not too long."""
    from digest.outlets import normalize_outlet_name

    try:
        return normalize_outlet_name(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def enable_feed(app: App, url: str) -> None:
    """Fetch a disabled or backed-off feed again from the next run on."""
    app.store.set_feed_enabled(url, now=app.clock())


def check_feed(app: App, url: str) -> FeedCheck:
    """Fetch and read ``url`` without adding it: what a subscriber would get from it."""
    from digest.ingest.check import inspect_feed

    return inspect_feed(app.fetcher(), valid_feed_url(url), app.clock)


@dataclass(frozen=True)
class OpmlImport:
    """What `feeds import` did: feeds added, already in the list, and refused with why."""

    added: list[str]
    present: list[str]
    refused: list[tuple[str, str]]


def import_opml(app: App, data: bytes) -> OpmlImport:
    """Add every feed of an OPML file whose address can be a feed's."""
    from digest.ingest.opml import read_opml
    from digest.ingest.urls import feed_url_problem

    result = OpmlImport([], [], [])
    known = {feed.url for feed in app.store.list_feeds()}
    for url, title in read_opml(data):
        problem = feed_url_problem(url)
        if problem is not None:
            result.refused.append((url, problem))
        elif url in known:
            result.present.append(url)
        else:
            app.store.add_feed(url, title=title, now=app.clock())
            known.add(url)
            result.added.append(url)
    return result


def fetch(
    app: App, on_feed: Callable[[FeedFetchReport], None] | None = None
) -> list[FeedFetchReport]:
    from digest.ingest.service import fetch_all

    return fetch_all(
        app.store,
        app.fetcher,  # made only when a feed is due
        app.clock,
        workers=app.settings.fetch.concurrency,
        on_feed=on_feed,
    )


def fetch_feeds(
    settings: Settings,
    app: Callable[[], App],
    on_feed: Callable[[FeedFetchReport], None] | None = None,
) -> list[FeedFetchReport]:
    """`digest fetch`: ``fetch``, with the app (and SQLAlchemy) built only when needed.

    On an SQLite database at the current schema, the feed list is read and the outcomes are
    recorded with sqlite3 (digest/store/sqlite_feeds.py), through the Store's own SQL: the
    command then never loads SQLAlchemy, which costs more CPU than a run with nothing due or
    every feed unchanged. Any other database takes the Store's path from the start.
    """
    from digest.store.sqlite_feeds import SqliteFeedStates
    from digest.topic_files import missing_topic

    if (missing := missing_topic(settings.digest.topic)) is not None:
        raise missing  # as make_app does, before anything is opened
    states = SqliteFeedStates.open(settings.digest.database, full=lambda: app().store)
    if states is None:
        return fetch(app(), on_feed)
    from digest.clock import system_clock  # the app's clock on SQLite
    from digest.ingest.service import fetch_all

    with states, contextlib.ExitStack() as owned:

        def fetcher() -> Fetcher:
            from digest.ingest.fetch import HttpFetcher

            return owned.enter_context(HttpFetcher(settings.fetch))

        return fetch_all(
            states, fetcher, system_clock, workers=settings.fetch.concurrency, on_feed=on_feed
        )


# --- editions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewFiles:
    html: Path
    text: Path


def preview(app: App, edition: Edition, folder: Path) -> PreviewFiles:
    """Write the edition's HTML and text renderings for an editor to look at."""
    email = app.renderer().render_preview(edition)
    folder.mkdir(parents=True, exist_ok=True)
    zone = f"-{edition.zone.replace('/', '-')}" if edition.zone else ""
    stem = f"digest-{edition.date.isoformat()}{zone}"
    html_path, text_path = folder / f"{stem}.html", folder / f"{stem}.txt"
    html_path.write_text(email.html, encoding="utf-8")
    text_path.write_text(email.text, encoding="utf-8")
    return PreviewFiles(html=html_path, text=text_path)


# --- sending -------------------------------------------------------------------------------


@dataclass
class DeliveryCounts:
    """An edition's deliveries by status."""

    date: date
    zone: str
    counts: dict[str, int]
    #: Deliveries taken over from a sender that died while sending them: maybe sent twice.
    uncertain: int = 0
    #: When the earliest deferred delivery is due again, if any.
    next_retry: datetime | None = None


@dataclass
class SendReport(DeliveryCounts):
    #: Messages handed to the server in this run.
    sent_now: int = 0
    failures: list[str] = field(default_factory=list)
    #: The run was asked to stop; claimed rows it had not started were given back.
    stopped: bool = False
    #: Why the run paused after many consecutive failures, or None.
    paused: str | None = None
    #: --dry-run: nothing was sent or written; ``would_send`` messages are due now.
    dry_run: bool = False
    would_send: int = 0
    #: --dry-run: subscribers per preference variant, and each variant's message size (bytes).
    variants: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def send(
    app: App,
    edition: Edition,
    *,
    timezones: Collection[str | None] | None = None,
    on_message: Callable[[Delivery, str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    dry_run: bool = False,
    stop: threading.Event | None = None,
    write_rows: bool = True,
) -> SendReport:
    """Send ``edition`` (the editor's changes applied) to its subscribers; safe to run again.

    The caller decided it goes out (see digest.editions.decide). The ledger rows are written
    first, in one transaction, for those in ``timezones`` (see ``SubscriberStore.iter_active``)
    who have not had this date in another zone; each row is claimed, sent, and marked sent only
    after the server's 250. ``on_start`` gets the number of messages due now. When ``stop`` is
    set the run finishes the messages in flight, gives back the rest and returns a report with
    ``stopped`` set.

    ``write_rows=False`` is a worker's share of a send the leader started: it writes no ledger
    row and sends only the rows there are.
    """
    from digest.delivery.links import LinkTokens
    from digest.delivery.message import ascii_address, make_message_id, parse_sender
    from digest.delivery.quota import RelayQuota
    from digest.delivery.sender import DeliveryRun
    from digest.editions.service import Editions
    from subscribers.tokens import PREFERENCES, UNSUBSCRIBE

    editions = Editions(app)
    edition_id = edition.id
    assert edition_id is not None
    edition_date = edition.date
    now = app.clock()
    _, envelope_from = parse_sender(app.settings.smtp.sender)
    domain = envelope_from.rpartition("@")[2] or "localhost"
    variants = _variant_templates(app, edition, envelope_from)
    audience = _audience(app, edition, timezones)
    if edition.status != EditionStatus.SENT:
        # Render every variant now: an edition too large to send fails here, before any row
        # is written, instead of failing every delivery one by one.
        for key in app.ledger.candidate_variants(edition_id):
            variants.get(key)
    if dry_run:
        return _dry_run(app, edition, variants, now, audience)
    if edition.status != EditionStatus.SENT and write_rows:
        app.ledger.ensure_rows(
            edition_id,
            audience(),
            make_message_id=lambda: make_message_id(domain),
            now=now,
        )
        counts = app.ledger.counts(edition_id)
        if not any(counts.values()):
            # Nobody to send to: leave the edition as it is, so subscribers added later get it.
            return SendReport(date=edition_date, zone=edition.zone, counts=counts)
        if edition.status != EditionStatus.SENDING:
            edition = editions.start_sending(edition)
    if on_start is not None:
        on_start(app.ledger.due_count(edition_id, now=now))
    delivery = app.settings.delivery
    first_send = app.ledger.first_send_at(edition_id) or now
    base_url = app.settings.web.base_url.rstrip("/")
    tokens = LinkTokens(app.signer(), app.settings.secret_key, (UNSUBSCRIBE, PREFERENCES))

    def compose(row: Delivery) -> bytes:
        # The address tag stops a link working if the id ever belongs to someone else.
        unsubscribe = tokens.make(UNSUBSCRIBE, row.subscriber_id, row.email)
        preferences = tokens.make(PREFERENCES, row.subscriber_id, row.email)
        return variants.get(row.variant).message(
            recipient=row.email,
            recipient_name=row.name,
            message_id=row.message_id,
            date=app.clock(),
            unsubscribe_url=f"{base_url}/u/{unsubscribe}",
            preferences_url=f"{base_url}/preferences/{preferences}",
        )

    run = DeliveryRun(
        ledger=app.ledger,
        edition_id=edition_id,
        compose=compose,
        mailer_factory=app.mailer_factory,
        envelope_from=envelope_from,
        to_address=ascii_address,
        settings=delivery,
        clock=app.clock,
        expires_at=first_send + timedelta(hours=delivery.ttl_hours),
        stop=stop or threading.Event(),
        on_message=on_message,
        deliverable=app.subscribers.still_deliverable,
        envelope_for=_verp(app),
        quota=RelayQuota(app.database, app.clock),
    )
    result = run.run()
    report = SendReport(
        date=edition_date,
        zone=edition.zone,
        counts=app.ledger.counts(edition_id),
        sent_now=result.sent,
        failures=result.failures,
        stopped=result.stopped,
        paused=result.paused,
    )
    report.next_retry = app.ledger.next_due(edition_id)
    report.uncertain = app.ledger.uncertain(edition_id)
    if (
        report.counts[DeliveryStatus.PENDING]
        + report.counts[DeliveryStatus.SENDING]
        + report.counts[DeliveryStatus.DEFERRED]
        == 0
        and edition.status != EditionStatus.SENT
    ):
        editions.finish(edition)
    return report


def _verp(app: App) -> Callable[[Delivery], str] | None:
    """Each delivery's own envelope sender when [delivery] bounce_address is set."""
    if not app.settings.delivery.bounce_address:
        return None
    from digest.bounces.verp import VerpAddresses

    verp = VerpAddresses(app.settings.delivery.bounce_address, app.verp_keys())
    return lambda row: verp.address(row.id)


def _audience(
    app: App, edition: Edition, timezones: Collection[str | None] | None
) -> Callable[[], Iterator[Subscriber]]:
    """Who gets this edition: those in its zones who get the digest and have not had its date
    from another zone's edition (a subscriber who moved gets each date at most once)."""
    assert edition.id is not None
    not_delivered = (edition.topic, edition.date, edition.id)
    return lambda: app.subscribers.iter_active(timezones=timezones, not_delivered=not_delivered)


def _variant_templates(app: App, edition: Edition, envelope_from: str) -> VariantTemplates:
    """Per-preference message templates for the edition, rendered on first use."""
    from digest.delivery.compose import MessageTemplate
    from digest.delivery.signing import make_signer
    from digest.delivery.variants import VariantTemplates

    domain = envelope_from.rpartition("@")[2] or "localhost"
    # ASCII on purpose: the topic title has an en dash, which would be RFC 2047-encoded.
    list_id = f"{edition.topic} <{edition.topic}.{domain}>"
    mailto = app.settings.web.unsubscribe_mailto
    unsubscribe_mailto = f"mailto:{mailto}?subject=unsubscribe" if mailto else None
    base = app.settings.path.parent if app.settings.path else None
    sign = make_signer(app.settings.delivery, base)
    renderer = app.renderer()
    # campaign:list:edition:sender, the fields mailbox providers' feedback loops group by.
    feedback_id = (
        f"{edition.date.isoformat()}:{edition.topic}:{edition.id}:{domain}"
        if app.settings.delivery.bounce_address
        else None
    )

    def make_template(rendered: RenderedEdition, text_only: bool) -> MessageTemplate:
        return MessageTemplate(
            rendered,
            sender=app.settings.smtp.sender,
            list_id=list_id,
            unsubscribe_mailto=unsubscribe_mailto,
            text_only=text_only,
            sign=sign,
            feedback_id=feedback_id,
        )

    return VariantTemplates(edition, renderer.render, make_template)


def _dry_run(
    app: App,
    edition: Edition,
    variants: VariantTemplates,
    now: datetime,
    audience: Callable[[], Iterator[Subscriber]],
) -> SendReport:
    """What a send would do now, without sending or writing anything."""
    from subscribers.tokens import PREFERENCES, UNSUBSCRIBE

    edition_id = edition.id
    assert edition_id is not None
    report = SendReport(
        date=edition.date, zone=edition.zone, counts=app.ledger.counts(edition_id), dry_run=True
    )
    missing = app.ledger.missing_variants(edition_id, audience())
    report.would_send = app.ledger.due_count(edition_id, now=now) + sum(missing.values())
    report.variants = app.ledger.variant_counts(edition_id)
    for key, count in missing.items():
        report.variants[key] = report.variants.get(key, 0) + count
    base_url = app.settings.web.base_url.rstrip("/")
    for key in report.variants:
        # A sample message with links as long as real ones, to check headers and size.
        sample = variants.get(key).message(
            recipient="subscriber@example.com",
            recipient_name=None,
            message_id=f"<dry-run.{edition_id}@example.com>",
            date=now,
            unsubscribe_url=f"{base_url}/u/{app.signer().make(UNSUBSCRIBE, 1)}",
            preferences_url=f"{base_url}/preferences/{app.signer().make(PREFERENCES, 1)}",
        )
        report.sizes[key] = len(sample)
    report.next_retry = app.ledger.next_due(edition_id)
    return report


#: The kinds of bounce report (digest.bounces.types.ReportKind), without importing it.
REPORT_KINDS = ("hard", "soft", "complaint")


@dataclass
class DeliveriesReport(DeliveryCounts):
    #: Latest failed and deferred deliveries with the server's reply, newest first.
    failures: list[FailureRecord] = field(default_factory=list)
    #: The date's other zones (shown when no zone was asked for).
    other_zones: list[str] = field(default_factory=list)
    #: Bounce and complaint reports received about its messages: {"hard", "soft", "complaint"}.
    reports: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPORT_KINDS, 0))


def deliveries_report(
    app: App, edition_date: date, zone: str | None = None, *, failures: int = 10
) -> DeliveriesReport:
    """The ledger of one edition (the digest's own zone unless ``zone`` is given): counts by
    status and the recent failures."""
    from digest.bounces.record import edition_report_counts
    from digest.editions.service import Editions

    editions = Editions(app)
    key = editions.key(edition_date, zone or "")
    others = [z for z in editions.zones(edition_date) if z != key.zone] if zone is None else []
    edition = app.store.get_edition(key)
    if edition is None or edition.id is None:
        return DeliveriesReport(
            date=edition_date,
            zone=key.zone,
            counts=dict.fromkeys(DeliveryStatus.ALL, 0),
            other_zones=others,
        )
    return DeliveriesReport(
        date=edition_date,
        zone=key.zone,
        counts=app.ledger.counts(edition.id),
        uncertain=app.ledger.uncertain(edition.id),
        next_retry=app.ledger.next_due(edition.id),
        failures=app.ledger.recent_failures(edition.id, failures),
        other_zones=others,
        reports=edition_report_counts(app, edition.id),
    )
