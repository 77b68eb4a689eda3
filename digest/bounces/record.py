"""Acting on reports: each recorded once, then a hard bounce counted, a complaint obeyed.

The report's row goes in first, under a unique (report, address) key; only the transaction
that inserted it acts on it. A crash between the two loses one count rather than counting a
report twice: a subscriber is never marked bounced by a report that was only seen twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from digest.app import App
from digest.bounces.types import ApplyCounts, BounceReport, ReportKind
from digest.errors import SubscriberError
from digest.store.models import BounceReportRow, DeliveryRow, SubscriberRow
from subscribers.types import SubscriberStatus

__all__ = ["edition_report_counts", "record_reports"]


@dataclass(frozen=True, slots=True)
class _Target:
    email: str
    delivery_id: int | None
    edition_id: int | None
    subscriber_id: int | None


def record_reports(app: App, reports: Iterable[BounceReport]) -> ApplyCounts:
    counts = ApplyCounts()
    now = app.clock()
    for report in reports:
        target = _target(app, report)
        if not target.email:
            continue  # a token for a delivery since deleted (erased), and no address
        if not _insert(app, report, target, now):
            counts.duplicates += 1
            continue
        if target.subscriber_id is None:
            counts.unknown += 1
        _act(app, report.kind, target, now, counts)
    return counts


def _target(app: App, report: BounceReport) -> _Target:
    """Whom the report is about: the delivery its token or Message-ID names, else whoever was
    last sent a message at the address, else the address alone."""
    with app.database.sessions() as session:
        row = None
        if report.delivery_id is not None:
            row = session.get(DeliveryRow, report.delivery_id)
        if row is None and report.message_id:
            row = session.scalar(
                select(DeliveryRow)
                .where(DeliveryRow.message_id == report.message_id)
                .order_by(DeliveryRow.id.desc())
                .limit(1)
            )
            if row is not None and report.email and row.email.lower() != report.email:
                row = None  # the quoted Message-ID is not the one this address was sent
        address = _normalized(report.email)
        if row is None and address:
            row = session.scalar(
                select(DeliveryRow)
                .where(DeliveryRow.email == address)
                .order_by(DeliveryRow.id.desc())
                .limit(1)
            )
        if row is not None:
            return _Target(row.email, row.id, row.edition_id, row.subscriber_id)
        subscriber_id = (
            session.scalar(select(SubscriberRow.id).where(SubscriberRow.email == address))
            if address
            else None
        )
        return _Target(address, None, None, subscriber_id)


def _normalized(address: str) -> str:
    if not address:
        return ""
    try:
        from subscribers.validation import normalize_email

        return normalize_email(address)
    except SubscriberError:
        return address.strip().lower()


def _insert(app: App, report: BounceReport, target: _Target, now: datetime) -> bool:
    """Record the report; False when it was already recorded."""
    try:
        with app.database.sessions.begin() as session:
            exists = session.scalar(
                select(BounceReportRow.id).where(
                    BounceReportRow.report_key == report.key[:512],
                    BounceReportRow.email == target.email,
                )
            )
            if exists is not None:
                return False
            session.add(
                BounceReportRow(
                    report_key=report.key[:512],
                    email=target.email,
                    kind=report.kind,
                    source=report.source,
                    detail=report.detail[:2000] or None,
                    delivery_id=target.delivery_id,
                    edition_id=target.edition_id,
                    subscriber_id=target.subscriber_id,
                    received_at=now,
                )
            )
    except IntegrityError:  # another process recorded it at the same moment
        return False
    return True


def _act(app: App, kind: str, target: _Target, now: datetime, counts: ApplyCounts) -> None:
    if kind == ReportKind.SOFT:
        counts.soft += 1
        return
    if kind == ReportKind.HARD:
        counts.hard += 1
        if target.subscriber_id is not None:
            app.subscribers.record_hard_bounces(
                [target.subscriber_id],
                now=now,
                max_hard_bounces=app.settings.delivery.max_hard_bounces,
            )
        return
    counts.complaints += 1
    subscriber = (
        app.subscribers.get(target.subscriber_id) if target.subscriber_id is not None else None
    )
    if subscriber is not None and subscriber.status != SubscriberStatus.UNSUBSCRIBED:
        app.subscribers.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, now=now)
    # not a valid address (a provider's placeholder): nobody to suppress
    with contextlib.suppress(SubscriberError):
        app.subscribers.suppress(target.email, now=now, reason="complaint")


def edition_report_counts(app: App, edition_id: int) -> dict[str, int]:
    """Reports recorded about an edition's messages: {"hard", "soft", "complaint"}."""
    counts = dict.fromkeys(ReportKind.ALL, 0)
    with app.database.sessions() as session:
        for kind, count in session.execute(
            select(BounceReportRow.kind, func.count(BounceReportRow.id))
            .where(BounceReportRow.edition_id == edition_id)
            .group_by(BounceReportRow.kind)
        ):
            counts[kind] = int(count)
    return counts
