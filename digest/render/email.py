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

import gettext
import html
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from markupsafe import Markup

from digest.delivery.bodies import encoded_size
from digest.errors import RenderError
from digest.i18n import SOURCE_LANGUAGE, Dates, translations
from digest.render.templates import make_environment, safe_url
from digest.types import Edition, RenderedEmail, Story

__all__ = [
    "EditionRenderer",
    "RenderedEdition",
    "SUBJECT_MAX_LENGTH",
    "EMAIL_BUDGET_BYTES",
    "MAX_EMAIL_STORIES",
]

#: Longest subject produced (characters); longer ones are cut at a word boundary with "…".
SUBJECT_MAX_LENGTH = 80

HTML_TEMPLATE = "email/digest.html.j2"
TEXT_TEMPLATE = "email/digest.txt.j2"

#: Gmail clips a message over 102 KB. The two parts, encoded as they go out (before the
#: subscriber's links, which add a few hundred bytes; headers take about one KB more), are kept
#: under this many bytes by showing fewer stories.
EMAIL_BUDGET_BYTES = 96_000
#: At most this many stories in one email, whatever the day's volume (the rest are on the web).
MAX_EMAIL_STORIES = 40
#: Per-story caps in the email (the web edition shows everything in full).
_SUMMARY_MAX = 700
_TITLE_MAX = 300
_OUTLET_MAX = 80
_ALSO_MAX = 6

_PREHEADER_STORIES = 3
_BRIEF_STORIES = 3
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
class _Link:
    #: Number of the link in the plain-text part ([1], [2], ...).
    number: int
    label: str
    url: str


