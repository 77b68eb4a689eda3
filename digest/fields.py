"""A value's named attributes as a mapping: the shape of JSON reports and of statement rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def fields_of(value: object, names: Iterable[str]) -> dict[str, Any]:
    """``value``'s attributes ``names``, in that order, keyed by their names."""
    return {name: getattr(value, name) for name in names}
