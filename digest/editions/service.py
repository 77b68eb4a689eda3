"""The editions service: the one owner of an edition's life, over an App.

Editions are keyed by (topic, date, zone). Editor changes belong to the date and apply to every
zone's edition of it, after every rebuild; approve and hold act on every zone's edition of a
date unless one zone is named. Status changes go through the store, which enforces
``EDITION_TRANSITIONS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from digest.app import App
from digest.desk.changes import apply_changes, story_aliases, update_changes
from digest.editorial import build_edition
from digest.errors import EditionError, UsageError
from digest.sendtimes import DEFAULT_ZONE, known_zone, send_moment, zone_groups, zone_of
from digest.types import Edition, EditionKey, EditionStatus, Window
from digest.windows import edition_window


def groups(app: App) -> dict[str, frozenset[str | None]]:
    """Zone group -> the subscriber time zones it serves ("" is the digest's own zone)."""
    return zone_groups(app.settings.digest, app.subscribers.active_timezones())


def zone_label(zone: str) -> str:
    return zone or "default"


def describe(key: EditionKey) -> str:
    """``2026-03-10`` or ``2026-03-10 (Asia/Tokyo)``, for messages."""
    return f"{key.date} ({key.zone})" if key.zone else str(key.date)


class Editions:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store

    # --- reading -------------------------------------------------------------------------

    def key(self, day: date, zone: str = DEFAULT_ZONE) -> EditionKey:
        zone = "" if zone == self.app.settings.digest.timezone else zone
        if zone and not known_zone(zone):
            raise UsageError(f"unknown time zone {zone!r} (use a name like Asia/Tokyo)")
        return EditionKey(self.app.topic.key, day, zone)

    def get(self, key: EditionKey) -> Edition | None:
        """The stored edition as subscribers get it (the date's editor changes applied)."""
        found = self.store.get_edition(key)
        return None if found is None else self.with_changes(found)

    def built(self, key: EditionKey) -> Edition | None:
        """The stored edition as built, before the editor's changes."""
        return self.store.get_edition(key)

    def get_or_build(self, key: EditionKey) -> Edition:
        return self.get(key) or self.build(key)

    def with_changes(self, edition: Edition) -> Edition:
        if edition.edited:  # fixed in when sending started
            return edition
        return apply_changes(edition, self.store.get_changes(edition.topic, edition.date))

    def changes(self, day: date) -> dict[str, object]:
        return self.store.get_changes(self.app.topic.key, day)

    def zones(self, day: date) -> list[str]:
        """The zones a date has editions for: those built, and every current zone group."""
        built = {edition.zone for edition in self.store.editions_of_date(self.app.topic.key, day)}
        return sorted(built | set(groups(self.app)))

    def of_date(self, day: date) -> list[Edition]:
        """Every stored zone edition of a date, changes applied, the default zone first."""
        return [
            self.with_changes(edition)
            for edition in self.store.editions_of_date(self.app.topic.key, day)
        ]

    # --- building ------------------------------------------------------------------------

    def build(self, key: EditionKey) -> Edition:
        """Build (or rebuild) the edition from the items of its window and store it."""
        app = self.app
        existing = self.store.get_edition(key)
        if existing is not None and existing.locked:
            raise EditionError(
                f"the {describe(key)} edition is already {existing.status}; it is not rebuilt"
            )
        window = self.window(key)
        items = self.store.items_published_between(window.start, window.end)
        edition = build_edition(items, app.topic, edition_date=key.date, window=window)
        if key.zone:
            edition = replace(edition, zone=key.zone)
        return self.with_changes(self.store.save_edition(edition, now=app.clock()))

    def window(self, key: EditionKey) -> Window:
        try:
            return edition_window(key.date, self.app.settings.digest, key.zone)
        except OverflowError:
            raise UsageError(
                f"{key.date} is too close to the ends of the calendar for an edition "
                "(its window would start before year 1 or end after year 9999)"
            ) from None

    def send_moment(self, key: EditionKey) -> datetime:
        try:
            return send_moment(key.date, self.app.settings.digest, key.zone)
        except OverflowError:
            raise UsageError(f"{key.date} has no send time this calendar can hold") from None

    def today(self, zone: str = DEFAULT_ZONE) -> date:
        """Today's date in ``zone`` (the digest's own zone by default)."""
        return self.app.clock().astimezone(zone_of(self.app.settings.digest, zone)).date()

    # --- editors -------------------------------------------------------------------------

    def _open(self, day: date, zone: str | None) -> list[Edition]:
        """The date's editions an editor may still act on (built now where missing)."""
        zones = [self.key(day, zone).zone] if zone is not None else self.zones(day)
        editions = [self.get_or_build(self.key(day, z)) for z in zones]
        open_ = [edition for edition in editions if not edition.locked]
        if not open_:
            if len(editions) == 1:
                states = str(editions[0].status)
            else:
                states = ", ".join(f"{e.status} ({zone_label(e.zone)})" for e in editions)
            raise EditionError(f"the {day} edition is already {states}; it cannot change")
        return open_

    def record(self, day: date, action: str, key: str = "", value: str = "") -> list[Edition]:
        """One editor change to a date, for every zone's edition of it not yet sent.

        An approved edition whose content changed needs approving again.
        """
        open_ = self._open(day, None)
        aliases: list[str] = [key]
        if key:
            # the story's keys under every outlet it has: other zones may lead with another
            found = [
                story_aliases(story)
                for edition in open_
                for story in (self.built(edition.key) or edition).stories
                if key in story_aliases(story)
            ]
            if not found:
                raise UsageError(f"no story {key} in the {day} edition")
            aliases = list(dict.fromkeys([key, *(k for keys in found for k in keys)]))
        if (
            action == "move"
            and value
            and all(value not in {s.key for s in e.sections} for e in open_)
        ):
            raise UsageError(f"no section {value!r} in the {day} edition")
        changes = self.changes(day)
        for alias in aliases:
            changes = update_changes(changes, action, alias, value)
        self.store.set_changes(self.app.topic.key, day, changes, now=self.app.clock())
        for edition in open_:
            if edition.status == EditionStatus.APPROVED:
                self._set(edition, EditionStatus.DRAFT)
        return self.of_date(day)

    def approve(self, day: date, zone: str | None = None) -> list[Edition]:
        """Approve the date's editions (every zone's, or ``zone``'s), lifting a hold."""
        open_ = self._open(day, zone)
        changes = dict(self.changes(day))
        if zone is None and changes.pop("hold_reason", None) is not None:
            self.store.set_changes(self.app.topic.key, day, changes, now=self.app.clock())
        return [self._set(edition, EditionStatus.APPROVED) for edition in open_]

    def hold(self, day: date, zone: str | None = None, reason: str = "") -> list[Edition]:
        """Hold the date's editions (every zone's, or ``zone``'s): not sent until approved."""
        open_ = self._open(day, zone)
        changes = dict(self.changes(day))
        reason = " ".join(reason.split())[:500]
        if reason:
            changes["hold_reason"] = reason
        else:
            changes.pop("hold_reason", None)
        self.store.set_changes(self.app.topic.key, day, changes, now=self.app.clock())
        return [self._set(edition, EditionStatus.HELD) for edition in open_]

    # --- sending -------------------------------------------------------------------------

    def mark_held(self, edition: Edition) -> Edition:
        return self._set(edition, EditionStatus.HELD)

    def start_sending(self, edition: Edition) -> Edition:
        """Sending starts: the content, editor changes applied, is fixed from now on."""
        assert edition.id is not None
        return self.store.set_edition_status(
            edition.id, EditionStatus.SENDING, now=self.app.clock(), content=edition
        )

    def finish(self, edition: Edition) -> Edition:
        return self._set(edition, EditionStatus.SENT)

    def _set(self, edition: Edition, status: EditionStatus) -> Edition:
        assert edition.id is not None
        return self.with_changes(
            self.store.set_edition_status(edition.id, status, now=self.app.clock())
        )

    # --- the archive ---------------------------------------------------------------------

    def public(self, limit: int) -> list[tuple[date, list[tuple[Edition, datetime]]]]:
        """Dates that have gone out (or are going out), newest first, each with its zones'
        public editions, the digest's own zone first."""
        by_date: dict[date, list[tuple[Edition, datetime]]] = {}
        for edition, when in self.store.list_editions(
            self.app.topic.key, PUBLIC_STATUSES, limit=limit * 8
        ):
            if edition.date not in by_date and len(by_date) >= limit:
                break
            by_date.setdefault(edition.date, []).append((self.with_changes(edition), when))
        return list(by_date.items())

    def public_edition(self, day: date, zone: str | None = None) -> Edition | None:
        """The public edition of ``day`` for ``zone``; without a zone, the digest's own
        zone's when it has gone out, else the first zone's that has."""
        candidates: Iterable[Edition]
        if zone is not None:
            found = self.store.get_edition(self.key(day, zone))
            candidates = [found] if found is not None else []
        else:
            candidates = self.store.editions_of_date(self.app.topic.key, day)
        for edition in candidates:
            if edition.status in PUBLIC_STATUSES:
                return self.with_changes(edition)
        return None


PUBLIC_STATUSES = (EditionStatus.SENDING, EditionStatus.SENT)
