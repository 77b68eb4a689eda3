"""What to do with an edition at its send time: a pure function of the edition, the policy and
the moment (after lemon24/reader's update decider). The jobs and `digest send` act on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from digest.types import Edition, EditionStatus


class Action(StrEnum):
    #: Build (or rebuild) the edition first, then decide again.
    BUILD = "build"
    #: Not sent: held by an editor, or not approved when approval is required.
    HOLD = "hold"
    #: Nothing on-topic and the quiet-day policy is "skip": nothing is sent.
    QUIET = "quiet"
    SEND = "send"
    #: Already sent: nothing to do.
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings a decision depends on."""

    require_approval: bool = False
    #: "skip" or "note" ([schedule] quiet_day).
    quiet_day: str = "skip"
    #: Send a quiet day's edition even when the policy is "skip".
    force: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str = ""
    #: The edition has no stories: what goes out is the short "no major developments" note.
    quiet: bool = False


def decide(edition: Edition | None, policy: Policy, now: datetime) -> Decision:
    """Build, hold, skip as quiet, send or done, for ``edition`` (None: not built yet)."""
    if edition is None:
        return Decision(Action.BUILD, "not built yet")
    status = edition.status
    if status == EditionStatus.SENT:
        return Decision(Action.DONE, "already sent")
    if status == EditionStatus.SENDING:
        # started: it goes on to the end, quiet or not
        return Decision(Action.SEND, "resuming")
    if status == EditionStatus.HELD:
        return Decision(Action.HOLD, "held by an editor")
    if policy.require_approval:
        if status != EditionStatus.APPROVED:
            return Decision(Action.HOLD, "not approved by its send time")
    elif status == EditionStatus.DRAFT and _stale(edition, now):
        return Decision(Action.BUILD, "built before its window closed")
    if edition.is_empty:
        if policy.quiet_day == "skip" and not policy.force:
            return Decision(Action.QUIET, "no stories")
        return Decision(Action.SEND, "no stories: the short note", quiet=True)
    return Decision(Action.SEND)


def _stale(edition: Edition, now: datetime) -> bool:
    """A draft built before its window closed (or before now) misses items: build it again."""
    return edition.built_at is None or edition.built_at < min(now, edition.window.end)


def send_date_problem(
    day: date, *, today: date, send_at: datetime, now: datetime, ttl: timedelta
) -> str | None:
    """Why sending the ``day`` edition now is probably not what was meant, or None.

    ``today`` is the local date of its zone, ``send_at`` its send moment, ``ttl`` how late an
    edition may still go out.
    """
    if day > today + timedelta(days=1):
        return f"{day} is more than a day ahead of today ({today})"
    if now - send_at > ttl:
        hours = int(ttl.total_seconds() // 3600)
        return f"the {day} edition's send time is more than its time-to-live ({hours} h) ago"
    return None
