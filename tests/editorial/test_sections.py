from datetime import timedelta

import pytest

from digest.editorial.sections import assign_section, order_sections, story_score
from digest.editorial.topic import parse_topic
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


def test_order_sections_by_lead_story_and_drop_empty(topic):
    sections = order_sections(
        [_story("tariffs", 3, "a"), _story("minerals", 2, "b"), _story("minerals", 2.5, "c")], topic
    )
    # the day's most important story leads, however many smaller ones another section has
    assert [s.key for s in sections] == ["tariffs", "minerals"]
    assert [st.title for st in sections[1].stories] == ["c", "b"]
    assert sections[1].title == "Critical minerals & supply chains"
    # equal leads: the section with more behind its lead goes first
    sections = order_sections(
        [_story("tariffs", 3, "a"), _story("minerals", 3, "b"), _story("minerals", 1, "c")], topic
    )
    assert [s.key for s in sections] == ["minerals", "tariffs"]


def test_policy_news_leads_company_colour(topic):
    stories = [
        _story("companies", 9, "earnings colour"),
        _story("companies", 8, "shares slide"),
        _story("companies", 7, "sales miss"),
        _story("export-controls", 7, "new chip rules"),
        _story("tariffs", 4, "duties raised"),
    ]
    keys = [s.key for s in order_sections(stories, topic)]
    # companies' lead (9 x 0.6) ranks under the chip rules (7), above the duties (4)
    assert keys == ["export-controls", "companies", "tariffs"]
    # colour that clearly outweighs the day's policy news still leads
    keys = [s.key for s in order_sections([*stories[:3], _story("tariffs", 4, "d")], topic)]
    assert keys == ["companies", "tariffs"]


def test_a_bad_rank_weight_is_a_clear_topic_error():
    data = {"key": "k", "title": "T", "sections": [{"key": "a", "title": "A", "rank_weight": "x"}]}
    with pytest.raises(ValueError, match="section 'a': 'rank_weight' must be a number"):
        parse_topic(data)


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


def test_a_summit_of_economic_powers_is_talks_and_diplomacy(topic):
    summit = make_item(
        "G7 leaders confront China over economic coercion",
        "Leaders meeting at the summit agreed to protect supply chains from trade pressure.",
    )
    assert assign_section([summit], topic) == "diplomacy"
