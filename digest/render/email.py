"""Render an edition into the subject, HTML and plain-text parts of the daily email.

Jinja2 and CSS inlining are slow next to a string replace, so an edition is rendered **once**
(:meth:`EditionRenderer.render`) with unique placeholder markers where the per-subscriber links
go; :meth:`RenderedEdition.personalize` then swaps in each subscriber's links.

The markers look like ``DIGEST-UNSUBSCRIBE-URL-<16 hex digits>`` (likewise ``PREFERENCES``):
letters, digits and hyphens only, so autoescaping, the HTML serializer of the CSS inliner and
text wrapping all leave them unchanged, and the random part, new for every render, cannot be
guessed by feed text.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from markupsafe import Markup

from digest.errors import RenderError
from digest.render.templates import make_environment, safe_url, short_date, utc_time
from digest.types import Edition, RenderedEmail, Story

__all__ = ["EditionRenderer", "RenderedEdition", "SUBJECT_MAX_LENGTH"]

#: Longest subject produced (characters); longer ones are cut at a word boundary with "…".
SUBJECT_MAX_LENGTH = 80

HTML_TEMPLATE = "email/digest.html.j2"
TEXT_TEMPLATE = "email/digest.txt.j2"

_PREHEADER_STORIES = 3
_PREHEADER_MAX_LENGTH = 140
# Invisible filler after the preheader so mail clients do not pad the preview with body text.
_PREHEADER_SPACER = "&#847;&zwnj;&nbsp;" * 40

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BLANK_LINES = re.compile(r"\n{3,}")


def _one_line(value: str) -> str:
    """Collapse every run of whitespace (line breaks included) into one space; drop controls."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _truncate(value: str, limit: int) -> str:
    """``value`` cut at a word boundary so that, with a trailing "…", it fits ``limit``."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _check_url(kind: str, url: str) -> str:
    if not url or any(ch.isspace() for ch in url) or _CONTROL.search(url):
        raise RenderError(f"{kind} URL is empty or contains whitespace or control characters")
    return url


@dataclass(frozen=True)
class RenderedEdition:
    """Rendered once per edition; personalized cheaply per subscriber."""

    subject: str
    #: HTML with placeholder markers for per-subscriber values.
    html: str
    #: Plain text with the same markers.
    text: str
    #: The markers standing for the subscriber's unsubscribe and preferences links.
    unsubscribe_marker: str = "DIGEST-UNSUBSCRIBE-URL"
    preferences_marker: str = "DIGEST-PREFERENCES-URL"

    def personalize(self, *, unsubscribe_url: str, preferences_url: str) -> RenderedEmail:
        """One subscriber's email: the markers replaced by their links (HTML-escaped in HTML)."""
        _check_url("unsubscribe", unsubscribe_url)
        _check_url("preferences", preferences_url)
        html_part = self.html.replace(
            self.unsubscribe_marker, html.escape(unsubscribe_url, quote=True)
        ).replace(self.preferences_marker, html.escape(preferences_url, quote=True))
        text_part = self.text.replace(self.unsubscribe_marker, unsubscribe_url).replace(
            self.preferences_marker, preferences_url
        )
        return RenderedEmail(subject=self.subject, html=html_part, text=text_part)


@dataclass(frozen=True)
class _StoryView:
    title: str
    #: The story's link, or "" when it is not a plain http(s) link (it is then not shown).
    url: str
    summary: str
    source: str
    also: tuple[str, ...]
    time: str
    published: datetime


@dataclass(frozen=True)
class _SectionView:
    key: str
    title: str
    stories: tuple[_StoryView, ...]
    #: Stories of the section left out of the email (shown in the archive).
    hidden_count: int


