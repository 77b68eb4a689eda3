"""Fetch benchmark: cold and warm `digest fetch` over loopback against bare feedparser.

    python benchmarks/fetch.py CORPUS_WINDOW_DIR [--repeat N] [--memory 1,2,4] [--profile]

CORPUS_WINDOW_DIR holds ``feeds/*.xml``. The feeds are served over loopback HTTP (with
Last-Modified, so a second fetch is all 304s) and fetched into a fresh SQLite database. Printed,
all measured in this one process:

- baseline: bare ``feedparser.parse(bytes)`` with its defaults, on the same bytes from memory;
- cold: everything new (fetch + parse + sanitize + store), items/s and ratio to the baseline;
- warm: everything answered 304, as a share of the cold time;
- peak memory (Python allocations, tracemalloc) of a cold fetch of 1x, 2x, 4x... the feed set,
  each copy served under its own URL: it should stay flat as the number of feeds grows.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import feedparser

from digest import services
from digest.app import make_app
from digest.config import DigestSettings, FetchSettings, Settings
from digest.loopback import FeedServer


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _fetch_run(feeds_dir: Path, names: list[str], copies: int, *, warm: bool, profile: bool):
    """Cold (and optionally warm) fetch of ``copies`` x the feeds; returns the figures."""
    with tempfile.TemporaryDirectory() as tmp, FeedServer(feeds_dir) as server:
        settings = Settings(
            digest=DigestSettings(database=f"sqlite:///{tmp}/bench.db", secret_key="bench"),
            fetch=FetchSettings(allow_private_addresses=True),
        )
        with make_app(settings) as app:
            for copy in range(copies):
                for name in names:
                    # A query string makes each copy a distinct feed of the same file.
                    services.add_feed(app, server.url(name) + (f"?copy={copy}" if copy else ""))
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            cold, cold_s = _timed(lambda: services.fetch(app))
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            warm_s = None
            if warm:
                again, warm_s = _timed(lambda: services.fetch(app))
                assert all(r.status == "not-modified" for r in again), "warm fetch was not all 304"
            failed = [r for r in cold if r.status != "ok"]
            assert not failed, failed[:3]
            return sum(r.items_new for r in cold), cold_s, warm_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a corpus window folder with feeds/*.xml")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; best kept")
    parser.add_argument("--memory", default="1,2,4", help="feed-set multiples for peak memory")
    parser.add_argument("--profile", action="store_true", help="cProfile one cold fetch")
    args = parser.parse_args()
    feeds_dir = args.corpus / "feeds"
    files = sorted(feeds_dir.glob("*.xml"))
    if not files:
        sys.exit(f"no feeds/*.xml under {args.corpus}")
    names = [path.name for path in files]
    bodies = [path.read_bytes() for path in files]

    baseline_s = float("inf")
    entries = 0
    for _ in range(args.repeat):
        parsed, seconds = _timed(lambda: [feedparser.parse(body) for body in bodies])
        entries = sum(len(result.entries) for result in parsed)
        del parsed
        baseline_s = min(baseline_s, seconds)
    baseline_rate = entries / baseline_s

    cold_s = warm_s = float("inf")
    items = 0
    for run in range(args.repeat):
        items, cold, warm = _fetch_run(
            feeds_dir, names, 1, warm=True, profile=args.profile and run == 0
        )
        cold_s, warm_s = min(cold_s, cold), min(warm_s, warm or float("inf"))
    cold_rate = items / cold_s

    print(f"feeds: {len(files)}  entries: {entries}  bytes: {sum(map(len, bodies)):,}")
    print(f"baseline feedparser.parse(bytes): {baseline_s:.3f} s  {baseline_rate:,.0f} items/s")
    print(
        f"cold fetch (fetch+parse+sanitize+store): {cold_s:.3f} s  {cold_rate:,.0f} items/s  "
        f"= {cold_rate / baseline_rate:.2f}x baseline (goal >= 2.5x)"
    )
    print(
        f"warm fetch (all 304): {warm_s:.3f} s  = {100 * warm_s / cold_s:.1f}% of cold (goal <= 5%)"
    )

    for copies in (int(part) for part in args.memory.split(",") if part.strip()):
        tracemalloc.start()
        items, seconds, _ = _fetch_run(feeds_dir, names, copies, warm=False, profile=False)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"peak memory, {copies * len(files)} feeds ({items} items): "
            f"{peak / 2**20:.1f} MiB (tracemalloc; {seconds:.2f} s under tracing)"
        )


if __name__ == "__main__":
    main()
