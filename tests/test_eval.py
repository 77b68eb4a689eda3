"""`digest eval`: a small labelled corpus of our own replayed end to end, and bad corpora."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.evaluation.corpus import Label
from digest.evaluation.metrics import has_boilerplate, is_faithful, score_edition, total_score
from digest.types import Edition, Section, Source, Story, Window

CORPUS = Path(__file__).parent / "fixtures" / "eval-week"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


def test_eval_replays_the_window_and_scores_every_edition():
    code, out, _err = run(str(CORPUS), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["feeds"] == 3
    assert report["items"] == 11
    assert [day["date"] for day in report["days"]] == ["2026-03-11", "2026-03-12"]
    overall = report["overall"]
    # The chip-rules story is told by two outlets on the first day: one story of two items,
    # the gadget "chip" review and the sports transfer stay out.
    assert overall["precision"] == 1.0
    assert overall["recall"] == 1.0
    assert overall["cluster_f1"] == 1.0
    assert overall["section_accuracy"] == 1.0
    assert overall["faithfulness"] == 1.0
    assert overall["boilerplate"] == 0.0
    assert overall["empty_summaries"] == 0
    assert report["missed"] == [] and report["off_topic"] == []
    assert all(d["build_seconds"] > 0 and d["build_cpu_seconds"] > 0 for d in report["days"])


def test_eval_prints_a_table_per_day_and_overall():
    code, out, _err = run(str(CORPUS))
    assert code == 0
    assert "2026-03-11" in out and "2026-03-12" in out and "overall" in out
    assert "7/7 core items in" in out


def test_a_label_missing_from_the_editions_lowers_recall(tmp_path: Path):
    corpus = tmp_path / "week"
    shutil.copytree(CORPUS, corpus)
    labels = corpus / "labels.jsonl"
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    off_topic = next(row for row in rows if row["label"] == 0)
    # An item the topic rightly rejects, labelled core: the replay must count it as missed.
    off_topic.update(label=2, section="companies", cluster="gadget")
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, out, _err = run(str(corpus), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["overall"]["recall"] == pytest.approx(7 / 8)
    assert [m["id"] for m in report["missed"]] == [off_topic["id"]]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "not found"),
        (lambda d: d.mkdir(), "no feeds/ folder"),
        (lambda d: (_copy(d), (d / "labels.jsonl").unlink()), "has no labels.jsonl"),
        (
            lambda d: (_copy(d), (d / "labels.jsonl").write_text('{"id": "x", "label": 2}\n')),
            "labels.jsonl line 1: labels 1 and 2 need",
        ),
        (
            lambda d: (
                _copy(d),
                (d / "labels.jsonl").write_text(
                    '{"id": "x", "label": 2, "section": "tariffs", "cluster": "c", "story": 3}\n'
                ),
            ),
            "labels.jsonl line 1: 'story' must be a non-empty string",
        ),
        (
            lambda d: (_copy(d), (d / "items.jsonl").write_text('{"id": "a"}\n')),
            "items.jsonl line 1: 'link' must be a non-empty string",
        ),
        (
            lambda d: (_copy(d), (d / "items.jsonl").write_text('{"id": "a"}\nnot json\n')),
            "items.jsonl line 2 is not JSON",
        ),
    ],
)
def test_bad_corpus_is_a_one_line_error(tmp_path: Path, setup, message: str):
    folder = tmp_path / "corpus"
    setup(folder)
    code, out, err = run(str(folder))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def _copy(folder: Path) -> None:
    shutil.copytree(CORPUS, folder)


def _split_into_sub_events(folder: Path) -> None:
    """Label the two reports of the chip rules as two sub-events of one running story."""
    labels = folder / "labels.jsonl"
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    chip = [row for row in rows if row["cluster"] == "chip-rules"]
    assert len(chip) == 2
    for row, part in zip(chip, ("announced", "markets"), strict=True):
        row.update(cluster=f"chip-rules-{part}", story="chip-rules")
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_eval_of_several_weeks_reports_each_and_pooled_with_lenient_figures(tmp_path: Path):
    _copy(tmp_path / "first")
    _copy(tmp_path / "second")
    _split_into_sub_events(tmp_path / "second")
    code, out, _err = run(str(tmp_path / "first"), str(tmp_path / "second"), "--json")
    assert code == 0, out
    report = json.loads(out)
    first, second = report["weeks"]
    assert (first["corpus"], second["corpus"]) == ("first", "second")
    assert first["overall"]["cluster_precision"] == 1.0
    # the edition merges the two sub-events: wrong when strict, neither right nor wrong when
    # lenient (the graphite pair stays right either way)
    assert second["overall"]["cluster_precision"] == pytest.approx(1 / 2)
    assert second["overall"]["lenient_cluster_precision"] == 1.0
    assert second["overall"]["lenient_cluster_f1"] == 1.0
    pooled = report["pooled"]
    assert pooled["items_in_window"] == 2 * first["overall"]["items_in_window"]
    assert pooled["cluster_precision"] == pytest.approx(3 / 4)
    assert pooled["lenient_cluster_precision"] == 1.0
    assert pooled["recall"] == 1.0

    code, out, _err = run(str(tmp_path / "first"), str(tmp_path / "second"))
    assert code == 0
    assert "first" in out and "second" in out and "pooled" in out and "LenF1" in out


def test_a_missing_week_among_several_is_a_one_line_error(tmp_path: Path):
    _copy(tmp_path / "first")
    code, out, err = run(str(tmp_path / "first"), str(tmp_path / "nowhere"))
    assert code == 2
    assert "nowhere not found" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


# --- the metrics on hand-made editions ---------------------------------------------------------

T = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)


def _story(section: str, summary: str, *item_ids: int) -> Story:
    sources = tuple(
        Source(
            item_id=i, feed=f"Outlet {i}", title=f"t{i}", url=f"https://o.example/{i}", published=T
        )
        for i in item_ids
    )
    return Story(
        title="t",
        url="https://o.example",
        summary=summary,
        published=T,
        section=section,
        score=1.0,
        sources=sources,
    )


def test_pairwise_clustering_sections_and_faithfulness_counts():
    labels = {
        "a": Label(2, "tariffs", "c1"),
        "b": Label(2, "tariffs", "c1"),
        "c": Label(2, "tariffs", "c1"),
        "d": Label(1, "minerals", "c2"),
        "e": Label(0, None, None),
    }
    ids = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    texts = {1: ["Tariffs rise. Markets fall."], 2: ["Beijing responds."], 4: ["Graphite curbs."]}
    edition = Edition(
        topic="t",
        topic_title="T",
        date=date(2026, 3, 11),
        window=Window(T, T),
        sections=(
            Section(
                "tariffs", "Tariffs", (_story("tariffs", "Tariffs rise. Beijing responds.", 1, 2),)
            ),
            Section(
                "minerals", "Minerals", (_story("minerals", "Graphite curbs. Read more", 3, 4, 5),)
            ),
        ),
    )
    day = score_edition(
        edition,
        corpus_ids=ids,
        labels=labels,
        source_texts=texts,
        core_in_window=["a", "b", "c", "z"],
    )
    assert day.precision == pytest.approx(4 / 5)
    assert day.recall == pytest.approx(3 / 4)
    assert (day.pairs_tp, day.pairs_fp, day.pairs_fn) == (1, 1, 2)
    assert day.cluster_f1 == pytest.approx(2 / 5)
    # story 2 holds core item c (tariffs) but sits in minerals
    assert (day.core_stories, day.section_correct) == (2, 1)
    assert (day.faithful, day.boilerplate) == (1, 1)
    assert day.off_topic == ("e",) and day.missed == ("z",)
    assert total_score([day, day]).cluster_f1 == pytest.approx(2 / 5)


def test_lenient_figures_and_stories_without_a_summary():
    labels = {
        "a": Label(2, "diplomacy", "visit-arrival", story="visit"),
        "b": Label(2, "diplomacy", "visit-talks", story="visit"),
        "c": Label(2, "tariffs", "duties", story="other-story"),
        "d": Label(2, "diplomacy", "visit-talks", story="visit"),
    }
    ids = {1: "a", 2: "b", 3: "c", 4: "d"}
    edition = Edition(
        topic="t",
        topic_title="T",
        date=date(2026, 3, 11),
        window=Window(T, T),
        sections=(Section("diplomacy", "Talks", (_story("diplomacy", "", 1, 2, 3, 4),)),),
    )
    day = score_edition(
        edition, corpus_ids=ids, labels=labels, source_texts={}, core_in_window=list("abcd")
    )
    # one right pair (b, d); two merged sub-events of the visit (a-b, a-d); three pairs with
    # the duties story, wrong whatever the leniency
    assert (day.pairs_tp, day.pairs_fp, day.pairs_fn, day.pairs_fp_story) == (1, 5, 0, 2)
    assert day.cluster_precision == pytest.approx(1 / 6)
    assert day.lenient_cluster_precision == pytest.approx(1 / 4)
    assert day.lenient_cluster_f1 == pytest.approx(2 / 5)
    assert day.summaryless == (("2026-03-11", "t", ("a", "b", "c", "d")),)
    assert total_score([day, day]).summaryless == day.summaryless * 2


def test_faithfulness_needs_every_sentence_verbatim():
    sources = ["US raises tariffs on steel. Beijing vows to respond.", "Exports fell 14%."]
    assert is_faithful("Beijing vows to respond. Exports fell 14%.", sources)
    assert is_faithful("US raises tariffs on steel.", sources)
    assert not is_faithful("US raises tariffs on steel and aluminium.", sources)
    assert not is_faithful("Exports fell 14%. Imports rose.", sources)
    assert not is_faithful("", sources)
    assert is_faithful("China&#8217;s <b>exports</b> fell.", ["China’s exports fell."])


@pytest.mark.parametrize(
    "summary",
    [
        "The post Tariffs rise appeared first on Example News.",
        "Tariffs rose on Tuesday. Continue reading…",
        "Tariffs rose. Receive free Trade updates",
        "Photograph: Jane Roe/Agency",
        "Tariffs rose on Tuesday and the market…",
    ],
)
def test_boilerplate_detected(summary: str):
    assert has_boilerplate(summary)


def test_clean_summary_is_not_boilerplate():
    assert not has_boilerplate("The US raised tariffs on Chinese steel on Tuesday.")
