from collections import Counter
from dataclasses import replace

from digest.editorial.cluster import cluster_items, document_frequencies
from digest.editorial.relevance import analyze
from tests.editorial import fixtures as fx
from tests.editorial.conftest import make_item

#: A day of general news around the stories: most of it about other things, some about China.
_DAY = [
    *fx.NEWS_DAY,
    *(
        make_item(f"Council approves budget for district {k}", "Spending rises.")
        for k in range(400)
    ),
    *(
        make_item(f"Chinese city {k} reports busy holiday", "China's tourism picked up.")
        for k in range(60)
    ),
]


def _background(items):
    analyses = [analyze(i) for i in [*items, *_DAY]]
    return document_frequencies((a.title_tokens, a.text_tokens) for a in analyses)


def test_same_event_from_three_outlets_is_one_cluster():
    items = [*fx.CHIP_RULES, fx.TARIFF_STORY, fx.GALLIUM_STORY]
    clusters = cluster_items(items, background=_background(items))
    assert len(clusters) == 3
    assert sorted(map(len, clusters)) == [1, 1, 3]
    big = next(c for c in clusters if len(c) == 3)
    assert set(big) == set(fx.CHIP_RULES)


def test_deterministic_whatever_the_input_order():
    items = [*fx.CHIP_RULES, fx.TARIFF_STORY, fx.GALLIUM_STORY]
    forward = cluster_items(items, background=_background(items))
    backward = cluster_items(list(reversed(items)), background=_background(items))
    assert [[i.id for i in c] for c in forward] == [[i.id for i in c] for c in backward]


def test_without_background_the_three_outlets_still_merge():
    clusters = cluster_items(fx.CHIP_RULES + [fx.TARIFF_STORY])
    assert sorted(map(len, clusters)) == [1, 3]


def test_same_canonical_url_is_same_story():
    a = make_item("China trade data", "Exports fell.", url="https://x.example/a")
    b = replace(
        make_item("Completely different wording here", "Nothing shared.", feed="Other"),
        canonical_url=a.canonical_url,
    )
    assert len(cluster_items([a, b])) == 1


def test_items_far_apart_in_time_are_not_merged():
    early = fx.CHIP_RULES[0]
    late = replace(fx.CHIP_RULES[1], published=early.published.replace(day=early.published.day + 3))
    assert len(cluster_items([early, late, fx.TARIFF_STORY])) == 3


def _reply(title: str):
    return make_item(
        title,
        "China's commerce ministry said on Wednesday that the new US export controls on AI "
        "chips broke trade rules and that it would protect the interests of Chinese chipmakers.",
        feed="Harbour Post",
        hours=-4,
    )


def test_a_reaction_to_an_event_is_its_own_story():
    neutral = _reply("China's commerce ministry on the new US AI chip export controls")
    reaction = _reply("China slams new US AI chip export controls")
    merged = cluster_items([*fx.CHIP_RULES, neutral], background=_background(fx.CHIP_RULES))
    assert sorted(map(len, merged)) == [4]
    apart = cluster_items([*fx.CHIP_RULES, reaction], background=_background(fx.CHIP_RULES))
    assert sorted(map(len, apart)) == [1, 3]


def test_a_new_country_in_the_headline_is_a_follow_up_not_the_same_story():
    follow_up = make_item(
        "Netherlands to join US export controls on AI chips for China",
        "The Dutch government said it would align its export controls on advanced AI chips and "
        "chipmaking tools with the new US rules on China.",
        feed="Harbour Post",
        hours=-4,
    )
    clusters = cluster_items([*fx.CHIP_RULES, follow_up], background=_background(fx.CHIP_RULES))
    assert sorted(map(len, clusters)) == [1, 3]
    # the same text under a headline naming only the topic's own sides joins the story
    same = replace(follow_up, title="US export controls on AI chips for China widen", id=999)
    clusters = cluster_items([*fx.CHIP_RULES, same], background=_background(fx.CHIP_RULES))
    assert sorted(map(len, clusters)) == [4]


def test_short_pieces_sharing_only_common_words_stay_apart():
    a = make_item("China growth slump deepens for chip champion")
    b = make_item("China growth slump deepens for home buyers", feed="Other Paper")
    # a day in which these words are everywhere: they name the beat, not an event
    common = Counter({w: 200 for w in ("china", "growth", "slump", "deepen")})
    background = (common, 1000)
    assert len(cluster_items([a, b], background=background, min_shared=0)) == 1
    assert len(cluster_items([a, b], background=background)) == 2


def _ids(clusters):
    return [[item.id for item in cluster] for cluster in clusters]


def test_blocked_clustering_gives_the_exact_methods_clusters_on_a_generated_day():
    from tests.editorial.generated import generated_day

    for seed in (1, 2, 3):
        items, background = generated_day(60, seed=seed)
        blocked = cluster_items(items, background=background)
        exact = cluster_items(items, background=background, exact=True)
        assert _ids(blocked) == _ids(exact)
        # the day has real work in it: several multi-item stories, not everything merged
        sizes = sorted(map(len, blocked))
        assert sizes[-1] > 1 and len(sizes) > 30
        # and without a background (every shared word may link) the two still agree
        few = items[:40]
        assert _ids(cluster_items(few)) == _ids(cluster_items(few, exact=True))


def test_items_in_chinese_cluster_by_their_words():
    first = make_item("商务部宣布对镓和锗实施出口管制", "中国商务部宣布对镓和锗实施出口管制。")
    second = make_item(
        "中国对镓锗实施出口管制", "商务部表示将对镓和锗实施出口管制。", feed="Other Wire"
    )
    other = make_item("上海股市周一上涨", "上海股市周一收高，科技股领涨。", feed="Third Wire")
    clusters = cluster_items([first, second, other])
    assert sorted(map(len, clusters)) == [1, 2]
    assert {i.id for i in max(clusters, key=len)} == {first.id, second.id}


def test_the_topics_own_side_in_both_headlines_does_not_link_two_stories():
    a = make_item("China chip champion squeezed", "Sales slump as growth slows in China.")
    b = make_item("China home buyers wait", "Prices slump as growth slows in China.", feed="Other")
    others = [
        make_item("Chinese ports busy", "Shipping in China rose.", feed="Third"),
        make_item("Beijing opens a museum", "Visitors came to Beijing.", feed="Fourth"),
    ]
    # a day of news in which these words are rare: "china" could pass for an event's name
    background = (Counter({"council": 500}), 1000)
    # on its own the pair shares rare words, "china" among them in both headlines: one story
    assert len(cluster_items([a, b], background=background)) == 1
    # once most of the day's stories are about China, "china" is the beat's side, not an event
    clusters = cluster_items([a, b, *others], background=background)
    assert all(len(c) == 1 for c in clusters)
