"""Frozen subscriber values."""

from __future__ import annotations

from dataclasses import dataclass
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
