"""Reading a labelled corpus folder.

Layout (one window of news)::

    feeds/<slug>.xml   one RSS/Atom file per outlet, served over loopback HTTP for the replay
    items.jsonl        every item: {"id", "link", "title", "description", "published", ...}
    labels.jsonl       hand labels: {"id", "label": 0|1|2, "section", "cluster"[, "story"]}

``id`` is the first 12 hex digits of the SHA-1 of the item's link; items without a label line
are off-topic (label 0). Every problem is one :class:`CorpusError` line naming file and line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest.errors import CorpusError

__all__ = ["Corpus", "CorpusItem", "Label", "item_id_for_link", "load_corpus"]


@dataclass(frozen=True, slots=True)
class CorpusItem:
    """One item of the window as the corpus lists it."""

    id: str
    link: str
    title: str
    #: The item's description (HTML allowed) as its feed carried it.
    description: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class Label:
    """A hand label: 2 core, 1 related, 0 off-topic; section and cluster for labels 1 and 2."""

    label: int
    section: str | None
    cluster: str | None
    #: The running story (several days, several clusters) the item's cluster is a sub-event of.
    story: str | None = None


@dataclass(frozen=True, slots=True)
class Corpus:
    folder: Path
    feed_files: tuple[str, ...]
    items: dict[str, CorpusItem]
    labels: dict[str, Label]

    @property
    def feeds_dir(self) -> Path:
        return self.folder / "feeds"

    def label(self, item_id: str) -> Label:
        return self.labels.get(item_id, _OFF_TOPIC)


_OFF_TOPIC = Label(label=0, section=None, cluster=None)


def item_id_for_link(link: str) -> str:
    """The corpus id of an item: first 12 hex digits of the SHA-1 of its link."""
    return hashlib.sha1(link.encode("utf-8")).hexdigest()[:12]


def load_corpus(folder: Path) -> Corpus:
    """Read and check a corpus folder; raises :class:`CorpusError` on anything missing or bad."""
    if not folder.exists():
        raise CorpusError(f"corpus folder {folder} not found")
    if not folder.is_dir():
        raise CorpusError(f"{folder} is not a folder")
    feeds = folder / "feeds"
    feed_files = tuple(
        sorted(p.name for p in feeds.glob("*") if p.suffix in (".xml", ".rss", ".atom"))
        if feeds.is_dir()
        else ()
    )
    if not feed_files:
        raise CorpusError(f"{folder} has no feeds/ folder with .xml feed files")
    items = {item.id: item for item in _read_items(folder / "items.jsonl")}
    labels = _read_labels(folder / "labels.jsonl")
    return Corpus(folder=folder, feed_files=feed_files, items=items, labels=labels)


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CorpusError(f"{path.parent} has no {path.name}") from exc
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path} is not UTF-8 text") from exc
    except OSError as exc:
        raise CorpusError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path.name} line {number} is not JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise CorpusError(f"{path.name} line {number} is not a JSON object")
        rows.append((number, row))
    return rows


def _text(row: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise CorpusError(f"{where}: {key!r} must be a non-empty string")
    return value


def _read_items(path: Path) -> list[CorpusItem]:
    items = []
    for number, row in _lines(path):
        where = f"{path.name} line {number}"
        link = _text(row, "link", where, required=True)
        item_id = _text(row, "id", where) or item_id_for_link(link)
        published = None
        raw = row.get("published")
        if raw is not None:
            try:
                published = datetime.fromisoformat(str(raw))
            except ValueError as exc:
                raise CorpusError(f"{where}: 'published' is not an ISO date-time") from exc
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            published = published.astimezone(UTC)
        items.append(
            CorpusItem(
                id=item_id,
                link=link,
                title=_text(row, "title", where),
                description=_text(row, "description", where),
                published=published,
            )
        )
    if not items:
        raise CorpusError(f"{path} lists no items")
    return items


def _read_labels(path: Path) -> dict[str, Label]:
    labels = {}
    for number, row in _lines(path):
        where = f"{path.name} line {number}"
        item_id = _text(row, "id", where, required=True)
        label = row.get("label")
        if label not in (0, 1, 2) or isinstance(label, bool):
            raise CorpusError(f"{where}: 'label' must be 0, 1 or 2")
        section = row.get("section")
        cluster = row.get("cluster")
        if label and not (isinstance(section, str) and section and isinstance(cluster, str)):
            raise CorpusError(f"{where}: labels 1 and 2 need 'section' and 'cluster' strings")
        story = row.get("story")
        if story is not None and not (isinstance(story, str) and story.strip()):
            raise CorpusError(f"{where}: 'story' must be a non-empty string when given")
        labels[item_id] = Label(
            label=int(label),
            section=section if label else None,
            cluster=(cluster or f"item:{item_id}") if label else None,
            story=story if label else None,
        )
    return labels
