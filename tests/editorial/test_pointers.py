"""Pointers: a lone teaser naming only the beat's sides is listed under the day's lead story."""

from dataclasses import replace
from datetime import date, datetime, timedelta

from digest.editorial import build_edition
from digest.editorial.pointers import about_the_beat, fold_pointers, lower_case_words, topic_sides
from digest.types import Source, Story, Window
from tests.editorial import fixtures as fx
from tests.editorial.conftest import BASE, make_item

WINDOW = Window(BASE - timedelta(hours=24), BASE)
#: What a day of news writes in lower case, for telling names from words.
_DAY_TEXT = ["Their trade rose; tensions flare and fade; officials again met."]


def _story(
    title: str, score: float, *, summary: str = "", sources: int = 1, published: datetime = BASE
) -> Story:
    return Story(
        title=title,
        url=f"https://news.example/{title}",
        summary=summary,
        published=published,
        section="tariffs",
        score=score,
        sources=tuple(
            Source(hash((title, n)), "Wire", title, "u", published) for n in range(sources)
        ),
    )


def test_a_headline_about_the_beat_names_both_sides_and_no_one_else(topic):
    sides = topic_sides(topic)
    words = lower_case_words(_DAY_TEXT)
    assert about_the_beat("US-China trade tensions flare again", sides, words)
    assert about_the_beat("Washington and Beijing: Trade Tensions Flare Again", sides, words)
    # a name of its own is an event of its own: a company, a person, another country
    assert not about_the_beat("US-China trade tensions hit Zentrix", sides, words)
    assert not about_the_beat("Okafor says US-China trade tensions flare", sides, words)
    assert not about_the_beat("US and China trade tensions flare in Canada", sides, words)
    # one side is news about that side, not about the dispute ("us" is not the US)
    assert not about_the_beat("China trade tensions flare again", sides, words)
    assert not about_the_beat("China trade tensions flare again, say us", sides, words)


def test_a_pointer_is_listed_under_a_lead_that_is_clearly_ahead():
    lead = _story("US widens chip curbs", 9.0, summary="The US widened curbs.", sources=3)
    other = _story("China tariffs on pork", 4.0, summary="China set tariffs.")
    teaser = _story(
        "US-China trade tensions flare again", 12.0, published=BASE - timedelta(hours=1)
    )
    sides = {"us": "us", "china": "china"}
    folded = fold_pointers([teaser, lead, other], sides=sides, day_texts=_DAY_TEXT, ratio=1.5)
    assert [s.title for s in folded] == [lead.title, other.title]
    merged = folded[0]
    assert merged.sources == (*lead.sources, *teaser.sources)
    # the lead keeps what it shows and where it ranks
    assert (merged.title, merged.summary, merged.section, merged.score) == (
        lead.title,
        lead.summary,
        lead.section,
        lead.score,
    )
    # its time is still its earliest source's
    assert merged.published == teaser.published


def test_a_pointer_stays_when_no_story_is_clearly_ahead_or_the_rule_is_off():
    lead = _story("US widens chip curbs", 9.0, summary="The US widened curbs.")
    close = _story("China tariffs on pork", 7.0, summary="China set tariffs.")
    teaser = _story("US-China trade tensions flare again", 5.0)
    sides = {"us": "us", "china": "china"}
    stories = [lead, close, teaser]
    assert fold_pointers(stories, sides=sides, day_texts=_DAY_TEXT, ratio=1.5) == stories
    alone = [replace(lead, score=20.0), teaser]
    assert fold_pointers(alone, sides=sides, day_texts=_DAY_TEXT, ratio=0) == alone


def test_lone_stories_that_are_not_pointers_stay():
    lead = _story("US widens chip curbs", 9.0, summary="The US widened curbs.")
    sides = {"us": "us", "china": "china"}
    # a summary, two sources, or a name of its own: each is news in its own right
    kept = [
        _story("US-China trade tensions flare again", 5.0, summary="Officials met."),
        _story("US-China trade tensions flare again", 5.0, sources=2),
        _story("Zentrix caught in US-China trade tensions", 5.0),
    ]
    for story in kept:
        assert fold_pointers([lead, story], sides=sides, day_texts=_DAY_TEXT, ratio=1.5) == [
            lead,
            story,
        ]
    # and a pointer has nothing to point to when no story has a summary
    bare = [replace(lead, summary=""), _story("US-China trade tensions flare again", 5.0)]
    assert fold_pointers(bare, sides=sides, day_texts=_DAY_TEXT, ratio=1.5) == bare


def test_a_newsletter_teaser_joins_the_days_story_in_a_built_edition(topic):
    teaser = make_item(
        "Washington and Beijing trade tensions flare again",
        "Also in this newsletter: bank rate decisions, airline results and a science round-up",
        feed="Evening Briefing",
        hours=-2,
    )
    items = [*fx.CHIP_RULES, teaser, *fx.NEWS_DAY]
    edition = build_edition(items, topic, edition_date=date(2024, 3, 5), window=WINDOW)
    (story,) = edition.stories
    assert {s.item_id for s in story.sources} == {i.id for i in [*fx.CHIP_RULES, teaser]}
    assert story.title != teaser.title and story.summary
    # the premise: with the rule off the teaser is a story of its own, with nothing under it
    off = replace(topic, options={**topic.options, "pointer_lead_ratio": 0})
    edition = build_edition(items, off, edition_date=date(2024, 3, 5), window=WINDOW)
    alone = [s for s in edition.stories if s.title == teaser.title]
    assert len(edition.stories) == 2 and len(alone) == 1 and not alone[0].summary
