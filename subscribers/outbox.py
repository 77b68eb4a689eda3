"""The confirmation outbox: confirmation emails queued in the database, sent later.

The subscribe form only queues, so its answer never waits on (or fails with) the mail relay,
and takes the same time whoever asks. `digest serve` and `digest confirmations send` send what
is due; a sender claims each row first, so two of them never send the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Update, and_, func, or_, select, update

from digest.store.claims import claim_each
from digest.store.database import Database
from digest.store.models import ConfirmationRow

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
#: The subscriber is no longer pending (confirmed, left, erased, suppressed): nothing to send.
SKIPPED = "skipped"
FAILED = "failed"
#: A sender that died while holding a row gives it back after this long.
CLAIM_LEASE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class QueuedConfirmation:
    id: int
    subscriber_id: int
    queued_at: datetime
    attempts: int


class ConfirmationOutbox:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def queue(
        self, subscriber_id: int, *, now: datetime, resend_after: timedelta | None = None
    ) -> bool:
        """Queue a confirmation email; False when none is added because one is still waiting,
        or (with ``resend_after``) one was queued less than that long ago."""
        with self._sessions.begin() as session:
            recent = select(ConfirmationRow.id).where(
                ConfirmationRow.subscriber_id == subscriber_id
            )
            waiting = ConfirmationRow.status.in_((QUEUED, SENDING))
            if resend_after is not None:
                since = now - resend_after
                recent = recent.where(
                    or_(
                        waiting,
                        and_(ConfirmationRow.status == SENT, ConfirmationRow.queued_at > since),
                    )
                )
            else:
                recent = recent.where(waiting)
            if session.scalar(recent.limit(1)) is not None:
                return False
            session.add(
                ConfirmationRow(
                    subscriber_id=subscriber_id,
                    status=QUEUED,
                    queued_at=now,
                    next_attempt_at=now,
                    attempts=0,
                )
            )
            return True

    def claim_due(
        self, *, now: datetime, limit: int = 200, after_id: int = 0
    ) -> list[QueuedConfirmation]:
        """Take up to ``limit`` rows that are due (or whose sender died), oldest first, from
        those after ``after_id`` (so one pass never takes a row it gave back)."""
        due = or_(
            and_(ConfirmationRow.status == QUEUED, ConfirmationRow.next_attempt_at <= now),
            and_(ConfirmationRow.status == SENDING, ConfirmationRow.claimed_at < now - CLAIM_LEASE),
        )
        candidates = (
            select(
                ConfirmationRow.id,
                ConfirmationRow.subscriber_id,
                ConfirmationRow.queued_at,
                ConfirmationRow.attempts,
                ConfirmationRow.status,
            )
            .where(due, ConfirmationRow.id > after_id)
            .order_by(ConfirmationRow.id)
            .limit(limit)
        )

        def take(row: Row[Any]) -> Update:
            # the row as it was read: of two senders, only one changes it
            return (
                update(ConfirmationRow)
                .where(
                    ConfirmationRow.id == row.id,
                    ConfirmationRow.status == row.status,
                    ConfirmationRow.attempts == row.attempts,
                    due,
                )
                .values(status=SENDING, claimed_at=now, attempts=row.attempts + 1)
            )

        return [
            QueuedConfirmation(row.id, row.subscriber_id, row.queued_at, row.attempts + 1)
            for row in claim_each(self._sessions, candidates, take)
        ]

    def finish(self, row_id: int, status: str, *, now: datetime, error: str | None = None) -> None:
        """Record a claimed row's outcome: sent, skipped or failed."""
        with self._sessions.begin() as session:
            session.execute(
                update(ConfirmationRow)
                .where(ConfirmationRow.id == row_id)
                .values(
                    status=status,
                    claimed_at=None,
                    sent_at=now if status == SENT else None,
                    last_error=error,
                )
            )

    def retry(self, row_id: int, *, at: datetime, error: str) -> None:
        """Give a claimed row back, to be tried again at ``at``."""
        with self._sessions.begin() as session:
            session.execute(
                update(ConfirmationRow)
                .where(ConfirmationRow.id == row_id)
                .values(status=QUEUED, claimed_at=None, next_attempt_at=at, last_error=error)
            )

    def counts(self) -> dict[str, int]:
        """Rows by status."""
        with self._sessions() as session:
            return dict(
                session.execute(
                    select(ConfirmationRow.status, func.count()).group_by(ConfirmationRow.status)
                ).all()
            )
