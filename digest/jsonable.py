"""Domain values as JSON-ready data: what the commands print with --json."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields, is_dataclass
from datetime import date
from enum import Enum
from pathlib import PurePath
from typing import Any


def jsonable(value: Any, *, omit: Collection[str] = ()) -> Any:
    """``value`` with dataclasses as dicts (their fields but ``omit``), dates in ISO 8601,
    enums as their values and paths as strings, all the way down."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name)) for f in fields(value) if f.name not in omit
        }
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value
