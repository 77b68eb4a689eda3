"""The top of the email tells the truth: bylines, the subject's lead, the brief."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from digest.types import Edition, Section, Source, Story, Window
from tests.render.conftest import make_edition, make_story, sample_renderer, when

CURBS = "Washington widens curbs on chipmaking tool servicing"


def _two_source_story() -> Story:
    """A story whose headline comes from a source published after another outlet's item."""
    headline = Source(2, "Harbour Wire", CURBS, "https://news.example.com/curbs", when(22, 40))
    earlier = Source(
        1, "Lowlands Daily", "US tightens servicing", "https://news.example.net/s", when(7, 5)
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


def _two_source_edition(**changes: Any) -> Edition:
    """An edition of :func:`_two_source_story` alone, with ``changes`` (window, zone) made."""
    section = Section(key="chips", title="Export controls & chips", stories=(_two_source_story(),))
    return replace(make_edition((section,)), **changes)


def test_byline_pairs_the_headline_outlet_with_its_own_time_and_day():
    edition = _two_source_edition()
    rendered = sample_renderer().render(edition)
    # the window (06:00 to 06:00 UTC) spans 9 and 10 March, so the day is shown
    assert "Harbour Wire · 9 Mar 22:40 UTC" in rendered.text
    assert "Harbour Wire · 9 Mar 22:40 UTC" in rendered.html
    assert "07:05" not in rendered.text
    web = sample_renderer().render_web(edition)
    assert "Harbour Wire · 9 Mar 22:40 UTC" in web


def test_byline_has_no_day_when_the_window_is_one_day():
    edition = _two_source_edition(
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
    edition = _two_source_edition(
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


def _policy_after_colour():
    """Sections in the edition's order; the second holds the day's highest-scored story."""
    companies = Section(
        key="companies",
        title="Companies & markets",
        stories=(
            make_story(
                "Chip stocks rally in Hong Kong", "https://a.example/rally", section="c", score=3.0
            ),
            make_story(
                "Carmaker shifts battery orders",
                "https://a.example/battery",
                section="c",
                score=2.0,
            ),
        ),
    )
    talks = Section(
        key="talks",
        title="Talks & diplomacy",
        stories=(
            make_story(
                "Trade envoys agree to resume talks",
                "https://a.example/talks",
                section="t",
                score=9.0,
            ),
            make_story(
                "Ministers trade barbs over tariffs",
                "https://a.example/barbs",
                section="t",
                score=2.5,
            ),
        ),
    )
    return make_edition((companies, talks))


def test_subject_leads_with_the_emails_first_story():
    edition = _policy_after_colour()
    renderer = sample_renderer()
    email = renderer.render(edition)
    first_headline = next(line for line in email.text.splitlines() if line.startswith("* "))
    assert first_headline == "* Chip stocks rally in Hong Kong"
    assert email.subject == "US–China trade, 10 Mar: Chip stocks rally in Hong Kong"
    # the preheader, shown next to the subject in the inbox, opens with the same story
    assert "Chip stocks rally in Hong Kong · Trade envoys agree" in email.html


def test_subject_follows_a_subscribers_sections():
    edition = _policy_after_colour()
    only_talks = replace(edition, sections=edition.sections[1:])
    subject = sample_renderer().subject(only_talks)
    assert subject.endswith(": Trade envoys agree to resume talks")


def test_brief_names_the_top_three_headlines_in_both_parts():
    edition = _policy_after_colour()
    email = sample_renderer().render(edition)
    lines = email.text.splitlines()
    start = lines.index("Today in brief:")
    # the lead first (as in the subject), then the best-scored of the rest
    assert lines[start + 1 : start + 5] == [
        "- Chip stocks rally in Hong Kong",
        "- Trade envoys agree to resume talks",
        "- Ministers trade barbs over tariffs",
        "",
    ]
    assert "stories in" not in email.text  # no count instead of news
    items = re.findall(r"<li[^>]*>([^<]*)</li>", email.html)
    assert items == [
        "Chip stocks rally in Hong Kong",
        "Trade envoys agree to resume talks",
        "Ministers trade barbs over tariffs",
    ]
    assert "Carmaker shifts battery orders" not in re.search(
        r'class="brief".*?</td>', email.html, flags=re.S
    ).group(0)
    # the web edition (the archive's page of the day) opens the same way
    web = sample_renderer().render_web(edition)
    assert re.findall(r"<li[^>]*>([^<]*)</li>", web) == items


def test_brief_of_a_one_story_day_names_that_story():
    story = make_story("Lone story on tariffs", "https://a.example/x", section="t")
    edition = make_edition((Section(key="t", title="Tariffs", stories=(story,)),))
    lines = sample_renderer().render(edition).text.splitlines()
    start = lines.index("Today in brief:")
    assert lines[start + 1 : start + 3] == ["- Lone story on tariffs", ""]
