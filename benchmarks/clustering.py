"""Clustering benchmark: the blocked clusterer against the exact (all pairs) one, same run.

    python benchmarks/clustering.py [--sizes 100,200,400,2000] [--exact-max 450] [--rounds 3]
                                    [--corpus CORPUS_WINDOW_DIR ...]

Each size is a generated day of made-up events told by several outlets (the generator the tests
use), about that many on-topic items. For every size the blocked clusterer the pipeline uses is
timed (best CPU seconds of the rounds), and, up to ``--exact-max`` items, the exact method too,
on the same items in the same process: the ratio and whether both gave the same clusters are
printed. Then a whole edition is built from the largest day (relevance, clustering, summaries,
sections). The goal: 2,000 on-topic items in under 2 s of CPU.

With ``--corpus``, each day (24 hours to 06:00 UTC) of each labelled window's ``items.jsonl`` is
also clustered both ways, from the items the bundled topic keeps, as an edition would.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digest.editorial import build_edition, load_topic  # noqa: E402
from digest.editorial.cluster import cluster_items, document_frequencies  # noqa: E402
from digest.editorial.relevance import analyze, compile_topic  # noqa: E402
from digest.types import Window  # noqa: E402
from tests.editorial.generated import generated_day  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from editorial import _items as corpus_items  # noqa: E402


def _best_cpu(run: Callable[[], object], rounds: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.process_time()
        result = run()
        best = min(best, time.process_time() - started)
    return best, result


def _events_for(size: int) -> int:
    # the generator tells an event 2.6 times on average
    return max(1, round(size / 2.6))


def _compare_on_corpus(folder: Path, rounds: int) -> None:
    topic = load_topic("us-china-trade")
    compiled = compile_topic(topic)
    items = corpus_items(folder)
    first = min(i.published for i in items).date()
    last = max(i.published for i in items).date() + timedelta(days=1)
    day = first
    while day <= last:
        end = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
        analyses = [analyze(i) for i in items if end - timedelta(days=1) <= i.published < end]
        kept = [a for a in analyses if compiled.scorecard(a).score >= topic.threshold]
        background = document_frequencies((a.title_tokens, a.text_tokens) for a in analyses)
        pairs = [(a.title_tokens, a.text_tokens) for a in kept]
        chosen = [a.item for a in kept]
        blocked, clusters = _best_cpu(
            partial(cluster_items, chosen, token_pairs=pairs, background=background), rounds
        )
        exact, reference = _best_cpu(
            partial(cluster_items, chosen, token_pairs=pairs, background=background, exact=True), 1
        )
        assert isinstance(clusters, list) and isinstance(reference, list)
        same = [[i.id for i in c] for c in clusters] == [[i.id for i in c] for c in reference]
        print(
            f"{folder.name} {day}: {len(chosen)} on topic, {len(clusters)} stories, blocked "
            f"{blocked:.3f} s, exact {exact:.3f} s, same clusters: {'yes' if same else 'NO'}"
        )
        day += timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200,400,2000")
    parser.add_argument("--exact-max", type=int, default=450)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"{'items':>6}{'stories':>9}{'blocked s':>11}{'exact s':>10}{'ratio':>8}  same clusters")
    for folder in args.corpus:
        _compare_on_corpus(folder, args.rounds)
    largest = None
    for size in sizes:
        items, background = generated_day(_events_for(size), seed=size)
        blocked, clusters = _best_cpu(
            partial(cluster_items, items, background=background), args.rounds
        )
        assert isinstance(clusters, list)
        line = f"{len(items):>6}{len(clusters):>9}{blocked:>11.3f}"
        if len(items) <= args.exact_max:
            exact, reference = _best_cpu(
                partial(cluster_items, items, background=background, exact=True), 1
            )
            assert isinstance(reference, list)
            same = [[i.id for i in c] for c in clusters] == [[i.id for i in c] for c in reference]
            line += f"{exact:>10.3f}{exact / blocked:>8.0f}  {'yes' if same else 'NO'}"
        else:
            line += f"{'-':>10}{'-':>8}  -"
        print(line)
        largest = items
    if largest:
        start = min(i.published for i in largest)
        end = datetime(start.year, start.month, start.day, 6, tzinfo=UTC) + timedelta(days=2)
        window = Window(end - timedelta(days=2), end)
        topic = load_topic("us-china-trade")
        cpu, edition = _best_cpu(
            lambda: build_edition(largest, topic, edition_date=date.today(), window=window),
            args.rounds,
        )
        stories = sum(len(s.stories) for s in getattr(edition, "sections", ()))
        carried = sum(len(st.sources) for s in getattr(edition, "sections", ()) for st in s.stories)
        print(
            f"whole edition from {len(largest)} items ({carried} on topic, {stories} stories): "
            f"{cpu:.3f} CPU seconds"
        )


if __name__ == "__main__":
    main()
