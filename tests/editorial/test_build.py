from datetime import date, timedelta

from digest.editorial import build_edition
from digest.editorial.text import clean_text, split_sentences
from digest.types import Window
from tests.editorial import fixtures as fx
from tests.editorial.conftest import BASE, make_item

WINDOW = Window(BASE - timedelta(hours=24), BASE)


def _build(items, topic):
    return build_edition(items, topic, edition_date=date(2024, 3, 5), window=WINDOW)


def test_end_to_end(topic):
    outside = make_item(
        "China raises tariffs on US cars", "China raised tariffs on US cars.", hours=+2
    )
    items = [
        *fx.CHIP_RULES,
        fx.TARIFF_STORY,
        fx.GALLIUM_STORY,
        fx.PHONE_CHIP_LAUNCH,
        fx.SPORTS_TRADE,
        fx.PANDA_STORY,
        fx.LUMBER_TARIFFS,
        fx.CHINA_FLOODS,
        outside,
        *fx.NEWS_DAY,
    ]
    edition = _build(items, topic)
    assert edition.topic == "us-china-trade"
    assert edition.topic_title == "US–China trade dispute"
    assert edition.status == "draft"
    assert edition.window == WINDOW
    stories = edition.stories
    assert len(stories) == 3
    # the three-outlet story ranks first, in the first section
    top = edition.sections[0].stories[0]
    assert edition.sections[0].key == "export-controls"
    assert len(top.sources) == 3 and len(top.outlets) == 3
    assert {s.item_id for s in top.sources} == {i.id for i in fx.CHIP_RULES}
    assert top.published == min(i.published for i in fx.CHIP_RULES)
    # the headline is one of the sources' titles and links, and its source comes first
    assert (top.title, top.url) == (top.sources[0].title, top.sources[0].url)
    rest = top.sources[1:]
    assert list(rest) == sorted(rest, key=lambda s: s.published)
    # summaries are extractive
    for story in stories:
        texts = [clean_text(i.text) for i in items]
        for sentence in split_sentences(story.summary):
            assert any(sentence in t for t in texts)
    assert {s.key for s in edition.sections} == {"export-controls", "tariffs", "minerals"}
    all_ids = {src.item_id for s in stories for src in s.sources}
    for lookalike in (
        fx.PHONE_CHIP_LAUNCH,
        fx.SPORTS_TRADE,
        fx.PANDA_STORY,
        fx.LUMBER_TARIFFS,
        outside,
    ):
        assert lookalike.id not in all_ids


def test_headline_rule_prefers_central_title_then_earliest(topic):
    a = make_item(
        "US expands AI chip export controls on China",
        "Export controls on AI chips to China.",
        feed="A",
        hours=-5,
    )
    b = make_item(
        "US expands AI chip export controls on China",
        "Export controls on AI chips to China.",
        feed="B",
        hours=-7,
    )
    edition = _build([a, b], topic)
    (story,) = edition.stories
    assert story.sources[0].item_id == b.id  # same title: earliest wins


def test_empty_input_gives_empty_edition(topic):
    edition = _build([fx.PANDA_STORY], topic)
    assert edition.is_empty and edition.sections == ()


def test_build_is_pure_and_repeatable(topic):
    items = [*fx.CHIP_RULES, fx.TARIFF_STORY, fx.GALLIUM_STORY, *fx.NEWS_DAY]
    assert _build(items, topic) == _build(list(reversed(items)), topic)
