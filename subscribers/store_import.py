"""The store's half of a CSV import: the bulk statements, inside the store's transaction.

Private to the store layer (``SubscriberStore.import_records`` calls it): ORM rows and sessions
stay here; subscribers/importer.py parses and decides nothing about the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, literal, select, update
from sqlalchemy.orm import Session

from digest.store.models import Base, ListMemberRow, ListRow, SubscriberRow, UTCDateTime
from subscribers.csvio import ImportRecord
from subscribers.types import ImportReport, RejectedRow, SubscriberStatus

#: The list a subscriber joins when no list is named; its topic is the configured one.
DEFAULT_LIST = "default"
_CHUNK = 500  # bound parameters per IN (...) query, well under SQLite's limit
_BATCH = 2000  # records written per round of statements
_RESTRICTIVE = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED)

#: (session, list names, now) -> the list rows, creating the default list on first use.
ListsNamed = Callable[[Session, Iterable[str], datetime], list[Any]]


def apply_import(
    session: Session,
    lists_named: ListsNamed,
    records: list[ImportRecord],
    report: ImportReport,
    now: datetime,
    source: str,
    lists: Sequence[str],
    consented: bool,
) -> None:
    # Lists named on the command line must exist (the default one is made on demand).
    lists_named(session, lists, now)
    list_ids = {row.name: row.id for row in session.execute(select(ListRow.name, ListRow.id))}
    # A batch at a time, in the one transaction: the rows being written and the statements'
    # parameters stay small whatever the file's size (records hold one row per address).
    run = _Run(session, lists_named, report, now, source, lists, consented, list_ids)
    for start in range(0, len(records), _BATCH):
        _apply_batch(run, records[start : start + _BATCH])


@dataclass(frozen=True)
class _Run:
    """One import's settings and shared state, the same for each of its batches."""

    session: Session
    lists_named: ListsNamed
    report: ImportReport
    now: datetime
    source: str
    lists: Sequence[str]
    consented: bool
    #: List name -> id; the default list is added when a batch first needs it.
    list_ids: dict[str, int]


def _apply_batch(run: _Run, records: list[ImportRecord]) -> None:
    session, lists_named, report, now = run.session, run.lists_named, run.report, run.now
    source, lists, consented, list_ids = run.source, run.lists, run.consented, run.list_ids
    existing: dict[str, Any] = {}
    emails = [record.email for record in records]
    for start in range(0, len(emails), _CHUNK):
        for row in session.execute(
            select(
                SubscriberRow.id,
                SubscriberRow.email,
                SubscriberRow.status,
                SubscriberRow.attributes,
            ).where(SubscriberRow.email.in_(emails[start : start + _CHUNK]))
        ):
            existing[row.email] = row
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    wanted: list[tuple[str, list[int]]] = []  # (email, list ids)
    for record in records:
        names = list(dict.fromkeys((*lists, *record.lists))) or [DEFAULT_LIST]
        unknown = [name for name in names if name not in list_ids and name != DEFAULT_LIST]
        if unknown:
            report.rejected.append(
                RejectedRow(record.line, f"no list {unknown[0]!r}", record.email)
            )
            continue
        if DEFAULT_LIST in names and DEFAULT_LIST not in list_ids:
            list_ids[DEFAULT_LIST] = lists_named(session, [DEFAULT_LIST], now)[0].id
        wanted.append((record.email, [list_ids[name] for name in names]))
        consent_at = record.consent_at or now
        consent_source = record.consent_source or source
        old = existing.get(record.email)
        if old is None:
            status = _new_status(record.status, consented)
            new_rows.append(
                {
                    "email": record.email,
                    "name": record.name,
                    "status": status,
                    "timezone": record.timezone,
                    "sections": list(record.sections or ()),
                    "format": record.format or "html",
                    "consent_at": consent_at if status == SubscriberStatus.ACTIVE else None,
                    "consent_source": consent_source,
                    "created_at": now,
                    "updated_at": now,
                    "paused": False,
                    "attributes": record.attributes or None,
                }
            )
            report.added += 1
            continue
        change: dict[str, Any] = {"id": old.id, "updated_at": now}
        for name in ("name", "timezone", "format"):
            if getattr(record, name) is not None:
                change[name] = getattr(record, name)
        if record.sections is not None:
            change["sections"] = list(record.sections)
        if record.attributes:
            change["attributes"] = {**(old.attributes or {}), **record.attributes}
        if record.status in _RESTRICTIVE:
            change["status"] = record.status
        elif old.status in _RESTRICTIVE:
            report.kept_status += 1
        elif (
            consented
            and old.status == SubscriberStatus.PENDING
            and record.status != SubscriberStatus.PENDING
        ):
            change.update(
                status=SubscriberStatus.ACTIVE, consent_at=consent_at, consent_source=consent_source
            )
        updates.append(change)
        report.updated += 1
    if new_rows:
        # Core, not ORM, insert: one executemany (the ORM splits rows by which values are None)
        session.execute(insert(Base.metadata.tables["subscribers"]), new_rows)
    table = Base.metadata.tables["subscribers"]
    for group in _same_keys(updates):
        keys = [key for key in group[0] if key != "id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({key: bindparam(f"new_{key}") for key in keys})
        )
        session.execute(
            statement,
            [{"row_id": g["id"], **{f"new_{key}": g[key] for key in keys}} for g in group],
        )
    _add_memberships(session, wanted, existing, now)
    imported = [email for email, _ in wanted]
    for start in range(0, len(imported), _CHUNK):
        report.pending_ids.extend(
            session.scalars(
                select(SubscriberRow.id).where(
                    SubscriberRow.email.in_(imported[start : start + _CHUNK]),
                    SubscriberRow.status == SubscriberStatus.PENDING,
                )
            )
        )
    report.pending = len(report.pending_ids)


