"""Whole-pipeline benchmark: fetch (cold and warm), build, send, against in-process baselines.

    python benchmarks/pipeline.py CORPUS_WINDOW_DIR [--subscribers N]

CORPUS_WINDOW_DIR holds ``feeds/*.xml`` (a corpus window as described in the project's docs).
Its feeds are served over loopback HTTP, fetched into a fresh SQLite database, every day of the
window is built, and one edition is sent to N subscribers through a local aiosmtpd sink.
Figures are printed with ratios against baselines run in the same process:

- fetch: bare ``feedparser.parse(bytes)`` with its defaults on the same bytes, from memory;
- send: one pre-built message of the same size pushed with smtplib over one reused connection.
"""

from __future__ import annotations

import argparse
import resource
import smtplib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
from aiosmtpd.controller import Controller

from digest import services
from digest.app import make_app
from digest.config import DeliverySettings, DigestSettings, FetchSettings, Settings, SmtpSettings
from digest.editions.service import Editions
from digest.loopback import FeedServer, free_port


class _Sink:
    def __init__(self) -> None:
        self.count = 0
        self.size = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        self.size = len(envelope.original_content or b"")
        return "250 OK"


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a corpus window folder with feeds/*.xml")
    parser.add_argument("--subscribers", type=int, default=1000)
    args = parser.parse_args()
    feeds_dir = args.corpus / "feeds"
    files = sorted(feeds_dir.glob("*.xml"))
    if not files:
        sys.exit(f"no feeds/*.xml under {args.corpus}")

    bodies = [path.read_bytes() for path in files]
    parsed, baseline_parse = _timed(lambda: [feedparser.parse(body) for body in bodies])
    entries = sum(len(result.entries) for result in parsed)
    del parsed

    sink = _Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, FeedServer(feeds_dir) as server:
            settings = Settings(
                digest=DigestSettings(database=f"sqlite:///{tmp}/bench.db", secret_key="bench"),
                fetch=FetchSettings(allow_private_addresses=True),
                smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, sender="d@bench.example"),
                delivery=DeliverySettings(messages_per_connection=10**9),
            )
            with make_app(settings) as app:
                for path in files:
                    services.add_feed(app, server.url(path.name))
                cold, cold_s = _timed(lambda: services.fetch(app))
                fetch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                warm, warm_s = _timed(lambda: services.fetch(app))
                items = sum(r.items_seen for r in cold)

                published = [
                    i.published
                    for i in app.store.items_published_between(
                        datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
                    )
                ]
                first, last = min(published).date(), max(published).date()
                days = [first + timedelta(days=k) for k in range((last - first).days + 2)]
                build_times, sizes = [], []
                for day in days:
                    edition, seconds = _timed(
                        lambda d=day: Editions(app).build(Editions(app).key(d))
                    )
                    build_times.append(seconds)
                    sizes.append(len(edition.stories))
                busiest = days[max(range(len(days)), key=lambda k: sizes[k])]

                for n in range(args.subscribers):
                    app.subscribers.add(f"reader{n}@bench.example", now=datetime.now(UTC))
                report, send_s = _timed(
                    lambda: services.send(
                        app, Editions(app).get_or_build(Editions(app).key(busiest))
                    )
                )
                message_size = sink.size
    finally:
        controller.stop()

    # Baseline for send: the same number of same-size messages over one reused connection.
    controller = Controller(_Sink(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        line = b"x" * 76 + b"\r\n"
        payload = b"Subject: x\r\n\r\n" + line * max(1, message_size // len(line))

        def push() -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
                for n in range(args.subscribers):
                    smtp.sendmail("d@bench.example", [f"reader{n}@bench.example"], payload)

        _, baseline_send = _timed(push)
    finally:
        controller.stop()

    print(f"feeds {len(files)}, items {items}, days built {len(days)}")
    print(
        f"baseline feedparser.parse (defaults, in memory): {entries / baseline_parse:,.0f} items/s"
    )
    print(
        f"cold fetch (HTTP + parse + sanitize + store):       {items / cold_s:,.0f} items/s "
        f"= {(items / cold_s) / (entries / baseline_parse):.2f}x the baseline rate"
    )
    print(f"peak RSS after the cold fetch: {fetch_rss:.0f} MiB (includes the baseline's parses)")
    print(
        f"warm fetch (all 304): {warm_s:.2f} s = {100 * warm_s / cold_s:.1f}% of cold; "
        f"{sum(r.status == 'not-modified' for r in warm)} of {len(warm)} not modified"
    )
    print(
        f"build per day: mean {1000 * sum(build_times) / len(build_times):.0f} ms, "
        f"max {1000 * max(build_times):.0f} ms"
    )
    print(
        f"send {args.subscribers} messages of {message_size / 1024:.0f} KiB ({busiest}, "
        f"{max(sizes)} stories): {args.subscribers / send_s:,.0f} msg/s; baseline smtplib "
        f"{args.subscribers / baseline_send:,.0f} msg/s; ratio {baseline_send / send_s:.2f}; "
        f"sent {report.counts['sent']}"
    )


if __name__ == "__main__":
    main()
