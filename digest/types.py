"""Frozen domain values passed between the stages of the pipeline.

ORM rows never leave the store: every stage sees only these values. All datetimes are
timezone-aware and in UTC unless a field says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Feed:
    """A subscribed feed and the state of its last fetch."""

    #: Store id.
    id: int
    #: The URL fetched.
    url: str
    #: The feed's own title (from the last successful parse), or None before the first fetch.
    title: str | None = None
    #: Validators sent back on the next request (conditional GET).
    etag: str | None = None
    last_modified: str | None = None
    #: When the last fetch attempt finished, and its outcome ("ok", "not-modified", "error").
    last_fetched_at: datetime | None = None
    last_status: str | None = None
    #: One-line reason of the last failure, None after a success.
    last_error: str | None = None
    #: Failures since the last success.
    consecutive_failures: int = 0
    #: When a fetch last succeeded (200 or 304).
    last_success_at: datetime | None = None
    #: Number of items stored from this feed.
    item_count: int = 0
    #: Set when the feed is no longer fetched (410 Gone), with the reason.
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    #: Not fetched before this (Retry-After, or backing off after repeated failures).
    next_attempt_at: datetime | None = None
    #: The outlet's name as an admin gave it (`feeds add --name`, `feeds rename`), or None.
    outlet: str | None = None

    @property
    def name(self) -> str:
        """What a reader sees as the outlet: the admin's name for it, else the title, else the
        URL before the first fetch."""
        return self.outlet or self.title or self.url


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """The raw outcome of one HTTP fetch, before parsing."""

    #: URL requested and URL finally answered (after redirects).
    url: str
    final_url: str
    #: HTTP status of the final response (200, 304).
    status: int
    #: Body bytes; empty for a 304.
    body: bytes = b""
    #: Validators to keep for the next conditional GET.
    etag: str | None = None
    last_modified: str | None = None
    #: Content-Type header, used as a hint for the body's encoding.
    content_type: str | None = None
    #: Where permanent redirects (301/308) alone led: the feed's new address.
    permanent_url: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One entry of a feed, parsed and sanitized, not yet stored."""

    #: The feed's id for the entry (or a stable id derived from link/content when it has none).
    guid: str
    #: The link as the feed gave it (resolved against the feed URL); always http(s): an entry
    #: without such a link (none, or ``javascript:``/``data:``) gets the feed's URL.
    url: str
    #: The link with tracking parameters and fragments removed, used to match across feeds;
    #: for an entry without an http(s) link, the feed's URL with ``#guid``.
    canonical_url: str
    #: Plain-text title (markup removed, entities decoded).
    title: str
    #: Sanitized HTML of the entry's summary or content (safe to show).
    summary_html: str
    #: Plain text of the entry's summary or content (for the editorial stages).
    text: str
    #: When the entry says it was published (fetch time when it says nothing).
    published: datetime


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document parsed into items."""

    title: str | None
    items: tuple[ParsedItem, ...]
    #: "rss2.0", "atom10", "json1.1"... as read.
    format: str = ""
    #: What was wrong with the document but could be worked around.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Item(ParsedItem):
    """A stored feed entry: what the editorial stages work on (the parsed entry's fields, and
    where and when it was stored)."""

    #: Store id.
    id: int
    #: The feed it came from: id and display name (the outlet).
    feed_id: int
    feed_title: str
    #: When it was first stored.
    fetched: datetime
    #: Which outlet published it (see digest/outlets.py): feeds with the same key are one
    #: outlet, counted once. "" when unknown: the feed title stands for the outlet.
    outlet: str = ""


@dataclass(frozen=True, slots=True)
class FeedFetchReport:
    """What `digest fetch` did with one feed."""

    url: str
    #: "ok", "not-modified" or "error".
    status: str
    #: Entries in the document, and how many were new or changed.
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    #: One-line reason when status is "error" (or "skipped").
    error: str | None = None
    #: Something the operator should know although it worked ("moved to ...", "disabled: ...").
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """What `feeds check` found: usable means it could be added and would give items."""

    url: str
    usable: bool
    final_url: str | None = None
    format: str | None = None
    title: str | None = None
    items: int = 0
    newest: datetime | None = None
    problems: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """The outcome of fetching one feed, as the store records it (see Store.apply_fetches)."""

    feed_id: int
    #: "ok", "not-modified" or "error".
    status: str
    error: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    items: tuple[ParsedItem, ...] = ()
    #: The feed moved permanently: store this URL instead (when no other feed has it).
    new_url: str | None = None
    #: Stop fetching the feed, for this reason.
    disable_reason: str | None = None
    #: Do not try again before this.
    next_attempt_at: datetime | None = None


# --- topics ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    """A word or phrase (lower case, matched on word boundaries) and its weight."""

    phrase: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class TopicSection:
    """A sub-topic heading of the digest and the terms that place a story under it."""

    key: str
    title: str
    terms: tuple[WeightedTerm, ...] = ()
    #: Multiplies the score of the section's lead story when sections are ranked: below 1 for
    #: colour (company and market news) that should lead only on a day without policy news.
    rank_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic definition, loaded from its TOML file (editors tune the file, not code)."""

    #: Identifier used in config and editions ("us-china-trade").
    key: str
    #: Display title ("US–China trade dispute").
    title: str
    description: str
    #: Headings in their default order; the last one is used when nothing else fits.
    sections: tuple[TopicSection, ...]
    #: Terms naming the topic's subject (the China side).
    subject_terms: tuple[WeightedTerm, ...] = ()
    #: Terms naming the policy side (trade, tariffs, export controls...).
    policy_terms: tuple[WeightedTerm, ...] = ()
    #: Terms specific enough to make an item relevant on their own.
    strong_terms: tuple[WeightedTerm, ...] = ()
    #: Terms of lookalike news that lower the score (gadget "chip" launches...).
    negative_terms: tuple[WeightedTerm, ...] = ()
    #: Score an item needs to be kept.
    threshold: float = 1.0
    #: Extra settings of the editorial stages (weights, limits), by name.
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def section(self, key: str) -> TopicSection:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)


