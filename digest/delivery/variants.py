"""Subscribers' preferences at send time: which sections, and HTML or plain text.

Each distinct preference (a *variant*) is rendered once per edition and cached; its message
template is then personalized per subscriber like the full edition's.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from digest.delivery.compose import MessageTemplate
from digest.render.email import RenderedEdition
from digest.types import Edition


def parse_variant(key: str | None) -> tuple[bool, frozenset[str]]:
    """``(text_only, chosen section keys)`` from a ledger variant like ``html:a,b``."""
    kind, _, sections = (key or "html").partition(":")
    return kind == "text", frozenset(s for s in sections.split(",") if s)


def edition_for(edition: Edition, sections: frozenset[str]) -> Edition:
    """The edition restricted to ``sections`` (all of it when none are chosen)."""
    if not sections:
        return edition
    return dataclasses.replace(
        edition, sections=tuple(s for s in edition.sections if s.key in sections)
    )


class VariantTemplates:
    """Message templates per variant, rendered on first use (thread-safe)."""

    def __init__(
        self,
        edition: Edition,
        render: Callable[[Edition], RenderedEdition],
        make_template: Callable[[RenderedEdition, bool], MessageTemplate],
    ) -> None:
        self._edition = edition
        self._render = render
        self._make_template = make_template
        self._templates: dict[tuple[bool, frozenset[str]], MessageTemplate] = {}
        # Per ledger key, so a message costs one lookup (many keys share a template).
        self._by_key: dict[str | None, MessageTemplate] = {}
        self._lock = threading.Lock()

    def get(self, key: str | None) -> MessageTemplate:
        template = self._by_key.get(key)
        if template is None:
            template = self._by_key[key] = self._get(key)
        return template

    def _get(self, key: str | None) -> MessageTemplate:
        text_only, chosen = parse_variant(key)
        # Sections the edition does not have today do not make a different email...
        sections = chosen & {s.key for s in self._edition.sections}
        if chosen and not sections:
            sections = frozenset({""})  # ...but none of theirs today is an edition without news
        cache_key = (text_only, sections)
        template = self._templates.get(cache_key)
        if template is None:
            with self._lock:
                template = self._templates.get(cache_key)
                if template is None:
                    rendered = self._render(edition_for(self._edition, sections))
                    template = self._make_template(rendered, text_only)
                    self._templates[cache_key] = template
        return template

    def __len__(self) -> int:
        return len(self._templates)
