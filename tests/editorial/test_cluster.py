from dataclasses import replace

from digest.editorial.cluster import cluster_items, document_frequencies
from digest.editorial.relevance import analyze
from tests.editorial import fixtures as fx
from tests.editorial.conftest import make_item


def _background(items):
    analyses = [analyze(i) for i in [*items, *fx.NEWS_DAY]]
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
