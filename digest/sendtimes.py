"""Send times per subscriber time zone: which editions exist, and when each one goes out.

Subscribers are grouped by time zone. The group "" is the digest's own zone ([digest] timezone),
and also takes subscribers with no zone or a zone this machine does not know; every other zone
is a group of its own with its own edition per local date, covering the 24 hours before its local
send time. An edition's send moment is the local send time on its date (a time skipped by a
spring-forward change counts in the old offset, i.e. an hour later on the clock; an ambiguous
fall-back time is its first occurrence), so each local date has exactly one send, and
consecutive windows meet end to start: no day is skipped or doubled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger

from digest.config import DigestSettings

DEFAULT_ZONE = ""


def known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_groups(
    settings: DigestSettings, timezones: Iterable[str | None]
) -> dict[str, frozenset[str | None]]:
    """Group key -> the subscriber `timezone` values it serves (None: no zone set)."""
    default: set[str | None] = {None, "", settings.timezone}
    groups: dict[str, frozenset[str | None]] = {}
    for name in timezones:
        if not name or name == settings.timezone or not known_zone(name):
            default.add(name)
        else:
            groups[name] = frozenset({name})
    return {DEFAULT_ZONE: frozenset(default), **dict(sorted(groups.items()))}


def zone_of(settings: DigestSettings, key: str) -> ZoneInfo:
    return ZoneInfo(key) if key else settings.zone


def send_moment(day: date, settings: DigestSettings, key: str = DEFAULT_ZONE) -> datetime:
    """When the ``day`` edition of group ``key`` goes out, in UTC."""
    local = datetime.combine(day, settings.send_clock_time, tzinfo=zone_of(settings, key))
    return local.astimezone(UTC)


def latest_send(
    now: datetime, settings: DigestSettings, key: str = DEFAULT_ZONE
) -> tuple[date, datetime]:
    """The most recent send at or before ``now``: (edition date, moment)."""
    day = now.astimezone(zone_of(settings, key)).date() + timedelta(days=1)
    while send_moment(day, settings, key) > now:
        day -= timedelta(days=1)
    return day, send_moment(day, settings, key)


def next_send(
    now: datetime, settings: DigestSettings, key: str = DEFAULT_ZONE
) -> tuple[date, datetime]:
    """The first send strictly after ``now``: (edition date, moment)."""
    day, _ = latest_send(now, settings, key)
    day += timedelta(days=1)
    return day, send_moment(day, settings, key)


def catch_up_date(now: datetime, settings: DigestSettings, key: str, ttl: timedelta) -> date | None:
    """The edition date whose send is at most ``ttl`` old, if any (only ever the latest one:
    after three missed days this is today's edition, never three)."""
    day, moment = latest_send(now, settings, key)
    return day if now - moment <= ttl else None


class LocalDailyTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 has no types
    """Fires once per local date at ``send_time`` minus ``lead_minutes`` in ``zone``.

    APScheduler's CronTrigger fires twice when the time falls in a fall-back hour; this one
    derives each fire time from :func:`send_moment`, one per local date.
    """

    def __init__(self, send_time: str, timezone: str, lead_minutes: int = 0) -> None:
        self.send_time = send_time
        self.timezone = timezone
        self.lead_minutes = lead_minutes

    def _settings(self) -> DigestSettings:
        return DigestSettings(timezone=self.timezone, send_time=self.send_time)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        settings = self._settings()
        lead = timedelta(minutes=self.lead_minutes)
        after = max(now, previous_fire_time + timedelta(seconds=1)) if previous_fire_time else now
        day = after.astimezone(settings.zone).date() - timedelta(days=1)
        while send_moment(day, settings) - lead < after:
            day += timedelta(days=1)
        fire = send_moment(day, settings) - lead
        return fire.astimezone(settings.zone)

    def __str__(self) -> str:
        lead = f" minus {self.lead_minutes} min" if self.lead_minutes else ""
        return f"daily at {self.send_time} {self.timezone}{lead}"

    def __repr__(self) -> str:
        return (
            f"<LocalDailyTrigger ({self.send_time!r}, {self.timezone!r}, lead={self.lead_minutes})>"
        )
