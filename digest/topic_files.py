"""Where a topic's TOML file is: a bare key names a bundled topic, anything else is a path.

Kept apart from the topic parser (digest.editorial), so that a command can refuse a topic
that does not exist before it creates anything, without loading the editorial stages.
"""

from __future__ import annotations

from pathlib import Path

from digest.errors import TopicError


def topics_dir() -> Path:
    beside = Path(__file__).resolve().parent / "topics"
    if beside.is_dir():  # an installed package: no need to load importlib.resources
        return beside
    import importlib.resources

    try:
        return Path(str(importlib.resources.files("digest") / "topics"))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - namespace package oddities
        return beside


def bundled_topics() -> list[str]:
    """Keys of the topic files shipped with the package, sorted."""
    folder = topics_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.toml"))


def topic_location(key_or_path: str | Path) -> tuple[Path, bool]:
    """The topic's file, and whether it was named by a bundled key."""
    text = str(key_or_path)
    is_key = (
        not isinstance(key_or_path, Path)
        and "/" not in text
        and "\\" not in text
        and not text.endswith(".toml")
    )
    return (topics_dir() / f"{text}.toml" if is_key else Path(key_or_path)), is_key


def missing_topic(key_or_path: str | Path) -> TopicError | None:
    """The error for a topic whose file does not exist (None when it does): a quick look, so
    that a command with a mistyped topic stops before creating its database."""
    path, is_key = topic_location(key_or_path)
    if path.is_file():
        return None
    if is_key:
        known = ", ".join(bundled_topics()) or "none"
        return TopicError(
            f"unknown topic {str(key_or_path)!r} (no {path.name}; bundled topics: {known})"
        )
    return TopicError(f"topic file {path} not found")
