"""The top of the email tells the truth: bylines, the subject's lead, the brief."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from digest.types import Section, Source, Story, Window
from tests.render.conftest import make_edition, make_story, sample_renderer, when


def _two_source_story() -> Story:
    """A story whose headline comes from a source published after another outlet's item."""
    headline = Source(
        item_id=2,
        feed="Harbour Wire",
        title="Washington widens curbs on chipmaking tool servicing",
        url="https://news.example.com/curbs",
        published=when(22, 40),
    )
    earlier = Source(
        item_id=1,
        feed="Lowlands Daily",
        title="US to tighten servicing rules",
        url="https://news.example.net/servicing",
        published=when(7, 5),
    )
    return Story(
        title=headline.title,
        url=headline.url,
        summary="Commerce officials said the revised rules would cover servicing.",
        published=earlier.published,  # the story's earliest time is the other outlet's
        section="chips",
        score=5.0,
        sources=(headline, earlier),
    )


def test_byline_pairs_the_headline_outlet_with_its_own_time_and_day():
    edition = make_edition(
        (Section(key="chips", title="Export controls & chips", stories=(_two_source_story(),)),)
    )
    rendered = sample_renderer().render(edition)
    # the window (06:00 to 06:00 UTC) spans 9 and 10 March, so the day is shown
    assert "Harbour Wire · 9 Mar 22:40 UTC" in rendered.text
    assert "Harbour Wire · 9 Mar 22:40 UTC" in rendered.html
    assert "07:05" not in rendered.text
    web = sample_renderer().render_web(edition)
    assert "Harbour Wire · 9 Mar 22:40 UTC" in web


def test_byline_has_no_day_when_the_window_is_one_day():
    edition = replace(
        make_edition(
            (Section(key="chips", title="Export controls & chips", stories=(_two_source_story(),)),)
        ),
        window=Window(
            start=datetime(2026, 3, 9, 0, 0, tzinfo=UTC),
            end=datetime(2026, 3, 10, 0, 0, tzinfo=UTC),
        ),
    )
    rendered = sample_renderer().render(edition)
    assert "Harbour Wire · 22:40 UTC" in rendered.text
    assert "9 Mar 22:40" not in rendered.text


def test_byline_day_is_the_local_day_of_the_edition_zone():
    # 22:40 UTC on 9 March is 07:40 on 10 March in Tokyo; the window is Tokyo's 06:00 to 06:00
    edition = replace(
        make_edition(
            (Section(key="chips", title="Export controls & chips", stories=(_two_source_story(),)),)
        ),
        zone="Asia/Tokyo",
        window=Window(
            start=datetime(2026, 3, 8, 21, 0, tzinfo=UTC),
            end=datetime(2026, 3, 9, 21, 0, tzinfo=UTC) + (when(23) - when(0)),
        ),
    )
    rendered = sample_renderer().render(edition)
    assert "Harbour Wire · 10 Mar 07:40 JST" in rendered.text


def test_story_without_sources_falls_back_to_its_own_time():
    story = replace(
        make_story("Lone story on tariffs", "https://a.example/x", section="t"), sources=()
    )
    edition = make_edition((Section(key="t", title="Tariffs", stories=(story,)),))
    assert "9 Mar 09:30 UTC" in sample_renderer().render(edition).text
