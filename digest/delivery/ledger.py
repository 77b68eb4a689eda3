"""The deliveries ledger: one row per (edition, subscriber), written before anything is sent.

A row is claimed (pending -> sending) by one atomic UPDATE ... RETURNING, marked sent only after
the server's 250, and a claim left behind by a sender that died is taken over after a lease.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from digest.store.database import Database
from digest.store.models import DeliveryRow, EditionRow
from digest.store.retry import retrying
from digest.store.rows import value_of
from digest.types import Delivery, DeliveryStatus
from subscribers.store import SubscriberStore
from subscribers.types import Subscriber


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed row."""

    delivery_id: int
    subscriber_id: int
    status: str
    reply: str | None = None
    next_attempt_at: datetime | None = None
    #: A permanent refusal of the recipient: counts towards the subscriber's bounces.
    hard_bounce: bool = False


@dataclass(frozen=True, slots=True)
class FailureRecord:
    email: str
    status: str
    attempts: int
    reply: str
    next_attempt_at: datetime | None


def variant_key(format_: str | None, sections: Iterable[str] | None) -> str:
    """A subscriber's preferences as one string: ``html``, ``text`` or ``html:a,b``."""
    kind = "text" if format_ == "text" else "html"
    chosen = sorted({str(key) for key in (sections or ()) if str(key)})
    return f"{kind}:{','.join(chosen)}" if chosen else kind


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    """INSERT that skips rows already there (another sender may be creating them too).

    On the table, not the mapped class: a Core executemany, without the ORM's bulk machinery.
    """
    table = cast(Table, DeliveryRow.__table__)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(
            index_elements=["edition_id", "subscriber_id"]
        )
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(
        index_elements=["edition_id", "subscriber_id"]
    )


_RETURNED = (
    DeliveryRow.id,
    DeliveryRow.edition_id,
    DeliveryRow.subscriber_id,
    DeliveryRow.email,
    DeliveryRow.status,
    DeliveryRow.attempts,
    DeliveryRow.message_id,
    DeliveryRow.last_reply,
    DeliveryRow.name,
    DeliveryRow.variant,
    DeliveryRow.uncertain,
)


def _due_conditions() -> tuple[ColumnElement[bool], ...]:
    """A row is due when pending, deferred to a time that has come, or claimed by a sender
    whose lease ran out."""
    return (
        DeliveryRow.status == DeliveryStatus.PENDING,
        and_(
            DeliveryRow.status == DeliveryStatus.DEFERRED,
            DeliveryRow.next_attempt_at
            <= bindparam("due_at", type_=DeliveryRow.next_attempt_at.type),
        ),
        and_(
            DeliveryRow.status == DeliveryStatus.SENDING,
            DeliveryRow.claimed_at < bindparam("expired", type_=DeliveryRow.claimed_at.type),
        ),
    )


def _claimed_values() -> dict[str, Any]:
    return {
        "status": DeliveryStatus.SENDING,
        "claimed_at": bindparam("now", type_=DeliveryRow.claimed_at.type),
        "claim_token": bindparam("token"),
        "attempts": DeliveryRow.attempts + 1,
        # Taking over an expired claim (the SET sees the row's old status): its sender may have
        # handed the message to the server already.
        "uncertain": or_(
            DeliveryRow.uncertain.is_(True), DeliveryRow.status == DeliveryStatus.SENDING
        ),
    }


@functools.cache
def _claim_statements() -> tuple[tuple[Select[Any], ...], Any]:
    """The claim's statements, built once (building them costs more than running them)."""
    edition = DeliveryRow.edition_id == bindparam("edition")
    conditions = _due_conditions()
    candidates = tuple(
        select(DeliveryRow.id).where(edition, condition).limit(bindparam("limit"))
        for condition in conditions
    )
    claim = (
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(bindparam("ids", expanding=True)), or_(*conditions))
        .values(**_claimed_values())
        .returning(*_RETURNED)
    )
    return candidates, claim


@functools.cache
def _skip_locked_claim() -> Any:
    """PostgreSQL's claim in one statement: each claimer locks the due rows it takes and skips
    those another claimer holds, so claimers never wait on or race for the same rows."""
    due = (
        select(DeliveryRow.id)
        .where(DeliveryRow.edition_id == bindparam("edition"), or_(*_due_conditions()))
        .order_by(DeliveryRow.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(due))
        .values(**_claimed_values())
        .returning(*_RETURNED)
    )