# --- editions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open time range [start, end) an edition covers."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class Source:
    """One stored item merged into a story."""

    item_id: int
    #: Display name of the outlet (the feed's title).
    feed: str
    title: str
    #: The item's link as the feed gave it.
    url: str
    published: datetime
    #: The outlet's key (see Item.outlet); "" in editions stored before outlets had keys.
    outlet: str = ""


@dataclass(frozen=True, slots=True)
class Story:
    """One news story: one or more items from different outlets about the same event."""

    title: str
    url: str
    #: Extractive summary: sentences taken from the sources' own text.
    summary: str
    #: Earliest publication among the sources.
    published: datetime
    #: Key of the topic section the story is placed in.
    section: str
    #: Importance used for ranking (higher first).
    score: float
    #: Every source merged into the story, the headline's own source first.
    sources: tuple[Source, ...]

    @property
    def outlets(self) -> tuple[str, ...]:
        """Distinct outlets' names, headline source first (two feeds of one outlet count once)."""
        names: dict[str, str] = {}
        for source in self.sources:
            names.setdefault(source.outlet or source.feed, source.feed)
        return tuple(names.values())


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    stories: tuple[Story, ...]


class EditionStatus(StrEnum):
    """Where an edition is in its life; the allowed moves are in :data:`EDITION_TRANSITIONS`."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    HELD = "held"


#: Status -> the statuses it may become (itself included: a rebuild, a resumed send). The store
#: refuses any other change. Approval is of the content, so a changed approved edition is a draft
#: again; a hold lasts until an editor approves; once sending starts the content is fixed.
EDITION_TRANSITIONS: dict[EditionStatus, frozenset[EditionStatus]] = {
    EditionStatus.DRAFT: frozenset(
        {EditionStatus.DRAFT, EditionStatus.APPROVED, EditionStatus.HELD, EditionStatus.SENDING}
    ),
    EditionStatus.APPROVED: frozenset(
        {EditionStatus.APPROVED, EditionStatus.DRAFT, EditionStatus.HELD, EditionStatus.SENDING}
    ),
    EditionStatus.HELD: frozenset({EditionStatus.HELD, EditionStatus.APPROVED}),
    EditionStatus.SENDING: frozenset({EditionStatus.SENDING, EditionStatus.SENT}),
    EditionStatus.SENT: frozenset({EditionStatus.SENT}),
}

#: Statuses whose content is fixed: what subscribers got (or are getting).
LOCKED_STATUSES = frozenset({EditionStatus.SENDING, EditionStatus.SENT})


@dataclass(frozen=True, slots=True)
class EditionKey:
    """Which edition: one per topic, local date and subscribers' time zone."""

    topic: str
    date: date
    #: Time zone of the subscribers it is for; "" is the digest's own (see digest/sendtimes.py).
    zone: str = ""


