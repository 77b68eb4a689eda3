"""Editor changes applied to a built edition: a pure function, checked on hand-built editions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from digest.desk.changes import apply_changes, story_key, update_changes
from digest.errors import UsageError
from tests.render.conftest import sample_edition


def titles(edition) -> list[str]:
    return [story.title for story in edition.stories]


def key_of(edition, fragment: str) -> str:
    return next(story_key(s) for s in edition.stories if fragment in s.title)


def test_no_changes_is_the_same_edition():
    edition = sample_edition()
    assert apply_changes(edition, {}) == edition
    assert apply_changes(edition, None) == edition


def test_exclude_pin_move_edit_note():
    edition = sample_edition()
    dutch, curbs, tariff = (key_of(edition, t) for t in ("Dutch", "Washington", "tariff row"))
    changes: dict = {}
    changes = update_changes(changes, "exclude", curbs)
    changes = update_changes(changes, "pin", dutch)
    changes = update_changes(changes, "move", tariff, "chips")
    changes = update_changes(changes, "title", tariff, "  Tariff row:\n a calmer headline ")
    changes = update_changes(changes, "summary", dutch, "A shorter summary.")
    changes = update_changes(changes, "note", "", "  Short day: markets were closed.  ")
    result = apply_changes(edition, changes)

    assert "Washington widens curbs on chipmaking tool servicing" not in titles(result)
    # the pinned story leads: first in the email and highest ranked (subject, preheader)
    assert result.stories[0].title == "Dutch supplier says new rules will trim 2026 sales"
    assert result.stories[0].summary == "A shorter summary."
    assert max(result.stories, key=lambda s: s.score) is result.stories[0]
    chips = result.sections[0]
    assert chips.key == "chips"
    assert [s.title for s in chips.stories] == [
        "Dutch supplier says new rules will trim 2026 sales",
        "Tariff row: a calmer headline",
    ]
    assert chips.stories[1].section == "chips"
    assert all(not s.stories for s in result.sections if s.key == "tariffs")
    assert result.note == "Short day: markets were closed."
    # the input is untouched (frozen values) and the function is deterministic
    assert len(edition.stories) == 3
    assert apply_changes(edition, changes) == result


def test_changes_survive_a_rebuild_with_new_stories():
    edition = sample_edition()
    dutch = key_of(edition, "Dutch")
    changes = update_changes(update_changes({}, "pin", dutch), "exclude", key_of(edition, "tariff"))
    # a rebuild: a new story arrives at the top, titles are refreshed, order changes
    chips = edition.sections[0]
    fresh = replace(chips.stories[0], title="Brand new story", url="https://news.example/new")
    rebuilt = replace(
        edition,
        sections=(replace(chips, stories=(fresh, *reversed(chips.stories))), *edition.sections[1:]),
    )
    result = apply_changes(rebuilt, changes)
    assert titles(result)[0].startswith("Dutch supplier")
    assert "tariff row" not in " ".join(titles(result))
    assert "Brand new story" in titles(result)


def test_key_does_not_depend_on_editable_text():
    story = sample_edition().stories[0]
    assert story_key(story) == story_key(replace(story, title="Other", summary="Other"))
    assert story_key(story) != story_key(replace(story, url="https://news.example/other"))
    linkless = replace(story, url="")
    assert story_key(linkless) == story_key(replace(linkless, title="Edited"))


def test_unknown_move_target_and_stale_keys_are_harmless():
    edition = sample_edition()
    changes = {
        "move": {key_of(edition, "Dutch"): "no-such-section"},
        "exclude": ["000000000000"],
        "pin": "not a list",
        "edit": {"x": "not a dict"},
    }
    assert titles(apply_changes(edition, changes)) == titles(edition)


def test_include_unpin_and_empty_edits_undo():
    key = key_of(sample_edition(), "Dutch")
    changes = update_changes({}, "exclude", key)
    assert update_changes(changes, "include", key) == {}
    changes = update_changes({}, "pin", key)
    assert update_changes(changes, "unpin", key) == {}
    changes = update_changes({}, "title", key, "New")
    assert update_changes(changes, "title", key, "   ") == {}
    # excluding a pinned story unpins it
    assert update_changes(update_changes({}, "pin", key), "exclude", key) == {"exclude": [key]}


def test_bad_actions_are_usage_errors():
    with pytest.raises(UsageError):
        update_changes({}, "delete-everything", "k")
    with pytest.raises(UsageError):
        update_changes({}, "pin", "")
    with pytest.raises(UsageError):
        update_changes({}, "note", "", "x" * 5000)
