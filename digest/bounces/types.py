"""What a bounce or complaint report says, whatever it came in (a DSN, ARF, a webhook)."""

from __future__ import annotations

from dataclasses import dataclass


class ReportKind:
    #: A permanent failure: counts towards ``max_hard_bounces``.
    HARD = "hard"
    #: A temporary failure (mailbox full, greylisted...): recorded, nothing else.
    SOFT = "soft"
    #: The recipient marked it as spam: unsubscribed and suppressed at once.
    COMPLAINT = "complaint"
    ALL = (HARD, SOFT, COMPLAINT)


@dataclass(frozen=True, slots=True)
class BounceReport:
    """One report about one address."""

    #: The report's identity (its Message-ID, the hash of its bytes, a provider's event id):
    #: with ``email``, what makes a report seen twice count once.
    key: str
    #: A :class:`ReportKind`.
    kind: str
    #: The address the report is about, lowercased.
    email: str
    #: "dsn", "arf", "ses", "postmark", "mailgun" or "sendgrid".
    source: str
    #: Status code or diagnostic, for people to read.
    detail: str = ""
    #: The delivery named by the envelope sender's VERP token, when there was one.
    delivery_id: int | None = None
    #: The Message-ID of the message that bounced, when the report quotes it.
    message_id: str | None = None


@dataclass
class ApplyCounts:
    """What recording a batch of reports did."""

    hard: int = 0
    soft: int = 0
    complaints: int = 0
    #: Reports already recorded (the same report seen again): nothing changed.
    duplicates: int = 0
    #: Reports about an address that is not a subscriber (recorded all the same).
    unknown: int = 0

    def add(self, other: ApplyCounts) -> None:
        for name in ("hard", "soft", "complaints", "duplicates", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