@dataclass(frozen=True, slots=True)
class Edition:
    """The built content of one day's digest for one topic."""

    topic: str
    topic_title: str
    date: date
    window: Window
    sections: tuple[Section, ...]
    status: EditionStatus = EditionStatus.DRAFT
    #: Store id, None until stored.
    id: int | None = None
    built_at: datetime | None = None
    #: The editor's intro note shown at the top of the email ("" for none).
    note: str = ""
    #: Time zone of the subscribers it is for; "" is the digest's own (see digest/sendtimes.py).
    zone: str = ""
    #: The editor's changes are already in the content (they are fixed in when sending starts).
    edited: bool = False

    @property
    def key(self) -> EditionKey:
        return EditionKey(self.topic, self.date, self.zone)

    @property
    def locked(self) -> bool:
        """Being sent or sent: its content no longer changes."""
        return self.status in LOCKED_STATUSES

    @property
    def stories(self) -> tuple[Story, ...]:
        return tuple(story for section in self.sections for story in section.stories)

    @property
    def is_empty(self) -> bool:
        return not any(section.stories for section in self.sections)


# --- delivery -------------------------------------------------------------------------------


class DeliveryStatus:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    SKIPPED = "skipped"

    ALL = (PENDING, SENDING, SENT, DEFERRED, FAILED, SKIPPED)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the deliveries ledger: an edition for one subscriber."""

    id: int
    edition_id: int
    subscriber_id: int
    email: str
    status: str
    attempts: int
    message_id: str
    last_reply: str | None = None
    #: Snapshot of the display name for To, taken when the row was created.
    name: str | None = None
    #: Snapshot of the subscriber's preferences (see digest.delivery.variants).
    variant: str | None = None
    #: Taken over from a sender that died while sending it: it may have arrived already.
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One subscriber's finished email, before MIME framing."""

    subject: str
    html: str
    text: str


# --- scheduling -----------------------------------------------------------------------------


class RunOutcome(StrEnum):
    """How a scheduled run ended (or that it is still running)."""

    RUNNING = "running"
    OK = "ok"
    #: Nothing on-topic and the quiet-day policy is "skip": nothing was sent.
    QUIET_SKIPPED = "quiet-skipped"
    #: Nothing on-topic and the policy is "note": a short "no major developments" email went out.
    QUIET_NOTE = "quiet-note"
    #: require_approval is on and the edition was not approved by its send time.
    HELD = "held"
    #: Stopped (SIGTERM) before finishing; the next run resumes.
    STOPPED = "stopped"
    #: Its daemon died mid-run (found by the daemon that took over); the next run resumes.
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a scheduled job, as `digest runs` shows it."""

    id: int
    #: "fetch", "build" or "send".
    job: str
    #: Subscribers' time zone the run was for ("" is the digest's own).
    zone: str
    edition_date: date | None
    started_at: datetime
    finished_at: datetime | None
    #: One of RunOutcome.
    outcome: str
    #: What the run did, e.g. {"feeds": 5, "new_items": 12} or delivery counts.
    counts: dict[str, int]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """Which `digest serve` runs the schedule of this database, and until when."""

    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
