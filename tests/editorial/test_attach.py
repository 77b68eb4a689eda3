"""Near misses: an item just below the threshold joins the story it repeats, and only that."""

from datetime import date, timedelta

from digest.editorial import build_edition
from digest.editorial.relevance import relevance_score
from digest.types import Window
from tests.editorial import fixtures as fx
from tests.editorial.conftest import BASE, make_item

WINDOW = Window(BASE - timedelta(hours=24), BASE)

#: A day of general news around the stories, so that the day tells rare words from common ones.
_DAY = [
    *fx.NEWS_DAY,
    *(
        make_item(f"Council approves budget for district {k}", "Spending rises.")
        for k in range(300)
    ),
]


def _build(items, topic):
    return build_edition(items, topic, edition_date=date(2024, 3, 5), window=WINDOW)


def _near_miss(topic, title: str, text: str):
    item = make_item(title, text, feed="Harbour Post", hours=-5)
    # the premise: below the threshold, yet within the near-miss share of it
    share = topic.options["near_miss_share"]
    assert share * topic.threshold <= relevance_score(item, topic) < topic.threshold
    return item


def test_a_near_miss_repeating_a_story_joins_it(topic):
    copy = _near_miss(
        topic,
        "Nvidia hit by wider AI chip export curbs",
        "Chip shares fell in Hong Kong and Shanghai after the launch of the rules.",
    )
    edition = _build([*fx.CHIP_RULES, copy, *_DAY], topic)
    (story,) = edition.stories
    assert {s.item_id for s in story.sources} == {i.id for i in [*fx.CHIP_RULES, copy]}


def test_a_near_miss_repeating_no_story_stays_out(topic):
    alone = _near_miss(
        topic,
        "Nvidia hit by wider AI chip export curbs",
        "Chip shares fell in Hong Kong and Shanghai after the launch of the rules.",
    )
    edition = _build([fx.TARIFF_STORY, alone, *_DAY], topic)
    assert [len(s.sources) for s in edition.stories] == [1]
    assert alone.id not in {s.item_id for st in edition.stories for s in st.sources}


def test_a_near_miss_whose_headline_shares_only_the_sides_and_a_word_stays_out(topic):
    # its text repeats the story's, but its headline shares one word and a place: the sides
    # of every story of the beat say nothing about which event it reports
    other = _near_miss(
        topic,
        "Washington and Beijing discuss AI",
        fx.CHIP_RULES[1].text
        + " Military, army, navy and spy chiefs came; a fighter jet flew over; one was detained.",
    )
    edition = _build([*fx.CHIP_RULES, other, *_DAY], topic)
    assert other.id not in {s.item_id for st in edition.stories for s in st.sources}
    assert [len(s.sources) for s in edition.stories] == [3]
