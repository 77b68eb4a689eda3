"""CSV import into the database: one transaction, bulk statements, a report of every row.

Rules (also in the README):
- a suppressed address is skipped, whatever the file says;
- only ``--consented`` makes anyone active; without it new subscribers are pending;
- an existing subscriber who unsubscribed or bounced is never re-subscribed by an import
  (their other columns are updated); a row may always set unsubscribed or bounced;
- the same address twice in a file is one subscriber (later non-empty values win);
- with a preset (``--from``), a row its tool had blocklisted or cleaned goes on the suppression
  list (and is not imported as a subscriber);
- a ZIP archive (Mailchimp's audience export) is read as all of its CSV files, in one import.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import PurePosixPath

from digest.errors import SubscriberError
from subscribers.csvio import ImportRecord, ParsedFile, parse_csv
from subscribers.presets import Preset
from subscribers.store import SubscriberStore
from subscribers.types import ImportReport, RejectedRow

#: Most bytes the CSV files of one ZIP archive may unpack to (a list of a million subscribers
#: is well under it; a compression bomb is not).
MAX_UNZIPPED_BYTES = 512_000_000


def import_csv(
    store: SubscriberStore,
    data: bytes,
    *,
    now: datetime,
    source: str,
    lists: Sequence[str] = (),
    consented: bool = False,
    dry_run: bool = False,
    sections: Iterable[str] | None = None,
    preset: Preset | None = None,
) -> ImportReport:
    parsed = _parse_all(csv_files(data), sections, preset)
    del data  # the file's bytes are not needed any more (a big list's are megabytes)
    report = ImportReport(
        rows=parsed.rows,
        duplicates=parsed.duplicates,
        rejected=list(parsed.rejected),
        dry_run=dry_run,
    )
    suppressed = store.suppressed_hashes()
    records: list[ImportRecord] = []
    for record in parsed.records:
        if record.suppress is not None:
            report.suppressed.append(RejectedRow(record.line, record.suppress, record.email))
            records.append(record)  # the store suppresses it (already suppressed: no change)
        elif suppressed and any(h in suppressed for h in store.hasher.all(record.email)):
            report.skipped.append(
                RejectedRow(record.line, "address is suppressed; skipped", record.email)
            )
        else:
            records.append(record)
    store.import_records(
        records, report, now=now, source=source, lists=lists, consented=consented, dry_run=dry_run
    )
    report.rejected.sort(key=lambda row: row.line)
    return report


def csv_files(data: bytes) -> list[tuple[str, bytes]]:
    """The CSV files of an upload: the file itself, or each ``.csv`` in a ZIP archive (as
    Mailchimp exports an audience), by name. An archive is read within bounds: a member larger
    than :data:`MAX_UNZIPPED_BYTES` once uncompressed is refused, not unpacked."""
    if not data.startswith(b"PK\x03\x04"):
        return [("", data)]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = sorted(
                (info for info in archive.infolist() if info.filename.lower().endswith(".csv")),
                key=lambda info: info.filename,
            )
            if not members:
                raise SubscriberError("the ZIP archive holds no .csv file")
            total = sum(info.file_size for info in members)
            if total > MAX_UNZIPPED_BYTES:
                raise SubscriberError(
                    f"the ZIP archive unpacks to {total:,} bytes, more than the "
                    f"{MAX_UNZIPPED_BYTES:,} an import reads"
                )
            return [(PurePosixPath(info.filename).name, archive.read(info)) for info in members]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise SubscriberError(f"not a readable ZIP archive: {exc}") from exc


def _parse_all(
    files: list[tuple[str, bytes]], sections: Iterable[str] | None, preset: Preset | None
) -> ParsedFile:
    """Parse each file; several are merged into one (reasons name the file of each row)."""
    if len(files) == 1:
        return parse_csv(files[0][1], sections=sections, preset=preset)
    merged = ParsedFile(records=[], rejected=[], duplicates=0, rows=0)
    by_email: dict[str, ImportRecord] = {}
    for name, data in files:
        try:
            parsed = parse_csv(data, sections=sections, preset=preset)
        except SubscriberError as exc:
            raise SubscriberError(f"{name}: {exc}") from exc
        merged.rows += parsed.rows
        merged.duplicates += parsed.duplicates
        merged.rejected.extend(
            RejectedRow(row.line, f"in {name}: {row.reason}", row.email) for row in parsed.rejected
        )
        for record in parsed.records:
            if record.suppress is not None:
                record.suppress = f"{record.suppress} (in {name})"
            earlier = by_email.get(record.email)
            if earlier is None:
                by_email[record.email] = record
            else:
                earlier.merge(record)
                merged.duplicates += 1
    merged.records = list(by_email.values())
    return merged


__all__ = ["import_csv", "csv_files"]
