import pytest

from digest.editorial.relevance import relevance_score, select_relevant
from tests.editorial import fixtures as fx
from tests.editorial.conftest import make_item


@pytest.mark.parametrize(
    "item",
    [fx.CHIP_RULES[0], fx.CHIP_RULES[1], fx.CHIP_RULES[2], fx.TARIFF_STORY, fx.GALLIUM_STORY],
)
def test_on_topic_items_pass_threshold(topic, item):
    assert relevance_score(item, topic) >= topic.threshold


@pytest.mark.parametrize(
    "item",
    [fx.PHONE_CHIP_LAUNCH, fx.SPORTS_TRADE, fx.PANDA_STORY, fx.LUMBER_TARIFFS, fx.CHINA_FLOODS],
)
def test_lookalikes_stay_below_threshold(topic, item):
    assert relevance_score(item, topic) < topic.threshold


def test_needs_both_sides(topic):
    only_china = make_item("Beijing opens a new subway line", "China's capital opened the line.")
    only_policy = make_item("Tariffs on steel rise", "New tariffs and export controls were set.")
    both = make_item("Beijing answers new tariffs", "China said tariffs would hurt trade.")
    assert relevance_score(only_china, topic) == 0
    assert relevance_score(only_policy, topic) == 0
    assert relevance_score(both, topic) >= topic.threshold


def test_word_boundaries(topic):
    # "chinaware" and "tariffed" style near-misses must not count as the words themselves
    near = make_item("Chinaware auction sets record", "Collectors bid on porcelain chinaware.")
    assert relevance_score(near, topic) == 0


def test_title_counts_more_than_text(topic):
    in_title = make_item("China tariffs", "Officials spoke on Monday about the weather.")
    in_text = make_item("Officials spoke on Monday", "About China tariffs and the weather.")
    assert relevance_score(in_title, topic) > relevance_score(in_text, topic)


def test_negative_terms_lower_the_score(topic):
    plain = make_item("China chip exports fall", "Exports of chips from China fell.")
    gadget = make_item(
        "China chip exports fall", "Exports of chips from China fell. Smartphone review."
    )
    assert relevance_score(gadget, topic) < relevance_score(plain, topic)


def test_select_relevant_keeps_order_and_scores(topic):
    items = [fx.PANDA_STORY, fx.CHIP_RULES[0], fx.SPORTS_TRADE, fx.TARIFF_STORY]
    kept = select_relevant(items, topic)
    assert [item for item, _ in kept] == [fx.CHIP_RULES[0], fx.TARIFF_STORY]
    assert all(score >= topic.threshold for _, score in kept)


def test_an_item_in_another_script_is_scored_not_invisible(topic):
    from digest.editorial.relevance import analyze, compile_topic
    from digest.editorial.topic import parse_topic

    chinese = make_item("中国加强稀土出口管制", "商务部宣布对稀土实施出口管制。")
    russian = make_item("Китай ввёл пошлины на американские чипы", "Пекин ответил на санкции.")
    japanese = make_item("中国、米国製半導体に関税", "中国商務省は関税を発表した。")
    for item in (chinese, russian, japanese):
        analysis = analyze(item)
        assert analysis.title_tokens and analysis.text_tokens
        # the bundled topic is English: scored (and judged off-topic), not skipped
        assert compile_topic(topic).scorecard(analysis).score == 0
    # a topic with terms in those scripts finds them, in titles and texts alike
    local = parse_topic(
        {
            "key": "local",
            "title": "Local terms",
            "threshold": 5.0,
            "subject_terms": {"中国": 2.0, "китай": 2.0, "пекин": 2.0},
            "policy_terms": {"出口管制": 3.0, "пошлины": 3.0, "関税": 3.0, "санкции": 2.0},
            "sections": [{"key": "all", "title": "All"}],
        }
    )
    for item in (chinese, russian, japanese):
        assert relevance_score(item, local) >= local.threshold


def test_a_company_name_alone_is_not_a_policy_story(topic):
    # the China side (a Chinese company) with no measure at all: a gadget story, kept out
    gadget = make_item(
        "Huawei's new smartwatch outlasts its rivals",
        "Huawei's latest watch adds health features and a week of battery life.",
    )
    assert relevance_score(gadget, topic) == 0
    sanctioned = make_item(
        "Huawei faces new US sanctions",
        "Washington added Huawei suppliers to the entity list, widening export controls.",
    )
    assert relevance_score(sanctioned, topic) >= topic.threshold


def test_a_sea_standoff_is_security_not_trade(topic):
    standoff = make_item(
        "China and the Philippines trade accusations over South China Sea standoff",
        "Coast guard ships from China and the Philippines faced off near a disputed shoal.",
    )
    assert relevance_score(standoff, topic) < topic.threshold


def test_a_headline_about_something_else_needs_more_evidence(topic):
    text = "Ranchers worry about exports, market growth and China, a big buyer of their beef."
    passing = make_item("Sheep farms the size of a county go on sale", text)
    named = make_item("Sheep farms the size of a county go on sale to China", text)
    penalty = topic.options["headline_penalty"]
    assert penalty > 0
    # the same words, China named only in the text: the headline's subject is elsewhere
    assert relevance_score(passing, topic) < topic.threshold
    assert relevance_score(passing, topic) + penalty >= topic.threshold
    assert relevance_score(named, topic) >= topic.threshold
    # a strong term in the headline names the topic as well as its subject would
    strong = make_item("Chip war reaches sheep farms", text)
    assert relevance_score(strong, topic) >= topic.threshold


@pytest.mark.parametrize(
    ("headline", "text"),
    [
        # economic forums and legal action against a measure
        (
            "G7 leaders take on Beijing at their summit",
            "Leaders said they would protect sensitive technology.",
        ),
        (
            "TikTok sues state over ban on the app",
            "The app filed a lawsuit arguing the state ban was unconstitutional.",
        ),
        # China's probes and raids of foreign firms
        (
            "Beijing raids the offices of an American consultancy",
            "Officers questioned staff of the firm in Shanghai.",
        ),
        ("China opens a probe into a US memory maker", "Regulators cited security concerns."),
    ],
    ids=["summit", "lawsuit", "raid", "probe"],
)
def test_policy_actions_beyond_tariffs_and_curbs_count(topic, headline, text):
    assert relevance_score(make_item(headline, text), topic) >= topic.threshold
