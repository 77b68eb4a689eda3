"""Admin operations over an App that need more than the store: files, the topic, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import TopicError, UsageError
from subscribers.csvio import write_csv
from subscribers.importer import import_csv
from subscribers.presets import preset_named
from subscribers.types import ImportReport, Subscriber, SubscriberList

if TYPE_CHECKING:
    from digest.app import App


def import_file(
    app: App,
    path: Path,
    *,
    lists: tuple[str, ...] = (),
    consented: bool = False,
    dry_run: bool = False,
    preset: str | None = None,
) -> ImportReport:
    return import_csv(
        app.subscribers,
        _read(path),  # not kept here: the importer lets the bytes go once they are parsed
        now=app.clock(),
        source=f"import {path.name}",
        lists=lists,
        consented=consented,
        dry_run=dry_run,
        sections=[section.key for section in app.topic.sections],
        preset=preset_named(preset),
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def export_csv(
    app: App, *, list_name: str | None = None, status: str | None = None
) -> Iterator[str]:
    subscribers = app.subscribers.iter_all(status=status, list_name=list_name)
    return write_csv(subscribers)


def change_subscriber(
    app: App,
    email: str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    format: str | None = None,
    sections: str | None = None,
) -> tuple[Subscriber, list[str]]:
    """`digest subscribers set`: change one subscriber; returns them and what changed.

    ``None`` leaves a field as it is; ``timezone=""`` clears the zone, ``sections=""`` means
    every section.
    """
    if name is None and timezone is None and format is None and sections is None:
        raise UsageError("say what to change: --name, --timezone, --format or --sections")
    found = app.subscribers.find(email)
    if found is None:
        raise UsageError(f"no subscriber {email}")
    chosen: list[str] | None = None
    if sections is not None:
        known = [section.key for section in app.topic.sections]
        chosen = [key.strip() for key in sections.split(",") if key.strip()]
        unknown = [key for key in chosen if key not in known]
        if unknown:
            raise UsageError(
                f"unknown section {', '.join(unknown)} (the sections are {', '.join(known)})"
            )
    changed = app.subscribers.update_preferences(
        found.id,
        now=app.clock(),
        name=False if name is None else name,
        timezone=False if timezone is None else (timezone or None),
        format=format,
        sections=chosen,
    )
    what = [
        f"{label} {value}"
        for label, given, value in (
            ("name", name, changed.name or "(none)"),
            ("timezone", timezone, changed.timezone or "(none)"),
            ("format", format, changed.format),
            ("sections", sections, ",".join(changed.sections) or "all"),
        )
        if given is not None
    ]
    return changed, what


def create_list(
    app: App, name: str, *, topic: str | None = None, description: str | None = None
) -> SubscriberList:
    """`digest lists add`: the topic must be one digest knows (a bundled key, the configured
    topic's key, or a topic file that loads: its key is stored), or no one would ever be
    mailed from the list."""
    return app.subscribers.create_list(
        name, now=app.clock(), topic=_known_topic(app, topic), description=description
    )


def _known_topic(app: App, topic: str | None) -> str | None:
    from digest.editorial.topic import load_topic
    from digest.topic_files import bundled_topics

    if not topic:
        return None
    if topic == app.topic.key or topic in bundled_topics():
        return topic
    if topic.endswith(".toml") or "/" in topic:
        try:
            return load_topic(Path(topic)).key
        except TopicError as exc:
            raise UsageError(str(exc)) from exc
    known = sorted({app.topic.key, *bundled_topics()})
    raise UsageError(
        f"unknown topic {topic!r} (known: {', '.join(known)}; or the path of a topic file)"
    )