class EditionRenderer:
    """Turns an :class:`~digest.types.Edition` into a :class:`RenderedEdition`.

    ``digest_name`` titles the email ("The Trade Brief"), ``base_url`` is the web root the
    archive links are made from, ``contact_line`` is the contact/postal line of the footer.
    ``subject_label`` opens the subject (default: the edition's topic title).
    """

    def __init__(
        self,
        *,
        digest_name: str,
        base_url: str,
        contact_line: str = "",
        templates: Path | None = None,
        max_stories_per_section: int = 8,
        subject_label: str | None = None,
    ) -> None:
        if max_stories_per_section < 1:
            raise RenderError("max_stories_per_section must be at least 1")
        self.digest_name = _one_line(digest_name)
        self.base_url = base_url.rstrip("/")
        self.contact_line = contact_line.strip()
        self.max_stories_per_section = max_stories_per_section
        self.subject_label = _one_line(subject_label) if subject_label else None
        self._env = make_environment(templates)
        self._inliner = css_inline.CSSInliner(
            keep_at_rules=True,  # the @media rules stay in a <style> block
            load_remote_stylesheets=False,
        )

    # --- public -----------------------------------------------------------------------------

    def render(self, edition: Edition) -> RenderedEdition:
        """Render the edition once, with placeholder markers for the per-subscriber links."""
        nonce = secrets.token_hex(8)
        unsubscribe_marker = f"DIGEST-UNSUBSCRIBE-URL-{nonce}"
        preferences_marker = f"DIGEST-PREFERENCES-URL-{nonce}"
        context = self._context(edition)
        context["unsubscribe_url"] = unsubscribe_marker
        context["preferences_url"] = preferences_marker
        try:
            html_part = self._env.get_template(HTML_TEMPLATE).render(context)
            text_part = self._env.get_template(TEXT_TEMPLATE).render(context)
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"email template not found: {exc.name}") from exc
        except jinja2.TemplateError as exc:
            raise RenderError(f"email template failed to render: {exc}") from exc
        try:
            html_part = self._inliner.inline(html_part)
        except (css_inline.InlineError, ValueError) as exc:
            raise RenderError(f"CSS inlining failed: {exc}") from exc
        for name, marker in (
            ("unsubscribe", unsubscribe_marker),
            ("preferences", preferences_marker),
        ):
            if marker not in html_part or marker not in text_part:
                raise RenderError(f"the email templates must both show the {name} link")
        return RenderedEdition(
            subject=self.subject(edition),
            html=html_part.strip() + "\n",
            text=_tidy_text(text_part),
            unsubscribe_marker=unsubscribe_marker,
            preferences_marker=preferences_marker,
        )

    def render_preview(self, edition: Edition) -> RenderedEmail:
        """The email as an editor previews it: sample links in place of a subscriber's.

        The sample links have the shape of the real ones but a token ("preview") that the web
        pages refuse, so clicking them in a preview changes nothing.
        """
        return self.render(edition).personalize(
            unsubscribe_url=f"{self.base_url}/u/preview",
            preferences_url=f"{self.base_url}/preferences/preview",
        )

    def subject(self, edition: Edition) -> str:
        """``<label>, 10 Mar: <lead story title>``, one line, at most 80 characters."""
        label = self.subject_label or _one_line(edition.topic_title)
        prefix = f"{label}, {short_date(edition.date)}"
        lead = _lead_story(edition)
        headline = _one_line(lead.title) if lead is not None else "no major developments"
        if not headline:
            return _truncate(prefix, SUBJECT_MAX_LENGTH)
        return _truncate(f"{prefix}: {headline}", SUBJECT_MAX_LENGTH)

    def archive_url(self, edition: Edition) -> str:
        return f"{self.base_url}/archive/{edition.date.isoformat()}"

    # --- internals --------------------------------------------------------------------------

    def _context(self, edition: Edition) -> dict[str, Any]:
        sections = []
        for section in edition.sections:
            if not section.stories:
                continue
            shown = section.stories[: self.max_stories_per_section]
            sections.append(
                _SectionView(
                    key=section.key,
                    title=_one_line(section.title),
                    stories=tuple(_story_view(story) for story in shown),
                    hidden_count=len(section.stories) - len(shown),
                )
            )
        story_count = sum(len(section.stories) for section in edition.sections)
        return {
            "digest_name": self.digest_name,
            "topic_title": _one_line(edition.topic_title),
            "topic": edition.topic,
            "edition_date": edition.date,
            "window_label": _window_label(edition.window.end - edition.window.start),
            "base_url": self.base_url,
            "archive_url": self.archive_url(edition),
            "contact_line": self.contact_line,
            "sections": sections,
            "is_empty": not sections,
            "story_count": story_count,
            "section_count": len(sections),
            "preheader": _preheader(edition),
            "preheader_spacer": Markup(_PREHEADER_SPACER),
        }


def _story_view(story: Story) -> _StoryView:
    outlets = tuple(name for name in map(_one_line, story.outlets) if name)
    return _StoryView(
        title=_one_line(story.title) or "(untitled)",
        url=safe_url(story.url, fallback=""),
        summary=" ".join(story.summary.split()),
        source=outlets[0] if outlets else "",
        also=outlets[1:],
        time=utc_time(story.published),
        published=story.published,
    )


def _ranked(edition: Edition) -> list[Story]:
    """Stories by score, highest first; ties keep the edition's order."""
    return sorted(edition.stories, key=lambda story: -story.score)


def _lead_story(edition: Edition) -> Story | None:
    ranked = _ranked(edition)
    return ranked[0] if ranked else None


def _preheader(edition: Edition) -> str:
    titles = [_one_line(story.title) for story in _ranked(edition)[:_PREHEADER_STORIES]]
    titles = [title for title in titles if title]
    if not titles:
        return f"No major developments on {_one_line(edition.topic_title)} today."
    return _truncate(" · ".join(titles), _PREHEADER_MAX_LENGTH)


def _window_label(span: timedelta) -> str:
    hours = round(span.total_seconds() / 3600)
    if hours <= 0:
        return "24 hours"
    if hours % 24 == 0 and hours > 24:
        return f"{hours // 24} days"
    return "hour" if hours == 1 else f"{hours} hours"


def _tidy_text(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
