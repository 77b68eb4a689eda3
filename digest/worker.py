"""`digest worker`: one of any number of senders, on any host, sharing the leader's sends.

The leader (`digest serve`) builds each edition and writes its ledger rows when the send time
comes; a worker only looks for editions that are being sent and claims and sends their rows,
exactly as a second `digest send` would (claims with owners: see digest.delivery.ledger). It
writes no ledger row and builds nothing, so any number of workers can run on any host.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from digest import services
from digest.app import App
from digest.errors import DigestError, one_line
from digest.types import Edition, EditionStatus

log = logging.getLogger("digest.worker")


@dataclass
class WorkerReport:
    #: Messages this worker handed to the server.
    sent: int = 0
    #: Editions it sent rows of.
    editions: int = 0


def run_worker(
    app: App,
    *,
    stop: threading.Event,
    poll_seconds: float,
    once: bool = False,
    echo: Callable[[str], None] = log.info,
) -> WorkerReport:
    """Send the rows of every edition being sent until ``stop`` is set (SIGTERM: the message
    in flight is finished, the rest given back); with ``once``, until none has a row due."""
    report = WorkerReport()
    while not stop.is_set():
        busy = False
        try:
            for edition in sending_editions(app):
                if stop.is_set():
                    break
                sent = services.send(app, edition, stop=stop, write_rows=False)
                if sent.sent_now:
                    busy = True
                    report.sent += sent.sent_now
                    report.editions += 1
                    echo(
                        f"worker: edition {edition.date} {edition.zone or 'default'}: "
                        f"sent {sent.sent_now}"
                    )
                if sent.paused:
                    echo(f"worker: paused after {sent.paused}; trying again later")
        except DigestError as exc:  # the relay is down, say: the next round tries again
            echo(f"worker: error: {exc}")
            if once:
                raise
        except SQLAlchemyError as exc:  # the database restarted: pre-ping reconnects
            echo(f"worker: error: database: {one_line(exc)}")
            if once:
                raise
        if once and not busy:
            break
        if not busy:
            stop.wait(poll_seconds)
    return report


def sending_editions(app: App) -> list[Edition]:
    """The editions whose send the leader has started and not finished, oldest first."""
    found = app.store.list_editions(app.topic.key, [EditionStatus.SENDING])
    return [edition for edition, _ in reversed(found)]
