"""CSV import into the database: one transaction, bulk statements, a report of every row.

Rules (also in the README):
- a suppressed address is skipped, whatever the file says;
- only ``--consented`` makes anyone active; without it new subscribers are pending;
- an existing subscriber who unsubscribed or bounced is never re-subscribed by an import
  (their other columns are updated); a row may always set unsubscribed or bounced;
- the same address twice in a file is one subscriber (later non-empty values win);
- with a preset (``--from``), a row its tool had blocklisted or cleaned goes on the suppression
  list (and is not imported as a subscriber).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from subscribers.csvio import ImportRecord, parse_csv
from subscribers.presets import Preset
from subscribers.store import SubscriberStore
from subscribers.types import ImportReport, RejectedRow


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
    parsed = parse_csv(data, sections=sections, preset=preset)
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


__all__ = ["import_csv"]
