"""`digest bounces process`: reports from one message, an mbox or a Maildir, acted on.

A message that is not a report is copied into the unparsed folder (named by the hash of its
bytes, so seeing it again writes nothing new) and named in one line: never lost, never fatal.
"""

from __future__ import annotations

import hashlib
import mailbox
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from digest.app import App
from digest.bounces.parse import parse_report
from digest.bounces.record import record_reports
from digest.bounces.types import ApplyCounts
from digest.bounces.verp import VerpAddresses
from digest.errors import UsageError

__all__ = ["ProcessResult", "iter_messages", "process_messages"]


@dataclass
class ProcessResult(ApplyCounts):
    #: Messages read.
    messages: int = 0
    #: Messages that were not reports: (name, where the copy was kept).
    unparsed: list[tuple[str, str]] = field(default_factory=list)


def iter_messages(source: str) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each message in ``source``: "-" (stdin), a Maildir, an mbox or one
    message file."""
    if source == "-":
        yield "stdin", sys.stdin.buffer.read()
        return
    path = Path(source)
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise UsageError(f"{path} is a folder but not a Maildir (no cur/ and new/)")
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield f"{path.name}/{key}", box.get_bytes(key)
        return
    try:
        with path.open("rb") as handle:
            start = handle.read(5)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if start == b"From ":
        mbox = mailbox.mbox(path, factory=None, create=False)
        try:
            for n, key in enumerate(mbox.keys(), 1):
                yield f"{path.name}#{n}", mbox.get_bytes(key)
        finally:
            mbox.close()
        return
    yield path.name, path.read_bytes()


def verp_of(app: App) -> VerpAddresses | None:
    address = app.settings.delivery.bounce_address
    return VerpAddresses(address, app.verp_keys()) if address else None


def process_messages(app: App, messages: Iterator[tuple[str, bytes]]) -> ProcessResult:
    result = ProcessResult()
    verp = verp_of(app)
    for name, data in messages:
        result.messages += 1
        reports = parse_report(data, verp)
        if not reports:
            result.unparsed.append((name, keep_aside(app, data)))
            continue
        result.add(record_reports(app, reports))
    return result


def keep_aside(app: App, data: bytes) -> str:
    folder = Path(app.settings.bounces.unparsed_folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{hashlib.sha256(data).hexdigest()[:24]}.eml"
        if not target.exists():
            partial = target.with_suffix(".tmp")
            partial.write_bytes(data)
            partial.replace(target)
    except OSError as exc:
        raise UsageError(
            f"cannot keep an unparsed message in {folder}: {exc.strerror or exc}"
        ) from exc
    return str(target)
