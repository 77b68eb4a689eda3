"""ORM tables. Private to the store: other modules get frozen values from digest.types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite drops the offset, so it is put back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: An integer primary key (the ids of most tables).
IntPK = Annotated[int, mapped_column(Integer, primary_key=True)]


class Base(DeclarativeBase):
    # Every datetime column stores aware UTC times.
    type_annotation_map = {datetime: UTCDateTime}


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[IntPK]
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(512))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_fetched_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: Set when the feed stopped being fetched (410 Gone); cleared by re-adding or enabling it.
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    #: Not fetched before this: Retry-After, or backoff after repeated failures.
    next_attempt_at: Mapped[datetime | None]
    #: The outlet's name as an admin gave it (`feeds add --name`, `feeds rename`), else NULL.
    outlet: Mapped[str | None] = mapped_column(String(200))


class ItemRow(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_items_feed_guid"),
        Index("ix_items_canonical_url", "canonical_url"),
        Index("ix_items_published", "published"),
    )

    id: Mapped[IntPK]
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(2048))
    url: Mapped[str] = mapped_column(String(2048))
    canonical_url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    summary_html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime]
    fetched: Mapped[datetime]
    updated: Mapped[datetime]
    #: Hash of title+content: an item seen again is rewritten only when this changes.
    content_hash: Mapped[str] = mapped_column(String(64))


class EditionRow(Base):
    __tablename__ = "editions"
    __table_args__ = (
        UniqueConstraint("topic", "edition_date", "zone", name="uq_editions_topic_date_zone"),
    )

    id: Mapped[IntPK]
    topic: Mapped[str] = mapped_column(String(128))
    edition_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    #: The built content as JSON: what is sent is exactly what was previewed.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Unused since editor changes belong to the date (edition_changes); kept for old databases.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime]
    first_send_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: Time zone of the subscribers this edition is for; "" is the digest's own zone.
    zone: Mapped[str] = mapped_column(String(64), default="", server_default="")


class EditionChangesRow(Base):
    """An editor's changes to a date's editions: they apply to every zone's edition of it."""

    __tablename__ = "edition_changes"

    topic: Mapped[str] = mapped_column(String(128), primary_key=True)
    edition_date: Mapped[date] = mapped_column(Date, primary_key=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    id: Mapped[IntPK]
    #: Normalized address (email-validator), unique.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: Preferred section keys; empty means all.
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: "html" (multipart with both parts) or "text".
    format: Mapped[str] = mapped_column(String(8), default="html")
    consent_at: Mapped[datetime | None]
    consent_source: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: A paused subscriber gets nothing until they resume (their status stays as it is).
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Extra columns of an imported CSV, kept as text by column name.
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    #: Permanent (5xx) refusals so far; at [delivery] max_hard_bounces the status is "bounced".
    hard_bounces: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: While pending: the secret a confirmation link must carry; cleared on confirming, so a
    #: link works once and only for the pending period it was sent in.
    confirm_nonce: Mapped[str | None] = mapped_column(String(32))


class ListRow(Base):
    __tablename__ = "lists"

    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(128), unique=True)
    #: Topic key the list receives; None means the topic the installation is configured for.
    topic: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]


class ListMemberRow(Base):
    __tablename__ = "list_members"
    __table_args__ = (Index("ix_list_members_subscriber", "subscriber_id"),)

    list_id: Mapped[int] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]


