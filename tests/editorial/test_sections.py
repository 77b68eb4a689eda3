from datetime import timedelta

from digest.editorial.sections import assign_section, order_sections, story_score
from digest.types import Story, Window
from tests.editorial import fixtures as fx
from tests.editorial.conftest import BASE, make_item


def test_assign_section(topic):
    assert assign_section(fx.CHIP_RULES, topic) == "export-controls"
    assert assign_section([fx.TARIFF_STORY], topic) == "tariffs"
    assert assign_section([fx.GALLIUM_STORY], topic) == "minerals"
    invest = make_item(
        "US restricts investment in Chinese tech",
        "An executive order limits US venture capital and private equity investment in China.",
    )
    assert assign_section([invest], topic) == "investment"
    title, _, body = fx.FULL_TEXT_ARTICLE.partition("\n\n")
    assert assign_section([make_item(title, body)], topic) == "diplomacy"


def test_fallback_is_last_section(topic):
    assert assign_section([make_item("Nothing matches", "Plain words only.")], topic) == "companies"


def test_story_score_grows_with_outlets_relevance_and_recency(topic):
    window = Window(BASE - timedelta(hours=24), BASE)
    base = dict(
        outlets=1,
        relevance=10.0,
        latest=BASE - timedelta(hours=12),
        window=window,
        options=topic.options,
    )
    s = story_score(**base)
    assert story_score(**{**base, "outlets": 3}) > s
    assert story_score(**{**base, "relevance": 20.0}) > s
    assert story_score(**{**base, "latest": BASE - timedelta(hours=1)}) > s


def _story(section, score, title="t"):
    return Story(
        title=title, url="u", summary="", published=BASE, section=section, score=score, sources=()
    )


def test_order_sections_by_total_and_drop_empty(topic):
    sections = order_sections(
        [_story("tariffs", 3, "a"), _story("minerals", 2, "b"), _story("minerals", 2.5, "c")], topic
    )
    assert [s.key for s in sections] == ["minerals", "tariffs"]
    assert [st.title for st in sections[0].stories] == ["c", "b"]
    assert sections[0].title == "Critical minerals & supply chains"


def test_sections_for_telecom_bans_deals_and_results(topic):
    fcc = make_item(
        "Lawmakers urge FCC to act on Chinese wireless modules",
        "Members of Congress asked the FCC to look at security concerns over connected devices "
        "built with modules from Chinese suppliers.",
    )
    assert assign_section([fcc], topic) == "export-controls"
    deal = make_item(
        "Chinese-linked buyer's takeover of US chemicals firm faces screening",
        "Senators asked for a review of the acquisition, saying screening of Chinese stakes in "
        "American companies had gaps.",
    )
    assert assign_section([deal], topic) == "investment"
    results = make_item(
        "Chinese chipmaker's quarterly revenue falls",
        "The company reported lower second-quarter revenue and profit as demand for its chips "
        "weakened.",
    )
    assert assign_section([results], topic) == "companies"
