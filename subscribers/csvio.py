"""Subscriber CSV files: reading an admin's spreadsheet export, writing one back safely.

Reading is pure (bytes in, records and rejected rows out): the header row is recognised by its
column names, a UTF-8 byte order mark and Windows line endings are accepted, a row with bytes that
are not UTF-8 is rejected on its own line, and every other column is kept as an attribute.
Writing neutralises cells a spreadsheet would run as a formula, and reading undoes that, so an
export imports back unchanged.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from digest.errors import SubscriberError
from subscribers.presets import Preset
from subscribers.types import FORMATS, RejectedRow, Subscriber, SubscriberStatus
from subscribers.validation import clean_name, normalize_email, normalize_timezone

#: Recognised header names (lower case, spaces for "_" and "-") -> field.
_ALIASES = {
    "email": "email",
    "e mail": "email",
    "email address": "email",
    "e mail address": "email",
    "mail": "email",
    "name": "name",
    "full name": "name",
    "display name": "name",
    "timezone": "timezone",
    "time zone": "timezone",
    "tz": "timezone",
    "sections": "sections",
    "status": "status",
    "format": "format",
    "lists": "lists",
    "consent at": "consent_at",
    "consent source": "consent_source",
}
#: Columns an export writes, in order (attributes follow).
EXPORT_COLUMNS = (
    "email",
    "name",
    "status",
    "timezone",
    "sections",
    "format",
    "lists",
    "consent_at",
    "consent_source",
)
#: Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SPLIT = re.compile(r"\s*[;|]\s*")
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(slots=True)
class ImportRecord:
    """One valid row, ready to be stored."""

    line: int
    email: str
    name: str | None = None
    timezone: str | None = None
    sections: tuple[str, ...] | None = None
    status: str | None = None
    format: str | None = None
    lists: tuple[str, ...] = ()
    consent_at: datetime | None = None
    consent_source: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    #: Put the address on the suppression list, for this reason (an import preset's row that
    #: its tool had blocklisted or cleaned), instead of importing it.
    suppress: str | None = None

    def merge(self, later: ImportRecord) -> None:
        """A later row for the same address: its non-empty values win."""
        for name in ("name", "timezone", "sections", "status", "format", "consent_at"):
            value = getattr(later, name)
            if value is not None:
                setattr(self, name, value)
        if later.consent_source:
            self.consent_source = later.consent_source
        self.lists = tuple(dict.fromkeys((*self.lists, *later.lists)))
        self.attributes.update(later.attributes)
        self.suppress = self.suppress or later.suppress


@dataclass
class ParsedFile:
    records: list[ImportRecord]
    rejected: list[RejectedRow]
    #: Rows that repeated an earlier address (merged into it).
    duplicates: int
    rows: int


def parse_csv(
    data: bytes, *, sections: Iterable[str] | None = None, preset: Preset | None = None
) -> ParsedFile:
    """Read subscriber rows (our columns, or a tool's export with its ``preset``); a whole-file
    problem raises SubscriberError."""
    known_sections = set(sections) if sections is not None else None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SubscriberError("the file is UTF-16; save it as CSV UTF-8 and import it again")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        raise SubscriberError("the file is empty")
    # Decoded as it is read, not as a whole: a big list is not held twice more in memory.
    # Undecodable bytes become lone surrogates, so the row holding them can be rejected alone.
    end = data.find(b"\n")
    first_line = (data if end < 0 else data[:end]).decode("utf-8", errors="surrogateescape")
    stream = io.TextIOWrapper(
        io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline=""
    )
    reader = csv.reader(stream, dialect=_dialect(first_line))
    try:
        first = next(reader)
    except csv.Error as exc:
        raise SubscriberError(f"line 1: not a CSV file: {exc}") from exc
    columns, has_header = _columns(first) if preset is None else _preset_columns(first, preset)
    records: dict[str, ImportRecord] = {}
    rejected: list[RejectedRow] = []
    duplicates = rows = 0
    pending = [] if has_header else [(1, first)]
    line = reader.line_num
    while True:
        for number, cells in pending:
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            rows += 1
            try:
                record = _record(number, cells, columns, known_sections, preset)
            except SubscriberError as exc:
                rejected.append(RejectedRow(number, str(exc), _printable(cells[:1])))
                continue
            earlier = records.get(record.email)
            if earlier is None:
                records[record.email] = record
            else:
                earlier.merge(record)
                duplicates += 1
        pending = []
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SubscriberError(f"line {start}: the file is not valid CSV: {exc}") from exc
        line = reader.line_num
        pending.append((start, cells))
    return ParsedFile(list(records.values()), rejected, duplicates, rows)


def _dialect(text: str) -> type[csv.Dialect]:
    """Comma by default; semicolon or tab when the first line uses those instead."""
    first = text.split("\n", 1)[0]
    if "," not in first:
        if ";" in first:
            return _Semicolon
        if "\t" in first:
            return csv.excel_tab
    return csv.excel


class _Semicolon(csv.excel):
    delimiter = ";"


def _columns(first: list[str]) -> tuple[list[str], bool]:
    """Field names by position, and whether the first row is a header."""
    first = [unneutralise(cell) for cell in first]  # export neutralises header cells too
    names = [_header_name(cell) for cell in first]
    fields = [_ALIASES.get(name, "") for name in names]
    if "email" in fields:
        columns = []
        for name, field_name, raw in zip(names, fields, first, strict=True):
            if _UNDECODABLE.search(raw):
                raise SubscriberError("line 1: the header is not UTF-8; save the file as UTF-8")
            columns.append(field_name or f"attr:{raw.strip() or name}")
        return columns, True
    if first and "@" in first[0]:
        # No header: email, then name, as most address-book exports have it.
        return ["email", "name"] + [f"attr:column{i + 1}" for i in range(2, len(first))], False
    raise SubscriberError(
        "line 1: no 'email' column; the first row should be a header naming the columns "
        "(email, name, timezone, sections, status...)"
    )


def _preset_columns(first: list[str], preset: Preset) -> tuple[list[str], bool]:
    if any(_UNDECODABLE.search(raw) for raw in first):
        raise SubscriberError("line 1: the header is not UTF-8; save the file as UTF-8")
    columns = [f"raw:{unneutralise(cell).strip().lower()}" for cell in first]
    preset.email_column(frozenset(column[4:] for column in columns))
    return columns, True


def _header_name(cell: str) -> str:
    return " ".join(cell.strip().lower().replace("_", " ").replace("-", " ").split())


def _record(
    line: int,
    cells: list[str],
    columns: list[str],
    known_sections: set[str] | None,
    preset: Preset | None = None,
) -> ImportRecord:
    if any(_UNDECODABLE.search(cell) for cell in cells):
        raise SubscriberError("contains bytes that are not UTF-8; save the file as CSV UTF-8")
    values: dict[str, str] = {}
    attributes: dict[str, str] = {}
    raw_row: dict[str, str] = {}
    for index, raw in enumerate(cells):
        cell = unneutralise(raw).strip()
        if index >= len(columns):
            if cell:
                attributes[f"column{index + 1}"] = cell
            continue
        column = columns[index]
        if column.startswith("raw:"):
            raw_row[column[4:]] = cell
        elif column.startswith("attr:"):
            if cell:
                attributes[column[5:]] = cell
        else:
            values[column] = cell
    suppress = None
    if preset is not None:
        headers = frozenset(column[4:] for column in columns)
        mapped = preset.map_row(raw_row, headers)
        values, attributes, suppress = mapped.values, mapped.attributes, mapped.suppress
    if not values.get("email"):
        raise SubscriberError("no email address")
    record = ImportRecord(line=line, email=normalize_email(values["email"]))
    record.name = clean_name(values.get("name")) if values.get("name") else None
    record.timezone = normalize_timezone(values.get("timezone"))
    if values.get("sections"):
        chosen = tuple(s for s in _SPLIT.split(values["sections"]) if s)
        unknown = [s for s in chosen if known_sections is not None and s not in known_sections]
        if unknown:
            raise SubscriberError(f"unknown section {unknown[0]!r}")
        record.sections = chosen
    status = values.get("status", "").lower()
    if status:
        if status not in SubscriberStatus.ALL:
            raise SubscriberError(
                f"unknown status {status!r} (one of {', '.join(SubscriberStatus.ALL)})"
            )
        record.status = status
    fmt = values.get("format", "").lower()
    if fmt:
        if fmt not in FORMATS:
            raise SubscriberError(f"unknown format {fmt!r} (html or text)")
        record.format = fmt
    if values.get("lists"):
        record.lists = tuple(s for s in _SPLIT.split(values["lists"]) if s)
    if values.get("consent_at"):
        try:
            when = datetime.fromisoformat(values["consent_at"])
        except ValueError as exc:
            raise SubscriberError(
                f"consent_at is not a date and time: {values['consent_at']!r}"
            ) from exc
        record.consent_at = when if when.tzinfo else when.replace(tzinfo=UTC)
    record.consent_source = values.get("consent_source") or None
    record.attributes = attributes
    record.suppress = suppress
    return record


def _printable(cells: list[str]) -> str | None:
    if not cells:
        return None
    return _UNDECODABLE.sub("\ufffd", cells[0]).strip()[:320] or None


# --- writing -------------------------------------------------------------------------------


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote before it."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def unneutralise(value: str) -> str:
    """Undo :func:`neutralise` (import reads back what export wrote)."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def write_csv(subscribers: Iterable[Subscriber]) -> Iterator[str]:
    """The CSV text, a chunk at a time (a header, then one line per subscriber).

    Attribute columns are those of the first subscribers seen (up to the first 1,000), so the
    export streams; attributes appearing only later are left out of the header.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    iterator = iter(subscribers)
    head = [s for _, s in zip(range(1000), iterator, strict=False)]
    extra = list(dict.fromkeys(key for s in head for key in s.attributes))
    writer.writerow([neutralise(cell) for cell in (*EXPORT_COLUMNS, *extra)])  # names too

    def rows(chunk: Iterable[Subscriber]) -> None:
        for s in chunk:
            cells = [
                s.email,
                s.name or "",
                s.status,
                s.timezone or "",
                "; ".join(s.sections),
                s.format,
                "; ".join(s.lists),
                s.consent_at.isoformat() if s.consent_at else "",
                s.consent_source or "",
                *(s.attributes.get(key, "") for key in extra),
            ]
            writer.writerow([neutralise(cell) for cell in cells])

    rows(head)
    yield buffer.getvalue()
    while True:
        buffer.seek(0)
        buffer.truncate()
        chunk = [s for _, s in zip(range(1000), iterator, strict=False)]
        if not chunk:
            return
        rows(chunk)
        yield buffer.getvalue()
