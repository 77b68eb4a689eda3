"""Loading topic definitions from TOML.

A topic file is edited by people, so every problem is reported as one :class:`TopicError`
line naming the file and what is wrong with it.

A term list can be written in either of two forms::

    # compact: a table of phrase = weight
    [subject_terms]
    "huawei" = 2.0
    "beijing" = 1.5

    # or a list whose entries are tables, bare phrases (weight 1.0) or "phrase = weight"
    subject_terms = [{ phrase = "huawei", weight = 2.0 }, "beijing", "smic = 2.5"]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from digest.errors import TopicError
from digest.topic_files import bundled_topics, missing_topic, topic_location
from digest.types import Topic, TopicSection, WeightedTerm

__all__ = ["bundled_topics", "load_topic", "parse_topic"]

_TERM_LISTS = ("subject_terms", "policy_terms", "strong_terms", "negative_terms")


def load_topic(key_or_path: str | Path) -> Topic:
    """Load a topic: a bare key ("us-china-trade") is a bundled topic, anything else a file path."""
    path, _is_key = topic_location(key_or_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise missing_topic(key_or_path) or TopicError(f"topic file {path} not found") from exc
    except OSError as exc:
        raise TopicError(f"topic file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TopicError(f"topic file {path} is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TopicError(f"topic file {path} is not valid TOML: {exc}") from exc
    try:
        return parse_topic(data, default_key=path.stem)
    except (TypeError, ValueError, KeyError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise TopicError(f"topic file {path}: {message}") from exc


def parse_topic(data: dict[str, Any], *, default_key: str | None = None) -> Topic:
    """Build a :class:`Topic` from parsed TOML; raises ValueError with a readable message."""
    key = data.get("key", default_key)
    title = data.get("title")
    if not isinstance(key, str) or not key.strip():
        raise ValueError("'key' must be a non-empty string")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("'title' must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ValueError("'description' must be a string")
    threshold = data.get("threshold", 1.0)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ValueError("'threshold' must be a number")

    lists = {name: _terms(data.get(name, []), name) for name in _TERM_LISTS}

    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise ValueError("at least one [[sections]] table is required")
    sections = []
    seen: set[str] = set()
    for number, entry in enumerate(raw_sections, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"sections #{number} must be a table")
        skey, stitle = entry.get("key"), entry.get("title")
        if not isinstance(skey, str) or not skey.strip():
            raise ValueError(f"sections #{number} needs a 'key' string")
        if not isinstance(stitle, str) or not stitle.strip():
            raise ValueError(f"section {skey!r} needs a 'title' string")
        if skey in seen:
            raise ValueError(f"section key {skey!r} appears twice")
        seen.add(skey)
        terms = _terms(entry.get("terms", []), f"section {skey!r} terms")
        rank_weight = entry.get("rank_weight", 1.0)
        if (
            isinstance(rank_weight, bool)
            or not isinstance(rank_weight, (int, float))
            or rank_weight < 0
        ):
            raise ValueError(f"section {skey!r}: 'rank_weight' must be a number of 0 or more")
        sections.append(
            TopicSection(key=skey, title=stitle, terms=terms, rank_weight=float(rank_weight))
        )

    options = data.get("options", {})
    if not isinstance(options, dict):
        raise ValueError("'options' must be a table")

    return Topic(
        key=key.strip(),
        title=title.strip(),
        description=description.strip(),
        sections=tuple(sections),
        threshold=float(threshold),
        options=dict(options),
        **lists,
    )


def _terms(raw: Any, where: str) -> tuple[WeightedTerm, ...]:
    if isinstance(raw, dict):
        raw = [{"phrase": phrase, "weight": weight} for phrase, weight in raw.items()]
    if not isinstance(raw, list):
        raise ValueError(f"{where} must be a table of phrase = weight or a list")
    terms = []
    phrase: Any
    weight: Any
    for entry in raw:
        if isinstance(entry, str):
            phrase, _, weight_text = entry.partition("=")
            try:
                weight = float(weight_text) if weight_text.strip() else 1.0
            except ValueError:
                raise ValueError(f"{where}: bad weight in {entry!r}") from None
        elif isinstance(entry, dict):
            phrase, weight = entry.get("phrase"), entry.get("weight", 1.0)
            if not isinstance(phrase, str):
                raise ValueError(f"{where}: every term needs a 'phrase' string")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise ValueError(f"{where}: weight of {phrase!r} must be a number")
        else:
            raise ValueError(f"{where}: {entry!r} is neither a phrase nor a table")
        phrase = " ".join(phrase.lower().split())
        if not phrase:
            raise ValueError(f"{where}: empty phrase")
        terms.append(WeightedTerm(phrase=phrase, weight=float(weight)))
    return tuple(terms)
