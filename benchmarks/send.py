"""Send benchmark: the full `digest send` path against bare smtplib, and peak memory at 100k.

    python benchmarks/send.py [--subscribers 10000] [--connections 4] [--rounds 5]
                              [--rss-subscribers 100000] [--sink-process] [--shape-baseline]

The bundled sample feeds are served over loopback, fetched and built into an edition; the
subscribers are inserted with bulk SQL. Then, in one process, against one local aiosmtpd sink:

- full path: ``services.send`` (ledger rows, claims, per-variant rendering, MIME templates,
  personalization, SMTP over ``--connections`` reused connections, marking sent);
- baseline: one pre-built message of the same size pushed with ``smtplib`` to as many
  recipients, over the same number of reused connections (one thread each).

Both run once in each of ``--rounds`` rounds (a fresh database each round; which goes first
alternates from round to round), after an untimed warm-up round. With four sender threads and
the sink sharing one interpreter lock, a single run's rate swings by 10-25 %, so every round's
figures are printed and the goal (a ratio of at least 0.9) is read off the median of the
rounds' ratios.

With ``--sink-process`` the sink runs in a child process instead, as a relay would, so that its
own work does not compete with the sender for this process's interpreter lock.

After the rounds the script runs itself in a child process that sends to ``--rss-subscribers``
subscribers and prints the child's peak RSS (goal: under 200 MB); ``--rss-subscribers 0`` skips
it.

With ``--shape-baseline`` (sink in this process only), smtplib also pushes a message with the
full path's own line lengths: its first message with every character but CR and LF replaced by
"x". The sink's work grows with the number of lines as well as the bytes; this figure tells the
message's shape apart from the sender's own overhead. It is printed next to the baseline, which
stays the goal's reference.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

from aiosmtpd.controller import Controller
from population import DAY, add_readers, build_sample_edition

from digest import services
from digest.app import App, make_app
from digest.config import (
    DeliverySettings,
    DigestSettings,
    FetchSettings,
    Settings,
    SmtpSettings,
    WebSettings,
)
from digest.editions.service import Editions
from digest.loopback import free_port
from digest.types import Edition

#: CPU seconds of this process (all threads) per phase: steadier than wall time on a busy host.
_CPU: dict[str, float] = {}


class _Sink:
    """Accepts everything; remembers how many messages and the size of the last one."""

    def __init__(self) -> None:
        self.count = 0
        self.size = 0
        self.first: bytes | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        self.size = len(envelope.original_content or b"")
        if self.first is None:
            self.first = envelope.original_content
        return "250 OK"


def _edition(app: App) -> Edition:
    editions = Editions(app)
    return editions.get_or_build(editions.key(DAY))


def _settings(folder: str, port: int, connections: int) -> Settings:
    return Settings(
        digest=DigestSettings(
            database=f"sqlite:///{folder}/bench.db",
            secret_key="bench-secret",
            name="The Trade Brief",
        ),
        fetch=FetchSettings(allow_private_addresses=True),
        smtp=SmtpSettings(
            host="127.0.0.1", port=port, sender="The Trade Brief <digest@bench.example>"
        ),
        web=WebSettings(base_url="https://bench.example", unsubscribe_mailto="leave@bench.example"),
        delivery=DeliverySettings(connections=connections, messages_per_connection=10**9),
    )


def _send(subscribers: int, connections: int, port: int) -> tuple[float, int, int]:
    """The full path; returns (seconds, messages sent, message size)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        make_app(_settings(tmp, port, connections)) as app,
    ):
        build_sample_edition(app)
        add_readers(app, subscribers, datetime.now(UTC), names=True)
        size = services.send(app, _edition(app), dry_run=True).sizes["html"]
        started, cpu = time.perf_counter(), time.process_time()
        report = services.send(app, _edition(app))
        seconds = time.perf_counter() - started
        _CPU["full"] = time.process_time() - cpu
    return seconds, report.counts["sent"], size


