"""Subscribers in the database, seen as frozen values."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime

from sqlalchemy import false, or_, select

from digest.errors import SubscriberError
from digest.store.database import Database
from digest.store.models import SubscriberRow
from subscribers.types import Subscriber, SubscriberStatus
from subscribers.validation import clean_name, normalize_email


class SubscriberStore:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def add(
        self,
        email: str,
        *,
        now: datetime,
        name: str | None = None,
        status: str = SubscriberStatus.ACTIVE,
        consent_source: str = "cli",
    ) -> Subscriber:
        """Add a subscriber; an address already present is refused with its status."""
        address = normalize_email(email)
        with self._sessions.begin() as session:
            existing = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
            if existing is not None:
                raise SubscriberError(f"{address} is already a subscriber ({existing.status})")
            row = SubscriberRow(
                email=address,
                name=clean_name(name),
                status=status,
                sections=[],
                format="html",
                consent_at=now if status == SubscriberStatus.ACTIVE else None,
                consent_source=consent_source,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _subscriber(row)

    def remove(self, email: str) -> Subscriber:
        address = normalize_email(email)
        with self._sessions.begin() as session:
            row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
            if row is None:
                raise SubscriberError(f"no subscriber {address}")
            subscriber = _subscriber(row)
            session.delete(row)
            return subscriber

    def get(self, subscriber_id: int) -> Subscriber | None:
        with self._sessions() as session:
            row = session.get(SubscriberRow, subscriber_id)
            return None if row is None else _subscriber(row)

    def find(self, email: str) -> Subscriber | None:
        address = normalize_email(email)
        with self._sessions() as session:
            row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
            return None if row is None else _subscriber(row)

    def list(self, status: str | None = None) -> list[Subscriber]:
        with self._sessions() as session:
            query = select(SubscriberRow).order_by(SubscriberRow.id)
            if status:
                query = query.where(SubscriberRow.status == status)
            return [_subscriber(row) for row in session.scalars(query)]

    def iter_active(
        self, batch: int = 1000, *, timezones: Collection[str | None] | None = None
    ) -> Iterator[Subscriber]:
        """Active subscribers in id order, read a batch at a time (lists can be large).

        ``timezones`` keeps only subscribers whose time zone is one of these (None in it: those
        without one); None keeps everyone.
        """
        last_id = 0
        where = [SubscriberRow.status == SubscriberStatus.ACTIVE]
        if timezones is not None:
            named = [zone for zone in timezones if zone is not None]
            unset = SubscriberRow.timezone.is_(None) if None in timezones else false()
            where.append(or_(SubscriberRow.timezone.in_(named), unset))
        while True:
            with self._sessions() as session:
                rows = list(
                    session.scalars(
                        select(SubscriberRow)
                        .where(*where, SubscriberRow.id > last_id)
                        .order_by(SubscriberRow.id)
                        .limit(batch)
                    )
                )
            if not rows:
                return
            for row in rows:
                yield _subscriber(row)
            last_id = rows[-1].id

    def active_timezones(self) -> set[str | None]:
        """The distinct time zones of active subscribers (None: those without one)."""
        with self._sessions() as session:
            return set(
                session.scalars(
                    select(SubscriberRow.timezone)
                    .where(SubscriberRow.status == SubscriberStatus.ACTIVE)
                    .distinct()
                )
            )

    def set_status(self, subscriber_id: int, status: str, *, now: datetime) -> Subscriber:
        if status not in SubscriberStatus.ALL:
            raise SubscriberError(f"unknown status {status!r}")
        with self._sessions.begin() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None:
                raise SubscriberError(f"no subscriber with id {subscriber_id}")
            row.status = status
            row.updated_at = now
            return _subscriber(row)


def _subscriber(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        id=row.id,
        email=row.email,
        name=row.name,
        status=row.status,
        timezone=row.timezone,
        sections=tuple(row.sections or ()),
        format=row.format,
        consent_at=row.consent_at,
        consent_source=row.consent_source,
        created_at=row.created_at,
    )
