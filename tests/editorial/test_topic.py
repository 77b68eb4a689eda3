from pathlib import Path

import pytest

from digest.editorial.topic import bundled_topics, load_topic
from digest.errors import TopicError


def test_bundled_topic_loads_with_sections_in_order(topic):
    assert "us-china-trade" in bundled_topics()
    assert topic.key == "us-china-trade"
    assert topic.title == "US–China trade dispute"
    assert [(s.key, s.title) for s in topic.sections] == [
        ("export-controls", "Export controls & chips"),
        ("tariffs", "Tariffs & trade measures"),
        ("investment", "Investment & finance"),
        ("minerals", "Critical minerals & supply chains"),
        ("diplomacy", "Talks & diplomacy"),
        ("companies", "Companies & markets"),
    ]
    assert all(section.terms for section in topic.sections)
    phrases = {t.phrase for t in topic.subject_terms}
    assert {"china", "huawei", "beijing"} <= phrases
    assert any(t.phrase == "tariff" for t in topic.policy_terms)
    assert topic.negative_terms and topic.strong_terms
    assert topic.threshold > 0
    assert topic.options["summary_max_words"] == 50


def test_load_by_path_with_both_term_forms(tmp_path: Path):
    path = tmp_path / "mini.toml"
    path.write_text(
        'key = "mini"\ntitle = "Mini"\nthreshold = 2\n'
        'subject_terms = [{ phrase = "China", weight = 2 }, "beijing", "smic = 3"]\n'
        '[policy_terms]\n"tariff" = 1.5\n'
        '[[sections]]\nkey = "a"\ntitle = "A"\n[sections.terms]\n"chip" = 1\n'
        "[options]\nfoo = 1\n",
        encoding="utf-8",
    )
    topic = load_topic(path)
    assert [(t.phrase, t.weight) for t in topic.subject_terms] == [
        ("china", 2.0),
        ("beijing", 1.0),
        ("smic", 3.0),
    ]
    assert topic.policy_terms[0].weight == 1.5
    assert topic.options == {"foo": 1}
    assert load_topic(str(path)).key == "mini"


def test_unknown_key_is_topic_error():
    with pytest.raises(TopicError, match="no-such-topic"):
        load_topic("no-such-topic")


def test_missing_file_is_topic_error(tmp_path: Path):
    with pytest.raises(TopicError, match="not found") as info:
        load_topic(tmp_path / "absent.toml")
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_bad_toml_is_one_line_topic_error(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text('key = "x"\ntitle = \n', encoding="utf-8")
    with pytest.raises(TopicError) as info:
        load_topic(path)
    assert "broken.toml" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    "body, problem",
    [
        ('title = "T"\n[[sections]]\nkey = "a"\ntitle = "A"\n', "key"),
        ('key = "k"\ntitle = "T"\n', "sections"),
        (
            'key = "k"\ntitle = "T"\nthreshold = "high"\n[[sections]]\nkey="a"\ntitle="A"\n',
            "threshold",
        ),
        (
            'key = "k"\ntitle = "T"\nsubject_terms = [3]\n[[sections]]\nkey="a"\ntitle="A"\n',
            "subject_terms",
        ),
    ],
)
def test_malformed_topic_names_the_problem(tmp_path: Path, body: str, problem: str):
    path = tmp_path / "k.toml"
    path.write_text(body, encoding="utf-8")
    if problem == "key":
        path = tmp_path / "t.toml"
        path.write_text(body.replace('title = "T"', 'key = ""\ntitle = "T"'), encoding="utf-8")
    with pytest.raises(TopicError, match=problem):
        load_topic(path)
