"""The email's language: Babel for dates and times, gettext catalogues for the fixed text.

English is the source language (no catalogue). Every other language is a catalogue in
``digest/locale/<lang>/LC_MESSAGES/messages.po``, read as it is (compiled in memory, so adding a
language needs no build step). The README says how to extract the strings and start one.
"""

from __future__ import annotations

import gettext
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.errors import ConfigError

SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def available_languages() -> tuple[str, ...]:
    """English, then every language with a catalogue, sorted."""
    found = sorted(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return (SOURCE_LANGUAGE, *found)


def check_language(language: str) -> None:
    known = available_languages()
    if language not in known:
        raise ConfigError(f"[digest] language must be one of {', '.join(known)}, not {language!r}")


def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (English: the strings as written)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
    except OSError as exc:
        raise ConfigError(f"no catalogue for language {language!r}: {exc}") from exc
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Dates:
    """Dates and story times as ``language`` writes them, times in ``zone``."""

    def __init__(self, language: str, zone: str = "UTC") -> None:
        from babel import Locale

        self._locale = Locale.parse(language)
        self._zone = ZoneInfo(zone)

    def long_date(self, value: date | datetime) -> str:
        """``Tuesday 10 March 2026``, ``mardi 10 mars 2026``."""
        from babel.dates import format_date

        return format_date(value, "EEEE d MMMM y", locale=self._locale)

    def short_date(self, value: date | datetime) -> str:
        """``10 Mar``, ``10 mars``."""
        from babel.dates import format_date

        return format_date(value, "d MMM", locale=self._locale).rstrip(".")

    def time(self, value: datetime) -> str:
        """``07:05 UTC``, ``16:05 JST``: 24-hour clock, in the zone, with its abbreviation."""
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        local = moment.astimezone(self._zone)
        return f"{local:%H:%M} {local.tzname()}"

    def day_time(self, value: datetime) -> str:
        """``9 Mar 22:40 UTC``: the local day before the time, for windows that span two days."""
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return f"{self.short_date(moment.astimezone(self._zone))} {self.time(moment)}"

    def spans_two_days(self, start: datetime, end: datetime) -> bool:
        """Whether the half-open range [start, end) touches two local dates in the zone."""
        last = end - timedelta(microseconds=1)
        return start.astimezone(self._zone).date() != last.astimezone(self._zone).date()
