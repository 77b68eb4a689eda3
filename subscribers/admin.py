"""Admin operations over an App that need more than the store: files, the topic, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import UsageError
from subscribers.csvio import write_csv
from subscribers.importer import import_csv
from subscribers.types import ImportReport

if TYPE_CHECKING:
    from digest.app import App


def import_file(
    app: App,
    path: Path,
    *,
    lists: tuple[str, ...] = (),
    consented: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return import_csv(
        app.subscribers,
        data,
        now=app.clock(),
        source=f"import {path.name}",
        lists=lists,
        consented=consented,
        dry_run=dry_run,
        sections=[section.key for section in app.topic.sections],
    )


def export_csv(
    app: App, *, list_name: str | None = None, status: str | None = None
) -> Iterator[str]:
    subscribers = app.subscribers.iter_all(status=status, list_name=list_name)
    return write_csv(subscribers)
