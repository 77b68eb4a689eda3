"""Workers benchmark: messages per second for 1, 2 and 4 `digest worker`s sharing one send on
PostgreSQL, with and without a relay quota, and peak memory of a big import and a big send.

    python benchmarks/workers.py --database-url postgresql://USER:PASSWORD@127.0.0.1/postgres
                                 [--subscribers 20000] [--workers 1,2,4] [--rate 500]
                                 [--relay-ms 2] [--rss-rows 100000]

The role in the URL must be allowed to create databases: each measurement gets a fresh one.
In each, this process plays the leader: it serves the bundled sample feeds over loopback,
fetches, builds the edition, adds the subscribers with bulk SQL and writes the ledger rows
(`digest serve` does this at the send time). Then N `digest worker --once` processes start at
once and send everything to one loopback SMTP sink (in its own process, answering each
message after ``--relay-ms``, as a relay takes its time); the figure is messages over the
wall time from their start to the last one's exit (start-up included, as a deployment pays
it). The sink counts Message-IDs: every subscriber must get exactly one.

Then, unless ``--rss-rows 0``: the peak RSS of `digest subscribers import` of a CSV of that
many rows (goal: under 150 MB), and of one `digest worker --once` sending to that many
subscribers (goal: under 200 MB), each a whole process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from population import add_readers, build_sample_edition
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from digest.app import make_app
from digest.config import load_settings
from digest.delivery.message import make_message_id
from digest.editions.service import Editions
from digest.loopback import free_port
from digest.store.database import driver_url

ROOT = Path(__file__).resolve().parent.parent

_SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
delay = float(sys.argv[2])
class Sink:
    def __init__(self):
        self.ids = {}
    async def handle_DATA(self, server, session, envelope):
        if delay:
            await asyncio.sleep(delay)
        for line in envelope.original_content.split(b"\\r\\n"):
            if line.lower().startswith(b"message-id:"):
                key = line[11:].strip()
                self.ids[key] = self.ids.get(key, 0) + 1
                break
        return "250 OK"
sink = Sink()
controller = Controller(sink, hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
for command in sys.stdin:
    counts = list(sink.ids.values())
    print(len(counts), sum(counts), max(counts, default=0), flush=True)
    sink.ids.clear()
controller.stop()
"""


class Sink:
    """The SMTP sink in a child process: counts messages and distinct Message-IDs."""

    def __init__(self, delay: float) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SINK, str(self.port), str(delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def take(self) -> tuple[int, int, int]:
        """(distinct Message-IDs, messages, most copies of one) since the last call."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        distinct, messages, most = self.process.stdout.readline().split()
        return int(distinct), int(messages), int(most)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


class Databases:
    """A fresh PostgreSQL database per measurement, dropped afterwards."""

    def __init__(self, url: str) -> None:
        self.admin = make_url(driver_url(url))
        self.engine = create_engine(self.admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def create(self) -> str:
        name = f"digest_bench_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def write_config(folder: Path, url: str, port: int, rate: float) -> Path:
    config = folder / "digest.toml"
    config.write_text(
        f"""[digest]
database = "{url}"
secret_key = "bench-secret"
suppression_key = "bench-suppression"
[fetch]
allow_private_addresses = true
[smtp]
host = "127.0.0.1"
port = {port}
sender = "The Trade Brief <digest@bench.example>"
[web]
base_url = "https://bench.example"
[delivery]
connections = 4
messages_per_connection = 1000000
rate_per_second = {rate}
""",
        encoding="utf-8",
    )
    return config


def lead(config: Path, subscribers: int) -> None:
    """The leader's part: an edition being sent, with a ledger row per subscriber."""
    with make_app(load_settings(config)) as app:
        edition = build_sample_edition(app)
        now = datetime.now(UTC)
        add_readers(app, subscribers, now)
        assert edition.id is not None
        app.ledger.ensure_rows(
            edition.id,
            app.subscribers.iter_active(),
            make_message_id=lambda: make_message_id("bench.example"),
            now=now,
        )
        editions = Editions(app)
        editions.start_sending(editions.with_changes(edition))


def run_workers(config: Path, count: int, *, once: bool = True) -> tuple[float, int, list[int]]:
    """Start ``count`` workers at once; (wall seconds, messages sent, each one's peak RSS KB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "digest", "--config", str(config), "worker", "--once"]
            + ["--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(count)
    ]
    sent, peaks = 0, []
    for child in children:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.stdout is not None
        output = child.stdout.read()
        if child.returncode != 0:
            sys.exit(f"a worker failed ({child.returncode})")
        sent += json.loads(output)["sent"]
        peaks.append(usage.ru_maxrss)
    return time.perf_counter() - started, sent, peaks


def measure(
    databases: Databases, sink: Sink, args: argparse.Namespace, workers: int, rate: float
) -> tuple[float, int]:
    url = databases.create()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), url, sink.port, rate)
            lead(config, args.subscribers)
            sink.take()  # nothing yet; starts the count
            seconds, sent, _ = run_workers(config, workers)
            distinct, messages, most = sink.take()
    finally:
        databases.drop(url)
    assert distinct == args.subscribers and most == 1, (distinct, messages, most)
    return sent / seconds, messages


def import_rss(databases: Databases, rows: int) -> float:
    url = databases.create()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), url, 25, 0)
            path = Path(tmp) / "list.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["email", "name", "timezone", "company"])
                for n in range(rows):
                    writer.writerow([f"reader{n}@bench.example", f"Reader {n}", "UTC", "Acme"])
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            child = subprocess.Popen(
                [sys.executable, "-m", "digest", "--config", str(config), "subscribers"]
                + ["import", str(path), "--consented"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            _, status, usage = os.wait4(child.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("the import failed")
    finally:
        databases.drop(url)
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DIGEST_TEST_DATABASE_URL"))
    parser.add_argument("--subscribers", type=int, default=20000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rate", type=float, default=500.0, help="the relay quota (messages/s)")
    parser.add_argument("--relay-ms", type=float, default=2.0, help="the sink's time per message")
    parser.add_argument("--rss-rows", type=int, default=100000)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("give --database-url (a PostgreSQL role that may create databases)")
    databases = Databases(args.database_url)
    sink = Sink(args.relay_ms / 1000)
    try:
        print(f"{args.subscribers} subscribers, a sink taking {args.relay_ms} ms per message")
        print(f"workers  unlimited msg/s  quota msg/s (quota {args.rate:g}/s)")
        for count in [int(n) for n in args.workers.split(",")]:
            free, _ = measure(databases, sink, args, count, 0)
            limited, _ = measure(databases, sink, args, count, args.rate)
            print(f"{count:>7}  {free:>15.0f}  {limited:>11.0f}")
        if args.rss_rows:
            peak = import_rss(databases, args.rss_rows)
            print(f"peak RSS, import of {args.rss_rows} rows: {peak:.0f} MB")
            url = databases.create()
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    config = write_config(Path(tmp), url, sink.port, 0)
                    lead(config, args.rss_rows)
                    sink.take()
                    _, sent, peaks = run_workers(config, 1)
                    sink.take()
            finally:
                databases.drop(url)
            print(f"peak RSS, one worker sending to {sent} subscribers: {max(peaks) / 1024:.0f} MB")
    finally:
        sink.close()


if __name__ == "__main__":
    main()