#: The record's UPDATE in each driver's parameter style. Recording runs many times a second,
#: each for a few rows: as the driver's own SQL it skips SQLAlchemy's per-call compiling and
#: per-row parameter processing, most of its cost.
_RECORD_PLACEHOLDERS = {"sqlite": ":{}", "postgresql": "%({})s"}
_RECORD_SQL = (
    "UPDATE {table} SET status = {new_status}, claimed_at = NULL, claim_token = NULL, "
    "last_reply = {reply}, sent_at = {sent}, next_attempt_at = {next_at} "
    "WHERE id = {row_id} AND status = 'sending' AND claim_token = {token}"
)


def _record_statement(dialect: Dialect) -> tuple[str, Callable[[datetime | None], Any]]:
    """The record's SQL for ``dialect`` and the function that turns a time into its value."""
    placeholder = _RECORD_PLACEHOLDERS[dialect.name]
    names = ("new_status", "reply", "sent", "next_at", "row_id", "token")
    sql = _RECORD_SQL.format(
        table=DeliveryRow.__tablename__, **{name: placeholder.format(name) for name in names}
    )
    # The column type's own conversion: the same stored value as any other write.
    process = DeliveryRow.__table__.c.sent_at.type.bind_processor(dialect)
    return sql, process or (lambda value: value)


