"""Run history and the daemon lease: the scheduler's own rows in the project database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from digest.store.database import Database
from digest.store.models import DaemonLeaseRow, DeliveryRow, EditionRow, RunRow
from digest.store.rows import value_of
from digest.types import DeliveryStatus, Lease, Run, RunOutcome

DAEMON_LEASE = "serve"


class RunLog:
    """Each job run is a row: written when it starts, completed when it ends."""

    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def start(self, job: str, *, now: datetime, zone: str = "", day: date | None = None) -> int:
        with self._sessions.begin() as session:
            row = RunRow(
                job=job,
                zone=zone,
                edition_date=day,
                started_at=now,
                outcome=RunOutcome.RUNNING,
                counts={},
            )
            session.add(row)
            session.flush()
            return row.id

    def finish(
        self,
        run_id: int,
        outcome: str,
        *,
        now: datetime,
        counts: dict[str, int] | None = None,
        error: str | None = None,
        day: date | None = None,
    ) -> Run:
        with self._sessions.begin() as session:
            row = session.get_one(RunRow, run_id)
            row.finished_at = now
            row.outcome = outcome
            row.counts = dict(counts or {})
            row.error = error
            if day is not None:
                row.edition_date = day
            return _run(row)

    def mark_interrupted(self, *, started_before: datetime) -> int:
        """Runs left "running" by a daemon that died: said so, so they are not shown as live."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(RunRow)
                .where(RunRow.outcome == RunOutcome.RUNNING, RunRow.started_at < started_before)
                .values(outcome=RunOutcome.INTERRUPTED)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def recent(self, *, limit: int = 20, job: str | None = None) -> list[Run]:
        """Newest first."""
        query = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        if job is not None:
            query = query.where(RunRow.job == job)
        with self._sessions() as session:
            return [_run(row) for row in session.scalars(query)]

    def last_send(self, zone: str, day: date) -> Run | None:
        """The latest finished send run for this zone's edition of ``day``."""
        with self._sessions() as session:
            row = session.scalar(
                select(RunRow)
                .where(
                    RunRow.job == "send",
                    RunRow.zone == zone,
                    RunRow.edition_date == day,
                    RunRow.outcome != RunOutcome.RUNNING,
                )
                .order_by(RunRow.started_at.desc(), RunRow.id.desc())
                .limit(1)
            )
            return None if row is None else _run(row)


class DaemonLeases:
    """One row says which daemon runs the schedule; it must renew before ``expires_at``.

    A row in the shared database (not a PID file) works across hosts; every change is one
    conditional UPDATE or INSERT, so two daemons racing cannot both win.
    """

    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def acquire(self, holder: str, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Take the lease if it is free, expired or already ours; None if another holds it."""
        with self._sessions.begin() as session:
            taken = session.execute(
                update(DaemonLeaseRow)
                .where(
                    DaemonLeaseRow.name == DAEMON_LEASE,
                    (DaemonLeaseRow.expires_at <= now) | (DaemonLeaseRow.holder == holder),
                )
                .values(holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl)
            )
            if getattr(taken, "rowcount", 0) == 1:
                return self.holder_in(session)
        try:
            with self._sessions.begin() as session:
                if session.get(DaemonLeaseRow, DAEMON_LEASE) is not None:
                    return None
                session.add(
                    DaemonLeaseRow(
                        name=DAEMON_LEASE,
                        holder=holder,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=now + ttl,
                    )
                )
        except IntegrityError:  # another daemon inserted it first
            return None
        return self.current()

    def renew(self, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Extend our lease; False when it is no longer ours (another daemon took it over)."""
        with self._sessions.begin() as session:
            renewed = session.execute(
                update(DaemonLeaseRow)
                .where(DaemonLeaseRow.name == DAEMON_LEASE, DaemonLeaseRow.holder == holder)
                .values(renewed_at=now, expires_at=now + ttl)
            )
            return getattr(renewed, "rowcount", 0) == 1

    def release(self, holder: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                delete(DaemonLeaseRow).where(
                    DaemonLeaseRow.name == DAEMON_LEASE, DaemonLeaseRow.holder == holder
                )
            )

    def current(self) -> Lease | None:
        with self._sessions() as session:
            return self.holder_in(session)

    @staticmethod
    def holder_in(session: object) -> Lease | None:
        row = session.get(DaemonLeaseRow, DAEMON_LEASE)  # type: ignore[attr-defined]
        if row is None:
            return None
        return value_of(Lease, row)


def _run(row: RunRow) -> Run:
    return value_of(Run, row, zone=row.zone or "", counts=dict(row.counts or {}))


class OperatorQueries:
    """Read-only questions `digest status` asks across tables."""

    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    def latest_edition_keys(self, topic: str) -> list[tuple[date, str]]:
        """(date, zone) of the newest date's editions, default zone first."""
        with self._sessions() as session:
            newest = session.scalar(
                select(func.max(EditionRow.edition_date)).where(EditionRow.topic == topic)
            )
            if newest is None:
                return []
            zones = session.scalars(
                select(EditionRow.zone)
                .where(EditionRow.topic == topic, EditionRow.edition_date == newest)
                .order_by(EditionRow.zone)
            )
            return [(newest, zone or "") for zone in zones]

    def open_deliveries(self) -> dict[str, int]:
        """Deliveries not finished yet (pending, sending, deferred), over every edition."""
        return self._counts(
            DeliveryRow.status.in_(
                [DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.DEFERRED]
            )
        )

    def failed_since(self, since: date) -> int:
        with self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count(DeliveryRow.id))
                    .join(EditionRow, EditionRow.id == DeliveryRow.edition_id)
                    .where(
                        DeliveryRow.status == DeliveryStatus.FAILED,
                        EditionRow.edition_date >= since,
                    )
                )
                or 0
            )

    def _counts(self, where: ColumnElement[bool]) -> dict[str, int]:
        with self._sessions() as session:
            rows = session.execute(
                select(DeliveryRow.status, func.count(DeliveryRow.id))
                .where(where)
                .group_by(DeliveryRow.status)
            ).all()
        return {status: int(count) for status, count in rows}

    def scheduled_jobs(self) -> list[tuple[str, datetime | None]]:
        """APScheduler's stored jobs (id, next run in UTC); empty when no daemon ever ran."""
        with self._sessions() as session:
            # The table appears with the first `digest serve`. Asked first rather than caught:
            # each database raises its own error, and PostgreSQL's aborts the transaction.
            if not inspect(session.connection()).has_table("apscheduler_jobs"):
                return []
            rows = session.execute(
                text("SELECT id, next_run_time FROM apscheduler_jobs ORDER BY next_run_time")
            ).all()
        return [
            (job_id, datetime.fromtimestamp(stamp, UTC) if stamp is not None else None)
            for job_id, stamp in rows
        ]