@dataclass(frozen=True)
class _StoryView:
    title: str
    #: The story's link, or "" when it is not a plain http(s) link (it is then not shown).
    url: str
    summary: str
    source: str
    #: Other outlets that carried the story, each with its link ("" when unsafe).
    also: tuple[tuple[str, str], ...]
    #: How many more outlets carried it than are listed.
    also_more: int
    time: str
    published: datetime
    #: The story's links, numbered for the plain-text part.
    links: tuple[_Link, ...]

    @property
    def also_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.also)


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
    ``subject_label`` opens the subject (default: the edition's topic title). ``language``
    writes its dates and fixed text; story times are shown in the edition's zone, or in
    ``timezone`` (the digest's own) for an edition of the digest's own zone.
    """

    def __init__(
        self,
        *,
        digest_name: str,
        base_url: str,
        contact_line: str = "",
        templates: Path | None = None,
        overrides: Path | None = None,
        max_stories_per_section: int = 8,
        subject_label: str | None = None,
        language: str = SOURCE_LANGUAGE,
        timezone: str = "UTC",
    ) -> None:
        if max_stories_per_section < 1:
            raise RenderError("max_stories_per_section must be at least 1")
        self.digest_name = _one_line(digest_name)
        self.base_url = base_url.rstrip("/")
        self.contact_line = contact_line.strip()
        self.max_stories_per_section = max_stories_per_section
        self.subject_label = _one_line(subject_label) if subject_label else None
        self.language = language
        self.timezone = timezone
        self._templates = (templates, overrides)
        self._envs: dict[str, jinja2.Environment] = {}
        self._translations = translations(language)
        self._dates = Dates(language)
        self._env(timezone)  # a missing templates folder is an error now, not at the first send
        self._inliner = css_inline.CSSInliner(
            keep_at_rules=True,  # the @media rules stay in a <style> block
            minify_css=True,  # inlined styles without spaces: bytes in every email
            load_remote_stylesheets=False,
        )

    # --- public -----------------------------------------------------------------------------

    def render(self, edition: Edition) -> RenderedEdition:
        """Render the edition once, with placeholder markers for the per-subscriber links.

        However many stories the day has, the email stays under :data:`EMAIL_BUDGET_BYTES`: the
        email shows the top stories of each section and links to the web edition for the rest,
        showing fewer until it fits.
        """
        nonce = secrets.token_hex(8)
        unsubscribe_marker = f"DIGEST-UNSUBSCRIBE-URL-{nonce}"
        preferences_marker = f"DIGEST-PREFERENCES-URL-{nonce}"
        per_section = self.max_stories_per_section
        total = MAX_EMAIL_STORIES
        while True:
            context = self._context(edition, per_section=per_section, total=total)
            context["unsubscribe_url"] = unsubscribe_marker
            context["preferences_url"] = preferences_marker
            html_part, text_part = self._render_parts(context)
            shown = context["shown_count"]
            size = encoded_size(html_part, text_part)
            if size <= EMAIL_BUDGET_BYTES or shown <= 1:
                break
            # shrink in proportion to the overshoot, at least one story less
            ratio = EMAIL_BUDGET_BYTES / size
            total = max(1, min(shown - 1, int(shown * ratio * 0.95)))
            per_section = min(per_section, total)
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

    def render_web(self, edition: Edition) -> str:
        """The edition as a web page (the archive's "view online"): every story, in full."""
        context = self._context(edition, per_section=None, total=None, web=True)
        context["unsubscribe_url"] = ""
        context["preferences_url"] = ""
        html_part, _ = self._render_parts(context, text=False)
        return html_part.strip() + "\n"

    def _env(self, zone: str) -> jinja2.Environment:
        """The templates' environment for an edition of ``zone`` (made once per zone)."""
        if zone not in self._envs:
            self._envs[zone] = make_environment(
                *self._templates, language=self.language, timezone=zone
            )
        return self._envs[zone]

    def _render_parts(self, context: dict[str, Any], *, text: bool = True) -> tuple[str, str]:
        env = self._env(context["zone"])
        try:
            html_part = env.get_template(HTML_TEMPLATE).render(context)
            text_part = env.get_template(TEXT_TEMPLATE).render(context) if text else ""
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"email template not found: {exc.name}") from exc
        except jinja2.TemplateError as exc:
            raise RenderError(f"email template failed to render: {exc}") from exc
        try:
            html_part = self._inliner.inline(html_part)
        except (css_inline.InlineError, ValueError) as exc:
            raise RenderError(f"CSS inlining failed: {exc}") from exc
        return html_part, text_part

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
        prefix = f"{label}, {self._dates.short_date(edition.date)}"
        lead = _lead_story(edition)
        quiet = self._translations.gettext("no major developments")
        headline = _one_line(lead.title) if lead is not None else quiet
        if not headline:
            return _truncate(prefix, SUBJECT_MAX_LENGTH)
        return _truncate(f"{prefix}: {headline}", SUBJECT_MAX_LENGTH)

    def archive_url(self, edition: Edition) -> str:
        """The edition's own page: a zone's edition has the zone in its path."""
        zone = f"/{edition.zone}" if edition.zone else ""
        return f"{self.base_url}/archive/{edition.date.isoformat()}{zone}"

    # --- internals --------------------------------------------------------------------------

    def _context(
        self,
        edition: Edition,
        *,
        per_section: int | None = None,
        total: int | None = None,
        web: bool = False,
    ) -> dict[str, Any]:
        """Template values. ``per_section``/``total`` cap the stories shown (None: all)."""
        if per_section is None and not web:
            per_section = self.max_stories_per_section
        sections = []
        shown_stories: list[Story] = []
        left = total
        numbers = iter(range(1, 1_000_000))
        zone = edition.zone or self.timezone
        dates = Dates(self.language, zone)
        # a byline's time alone is ambiguous when the window covers parts of two days
        spans = dates.spans_two_days(edition.window.start, edition.window.end)
        local_time = dates.day_time if spans else dates.time
        for section in edition.sections:
            if not section.stories:
                continue
            room = len(section.stories) if per_section is None else per_section
            if left is not None:
                room = min(room, left)
            shown = section.stories[:room]
            if left is not None:
                left -= len(shown)
            shown_stories.extend(shown)
            sections.append(
                _SectionView(
                    key=section.key,
                    title=_one_line(section.title),
                    stories=tuple(
                        _story_view(story, numbers, local_time, full=web) for story in shown
                    ),
                    hidden_count=len(section.stories) - len(shown),
                )
            )
        story_count = sum(len(section.stories) for section in edition.sections)
        shown_count = sum(len(section.stories) for section in sections)
        return {
            "digest_name": self.digest_name,
            "topic_title": _one_line(edition.topic_title),
            "topic": edition.topic,
            "edition_date": edition.date,
            "window_label": _window_label(
                edition.window.end - edition.window.start, self._translations
            ),
            "zone": zone,
            "base_url": self.base_url,
            "archive_url": self.archive_url(edition),
            "archive_index_url": f"{self.base_url}/archive",
            "contact_line": self.contact_line,
            "note": edition.note.strip(),
            "sections": [section for section in sections if section.stories],
            # sections with stories that did not fit at all (huge days only)
            "unshown_sections": [section.title for section in sections if not section.stories],
            "is_empty": not sections,
            "story_count": story_count,
            "shown_count": shown_count,
            "section_count": len(sections),
            # "Today in brief": the headlines of the top stories the email shows
            "brief": [
                _truncate(_one_line(story.title) or "(untitled)", _TITLE_MAX)
                for story in _top_stories(shown_stories)[:_BRIEF_STORIES]
            ],
            "preheader": _preheader(edition, self._translations),
            "preheader_spacer": Markup(_PREHEADER_SPACER),
            "web": web,
        }


def _story_view(
    story: Story,
    numbers: Iterator[int],
    local_time: Callable[[datetime], str],
    *,
    full: bool = False,
) -> _StoryView:
    # one entry per outlet: two feeds of one newspaper (same key) are listed once
    outlets: dict[str, str] = {}
    seen: set[str] = set()
    for source in story.sources:
        name = _truncate(_one_line(source.feed), _OUTLET_MAX)
        key = source.outlet or name
        if name and key not in seen and name not in outlets:
            seen.add(key)
            outlets[name] = safe_url(source.url, fallback="")
    names = list(outlets)
    title = _one_line(story.title) or "(untitled)"
    summary = " ".join(story.summary.split())
    if not full:
        title = _truncate(title, _TITLE_MAX)
        summary = _truncate(summary, _SUMMARY_MAX)
    also = [(name, outlets[name]) for name in names[1:]]
    listed = also if full else also[:_ALSO_MAX]
    url = safe_url(story.url, fallback="")
    links = []
    if url:
        links.append(_Link(next(numbers), names[0] if names else "Read", url))
    for name, link in listed:
        if link and link != url:
            links.append(_Link(next(numbers), name, link))
    return _StoryView(
        title=title,
        url=url,
        summary=summary,
        source=names[0] if names else "",
        also=tuple(listed),
        also_more=len(also) - len(listed),
        # the byline is the headline's source: its outlet with its own time
        time=local_time(story.sources[0].published if story.sources else story.published),
        published=story.published,
        links=tuple(links),
    )


def _top_stories(stories: Sequence[Story]) -> list[Story]:
    """The email's first story, then the others by score (ties keep the email's order).

    The first story leads whatever the scores say: a reader opening the email on the subject's
    promise must find that story at the top, and sections may be ordered (or a story pinned) so
    that the highest-scored story sits lower down.
    """
    if not stories:
        return []
    return [stories[0], *sorted(stories[1:], key=lambda story: -story.score)]


def _lead_story(edition: Edition) -> Story | None:
    top = _top_stories(edition.stories)
    return top[0] if top else None


def _preheader(edition: Edition, language: gettext.NullTranslations) -> str:
    titles = [_one_line(s.title) for s in _top_stories(edition.stories)[:_PREHEADER_STORIES]]
    titles = [title for title in titles if title]
    if not titles:
        quiet = language.gettext("No major developments on %(topic)s today.")
        return quiet % {"topic": _one_line(edition.topic_title)}
    return _truncate(" · ".join(titles), _PREHEADER_MAX_LENGTH)


def _window_label(span: timedelta, language: gettext.NullTranslations) -> str:
    """What "in the last …" ends with: "24 hours", "hour", "3 days"."""
    hours = round(span.total_seconds() / 3600)
    if hours <= 0:
        hours = 24
    if hours % 24 == 0 and hours > 24:
        days = hours // 24
        return language.ngettext("%(num)d day", "%(num)d days", days) % {"num": days}
    return language.ngettext("hour", "%(num)d hours", hours) % {"num": hours}


def _tidy_text(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
