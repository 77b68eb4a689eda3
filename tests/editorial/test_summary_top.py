"""Summaries as the top of the email shows them: no wire datelines, no repeated content."""

from __future__ import annotations

import pytest

from digest.editorial.datelines import strip_dateline
from digest.editorial.summarize import summarize
from tests.editorial.conftest import make_item


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("WASHINGTON — The Commerce Department widened curbs.", "The Commerce Department"),
        ("BEIJING, Oct 17 (Reuters) - China said it would respond.", "China said"),
        ("HONG KONG (AP) — Stocks in Hong Kong fell on Monday.", "Stocks in Hong Kong"),
        ("SAN FRANCISCO/BEIJING, Oct. 17 (Reuters) - Nvidia said it complied.", "Nvidia said"),
        ("TAIPEI, Taiwan (AP) — Taiwan's exports rose.", "Taiwan's exports"),
        ("WASHINGTON, D.C. — Officials met on Friday.", "Officials met"),
        ("Beijing (AFP) - China hit back at the curbs.", "China hit back"),
        ("(Reuters) - China hit back at the curbs.", "China hit back"),
        ("LONDON, March 3, 2026 (Reuters) - Copper rose.", "Copper rose."),
    ],
)
def test_wire_datelines_are_trimmed(sentence, expected):
    trimmed = strip_dateline(sentence)
    assert trimmed.startswith(expected)
    assert sentence.endswith(trimmed)  # still a verbatim part of the source


@pytest.mark.parametrize(
    "sentence",
    [
        "US - China talks resume in Geneva on Monday.",
        "Beijing - a city of twenty million - said nothing.",
        "The US — and its allies — agreed on the rules.",
        "China said on Tuesday it would respond.",
        "KENNEDY: China is winning the chip race.",  # a columnist's kicker, not a place
    ],
)
def test_prose_that_looks_like_a_dateline_is_kept(sentence):
    assert strip_dateline(sentence) == sentence


def test_summary_has_no_dateline():
    item = make_item(
        "China vows response to new US chip curbs",
        "BEIJING, Oct 17 (Reuters) - China's commerce ministry said on Tuesday it would take "
        "necessary measures to protect its firms after Washington widened chip export curbs.",
    )
    summary = summarize([item])
    assert summary.startswith("China's commerce ministry said on Tuesday")
    assert "Reuters" not in summary and "BEIJING" not in summary


def test_summary_never_repeats_a_sentence_in_other_words():
    # The second outlet restates the first's lead and adds a clause. Measured on the longer
    # sentence most of its words are new, yet it tells the reader nothing new.
    first = make_item(
        "China bans gallium exports to the US",
        "China banned gallium exports to the United States. Some traders said prices of the "
        "metal could double in Rotterdam.",
        feed="Daily Ledger",
        hours=-5,
    )
    second = make_item(
        "China bans gallium exports to the US",
        "Metal traders in Rotterdam braced for a volatile week. China banned gallium exports to "
        "the United States on Monday in retaliation for Washington's latest chip curbs, the "
        "commerce ministry announced.",
        feed="Market Times",
        hours=-4,
    )
    summary = summarize([first, second], max_words=80)
    assert summary.count("China banned gallium exports") == 1, summary
    assert summary.startswith("China banned gallium exports to the United States. ")
    # a second sentence that does add news is still used
    assert summary.endswith(("Rotterdam.", "volatile week.")), summary


def test_near_duplicate_is_judged_on_the_shorter_sentence():
    from digest.editorial.summarize import _near_duplicate

    short = frozenset({"china", "banned", "gallium", "export"})
    long = short | {"monday", "commerce", "ministry", "statement", "evening", "security"}
    assert _near_duplicate(short, long) and _near_duplicate(long, short)
    other = frozenset({"trader", "expect", "price", "metal", "climb", "gallium"})
    assert not _near_duplicate(long, other)


def test_summary_does_not_repeat_the_headline_above_it():
    headline = "China and US agree to resume trade talks next month"
    copy = make_item(headline, "")
    # alone, the title is the only sentence: as the headline's copy it is no summary
    assert summarize([copy], headline=headline) == ""
    # a lead that says who, when and why keeps its place although it holds the headline
    lead = make_item(
        headline,
        "China and the US agreed on Friday to resume trade talks next month in Geneva, after "
        "a phone call between their commerce ministers.",
    )
    assert summarize([lead], headline=headline).startswith("China and the US agreed on Friday")
    # another outlet's sentence is used instead of the copy
    other = make_item(
        "Trade talks to restart",
        "Negotiators from both sides will meet in Geneva to discuss tariffs on farm goods.",
        feed="Market Times",
    )
    summary = summarize([copy, other], headline=headline)
    assert summary.startswith("Negotiators from both sides"), summary