def _new_status(given: str | None, consented: bool) -> str:
    if given in _RESTRICTIVE:
        return given
    if consented and given != SubscriberStatus.PENDING:
        return SubscriberStatus.ACTIVE
    return SubscriberStatus.PENDING


def _same_keys(updates: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Group updates by the columns they set: one executemany per group."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in updates:
        groups.setdefault(tuple(sorted(change)), []).append(change)
    return groups.values()


def _add_memberships(
    session: Session,
    wanted: list[tuple[str, list[int]]],
    existing: dict[str, Any],
    now: datetime,
) -> None:
    members = Base.metadata.tables["list_members"]
    # New subscribers: INSERT ... SELECT by address, so no ids travel through Python.
    new_by_list: dict[int, list[str]] = {}
    for email, list_ids in wanted:
        if email not in existing:
            for list_id in list_ids:
                new_by_list.setdefault(list_id, []).append(email)
    for list_id, emails in new_by_list.items():
        for start in range(0, len(emails), _CHUNK):
            chosen = select(
                literal(list_id), SubscriberRow.id, literal(now, type_=UTCDateTime())
            ).where(SubscriberRow.email.in_(emails[start : start + _CHUNK]))
            session.execute(
                insert(members).from_select(["list_id", "subscriber_id", "created_at"], chosen)
            )
    # Existing subscribers: only the memberships they do not have yet.
    ids = {email: existing[email].id for email, _ in wanted if email in existing}
    present: set[tuple[int, int]] = set()
    subscriber_ids = list(ids.values())
    for start in range(0, len(subscriber_ids), _CHUNK):
        present.update(
            (list_id, subscriber_id)
            for list_id, subscriber_id in session.execute(
                select(ListMemberRow.list_id, ListMemberRow.subscriber_id).where(
                    ListMemberRow.subscriber_id.in_(subscriber_ids[start : start + _CHUNK])
                )
            )
        )
    rows = []
    for email, list_ids in wanted:
        if email not in ids:
            continue
        for list_id in list_ids:
            key = (list_id, ids[email])
            if key not in present:
                present.add(key)
                rows.append({"list_id": list_id, "subscriber_id": ids[email], "created_at": now})
    if rows:
        session.execute(insert(members), rows)
