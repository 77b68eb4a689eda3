"""Which edition is "today", and which hours it covers, in the digest's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.config import DigestSettings
from digest.types import Window


def edition_window(edition_date: date, settings: DigestSettings, zone_name: str = "") -> Window:
    """From the previous day's send time to this day's, in the configured zone (or ``zone_name``).

    Usually 24 hours; 23 or 25 across a daylight-saving change, so no hour is skipped or
    covered twice.
    """
    zone = ZoneInfo(zone_name) if zone_name else settings.zone
    send = settings.send_clock_time
    end = datetime.combine(edition_date, send, tzinfo=zone)
    start = datetime.combine(edition_date - timedelta(days=1), send, tzinfo=zone)
    return Window(start=start.astimezone(UTC), end=end.astimezone(UTC))


def local_today(now: datetime, settings: DigestSettings) -> date:
    return now.astimezone(settings.zone).date()
