"""Editor changes, and the pure function that applies them to a freshly built edition.

An edition is rebuilt whenever new items arrive; an editor's decisions must survive that. So
they are stored apart from the built content (``editions.changes``, a JSON object) and keyed by
:func:`story_key`, which depends only on the story's link: the same story rebuilt keeps its key.
Changes about stories that are no longer in the edition are kept (the story may come back in a
later rebuild) and simply have no effect.

Stored shape (every key optional)::

    {"exclude": ["<key>", ...], "pin": ["<key>", ...],
     "move": {"<key>": "<section key>"},
     "edit": {"<key>": {"title": "...", "summary": "..."}},
     "note": "intro note shown at the top", "hold_reason": "why the edition is held"}
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from digest.errors import UsageError
from digest.types import Edition, Section, Story

__all__ = [
    "story_key",
    "story_aliases",
    "apply_changes",
    "update_changes",
    "ACTIONS",
    "NOTE_MAX",
    "TEXT_MAX",
]

#: Actions :func:`update_changes` understands.
ACTIONS = (
    "exclude",
    "include",
    "pin",
    "unpin",
    "move",
    "title",
    "summary",
    "note",
)
NOTE_MAX = 1000
TEXT_MAX = 2000


def story_key(story: Story) -> str:
    """A short stable identifier of a story: a hash of its link (else its first source's).

    It never depends on the title or summary, which an editor may rewrite.
    """
    basis = story.url.strip()
    if not basis and story.sources:
        first = story.sources[0]
        basis = f"{first.url}\n{first.feed}\n{first.item_id}"
    basis = basis or story.title.strip()
    return _hash(basis)


def _hash(basis: str) -> str:
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:12]


def story_aliases(story: Story) -> list[str]:
    """The story's key, then the keys it would have were any of its sources the headline.

    Another zone's edition of the date covers other hours, so the same story may lead with
    another outlet's link there: a change made on one zone's story still finds it.
    """
    keys = [story_key(story)]
    keys += [_hash(source.url.strip()) for source in story.sources if source.url.strip()]
    return list(dict.fromkeys(keys))


def _match(story: Story, wanted: Any) -> str | None:
    """The first of the story's keys that ``wanted`` (a set, list or dict of keys) holds."""
    return next((key for key in story_aliases(story) if key in wanted), None)


def _keys(changes: dict[str, Any], name: str) -> list[str]:
    value = changes.get(name) or []
    return [str(key) for key in value] if isinstance(value, list) else []


def _mapping(changes: dict[str, Any], name: str) -> dict[str, Any]:
    value = changes.get(name) or {}
    return value if isinstance(value, dict) else {}


def apply_changes(edition: Edition, changes: dict[str, Any] | None) -> Edition:
    """The edition as the editor left it: excluded stories out, moves, edits, pins, note.

    Pure: the same edition and changes always give the same result. A pinned story goes to
    the top of its section, sections holding pinned stories go first (in pin order), and a
    pinned story outranks every unpinned one (its score is raised), so it leads the subject.
    """
    if not changes:
        return edition
    excluded = set(_keys(changes, "exclude"))
    pins = [key for key in dict.fromkeys(_keys(changes, "pin")) if key not in excluded]
    moves = {str(k): str(v) for k, v in _mapping(changes, "move").items()}
    edits = _mapping(changes, "edit")
    known_sections = {section.key for section in edition.sections}
    top_score = max((story.score for story in edition.stories), default=0.0)

    placed: dict[str, list[Story]] = {section.key: [] for section in edition.sections}
    rank: dict[int, int] = {}  # id of a placed story -> its pin's place
    for section in edition.sections:
        for story in section.stories:
            if _match(story, excluded) is not None:
                continue
            edit_key, move_key, pin_key = (_match(story, w) for w in (edits, moves, pins))
            story = _edited(story, edits.get(edit_key) if edit_key else None)
            target = moves[move_key] if move_key else section.key
            if target not in known_sections:
                target = section.key
            if target != story.section:
                story = replace(story, section=target)
            if pin_key is not None:
                # the first pin ranks highest
                story = replace(story, score=top_score + len(pins) - pins.index(pin_key))
                rank[id(story)] = pins.index(pin_key)
            placed[target].append(story)

    def pin_rank(story: Story) -> int:
        return rank.get(id(story), len(pins))

    sections = [
        Section(
            key=section.key,
            title=section.title,
            # sorted() is stable: unpinned stories keep the built order
            stories=tuple(sorted(placed[section.key], key=pin_rank)),
        )
        for section in edition.sections
    ]
    sections.sort(key=lambda s: min((pin_rank(story) for story in s.stories), default=len(pins)))
    note = changes.get("note")
    return replace(
        edition,
        sections=tuple(sections),
        note=note.strip() if isinstance(note, str) else "",
    )


def _edited(story: Story, edit: Any) -> Story:
    if not isinstance(edit, dict):
        return story
    title = edit.get("title")
    summary = edit.get("summary")
    return replace(
        story,
        title=title if isinstance(title, str) and title.strip() else story.title,
        summary=summary if isinstance(summary, str) and summary.strip() else story.summary,
    )


def update_changes(
    changes: dict[str, Any] | None, action: str, key: str = "", value: str = ""
) -> dict[str, Any]:
    """A new changes object with one editor action recorded (the given one is not modified).

    ``key`` is a :func:`story_key`; ``value`` is the target section of a move, the new text of
    an edit (``title`` / ``summary`` actions) or the intro note.
    """
    new: dict[str, Any] = {
        name: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        for name, v in (changes or {}).items()
    }
    value = " ".join(value.split()) if action != "note" else value.strip()
    if action in ("exclude", "include", "pin", "unpin", "move", "title", "summary") and not key:
        raise UsageError(f"the {action} action needs a story")
    if action == "exclude":
        new["exclude"] = _add(new.get("exclude"), key)
        new["pin"] = _remove(new.get("pin"), key)
    elif action == "include":
        new["exclude"] = _remove(new.get("exclude"), key)
    elif action == "pin":
        new["pin"] = _add(new.get("pin"), key)
        new["exclude"] = _remove(new.get("exclude"), key)
    elif action == "unpin":
        new["pin"] = _remove(new.get("pin"), key)
    elif action == "move":
        moves = dict(_mapping(new, "move"))
        if value:
            moves[key] = value
        else:
            moves.pop(key, None)
        new["move"] = moves
    elif action in ("title", "summary"):
        if len(value) > TEXT_MAX:
            raise UsageError(f"the {action} is longer than {TEXT_MAX} characters")
        edits = {k: dict(v) for k, v in _mapping(new, "edit").items() if isinstance(v, dict)}
        entry = edits.get(key, {})
        if value:
            entry[action] = value
        else:
            entry.pop(action, None)  # an empty field restores the built text
        if entry:
            edits[key] = entry
        else:
            edits.pop(key, None)
        new["edit"] = edits
    elif action == "note":
        if len(value) > NOTE_MAX:
            raise UsageError(f"the intro note is longer than {NOTE_MAX} characters")
        new["note"] = value
    else:
        raise UsageError(f"unknown editor action: {action}")
    return {name: v for name, v in new.items() if v not in ([], {}, "", None)}


def _add(keys: Any, key: str) -> list[str]:
    keys = [str(k) for k in keys] if isinstance(keys, list) else []
    return keys if key in keys else [*keys, key]


def _remove(keys: Any, key: str) -> list[str]:
    return [str(k) for k in keys if str(k) != key] if isinstance(keys, list) else []
