"""Sign-ups from the public form, queued in the database and applied later.

The form only validates the address and adds one row here: the same work, and so the same
time, for a new, pending, active or suppressed address. Applying a sign-up (making the
subscriber pending, queueing the confirmation email) happens in `digest serve` or
`digest confirmations send`, where no stranger is timing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Update, delete, func, or_, select, update

from digest.store.claims import claim_each
from digest.store.database import Database
from digest.store.models import SignupRow

#: A process that died while applying a sign-up gives it back after this long.
CLAIM_LEASE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Signup:
    id: int
    email: str
    name: str | None
    list_name: str | None
    source: str


class SignupQueue:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def add(
        self, email: str, *, name: str | None, list_name: str | None, source: str, now: datetime
    ) -> None:
        with self._sessions.begin() as session:
            session.add(
                SignupRow(
                    email=email, name=name, list_name=list_name, source=source, requested_at=now
                )
            )

    def claim(self, *, now: datetime, limit: int = 200, after_id: int = 0) -> list[Signup]:
        """Take up to ``limit`` sign-ups after ``after_id``, oldest first, that nobody else
        holds (or whose holder died)."""
        free = or_(SignupRow.claimed_at.is_(None), SignupRow.claimed_at < now - CLAIM_LEASE)
        candidates = (
            select(
                SignupRow.id, SignupRow.email, SignupRow.name, SignupRow.list_name, SignupRow.source
            )
            .where(free, SignupRow.id > after_id)
            .order_by(SignupRow.id)
            .limit(limit)
        )

        def take(row: Row[Any]) -> Update:
            return update(SignupRow).where(SignupRow.id == row.id, free).values(claimed_at=now)

        taken = claim_each(self._sessions, candidates, take)
        return [Signup(row.id, row.email, row.name, row.list_name, row.source) for row in taken]

    def done(self, signup_id: int) -> None:
        """Forget an applied sign-up (the subscriber row records its consent source)."""
        with self._sessions.begin() as session:
            session.execute(delete(SignupRow).where(SignupRow.id == signup_id))

    def waiting(self) -> int:
        with self._sessions() as session:
            return session.scalar(select(func.count()).select_from(SignupRow)) or 0