def _baseline(subscribers: int, connections: int, port: int, size: int) -> float:
    """One pre-built message of ``size`` bytes over ``connections`` reused connections."""
    line = b"x" * 76 + b"\r\n"
    payload = b"Subject: x\r\n\r\n" + line * max(1, size // len(line))
    return _push(payload, subscribers, connections, port, "baseline")


def _shape_baseline(subscribers: int, connections: int, port: int, message: bytes) -> float:
    """Like the baseline, with a message of the full path's own line lengths."""
    return _push(re.sub(rb"[^\r\n]", b"x", message), subscribers, connections, port, "shape")


def _push(payload: bytes, subscribers: int, connections: int, port: int, name: str) -> float:
    """Bare smtplib: ``payload`` to every subscriber over ``connections`` reused connections."""

    def push(first: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for n in range(first, subscribers, connections):
                smtp.sendmail("digest@bench.example", [f"reader{n}@bench.example"], payload)

    threads = [threading.Thread(target=push, args=(k,)) for k in range(connections)]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _CPU[name] = time.process_time() - cpu
    return time.perf_counter() - started


_SINK = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


def _start_sink_process(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(
        [sys.executable, "-c", _SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink


def _child_rss(subscribers: int, connections: int) -> dict[str, float]:
    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        seconds, sent, _ = _send(subscribers, connections, port)
    finally:
        controller.stop()
    return {
        "sent": sent,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _round(
    args: argparse.Namespace, sink: _Sink, port: int, baseline_size: int | None = None
) -> dict[str, float]:
    """One full-path run and one baseline run (and the same-lines push if asked): rates and
    CPU milliseconds per message. Given the message size (``baseline_size``, known from an
    earlier round), the baseline runs first, so that a drift in the machine's speed does not
    always favour the same side."""
    if baseline_size is not None:
        base_s = _baseline(args.subscribers, args.connections, port, baseline_size)
    send_s, sent, size = _send(args.subscribers, args.connections, port)
    if baseline_size is None:
        sink.count = 0
        base_s = _baseline(args.subscribers, args.connections, port, size)
        if not args.sink_process:
            assert sink.count == args.subscribers
    figures = {
        "size": size,
        "lines": -1.0 if sink.first is None else sink.first.count(b"\n"),
        "full": sent / send_s,
        "baseline": args.subscribers / base_s,
        "cpu_full": 1000 * _CPU["full"] / max(sent, 1),
        "cpu_baseline": 1000 * _CPU["baseline"] / args.subscribers,
    }
    if args.shape_baseline and sink.first is not None:
        shape_s = _shape_baseline(args.subscribers, args.connections, port, sink.first)
        figures["shape"] = args.subscribers / shape_s
        figures["cpu_shape"] = 1000 * _CPU["shape"] / args.subscribers
    return figures


def _rounds(args: argparse.Namespace, sink: _Sink, port: int) -> list[dict[str, float]]:
    # An untimed warm-up of both sides first: imports, caches and the sink's first connections.
    _round(
        argparse.Namespace(**{**vars(args), "subscribers": min(args.subscribers, 500)}), sink, port
    )
    rounds = [_round(args, sink, port)]  # the first learns the message size
    size = int(rounds[0]["size"])
    for n in range(1, args.rounds):
        rounds.append(_round(args, sink, port, size if n % 2 else None))
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rss-subscribers", type=int, default=100_000)
    parser.add_argument("--sink-process", action="store_true", help="run the sink in a child")
    parser.add_argument(
        "--shape-baseline", action="store_true", help="also push a message of the same lines"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child_rss(args.rss_subscribers, args.connections)))
        return
    if args.sink_process and args.shape_baseline:
        parser.error("--shape-baseline needs the sink in this process")

    sink = _Sink()
    port = free_port()
    rounds = []
    if args.sink_process:
        process = _start_sink_process(port)
        try:
            rounds = _rounds(args, sink, port)
        finally:
            process.communicate("")
    else:
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            rounds = _rounds(args, sink, port)
        finally:
            controller.stop()
    size = rounds[0]["size"]
    lines = f", {rounds[0]['lines']:.0f} lines" if rounds[0]["lines"] > 0 else ""
    print(
        f"{args.subscribers} subscribers, {args.connections} connections, "
        f"messages of {size / 1024:.1f} KiB{lines} (baseline: {size // 78:.0f} lines), sink "
        + ("in a child process" if args.sink_process else "in this process")
    )
    for n, r in enumerate(rounds, 1):
        line = (
            f"round {n}: full send path {r['full']:,.0f} msg/s, baseline smtplib "
            f"{r['baseline']:,.0f} msg/s, ratio {r['full'] / r['baseline']:.2f}; CPU per message "
            f"{r['cpu_full']:.2f} vs {r['cpu_baseline']:.2f} ms"
        )
        if "shape" in r:
            line += (
                f"; same-lines push {r['shape']:,.0f} msg/s "
                f"(full path to it {r['full'] / r['shape']:.2f})"
            )
        print(line)
    ratios = [r["full"] / r["baseline"] for r in rounds]
    cpu_ratios = [r["cpu_baseline"] / r["cpu_full"] for r in rounds]
    print(
        f"median ratio: {statistics.median(ratios):.2f} (goal >= 0.9; rounds "
        f"{min(ratios):.2f}-{max(ratios):.2f}); median ratio of CPU per message "
        f"{statistics.median(cpu_ratios):.2f}"
    )

    if args.rss_subscribers:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--rss-subscribers",
                str(args.rss_subscribers),
                "--connections",
                str(args.connections),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{args.rss_subscribers} subscribers: sent {figures['sent']} in "
            f"{figures['seconds']:.0f} s, peak RSS {figures['peak_rss_mb']:.0f} MB (goal < 200)"
        )


if __name__ == "__main__":
    main()
