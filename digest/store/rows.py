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


@cache
def _shared_names(cls: type[DataclassInstance], columns: tuple[str, ...]) -> tuple[str, ...]:
    """The fields of ``cls`` that a result row with these columns holds."""
    present = set(columns)
    return tuple(name for name in _field_names(cls) if name in present)


def value_of(cls: type[V], row: Any, **given: Any) -> V:
    """``cls`` built from the row's attributes of the same names; ``given`` takes precedence.

    A field the row lacks keeps its default, so a value may carry fields that no column holds
    (counts, flags computed by the query) when they are passed in ``given``.
    """
    columns = getattr(row, "_fields", None)
    if isinstance(columns, tuple):
        # A result row names its columns: no failed attribute lookup per missing field (a
        # send reads every subscriber this way, and those lookups were most of its cost).
        names = _shared_names(cls, columns)
    else:
        names = tuple(name for name in _field_names(cls) if hasattr(row, name))
    values = {name: getattr(row, name) for name in names}
    values.update((name, given[name]) for name in _field_names(cls) if name in given)
    return cls(**values)
