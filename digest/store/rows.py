"""From ORM rows (or result rows) to the frozen values the rest of the code sees."""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def value_of(cls: type[V], row: Any, **given: Any) -> V:
    """``cls`` built from the row's attributes of the same names; ``given`` takes precedence.

    A field the row lacks keeps its default, so a value may carry fields that no column holds
    (counts, flags computed by the query) when they are passed in ``given``.
    """
    values = {}
    for name in _field_names(cls):
        if name in given:
            values[name] = given[name]
        elif hasattr(row, name):
            values[name] = getattr(row, name)
    return cls(**values)
