"""Subscribers, lists and the suppression list in the database, seen as frozen values."""

from __future__ import annotations

import builtins
import itertools
import json
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Exists,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from digest.errors import SubscriberError
from digest.jsonable import jsonable
from digest.store.database import Database
from digest.store.models import (
    ConfirmationRow,
    DeliveryRow,
    EditionRow,
    ListMemberRow,
    ListRow,
    SignupRow,
    SubscriberRow,
    SuppressionRow,
)
from digest.store.rows import value_of
from subscribers.csvio import ImportRecord
from subscribers.store_import import DEFAULT_LIST, apply_import
from subscribers.suppression import AddressHasher
from subscribers.types import (
    FORMATS,
    ImportReport,
    Subscriber,
    SubscriberList,
    SubscriberStatus,
)
from subscribers.validation import clean_name, normalize_email, normalize_timezone


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class _DryRun(Exception):
    """Raised inside the import's transaction to roll a dry run back."""


class SubscriberStore:
    def __init__(
        self,
        database: Database,
        *,
        hasher: AddressHasher | None = None,
        topic_key: Callable[[], str] | None = None,
    ) -> None:
        self._sessions = database.sessions
        # Core connections for the sender's per-claim check (an ORM session costs more).
        self._engine = database.engine
        self._still_deliverable_query: tuple[str, Select[Any]] | None = None
        self.hasher = hasher or AddressHasher("")
        self._topic_key = topic_key

    # --- subscribers -----------------------------------------------------------------------

    def add(
        self,
        email: str,
        *,
        now: datetime,
        name: str | None = None,
        status: str = SubscriberStatus.ACTIVE,
        consent_source: str = "cli",
        lists: Sequence[str] = (),
    ) -> Subscriber:
        """Add a subscriber to ``lists`` (the default list when none is named).

        An existing subscriber only joins the lists they are not on yet; one already on every
        named list is refused with its status, and so is a suppressed address.
        """
        address = normalize_email(email)
        if status not in SubscriberStatus.ALL:
            raise SubscriberError(f"unknown status {status!r}")
        with self._sessions.begin() as session:
            self._refuse_suppressed(session, address)
            list_rows = self._lists_named(session, lists or (DEFAULT_LIST,), now=now)
            row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
            created = row is None
            if row is None:
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
                    paused=False,
                    confirm_nonce=new_nonce() if status == SubscriberStatus.PENDING else None,
                )
                session.add(row)
                session.flush()
            current = self._list_ids(session, row.id)
            missing = [lst for lst in list_rows if lst.id not in current]
            if not created and not missing:
                names = ", ".join(lst.name for lst in list_rows)
                raise SubscriberError(
                    f"{address} is already a subscriber ({row.status}) on {names}"
                )
            for lst in missing:
                session.add(ListMemberRow(list_id=lst.id, subscriber_id=row.id, created_at=now))
            session.flush()
            return self._value(session, row)

    def remove(self, email: str, *, list_name: str | None = None) -> Subscriber:
        """Delete a subscriber, or with ``list_name`` only take them off that list."""
        address = normalize_email(email)
        with self._sessions.begin() as session:
            row = self._row(session, address)
            if list_name is not None:
                lst = self._list(session, list_name)
                gone = session.execute(
                    delete(ListMemberRow).where(
                        ListMemberRow.list_id == lst.id, ListMemberRow.subscriber_id == row.id
                    )
                )
                if not gone.rowcount:  # type: ignore[attr-defined]
                    raise SubscriberError(f"{address} is not on list {list_name}")
                return self._value(session, row)
            subscriber = self._value(session, row)
            session.delete(row)
            return subscriber

    def get(self, subscriber_id: int) -> Subscriber | None:
        with self._sessions() as session:
            row = session.get(SubscriberRow, subscriber_id)
            return None if row is None else self._value(session, row)

    def find(self, email: str) -> Subscriber | None:
        address = normalize_email(email)
        with self._sessions() as session:
            row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
            return None if row is None else self._value(session, row)

    def list(self, status: str | None = None, list_name: str | None = None) -> list[Subscriber]:
        return list(self.iter_all(status=status, list_name=list_name))

    def iter_all(
        self, *, status: str | None = None, list_name: str | None = None, batch: int = 1000
    ) -> Iterator[Subscriber]:
        """Every subscriber (optionally one status, one list) in id order, a batch at a time."""
        last_id = 0
        while True:
            with self._sessions() as session:
                query = select(SubscriberRow).where(SubscriberRow.id > last_id)
                if status:
                    query = query.where(SubscriberRow.status == status)
                if list_name:
                    lst = self._list(session, list_name)
                    query = query.where(
                        exists().where(
                            ListMemberRow.subscriber_id == SubscriberRow.id,
                            ListMemberRow.list_id == lst.id,
                        )
                    )
                rows = list(session.scalars(query.order_by(SubscriberRow.id).limit(batch)))
                if not rows:
                    return
                names = self._list_names(session, [row.id for row in rows])
                suppressed = self._suppressed_ids(session, rows)
                values = [
                    _subscriber(row, names.get(row.id, ()), row.id in suppressed) for row in rows
                ]
            yield from values
            last_id = rows[-1].id

    def _deliverable(
        self,
        *columns: Any,
        timezones: Collection[str | None] | None = None,
        not_delivered: tuple[str, date, int] | None = None,
    ) -> Select[Any]:
        """The one rule of who gets the digest, as a query: active, not paused, on a list of
        this installation's topic, in ``timezones`` (None in it: no zone set; None: any zone),
        and, with ``not_delivered`` = (topic, date, edition id), not already given that date by
        another zone's edition. Suppression is checked on the rows (it is a keyed hash)."""
        query = select(*columns).where(*self._row_rule(timezones), self._on_a_list())
        if not_delivered is not None:
            query = query.where(~self._delivered_elsewhere(not_delivered))
        return query

    @staticmethod
    def _row_rule(timezones: Collection[str | None] | None) -> builtins.list[Any]:
        """The part of the rule read off the subscriber's own row."""
        rule: builtins.list[Any] = [
            SubscriberRow.status == SubscriberStatus.ACTIVE,
            SubscriberRow.paused.is_(False),
        ]
        if timezones is not None:
            named = [zone for zone in timezones if zone is not None]
            unset = SubscriberRow.timezone.is_(None) if None in timezones else false()
            rule.append(or_(SubscriberRow.timezone.in_(named), unset))
        return rule

    def _on_a_list(self) -> ColumnElement[bool]:
        # A scalar subquery with LIMIT 1, not EXISTS: PostgreSQL may turn an EXISTS into a hash
        # of every membership, built again for each page of a read; this is one index probe
        # of the subscriber's own memberships.
        first = (
            select(literal(1))
            .where(
                ListMemberRow.subscriber_id == SubscriberRow.id,
                ListRow.id == ListMemberRow.list_id,
                or_(ListRow.topic.is_(None), ListRow.topic == self._topic()),
            )
            .limit(1)
            .scalar_subquery()
        )
        return first.is_not(None)

    @staticmethod
    def _delivered_elsewhere(not_delivered: tuple[str, date, int]) -> Exists:
        topic, day, edition_id = not_delivered
        # the date's other editions first: then each subscriber is one probe of the
        # (edition_id, subscriber_id) index
        others = select(EditionRow.id).where(
            EditionRow.topic == topic, EditionRow.edition_date == day, EditionRow.id != edition_id
        )
        return exists().where(
            DeliveryRow.edition_id.in_(others), DeliveryRow.subscriber_id == SubscriberRow.id
        )

    def iter_active(
        self,
        batch: int = 1000,
        *,
        timezones: Collection[str | None] | None = None,
        not_delivered: tuple[str, date, int] | None = None,
    ) -> Iterator[Subscriber]:
        """Who gets the digest (see :meth:`_deliverable`), not suppressed, in id order, read a
        batch at a time (lists can be large): one query per page, keyed on the last id.

        The list and delivery checks are columns of the page, not conditions: as conditions,
        PostgreSQL joins every membership to every page, so a whole read would cost the
        square of the list's length."""
        checks = [self._on_a_list().label("on_a_list")]
        if not_delivered is not None:
            checks.append(self._delivered_elsewhere(not_delivered).label("delivered"))
        query = (
            select(*_COLUMNS, *checks)
            .where(*self._row_rule(timezones))
            .order_by(SubscriberRow.id)
            .limit(batch)
        )
        last_id = 0
        while True:
            with self._sessions() as session:
                # plain rows of the columns, not ORM objects: several times faster on big lists
                page = builtins.list(session.execute(query.where(SubscriberRow.id > last_id)))
                rows = [
                    row for row in page if row.on_a_list and not getattr(row, "delivered", False)
                ]
                suppressed = self._suppressed_ids(session, rows)
            if not page:
                return
            for row in rows:
                if row.id not in suppressed:
                    yield _subscriber(row)
            last_id = page[-1].id

    def active_timezones(self) -> set[str | None]:
        """The distinct time zones of those who get the digest (None: those without one)."""
        with self._sessions() as session:
            return set(session.scalars(self._deliverable(SubscriberRow.timezone).distinct()))

    def deliverable_variants(self) -> set[tuple[str, tuple[str, ...]]]:
        """The (format, sections) preferences of those who get the digest."""
        # DISTINCT over the JSON column's text (PostgreSQL cannot compare json): a handful of
        # rows instead of one per subscriber; lists written differently are merged here.
        sections = cast(SubscriberRow.sections, Text)
        with self._engine.connect() as connection:
            return {
                (fmt or "html", tuple(json.loads(text or "null") or ()))
                for fmt, text in connection.execute(
                    self._deliverable(SubscriberRow.format, sections).distinct()
                )
            }

    def still_deliverable(self, subscriber_ids: Iterable[int]) -> dict[int, str | None]:
        """Which of these should still get the digest right now (the rule of iter_active),
        with their names. For a sender to re-check each batch just before sending, so that an
        unsubscribe, a pause or a suppression during a send is honoured."""
        ids = builtins.list(subscriber_ids)
        if not ids:
            return {}
        with self._engine.connect() as connection:
            rows = builtins.list(connection.execute(self._still_deliverable(), {"ids": ids}))
            suppressed = self._suppressed_ids(connection, rows)
        return {row.id: row.name for row in rows if row.id not in suppressed}

    def _still_deliverable(self) -> Select[Any]:
        """still_deliverable's query, built once per topic: a sender runs it for every claim,
        and building it costs more than running it."""
        topic = self._topic()
        if self._still_deliverable_query is None or self._still_deliverable_query[0] != topic:
            query = self._deliverable(
                SubscriberRow.id, SubscriberRow.email, SubscriberRow.name
            ).where(SubscriberRow.id.in_(bindparam("ids", expanding=True)))
            self._still_deliverable_query = (topic, query)
        return self._still_deliverable_query[1]

    def record_hard_bounces(
        self, subscriber_ids: Iterable[int], *, now: datetime, max_hard_bounces: int
    ) -> None:
        """Count a permanent refusal against each (once per occurrence); at
        ``max_hard_bounces`` an active subscriber becomes bounced and gets nothing more."""
        with self._sessions.begin() as session:
            for subscriber_id in subscriber_ids:
                session.execute(
                    sa_update(SubscriberRow)
                    .where(SubscriberRow.id == subscriber_id)
                    .values(hard_bounces=SubscriberRow.hard_bounces + 1)
                )
                session.execute(
                    sa_update(SubscriberRow)
                    .where(
                        SubscriberRow.id == subscriber_id,
                        SubscriberRow.status == SubscriberStatus.ACTIVE,
                        SubscriberRow.hard_bounces >= max_hard_bounces,
                    )
                    .values(status=SubscriberStatus.BOUNCED, updated_at=now)
                )

    def set_status(self, subscriber_id: int, status: str, *, now: datetime) -> Subscriber:
        if status not in SubscriberStatus.ALL:
            raise SubscriberError(f"unknown status {status!r}")
        with self._sessions.begin() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None:
                raise SubscriberError(f"no subscriber with id {subscriber_id}")
            if status != row.status:
                # a new pending period gets a new nonce: links sent before it stop working
                row.confirm_nonce = new_nonce() if status == SubscriberStatus.PENDING else None
            row.status = status
            row.updated_at = now
            return self._value(session, row)

    def confirmation_nonce(self, subscriber_id: int) -> str | None:
        """The nonce a confirmation link for this subscriber carries (made on first need);
        None unless the subscriber is pending."""
        with self._sessions.begin() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None or row.status != SubscriberStatus.PENDING:
                return None
            if row.confirm_nonce is None:
                row.confirm_nonce = new_nonce()
            return row.confirm_nonce

    def confirm_pending(
        self, subscriber_id: int, nonce: str | None, *, now: datetime, source: str
    ) -> Subscriber | None:
        """Make a pending subscriber active if ``nonce`` is the one their link was sent with.

        None, with nothing changed, for anyone else: already confirmed (the link was used),
        unsubscribed, bounced, suppressed, or pending again since (a newer link). A link from
        before nonces existed (``nonce`` None) confirms only a pending row that has none yet.
        """
        with self._sessions.begin() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None or not self._confirmable(session, row, nonce):
                return None
            # the same conditions again in the UPDATE: of two racing clicks, one wins
            done = session.execute(
                sa_update(SubscriberRow)
                .where(
                    SubscriberRow.id == subscriber_id,
                    SubscriberRow.status == SubscriberStatus.PENDING,
                    SubscriberRow.confirm_nonce.is_(None)
                    if nonce is None
                    else SubscriberRow.confirm_nonce == nonce,
                )
                .values(
                    status=SubscriberStatus.ACTIVE,
                    consent_at=now,
                    consent_source=source,
                    updated_at=now,
                    confirm_nonce=None,
                )
                .execution_options(synchronize_session=False)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                return None
            session.expire(row)
            return self._value(session, row)

    def can_confirm(self, subscriber_id: int, nonce: str | None) -> bool:
        """Whether a link with ``nonce`` would confirm this subscriber now (changes nothing)."""
        with self._sessions() as session:
            row = session.get(SubscriberRow, subscriber_id)
            return row is not None and self._confirmable(session, row, nonce)

    def _confirmable(self, session: Session, row: SubscriberRow, nonce: str | None) -> bool:
        return (
            row.status == SubscriberStatus.PENDING
            and row.confirm_nonce == nonce
            and not self._is_suppressed(session, row.email)
        )

    def confirm(self, subscriber_id: int, *, now: datetime, source: str) -> Subscriber:
        """A subscriber asked to be subscribed again (preferences page): active, consent
        recorded."""
        with self._sessions.begin() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None:
                raise SubscriberError("this subscription no longer exists")
            if self._is_suppressed(session, row.email):
                raise SubscriberError(f"{row.email} is on the suppression list")
            if row.status != SubscriberStatus.ACTIVE:
                row.confirm_nonce = None
                row.status = SubscriberStatus.ACTIVE
                row.consent_at = now
                row.consent_source = source
                row.updated_at = now
            return self._value(session, row)

    def update_preferences(
        self,
        subscriber_id: int,
        *,
        now: datetime,
        sections: Sequence[str] | None = None,
        format: str | None = None,
        timezone: str | None | bool = False,
        paused: bool | None = None,
        name: str | None | bool = False,
    ) -> Subscriber:
        """Change what a subscriber gets. ``timezone=False`` (``name=False``) leaves it; None
        clears it."""
        if format is not None and format not in FORMATS:
            raise SubscriberError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        zone = normalize_timezone(timezone) if isinstance(timezone, str) else timezone
        with self._sessions.begin() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None:
                raise SubscriberError(f"no subscriber with id {subscriber_id}")
            if sections is not None:
                row.sections = list(dict.fromkeys(sections))
            if format is not None:
                row.format = format
            if zone is not False:
                row.timezone = zone  # type: ignore[assignment]
            if paused is not None:
                row.paused = paused
            if name is not False:
                row.name = clean_name(name if isinstance(name, str) else None)
            row.updated_at = now
            return self._value(session, row)

    # --- GDPR --------------------------------------------------------------------------------

    def erase(self, email: str, *, now: datetime) -> bool:
        """Delete every piece of personal data about ``email``; keep it suppressed (as a hash).
        False, changing nothing, when nothing is stored about it (a mistyped address must not
        be suppressed)."""
        address = normalize_email(email)
        digest_hash = self.hasher.current(address)
        with self._sessions.begin() as session:
            row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
            # a sign-up from the form not yet applied holds the address too
            session.execute(delete(SignupRow).where(SignupRow.email == address))
            if row is not None:
                # deliveries keep a copy of the address: they go too
                session.execute(delete(DeliveryRow).where(DeliveryRow.subscriber_id == row.id))
                session.execute(
                    delete(ConfirmationRow).where(ConfirmationRow.subscriber_id == row.id)
                )
                session.execute(delete(ListMemberRow).where(ListMemberRow.subscriber_id == row.id))
                session.delete(row)
            copies = session.execute(delete(DeliveryRow).where(DeliveryRow.email == address))
            if row is None and not getattr(copies, "rowcount", 0):
                return False
            self._add_suppression(session, address, digest_hash, "erased", now)
            return True

    def export_data(self, email: str) -> dict[str, Any]:
        """Everything stored about one subscriber (GDPR access request), as plain data."""
        address = normalize_email(email)
        with self._sessions() as session:
            row = self._row(session, address)
            subscriber = self._value(session, row)
            deliveries = session.execute(
                select(
                    EditionRow.edition_date,
                    EditionRow.topic,
                    DeliveryRow.status,
                    DeliveryRow.sent_at,
                    DeliveryRow.message_id,
                )
                .join(EditionRow, EditionRow.id == DeliveryRow.edition_id)
                .where(DeliveryRow.subscriber_id == row.id)
                .order_by(EditionRow.edition_date)
            ).all()
        data: dict[str, Any] = jsonable(subscriber, omit=("id", "consent_at", "consent_source"))
        return {
            **data,
            "consent": {"at": jsonable(subscriber.consent_at), "source": subscriber.consent_source},
            "deliveries": [
                {
                    "edition": day.isoformat(),
                    "topic": topic,
                    "status": status,
                    "sent_at": sent_at.isoformat() if sent_at else None,
                    "message_id": message_id,
                }
                for day, topic, status, sent_at, message_id in deliveries
            ],
        }

    # --- suppression -----------------------------------------------------------------------

    def suppress(self, email: str, *, now: datetime, reason: str = "admin") -> bool:
        """Never mail ``email`` again (until unsuppressed). False when it already was."""
        address = normalize_email(email)
        digest_hash = self.hasher.current(address)
        with self._sessions.begin() as session:
            return self._add_suppression(session, address, digest_hash, reason, now)

    def unsuppress(self, email: str) -> bool:
        address = normalize_email(email)
        hashes = self.hasher.all(address)
        with self._sessions.begin() as session:
            gone = session.execute(
                delete(SuppressionRow).where(SuppressionRow.address_hash.in_(hashes))
            )
            return bool(gone.rowcount)  # type: ignore[attr-defined]

    def is_suppressed(self, email: str) -> bool:
        address = normalize_email(email)
        with self._sessions() as session:
            return self._is_suppressed(session, address)

    def suppressed_hashes(self) -> set[str]:
        with self._sessions() as session:
            return set(session.scalars(select(SuppressionRow.address_hash)))

    def suppression_count(self) -> int:
        with self._sessions() as session:
            return session.scalar(select(func.count()).select_from(SuppressionRow)) or 0

    # --- lists -------------------------------------------------------------------------------

    def create_list(
        self, name: str, *, now: datetime, topic: str | None = None, description: str | None = None
    ) -> SubscriberList:
        name = _list_name(name)
        with self._sessions.begin() as session:
            if session.scalar(select(ListRow).where(ListRow.name == name)) is not None:
                raise SubscriberError(f"list {name} already exists")
            row = ListRow(
                name=name, topic=topic or None, description=clean_name(description), created_at=now
            )
            session.add(row)
            session.flush()
            return _list_value(row, {})

    def lists(self) -> builtins.list[SubscriberList]:
        with self._sessions() as session:
            counts: dict[int, dict[str, int]] = {}
            for list_id, status, count in session.execute(
                select(ListMemberRow.list_id, SubscriberRow.status, func.count())
                .join(SubscriberRow, SubscriberRow.id == ListMemberRow.subscriber_id)
                .group_by(ListMemberRow.list_id, SubscriberRow.status)
            ):
                counts.setdefault(list_id, {})[status] = count
            return [
                _list_value(row, counts.get(row.id, {}))
                for row in session.scalars(select(ListRow).order_by(ListRow.name))
            ]

    def remove_list(self, name: str) -> int:
        """Delete a list and its memberships (not the subscribers); returns how many it had."""
        with self._sessions.begin() as session:
            row = self._list(session, name)
            members = session.scalar(select(func.count()).where(ListMemberRow.list_id == row.id))
            session.execute(delete(ListMemberRow).where(ListMemberRow.list_id == row.id))
            session.delete(row)
            return members or 0

    # --- import ----------------------------------------------------------------------------

    def import_records(
        self,
        records: Iterable[ImportRecord],
        report: ImportReport,
        *,
        now: datetime,
        source: str,
        lists: Sequence[str] = (),
        consented: bool = False,
        dry_run: bool = False,
    ) -> None:
        """Apply parsed CSV records in one transaction (rolled back for a dry run), counting
        what happened in ``report`` (see subscribers/importer.py for the rules)."""

        def lists_named(session: Session, names: Iterable[str], when: datetime) -> list[Any]:
            return self._lists_named(session, names, now=when)

        try:
            with self._sessions.begin() as session:
                # A batch at a time: the records may stream from a file too big to hold.
                stream = iter(records)
                while batch := list(itertools.islice(stream, _IMPORT_BATCH)):
                    rest = []
                    for record in batch:
                        if record.suppress is None:
                            rest.append(record)
                            continue
                        digest_hash = self.hasher.current(record.email)
                        reason = f"import: {record.suppress}"
                        self._add_suppression(session, record.email, digest_hash, reason, now)
                    apply_import(session, lists_named, rest, report, now, source, lists, consented)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass

    # --- internals ---------------------------------------------------------------------------

    def _topic(self) -> str:
        return self._topic_key() if self._topic_key is not None else ""

    def _row(self, session: Session, address: str) -> SubscriberRow:
        row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == address))
        if row is None:
            raise SubscriberError(f"no subscriber {address}")
        return row

    def _list(self, session: Session, name: str) -> ListRow:
        row = session.scalar(select(ListRow).where(ListRow.name == name))
        if row is None:
            raise SubscriberError(f"no list {name} (see `digest lists list`)")
        return row

    def _lists_named(
        self, session: Session, names: Iterable[str], *, now: datetime
    ) -> builtins.list[Any]:
        rows = []
        for name in dict.fromkeys(names):
            if name == DEFAULT_LIST:
                row = session.scalar(select(ListRow).where(ListRow.name == name))
                if row is None:  # created on first use, for the configured topic
                    row = ListRow(name=name, topic=None, description=None, created_at=now)
                    session.add(row)
                    session.flush()
            else:
                row = self._list(session, name)
            rows.append(row)
        return rows

    def _list_ids(self, session: Session, subscriber_id: int) -> set[int]:
        return set(
            session.scalars(
                select(ListMemberRow.list_id).where(ListMemberRow.subscriber_id == subscriber_id)
            )
        )

    def _list_names(self, session: Session, ids: builtins.list[int]) -> dict[int, tuple[str, ...]]:
        names: dict[int, builtins.list[str]] = {}
        for subscriber_id, name in session.execute(
            select(ListMemberRow.subscriber_id, ListRow.name)
            .join(ListRow, ListRow.id == ListMemberRow.list_id)
            .where(ListMemberRow.subscriber_id.in_(ids))
            .order_by(ListRow.name)
        ):
            names.setdefault(subscriber_id, []).append(name)
        return {key: tuple(value) for key, value in names.items()}

    def _suppressed_ids(self, session: Session | Connection, rows: builtins.list[Any]) -> set[int]:
        if not rows or not self.hasher.configured:
            return set()
        if session.scalar(select(SuppressionRow.address_hash).limit(1)) is None:
            return set()  # nothing suppressed: skip hashing every address of the batch
        by_hash = {h: row.id for row in rows for h in self.hasher.all(row.email)}
        found = session.scalars(
            select(SuppressionRow.address_hash).where(SuppressionRow.address_hash.in_(by_hash))
        )
        return {by_hash[h] for h in found}

    def _is_suppressed(self, session: Session, address: str) -> bool:
        hashes = self.hasher.all(address)
        if not hashes:
            return False
        return (
            session.scalar(select(func.count()).where(SuppressionRow.address_hash.in_(hashes))) or 0
        ) > 0

    def _refuse_suppressed(self, session: Session, address: str) -> None:
        if self._is_suppressed(session, address):
            raise SubscriberError(
                f"{address} is on the suppression list and is never mailed again "
                "(`digest subscribers unsuppress` lifts that, if they asked you to)"
            )

    def _add_suppression(
        self, session: Session, address: str, digest_hash: str, reason: str, now: datetime
    ) -> bool:
        if self._is_suppressed(session, address):
            return False
        session.add(SuppressionRow(address_hash=digest_hash, reason=reason, created_at=now))
        return True

    def _value(self, session: Session, row: SubscriberRow) -> Subscriber:
        names = self._list_names(session, [row.id]).get(row.id, ())
        return _subscriber(row, names, self._is_suppressed(session, row.email))


#: Records written per round of an import (each round's statements stay small).
_IMPORT_BATCH = 2000

_COLUMNS = tuple(
    getattr(SubscriberRow, name)
    for name in (
        "id", "email", "name", "status", "timezone", "sections", "format", "consent_at",
        "consent_source", "created_at", "paused", "attributes",
    )
)  # fmt: skip


def _subscriber(row: Any, lists: tuple[str, ...] = (), suppressed: bool = False) -> Subscriber:
    """A Subscriber from an ORM row or a row of _COLUMNS."""
    return value_of(
        Subscriber,
        row,
        sections=tuple(row.sections or ()),
        paused=bool(row.paused),
        lists=lists,
        attributes=dict(row.attributes or {}),
        suppressed=suppressed,
    )


def _list_value(row: ListRow, counts: dict[str, int]) -> SubscriberList:
    return value_of(SubscriberList, row, counts=counts)


def _list_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 128 or any(not ch.isprintable() for ch in cleaned):
        raise SubscriberError(f"invalid list name {name!r}")
    return cleaned


__all__ = ["DEFAULT_LIST", "SubscriberStore"]
