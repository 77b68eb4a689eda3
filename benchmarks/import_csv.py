"""CSV import benchmark: rows per second of `digest subscribers import`, with baselines.

    python benchmarks/import_csv.py [--rows N]

A CSV of N generated subscribers (default 100,000: email, name, time zone, one extra column,
a few duplicates and bad rows) is imported into a fresh SQLite database, then imported again
(every row an update), then the active subscribers are streamed as the sender reads them.
Ratios are against baselines run in the same process:

- validation floor: csv.reader + email-validator alone over the same bytes (no database);
- row-at-a-time: ``SubscriberStore.add`` per row, one transaction each (a naive importer),
  timed on the first 2,000 rows.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from digest.store.database import open_database
from subscribers.importer import import_csv
from subscribers.store import SubscriberStore
from subscribers.suppression import AddressHasher

NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
ZONES = ("Europe/London", "America/New_York", "Asia/Shanghai", "")


def make_csv(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "name", "time zone", "company"])
    for i in range(rows):
        if i % 1000 == 999:
            writer.writerow([f"broken-{i}", "No At Sign", "", ""])  # rejected
        elif i % 500 == 0 and i:
            writer.writerow([f"Reader{i - 1}@Example{(i - 1) % 40}.com", "", "", ""])  # duplicate
        else:
            writer.writerow([f"reader{i}@example{i % 40}.com", f"Reader {i}", ZONES[i % 4], "Acme"])
    return "\ufeff".join(["", buffer.getvalue()]).encode("utf-8")


def store_at(folder: Path, name: str) -> tuple[SubscriberStore, object]:
    database = open_database(f"sqlite:///{folder / name}")
    hasher = AddressHasher("benchmark-key")
    return SubscriberStore(database, hasher=hasher, topic_key=lambda: "us-china-trade"), database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = make_csv(args.rows)
    print(f"CSV: {args.rows:,} rows, {len(data) / 1e6:.1f} MB")

    started, cpu = time.perf_counter(), time.process_time()
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        with contextlib.suppress(EmailNotValidError):
            validate_email(row[0], check_deliverability=False)
    floor, floor_cpu = time.perf_counter() - started, time.process_time() - cpu

    with tempfile.TemporaryDirectory() as folder:
        store, database = store_at(Path(folder), "naive.db")
        sample = min(2000, args.rows)
        started = time.perf_counter()
        for i in range(sample):
            store.add(f"naive{i}@example.com", now=NOW, name=f"Naive {i}")
        naive = (time.perf_counter() - started) / sample * args.rows
        database.close()  # type: ignore[attr-defined]

        store, database = store_at(Path(folder), "bulk.db")
        started, cpu = time.perf_counter(), time.process_time()
        first = import_csv(store, data, now=NOW, source="bench", consented=True)
        bulk, bulk_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        second = import_csv(store, data, now=NOW, source="bench", consented=True)
        again, again_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        streamed = sum(1 for _ in store.iter_active())
        stream, stream_cpu = time.perf_counter() - started, time.process_time() - cpu
        database.close()  # type: ignore[attr-defined]

    def rate(seconds: float) -> str:
        return f"{args.rows / seconds:,.0f} rows/s"

    # CPU seconds too: on a shared machine they move less than wall-clock seconds
    print(
        f"import (new):   {bulk:6.2f} s ({bulk_cpu:.2f} s CPU)  {rate(bulk)}  "
        f"added {first.added:,}, duplicates {first.duplicates:,}, rejected {len(first.rejected):,}"
    )
    print(
        f"import (again): {again:6.2f} s ({again_cpu:.2f} s CPU)  {rate(again)}  "
        f"updated {second.updated:,}"
    )
    print(
        f"validation floor (csv + email-validator only): {floor:6.2f} s "
        f"({floor_cpu:.2f} s CPU)  {rate(floor)}"
    )
    print(f"row-at-a-time add, extrapolated from {sample:,} rows: {naive:6.1f} s  {rate(naive)}")
    print(
        f"ratio import/floor: {bulk / floor:.2f}x (CPU {bulk_cpu / floor_cpu:.2f}x)   "
        f"row-at-a-time/import: {naive / bulk:.1f}x"
    )
    print(
        f"iter_active: {streamed:,} subscribers streamed in {stream:.2f} s ({stream_cpu:.2f} s CPU)"
    )


if __name__ == "__main__":
    main()