class SuppressionRow(Base):
    """An address never to be mailed again, kept only as a keyed hash (survives erasure)."""

    __tablename__ = "suppressions"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Why: "admin", "erased", "complaint", or what an import said...
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ConfirmationRow(Base):
    """A confirmation email waiting to go out (the outbox): queued by the subscribe form or a
    command, sent by `digest serve` or `digest confirmations send`, never inside a request."""

    __tablename__ = "confirmation_outbox"
    __table_args__ = (
        Index("ix_confirmation_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_confirmation_outbox_subscriber", "subscriber_id", "queued_at"),
    )

    id: Mapped[IntPK]
    #: No foreign key: a subscriber erased meanwhile leaves a row that is skipped.
    subscriber_id: Mapped[int] = mapped_column(Integer)
    #: queued, sending (claimed by a sender), sent, skipped (no longer pending), failed.
    status: Mapped[str] = mapped_column(String(16))
    queued_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class SignupRow(Base):
    """A sign-up from the public form, waiting to be applied (the subscriber made pending, a
    confirmation queued) by `digest serve` or `digest confirmations send`. The form only adds
    this row, the same work whoever the address belongs to; applied rows are deleted."""

    __tablename__ = "signup_requests"

    id: Mapped[IntPK]
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(256))
    list_name: Mapped[str | None] = mapped_column(String(128))
    #: Consent source for the subscriber: the form and the client's address.
    source: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]


class RateLimitRow(Base):
    """One fixed window of a rate limit (the sign-up form's), shared by every web worker."""

    __tablename__ = "rate_limits"

    #: The limit's key: its scope and who it counts (a client network, a hashed address).
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    #: When the window ends, in seconds since the epoch (what the limiter library counts in).
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_edition_subscriber"),
        Index("ix_deliveries_edition_status", "edition_id", "status"),
        # A bounce report names the message it is about by its Message-ID.
        Index("ix_deliveries_message_id", "message_id"),
    )

    id: Mapped[IntPK]
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    #: Address snapshot at ledger creation: what was actually addressed.
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    last_reply: Mapped[str | None] = mapped_column(Text)
    #: Fixed at creation so a retry of the same row reuses it.
    message_id: Mapped[str] = mapped_column(String(256))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: Display name snapshot for the To header.
    name: Mapped[str | None] = mapped_column(String(256))
    #: Preference snapshot: "html" or "text", then ":" and the chosen section keys, if any.
    variant: Mapped[str | None] = mapped_column(String(512))
    #: Taken over from a sender that died mid-send: it may have been delivered twice.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The sender holding the row while it is "sending": only it may record or release it,
    #: and it stops sending the row once another sender has taken it over.
    claim_token: Mapped[str | None] = mapped_column(String(32))


class RelayQuotaRow(Base):
    """The relay's quota, shared by every sender on the database: a token bucket (``tokens``
    at ``stamp``, epoch seconds) and the messages that failed in a row, whoever sent them."""

    __tablename__ = "relay_quota"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)
    #: What the last take granted (read back in the same statement).
    last_grant: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RunRow(Base):
    """One run of a scheduled job (fetch, build, send), for `digest runs` and `digest status`."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_job_started", "job", "started_at"),)

    id: Mapped[IntPK]
    job: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    edition_date: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(32))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class DaemonLeaseRow(Base):
    """Who runs `digest serve` on this database, until when: renewed while it runs."""

    __tablename__ = "daemon_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(256))
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class BounceReportRow(Base):
    """One bounce or complaint about one address, as reported once (a DSN, an ARF report or a
    webhook event): the same report seen again finds its row and changes nothing."""

    __tablename__ = "bounce_reports"
    __table_args__ = (
        UniqueConstraint("report_key", "email", name="uq_bounce_reports_key_email"),
        Index("ix_bounce_reports_edition_kind", "edition_id", "kind"),
    )

    id: Mapped[IntPK]
    #: The report's identity: its Message-ID, the hash of its bytes, or the provider's event id.
    report_key: Mapped[str] = mapped_column(String(512))
    #: The address the report is about (the delivery's, when the report names the delivery).
    email: Mapped[str] = mapped_column(String(320))
    #: "hard", "soft" or "complaint".
    kind: Mapped[str] = mapped_column(String(16))
    #: "dsn", "arf", "ses", "postmark", "mailgun" or "sendgrid".
    source: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id", ondelete="SET NULL"))
    #: Erasing a subscriber erases the reports about them.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    received_at: Mapped[datetime]
