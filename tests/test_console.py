"""What commands print for people: feed text is shown literally, never read as markup."""

from __future__ import annotations

from datetime import UTC, date, datetime

from digest import console
from digest.types import Edition, Section, Source, Story, Window

T = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_feed_text_that_looks_like_console_markup_is_printed_literally(capsys):
    hostile = "[/bold] China [red]tariffs[/red] [link=https://x.example]x[/link]"
    story = Story(
        title=hostile,
        url="https://a.example/[1]",
        summary="A [b]bracketed[/] summary.",
        published=T,
        section="tariffs",
        score=1.0,
        sources=(
            Source(
                item_id=1, feed="Outlet [x]", title=hostile, url="https://a.example/1", published=T
            ),
        ),
    )
    edition = Edition(
        topic="us-china-trade",
        topic_title="US–China trade dispute",
        date=date(2025, 6, 2),
        window=Window(T, T),
        sections=(Section("tariffs", "Tariffs [&] trade", (story,)),),
    )
    console.print_edition(edition)
    out = capsys.readouterr().out
    assert hostile in out
    assert "A [b]bracketed[/] summary." in out
    assert "Outlet [x]" in out and "Tariffs [&] trade" in out
