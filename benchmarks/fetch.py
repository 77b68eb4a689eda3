"""Fetch benchmark: cold and warm `digest fetch` over loopback against bare feedparser.

    python benchmarks/fetch.py CORPUS_WINDOW_DIR [--repeat N] [--memory 1,2,4] [--profile]
                               [--baseline-source DIR]

CORPUS_WINDOW_DIR holds ``feeds/*.xml``. The feeds are served over loopback HTTP by a child
process (with Last-Modified, so a second fetch is all 304s) and fetched into a fresh SQLite
database. Printed, all in one run, the rounds alternating (best of ``--repeat`` in process,
median of them for whole processes):

- baseline: bare ``feedparser.parse(bytes)`` with its defaults, on the same bytes from memory;
- cold: everything new (fetch + parse + sanitize + store), items/s and ratio to the baseline,
  measured in this process (the fetch alone, stored through the Store and SQLAlchemy) and as a
  whole `digest fetch` process (start-up, opening the database and printing included, stored
  through sqlite3 as that command does on SQLite; CPU from the kernel's accounting of the
  child);
- warm: everything answered 304, as a share of the cold time, both ways;
- peak memory (Python allocations, tracemalloc) of a cold fetch of 1x, 2x, 4x... the feed set,
  each copy served under its own URL: it should stay flat as the number of feeds grows.

``--baseline-source DIR`` names another checkout of digest (an older commit, say): its whole
processes run in the same rounds, alternating with this one's, and are printed beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import feedparser
from processes import child_env, measured

from digest import services
from digest.app import make_app
from digest.config import DigestSettings, FetchSettings, Settings

# The feed server runs in a child process, so this process's CPU time is digest's alone.
_SERVER = """
import sys
from pathlib import Path
from digest.loopback import FeedServer
with FeedServer(Path(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def _served(feeds_dir: Path) -> Iterator[str]:
    """Base URL of ``feeds_dir`` served over loopback HTTP by a child process."""
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(feeds_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def _timed(fn):
    """(result, wall seconds); the CPU seconds of the last call are kept in ``_cpu``."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    _cpu[0] = time.process_time() - cpu
    return result, time.perf_counter() - started


# CPU time of this process (all its threads): on a shared, busy machine it varies far less
# than wall time, so ratios are printed for both.
_cpu = [0.0]


def _fetch_run(feeds_dir: Path, names: list[str], copies: int, *, warm: bool, profile: bool):
    """Cold (and optionally warm) fetch of ``copies`` x the feeds; returns the figures."""
    with tempfile.TemporaryDirectory() as tmp, _served(feeds_dir) as base_url:
        settings = Settings(
            digest=DigestSettings(database=f"sqlite:///{tmp}/bench.db", secret_key="bench"),
            fetch=FetchSettings(allow_private_addresses=True),
        )
        with make_app(settings) as app:
            for copy in range(copies):
                for name in names:
                    # A query string makes each copy a distinct feed of the same file.
                    services.add_feed(app, f"{base_url}/{name}" + (f"?copy={copy}" if copy else ""))
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            cold, cold_s = _timed(lambda: services.fetch(app))
            cold_cpu = _cpu[0]
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            warm_s = warm_cpu = None
            if warm:
                again, warm_s = _timed(lambda: services.fetch(app))
                warm_cpu = _cpu[0]
                assert all(r.status == "not-modified" for r in again), "warm fetch was not all 304"
            failed = [r for r in cold if r.status != "ok"]
            assert not failed, failed[:3]
            return sum(r.items_new for r in cold), (cold_s, cold_cpu), (warm_s, warm_cpu)


ROOT = Path(__file__).resolve().parent.parent
_CONFIG = """[digest]
database = "sqlite:///{folder}/digest.db"
secret_key = "bench"
[fetch]
allow_private_addresses = true
"""


def _digest(source: Path, folder: Path, *args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole `digest ARGS` process; it must succeed."""
    env = child_env(source, DIGEST_CONFIG=str(folder / "digest.toml"))
    timing = measured(["-m", "digest", *args], cwd=folder, env=env)
    return timing.wall, timing.cpu


def _process_run(
    source: Path, feeds_dir: Path, names: list[str]
) -> tuple[tuple[float, float], ...]:
    """(wall, CPU) of a cold and then a warm `digest fetch`, each a process of its own, of the
    digest in ``source``."""
    with tempfile.TemporaryDirectory() as tmp, _served(feeds_dir) as base_url:
        folder = Path(tmp)
        (folder / "digest.toml").write_text(_CONFIG.format(folder=folder), encoding="utf-8")
        _digest(source, folder, "feeds", "add", *(f"{base_url}/{name}" for name in names))
        return _digest(source, folder, "fetch"), _digest(source, folder, "fetch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a corpus window folder with feeds/*.xml")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; best kept")
    parser.add_argument("--memory", default="1,2,4", help="feed-set multiples for peak memory")
    parser.add_argument("--profile", action="store_true", help="cProfile one cold fetch")
    parser.add_argument(
        "--baseline-source",
        type=Path,
        help="another checkout of digest whose whole processes run in the same rounds",
    )
    args = parser.parse_args()
    sources = {"this": ROOT}
    if args.baseline_source:
        sources["baseline"] = args.baseline_source.resolve()
    feeds_dir = args.corpus / "feeds"
    files = sorted(feeds_dir.glob("*.xml"))
    if not files:
        sys.exit(f"no feeds/*.xml under {args.corpus}")
    names = [path.name for path in files]
    bodies = [path.read_bytes() for path in files]

    # Baseline and fetch runs alternate, and each keeps its best run: on a shared machine whose
    # load comes and goes, both then get the same chances at a quiet moment.
    inf = float("inf")
    baseline, cold, warm = [inf, inf], [inf, inf], [inf, inf]
    base_runs: list[tuple[float, float]] = []
    process_runs: dict[str, list[tuple[tuple[float, float], ...]]] = {name: [] for name in sources}
    entries = items = 0
    for source in sources.values():  # untimed: writes the bytecode caches an install has
        _process_run(source, feeds_dir, names)
    for run in range(args.repeat):
        parsed, seconds = _timed(lambda: [feedparser.parse(body) for body in bodies])
        entries = sum(len(result.entries) for result in parsed)
        del parsed
        base_runs.append((seconds, _cpu[0]))
        baseline = [min(baseline[0], seconds), min(baseline[1], _cpu[0])]
        items, cold_run, warm_run = _fetch_run(
            feeds_dir, names, 1, warm=True, profile=args.profile and run == 0
        )
        cold = [min(cold[k], cold_run[k]) for k in (0, 1)]
        warm = [min(warm[k], warm_run[k] or inf) for k in (0, 1)]
        for name, source in sorted(sources.items(), reverse=bool(run % 2)):
            process_runs[name].append(_process_run(source, feeds_dir, names))

    print(f"feeds: {len(files)}  entries: {entries}  bytes: {sum(map(len, bodies)):,}")
    for k, clock in enumerate(("wall", "cpu")):
        base_rate, cold_rate = entries / baseline[k], items / cold[k]
        print(
            f"[{clock}] baseline feedparser.parse(bytes): {baseline[k]:.3f} s  "
            f"{base_rate:,.0f} items/s"
        )
        print(
            f"[{clock}] cold fetch (fetch+parse+sanitize+store): {cold[k]:.3f} s  "
            f"{cold_rate:,.0f} items/s  = {cold_rate / base_rate:.2f}x baseline (goal >= 2.5x)"
        )
        print(
            f"[{clock}] warm fetch (all 304): {warm[k]:.3f} s  = "
            f"{100 * warm[k] / cold[k]:.1f}% of cold (goal <= 5%)"
        )
    print(f"whole `digest fetch` processes (median of {args.repeat} rounds, with start-up):")
    for name, runs in process_runs.items():
        for k, clock in enumerate(("wall", "cpu")):
            base = statistics.median(r[k] for r in base_runs)
            cold_s = statistics.median(r[0][k] for r in runs)
            warm_s = statistics.median(r[1][k] for r in runs)
            ratio = (items / cold_s) / (entries / base)
            print(
                f"[{clock}]{f' [{name}]' if len(sources) > 1 else ''} feedparser {base:.3f} s; "
                f"cold process {cold_s:.3f} s  {items / cold_s:,.0f} items/s = {ratio:.2f}x "
                f"(goal >= 2.5x); warm process {warm_s:.3f} s = "
                f"{100 * warm_s / cold_s:.1f}% of cold (goal <= 25%)"
            )

    for copies in (int(part) for part in args.memory.split(",") if part.strip()):
        tracemalloc.start()
        items, (seconds, _), _ = _fetch_run(feeds_dir, names, copies, warm=False, profile=False)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"peak memory, {copies * len(files)} feeds ({items} items): "
            f"{peak / 2**20:.1f} MiB (tracemalloc; {seconds:.2f} s under tracing)"
        )


if __name__ == "__main__":
    main()
