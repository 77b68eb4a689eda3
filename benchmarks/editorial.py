"""Editorial benchmark: building each day's edition from a corpus window's items, in memory.

    python benchmarks/editorial.py CORPUS_WINDOW_DIR [--rounds N]

Items come from the window's ``items.jsonl`` (no fetch, no database), grouped into the 24-hour
windows ending at 06:00 UTC, and every day's edition is built ``--rounds`` times with the bundled
topic. The baseline, run in the same process on the same items, is the cheapest pass over the
same text: lower-casing and splitting every title and description. Build times are shown as
wall-clock and CPU seconds (the best of the rounds): on a busy machine the CPU figure is the one
to compare. The goal is that the busiest day (about 1,500 items) builds well under a second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest.editorial import build_edition, load_topic
from digest.types import Item, Window


def _items(corpus: Path) -> list[Item]:
    items = []
    for number, line in enumerate((corpus / "items.jsonl").read_text("utf-8").split("\n"), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        published = datetime.fromisoformat(row["published"]).astimezone(UTC)
        items.append(
            Item(
                id=number,
                feed_id=hash(row["feed"]) % 10_000,
                feed_title=row["feed"],
                guid=row["link"],
                url=row["link"],
                canonical_url=row["link"],
                title=row["title"],
                summary_html=row["description"],
                text=row["description"],
                published=published,
                fetched=published,
            )
        )
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a corpus window folder with items.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (args.corpus / "items.jsonl").is_file():
        sys.exit(f"no items.jsonl under {args.corpus}")
    items = _items(args.corpus)
    topic = load_topic("us-china-trade")
    first = min(i.published for i in items).date()
    last = max(i.published for i in items).date() + timedelta(days=1)
    print(f"{len(items)} items, {(last - first).days + 1} days, {args.rounds} rounds each")
    print(
        f"{'day':<12}{'items':>7}{'stories':>9}{'build s':>10}{'cpu s':>8}{'baseline s':>12}"
        f"{'ratio':>8}"
    )
    slowest = 0.0
    day = first
    while day <= last:
        end = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
        window = Window(end - timedelta(days=1), end)
        todays = [i for i in items if i.published in window]
        build = cpu = base = float("inf")
        stories = 0
        for _ in range(args.rounds):
            started, cpu_started = time.perf_counter(), time.process_time()
            edition = build_edition(
                todays, topic, edition_date=date(day.year, day.month, day.day), window=window
            )
            build = min(build, time.perf_counter() - started)
            cpu = min(cpu, time.process_time() - cpu_started)
            started = time.perf_counter()
            for item in todays:
                (item.title + " " + item.text).lower().split()
            base = min(base, time.perf_counter() - started)
            stories = len(edition.stories)
        slowest = max(slowest, cpu)
        ratio = build / base if base else float("nan")
        print(
            f"{day.isoformat():<12}{len(todays):>7}{stories:>9}{build:>10.3f}{cpu:>8.3f}{base:>12.4f}"
            f"{ratio:>8.0f}"
        )
        day += timedelta(days=1)
    print(f"slowest day: {slowest:.3f} CPU seconds")


if __name__ == "__main__":
    main()
