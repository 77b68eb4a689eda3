"""Frozen subscriber values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class SubscriberStatus:
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"

    ALL = (PENDING, ACTIVE, UNSUBSCRIBED, BOUNCED)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A person on the list."""

    #: Store id.
    id: int
    #: Normalized address (unique).
    email: str
    #: Display name, used in the To header; None when unknown.
    name: str | None
    #: One of SubscriberStatus.
    status: str
    #: IANA time zone of the subscriber's morning, None for the digest's own.
    timezone: str | None
    #: Section keys the subscriber wants; empty means every section.
    sections: tuple[str, ...]
    #: "html" (both parts) or "text".
    format: str
    #: When and how consent was given.
    consent_at: datetime | None
    consent_source: str | None
    created_at: datetime
    #: Paused subscribers get nothing until they resume; their status is kept.
    paused: bool = False
    #: Names of the lists the subscriber is on.
    lists: tuple[str, ...] = ()
    #: Extra columns of an imported CSV (name -> text).
    attributes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    #: True when the address is on the suppression list (never mailed, whatever the status).
    suppressed: bool = False


FORMATS = ("html", "text")


@dataclass(frozen=True, slots=True)
class SubscriberList:
    """A named audience, tied to a topic."""

    id: int
    name: str
    #: Topic key; None means the topic the installation is configured for.
    topic: str | None
    description: str | None
    created_at: datetime
    #: Members, by status.
    counts: dict[str, int] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A CSV row that was not imported, and why."""

    line: int
    reason: str
    email: str | None = None


@dataclass
class ImportReport:
    """What an import did (or, with --dry-run, would do)."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    #: Rows whose address appeared earlier in the file; merged into the first.
    duplicates: int = 0
    #: Existing subscribers who had unsubscribed or bounced: updated, but not re-subscribed.
    kept_status: int = 0
    #: Rows skipped because the address is suppressed.
    skipped: list[RejectedRow] = field(default_factory=list)
    #: Rows not imported (bad address, bad value, undecodable bytes...).
    rejected: list[RejectedRow] = field(default_factory=list)
    #: Rows put on the suppression list (a preset's blocklisted or cleaned addresses); the
    #: reason says what the tool called them.
    suppressed: list[RejectedRow] = field(default_factory=list)
    dry_run: bool = False
    #: Subscribers of the file who are pending after the import (they wait for a confirmation).
    pending: int = 0
    #: Their ids, for sending them confirmation emails (not printed).
    pending_ids: list[int] = field(default_factory=list, repr=False)
