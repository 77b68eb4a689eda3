"""Start-up benchmark: CPU time of whole `digest` processes that have little to do.

    python benchmarks/startup.py [--rounds 9] [--baseline-source DIR]

Runs, as separate processes with this interpreter, in a fresh folder made by `digest init`:

- ``python -c pass``: the interpreter alone, the floor;
- ``python -c 'import sqlalchemy.orm'``: the floor of any command that uses the store (on
  SQLite, `digest fetch` reads and writes through sqlite3 and stays under it);
- ``digest --help``;
- ``digest fetch`` with nothing due (no feed is due: the database is opened, its schema
  version checked, the feed list read, a summary printed).

Each process's CPU time (user + system, from the kernel's accounting of the child) and wall
time are taken over ``--rounds`` alternating rounds and the medians printed: on a shared
machine CPU time varies far less than wall time. Goal: at most 0.25 s of CPU for each digest
command.

``--baseline-source DIR`` names another checkout of digest (say, an older commit extracted
with ``git archive``); its commands then run in the same rounds, alternating with this one's,
and the ratio of the medians is printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from processes import Timing, child_env, measured

ROOT = Path(__file__).resolve().parent.parent
#: References first (no goal): the interpreter alone, and SQLAlchemy alone, the floor of any
#: command that uses the store.
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import sqlalchemy.orm'": ["-c", "import sqlalchemy.orm"],
    "digest --help": ["-m", "digest", "--help"],
    "digest fetch (nothing due)": ["-m", "digest", "fetch"],
}


def _run(arguments: list[str], source: Path, folder: Path) -> Timing:
    return measured(
        arguments, cwd=folder, env=child_env(source, DIGEST_CONFIG=str(folder / "digest.toml"))
    )


def _workspace(source: Path, folder: Path) -> None:
    """A folder with a config and a current database, as `digest init` leaves it."""
    subprocess.run(
        [sys.executable, "-m", "digest", "init"],
        cwd=folder,
        env=child_env(source),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument(
        "--baseline-source", type=Path, help="another checkout to compare with, same rounds"
    )
    args = parser.parse_args()
    sources = {"this": ROOT}
    if args.baseline_source:
        sources["baseline"] = args.baseline_source.resolve()
    figures: dict[tuple[str, str], list[Timing]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for name, source in sources.items():
            folders[name] = Path(tmp) / name
            folders[name].mkdir()
            _workspace(source, folders[name])
            for arguments in COMMANDS.values():  # warm the bytecode caches: not measured
                _run(arguments, source, folders[name])
        for round_ in range(args.rounds):
            order = list(sources.items())
            if round_ % 2:
                order.reverse()
            for command, arguments in COMMANDS.items():
                for name, source in order:
                    figures.setdefault((name, command), []).append(
                        _run(arguments, source, folders[name])
                    )
    print(f"median of {args.rounds} rounds (CPU = user + system of the process)")
    for command in COMMANDS:
        for name in sources:
            runs = figures[(name, command)]
            cpu = statistics.median(r.cpu for r in runs)
            wall = statistics.median(r.wall for r in runs)
            reference = command.startswith("python")
            goal = "" if reference else "  (goal <= 0.25 s CPU)"
            label = f"{command} [{name}]" if len(sources) > 1 else command
            print(f"{label:45} cpu {cpu:.3f} s  wall {wall:.3f} s{goal}")
        if len(sources) > 1 and not command.startswith("python"):  # not a reference
            this = statistics.median(r.cpu for r in figures[("this", command)])
            base = statistics.median(r.cpu for r in figures[("baseline", command)])
            print(f"{'':45} this / baseline CPU: {this / base:.2f}")


if __name__ == "__main__":
    main()
