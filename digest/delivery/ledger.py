"""The deliveries ledger: one row per (edition, subscriber), written before anything is sent.

A row is claimed (pending -> sending) by one atomic UPDATE ... RETURNING, marked sent only after
the server's 250, and a claim left behind by a sender that died is taken over after a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from digest.store.database import Database
from digest.store.models import DeliveryRow, SubscriberRow
from digest.types import Delivery, DeliveryStatus
from subscribers.types import Subscriber, SubscriberStatus


class Ledger:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def ensure_rows(
        self,
        edition_id: int,
        subscribers: Iterable[Subscriber],
        *,
        make_message_id: Callable[[], str],
        now: datetime,
    ) -> int:
        """Create the missing rows for ``subscribers`` in one transaction; returns how many."""
        created = 0
        with self._sessions.begin() as session:
            have = set(
                session.scalars(
                    select(DeliveryRow.subscriber_id).where(DeliveryRow.edition_id == edition_id)
                )
            )
            for subscriber in subscribers:
                if subscriber.id in have:
                    continue
                session.add(
                    DeliveryRow(
                        edition_id=edition_id,
                        subscriber_id=subscriber.id,
                        email=subscriber.email,
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                        message_id=make_message_id(),
                        created_at=now,
                    )
                )
                have.add(subscriber.id)
                created += 1
        return created

    def claim(
        self, edition_id: int, *, now: datetime, lease: timedelta, limit: int
    ) -> list[Delivery]:
        """Atomically take up to ``limit`` rows that are due; each is sent by one claimer only."""
        due = or_(
            DeliveryRow.status == DeliveryStatus.PENDING,
            and_(
                DeliveryRow.status == DeliveryStatus.DEFERRED,
                DeliveryRow.next_attempt_at <= now,
            ),
            and_(
                DeliveryRow.status == DeliveryStatus.SENDING,
                DeliveryRow.claimed_at < now - lease,
            ),
        )
        candidates = (
            select(DeliveryRow.id)
            .where(DeliveryRow.edition_id == edition_id, due)
            .order_by(DeliveryRow.id)
            .limit(limit)
            .scalar_subquery()
        )
        with self._sessions.begin() as session:
            rows = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(candidates), due)
                .values(
                    status=DeliveryStatus.SENDING,
                    claimed_at=now,
                    attempts=DeliveryRow.attempts + 1,
                )
                .returning(
                    DeliveryRow.id,
                    DeliveryRow.edition_id,
                    DeliveryRow.subscriber_id,
                    DeliveryRow.email,
                    DeliveryRow.status,
                    DeliveryRow.attempts,
                    DeliveryRow.message_id,
                    DeliveryRow.last_reply,
                )
            ).all()
        return sorted((Delivery(**row._asdict()) for row in rows), key=lambda d: d.id)

    def active_subscribers(self, subscriber_ids: Iterable[int]) -> dict[int, str | None]:
        """Which of these are still active right now, with their names.

        Read just before sending each batch, so an unsubscribe during a send is honoured.
        """
        ids = list(subscriber_ids)
        if not ids:
            return {}
        with self._sessions() as session:
            rows = session.execute(
                select(SubscriberRow.id, SubscriberRow.name).where(
                    SubscriberRow.id.in_(ids),
                    SubscriberRow.status == SubscriberStatus.ACTIVE,
                )
            ).all()
        return {subscriber_id: name for subscriber_id, name in rows}

    def finish(
        self,
        delivery_id: int,
        status: str,
        *,
        now: datetime,
        reply: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Record the outcome of a claimed row: sent, deferred, failed or skipped."""
        values: dict[str, object] = {"status": status, "claimed_at": None, "last_reply": reply}
        if status == DeliveryStatus.SENT:
            values["sent_at"] = now
        if status == DeliveryStatus.DEFERRED:
            values["next_attempt_at"] = next_attempt_at
        with self._sessions.begin() as session:
            session.execute(
                update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values)
            )

    def release(self, delivery_ids: Iterable[int]) -> None:
        """Give back claimed rows that were never attempted (e.g. the server was unreachable)."""
        ids = list(delivery_ids)
        if not ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids), DeliveryRow.status == DeliveryStatus.SENDING)
                .values(
                    status=DeliveryStatus.PENDING,
                    claimed_at=None,
                    attempts=DeliveryRow.attempts - 1,
                )
            )

    def counts(self, edition_id: int) -> dict[str, int]:
        counts = dict.fromkeys(DeliveryStatus.ALL, 0)
        with self._sessions() as session:
            for status, count in session.execute(
                select(DeliveryRow.status, func.count(DeliveryRow.id))
                .where(DeliveryRow.edition_id == edition_id)
                .group_by(DeliveryRow.status)
            ).all():
                counts[status] = int(count)
        return counts

    def next_due(self, edition_id: int) -> datetime | None:
        with self._sessions() as session:
            return session.scalar(
                select(func.min(DeliveryRow.next_attempt_at)).where(
                    DeliveryRow.edition_id == edition_id,
                    DeliveryRow.status == DeliveryStatus.DEFERRED,
                )
            )
