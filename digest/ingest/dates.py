"""Feed dates: RFC 822 (with the usual oddities), ISO 8601/RFC 3339, then feedparser's many."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_date(value: str) -> datetime | None:
    """An aware UTC datetime, or None when the text is not a date anyone could read."""
    value = value.strip()
    if not value:
        return None
    moment: datetime | None = None
    if value[:4].isdigit():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is None:
        # feedparser's catalogue of odd formats, loaded (a tenth of a second) only when needed
        from feedparser.datetimes import _parse_date as feedparser_date

        struct = feedparser_date(value)
        if struct is None:
            return None
        try:
            return datetime.fromtimestamp(calendar.timegm(struct), UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if moment.tzinfo is None:  # "-0000" or no zone at all: taken as UTC
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