class Ledger:
    def __init__(self, database: Database, subscribers: SubscriberStore) -> None:
        self._sessions = database.sessions
        # subscribers' bounce counts and status are the subscriber store's to write
        self._subscribers = subscribers
        # Core connections for the per-message paths: an ORM session per claim costs more.
        self._engine = database.engine
        self._record_sql, self._stored = _record_statement(self._engine.dialect)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction of the claim, record, release, renew and take-over paths."""
        with self._engine.begin() as connection:
            yield connection

    @contextmanager
    def held(self) -> Iterator[Ledger]:
        """This ledger on one connection of its own, for one sender's run: its claims,
        records, releases and renewals (several a second, from one thread) reuse it instead of
        taking one from the pool, checking it and giving it back each time."""
        held = _HeldLedger(self)
        try:
            yield held
        finally:
            held.close()

    def ensure_rows(
        self,
        edition_id: int,
        subscribers: Iterable[Subscriber],
        *,
        make_message_id: Callable[[], str],
        now: datetime,
        batch: int = 1000,
    ) -> int:
        """Create the missing rows for these subscribers in one transaction.

        ``subscribers`` is streamed (lists can be large) and written a batch at a time; each
        row snapshots the address, name and preferences it will be sent with. Rows that exist
        are kept as they are, so a second sender, or a re-run, adds nothing. Returns how many
        rows were created.
        """
        statement = _insert_ignoring_duplicates(self._engine.dialect.name)
        with self._engine.begin() as connection:
            before = self._row_count(connection, edition_id)
            stream = iter(subscribers)
            while chunk := list(itertools.islice(stream, batch)):
                connection.execute(
                    statement,
                    [
                        {
                            "edition_id": edition_id,
                            "subscriber_id": subscriber.id,
                            "email": subscriber.email,
                            "name": subscriber.name,
                            "variant": variant_key(subscriber.format, subscriber.sections),
                            "status": DeliveryStatus.PENDING,
                            "attempts": 0,
                            "uncertain": False,
                            "message_id": make_message_id(),
                            "created_at": now,
                        }
                        for subscriber in chunk
                    ],
                )
            return self._row_count(connection, edition_id) - before

    @staticmethod
    def _row_count(connection: Connection, edition_id: int) -> int:
        return int(
            connection.scalar(
                select(func.count(DeliveryRow.id)).where(DeliveryRow.edition_id == edition_id)
            )
            or 0
        )

    def take_over(self, edition_id: int, *, now: datetime, lease: timedelta) -> int:
        """Flag rows whose sender died mid-send (lease expired) as uncertain; returns how many.

        The next claim takes them; they may have reached the server before the sender died.
        """
        with self._transaction() as connection:
            result = connection.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.edition_id == edition_id,
                    DeliveryRow.status == DeliveryStatus.SENDING,
                    DeliveryRow.claimed_at < now - lease,
                    DeliveryRow.uncertain.is_(False),
                )
                .values(uncertain=True)
            )
        return int(result.rowcount or 0)

    def claim(
        self,
        edition_id: int,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        token: str,
        due_before: datetime | None = None,
    ) -> list[Delivery]:
        """Atomically take up to ``limit`` rows that are due, in id order, for the sender
        ``token`` names; each is sent by one claimer only. A row taken over from a claim whose
        lease ran out is flagged uncertain.

        Deferred rows are due when their next attempt is at or before ``due_before`` (default:
        ``now``).
        """
        params = {
            "edition": edition_id,
            "due_at": min(now, due_before or now),
            "expired": now - lease,
            "now": now,
            "token": token,
        }
        if self._engine.dialect.name == "postgresql":
            statement = _skip_locked_claim()

            def skip_locked() -> list[Delivery]:
                with self._transaction() as connection:
                    rows = connection.execute(statement, {**params, "limit": limit}).all()
                return sorted((Delivery(**row._asdict()) for row in rows), key=lambda d: d.id)

            return retrying(skip_locked)
        for _ in range(10):
            claimed = retrying(lambda: self._claim_once(params, limit=limit))
            if claimed is not None:
                return claimed
        return []  # other senders kept taking the rows first; they are sending them

    def _claim_once(self, params: dict[str, Any], *, limit: int) -> list[Delivery] | None:
        """One claim attempt: None when other senders took every candidate first."""
        candidates_of, claim = _claim_statements()
        with self._transaction() as connection:
            # Candidates per status through the (edition_id, status) index: a claim costs the
            # same at the end of a 100,000-row edition as at its start.
            candidates: list[int] = []
            for statement in candidates_of:
                if len(candidates) >= limit:
                    break
                candidates += connection.scalars(
                    statement, {**params, "limit": limit - len(candidates)}
                )
            if not candidates:
                return []
            # The UPDATE checks again: of two senders racing for a row, one gets it.
            rows = connection.execute(claim, {**params, "ids": candidates}).all()
        if not rows:
            return None
        return sorted((Delivery(**row._asdict()) for row in rows), key=lambda d: d.id)

    def record(
        self, outcomes: Iterable[Outcome], *, now: datetime, max_hard_bounces: int, token: str
    ) -> None:
        """Record the outcomes of rows the sender ``token`` holds, in one transaction; a row
        another sender has taken over since is left to that sender.

        A hard bounce counts against the subscriber; at ``max_hard_bounces`` they are marked
        bounced and get nothing more.
        """
        outcomes = list(outcomes)
        if not outcomes:
            return
        sql, stored = self._record_sql, self._stored
        # In id order, so two transactions that lock the same rows lock them in the same order.
        outcomes.sort(key=lambda o: o.delivery_id)

        def write() -> None:
            with self._transaction() as connection:
                connection.exec_driver_sql(sql, parameters)

        sent = stored(now)
        parameters = [
            {
                "row_id": o.delivery_id,
                "token": token,
                "new_status": o.status,
                "reply": o.reply,
                "sent": sent if o.status == DeliveryStatus.SENT else None,
                "next_at": stored(o.next_attempt_at)
                if o.status == DeliveryStatus.DEFERRED
                else None,
            }
            for o in outcomes
        ]
        retrying(write)
        bounced = [o.subscriber_id for o in outcomes if o.hard_bounce]
        if bounced:
            self._subscribers.record_hard_bounces(
                bounced, now=now, max_hard_bounces=max_hard_bounces
            )

    def release(self, delivery_ids: Iterable[int], *, token: str) -> None:
        """Give back rows the sender ``token`` holds and never attempted (e.g. the server was
        unreachable)."""
        ids = list(delivery_ids)
        if not ids:
            return
        ids.sort()  # the same lock order as every other writer

        def give_back() -> None:
            with self._transaction() as connection:
                connection.execute(
                    update(DeliveryRow)
                    .where(
                        DeliveryRow.id.in_(ids),
                        DeliveryRow.status == DeliveryStatus.SENDING,
                        DeliveryRow.claim_token == token,
                    )
                    .values(
                        status=DeliveryStatus.PENDING,
                        claimed_at=None,
                        claim_token=None,
                        attempts=DeliveryRow.attempts - 1,
                    )
                )

        retrying(give_back)

    def renew(self, edition_id: int, *, token: str, now: datetime) -> set[int]:
        """Extend the lease of every row the sender ``token`` still holds; returns their ids.

        A row missing from the answer was taken over by another sender after this one's lease
        ran out (it was paused, or too slow): this sender must not send it.
        """

        def extend() -> set[int]:
            with self._transaction() as connection:
                return set(
                    connection.scalars(
                        update(DeliveryRow)
                        .where(
                            DeliveryRow.edition_id == edition_id,
                            DeliveryRow.status == DeliveryStatus.SENDING,
                            DeliveryRow.claim_token == token,
                        )
                        .values(claimed_at=now)
                        .returning(DeliveryRow.id)
                    )
                )

        return retrying(extend)

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

    def due_count(self, edition_id: int, *, now: datetime) -> int:
        """Rows a send would attempt now: pending, and deferred ones whose time has come."""
        with self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count(DeliveryRow.id)).where(
                        DeliveryRow.edition_id == edition_id,
                        or_(
                            DeliveryRow.status == DeliveryStatus.PENDING,
                            and_(
                                DeliveryRow.status == DeliveryStatus.DEFERRED,
                                DeliveryRow.next_attempt_at <= now,
                            ),
                        ),
                    )
                )
                or 0
            )

    def missing_variants(
        self, edition_id: int, subscribers: Iterable[Subscriber], batch: int = 1000
    ) -> dict[str, int]:
        """Of these subscribers, those with no row for the edition yet, per preference variant."""
        counts: dict[str, int] = {}
        stream = iter(subscribers)
        with self._sessions() as session:
            while chunk := list(itertools.islice(stream, batch)):
                have = set(
                    session.scalars(
                        select(DeliveryRow.subscriber_id).where(
                            DeliveryRow.edition_id == edition_id,
                            DeliveryRow.subscriber_id.in_([s.id for s in chunk]),
                        )
                    )
                )
                for subscriber in chunk:
                    if subscriber.id not in have:
                        key = variant_key(subscriber.format, subscriber.sections)
                        counts[key] = counts.get(key, 0) + 1
        return counts

    def variant_counts(
        self, edition_id: int, subscribers: Iterable[Subscriber] = ()
    ) -> dict[str, int]:
        """Messages per preference variant: the edition's rows, plus these subscribers' when
        they have no row yet."""
        counts: dict[str, int] = {}
        with self._sessions() as session:
            for variant, count in session.execute(
                select(DeliveryRow.variant, func.count(DeliveryRow.id))
                .where(DeliveryRow.edition_id == edition_id)
                .group_by(DeliveryRow.variant)
            ).all():
                key = variant or "html"
                counts[key] = counts.get(key, 0) + int(count)
        for key, count in self.missing_variants(edition_id, subscribers).items():
            counts[key] = counts.get(key, 0) + count
        return counts

    def candidate_variants(self, edition_id: int) -> set[str]:
        """Every preference variant this edition may be sent in: its rows' and those of every
        subscriber who gets the digest (a superset, cheap to read: for rendering them all up
        front)."""
        with self._sessions() as session:
            keys = {
                variant or "html"
                for variant in session.scalars(
                    select(DeliveryRow.variant)
                    .where(DeliveryRow.edition_id == edition_id)
                    .distinct()
                )
            }
        keys.update(
            variant_key(fmt, sections) for fmt, sections in self._subscribers.deliverable_variants()
        )
        return keys

    def first_send_at(self, edition_id: int) -> datetime | None:
        """When the edition was first sent (the start of its deliveries' time-to-live)."""
        with self._sessions() as session:
            return session.scalar(
                select(EditionRow.first_send_at).where(EditionRow.id == edition_id)
            )

    def uncertain(self, edition_id: int) -> int:
        """Rows taken over from a sender that died while sending them."""
        with self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count(DeliveryRow.id)).where(
                        DeliveryRow.edition_id == edition_id, DeliveryRow.uncertain.is_(True)
                    )
                )
                or 0
            )

    def recent_failures(self, edition_id: int, limit: int = 10) -> list[FailureRecord]:
        """The latest failed and deferred rows with the server's reply, newest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    DeliveryRow.email,
                    DeliveryRow.status,
                    DeliveryRow.attempts,
                    DeliveryRow.last_reply,
                    DeliveryRow.next_attempt_at,
                )
                .where(
                    DeliveryRow.edition_id == edition_id,
                    DeliveryRow.status.in_((DeliveryStatus.FAILED, DeliveryStatus.DEFERRED)),
                )
                .order_by(DeliveryRow.id.desc())
                .limit(limit)
            ).all()
        return [
            value_of(
                FailureRecord,
                row,
                reply=row.last_reply or "",
                next_attempt_at=row.next_attempt_at if row.status == "deferred" else None,
            )
            for row in rows
        ]

    def next_due(self, edition_id: int) -> datetime | None:
        with self._sessions() as session:
            return session.scalar(
                select(func.min(DeliveryRow.next_attempt_at)).where(
                    DeliveryRow.edition_id == edition_id,
                    DeliveryRow.status == DeliveryStatus.DEFERRED,
                )
            )


class _HeldLedger(Ledger):
    """A ledger whose transactions all run on one connection, held until ``close()``. For one
    thread at a time (a sender's main thread)."""

    def __init__(self, ledger: Ledger) -> None:
        self._sessions = ledger._sessions
        self._subscribers = ledger._subscribers
        self._engine = ledger._engine
        self._record_sql, self._stored = ledger._record_sql, ledger._stored
        self._connection: Connection | None = None

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._connection is None:
            self._connection = self._engine.connect()  # checked (pre-ping) as it is taken
        try:
            with self._connection.begin():
                yield self._connection
        except DBAPIError as exc:
            if exc.connection_invalidated:
                self.close()  # the server went away: the next transaction (a retry) reconnects
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
