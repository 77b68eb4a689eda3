"""Feed dates: RFC 822 (with the usual oddities), ISO 8601/RFC 3339, then feedparser's many."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone
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
    elif (fast := _rfc822(value)) is not None:
        return fast
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


# The RFC 822 dates nearly every RSS feed writes ("Mon, 14 Aug 2023 09:05:00 +0000"), read
# without the email package's general parser (a tenth of a run's date reading); anything
# else, or anything out of range, goes to it.
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+([1-9]\d{3})\s+(\d{2}):(\d{2})(?::(\d{2}))?"
    r"\s*(?:([+-])(\d{2})(\d{2})|GMT|UTC?|Z)"
)
_MONTHS = {
    name: n
    for n, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def _rfc822(value: str) -> datetime | None:
    found = _RFC822.fullmatch(value)
    if found is None:
        return None
    day, month, year, hour, minute, second, sign, zone_h, zone_m = found.groups()
    number = _MONTHS.get(month.lower())
    if number is None:
        return None
    offset = 0
    if sign:
        offset = (int(zone_h) * 60 + int(zone_m)) * (-1 if sign == "-" else 1)
    try:
        moment = datetime(
            int(year), number, int(day), int(hour), int(minute), int(second or 0),
            tzinfo=timezone(timedelta(minutes=offset)) if offset else UTC,
        )  # fmt: skip
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
