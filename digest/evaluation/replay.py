"""Replaying a corpus as a user would: serve its feeds over loopback HTTP, fetch them into a
temporary database with the real fetch path, build each day's edition with the clock set to that
morning, and score every edition against the labels."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest import services
from digest.app import make_app
from digest.config import DigestSettings, FetchSettings, Settings
from digest.editions.service import Editions
from digest.errors import CorpusError
from digest.evaluation.corpus import Corpus, item_id_for_link
from digest.evaluation.metrics import DayScore, EvalReport, plain, score_edition, total_score
from digest.ingest.urls import canonical_url
from digest.loopback import FeedServer
from digest.types import Item, Topic
from digest.windows import edition_window

__all__ = ["ReplayClock", "run_eval"]


class ReplayClock:
    """A clock the replay moves forward by hand: fetch after the window, build each morning."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def run_eval(
    corpus: Corpus,
    topic: Topic,
    *,
    digest_settings: DigestSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Replay `corpus` through fetch and build for `topic`; the figures of every day."""
    say = progress or (lambda _line: None)
    base = digest_settings or DigestSettings()
    published = [i.published for i in corpus.items.values() if i.published is not None]
    last = max(published) if published else datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="digest-eval-") as workdir,
        FeedServer(corpus.feeds_dir) as server,
    ):
        settings = Settings(
            digest=DigestSettings(
                database=f"sqlite:///{Path(workdir) / 'eval.db'}",
                timezone=base.timezone,
                send_time=base.send_time,
                secret_key="eval",
            ),
            fetch=FetchSettings(allow_private_addresses=True, timeout_seconds=30),
        )
        clock = ReplayClock(last + timedelta(hours=1))
        with make_app(settings, clock=clock, topic=topic) as app:
            for name in corpus.feed_files:
                services.add_feed(app, server.url(name))
            say(f"serving {len(corpus.feed_files)} feeds on {server.base_url}")
            reports = services.fetch(app)
            failed = [r for r in reports if r.status == "error"]
            if failed:
                raise CorpusError(f"feed {failed[0].url} could not be read: {failed[0].error}")
            stored = app.store.items_published_between(
                datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
            )
            say(f"fetched {len(stored)} items")
            corpus_ids = _match_items(stored, corpus)
            texts = _source_texts(stored, corpus, corpus_ids)

            # Each label-2 item belongs to the edition whose window holds its publication time.
            moments: dict[str, datetime] = {
                cid: item.published for cid, item in corpus.items.items() if item.published
            }
            moments.update({corpus_ids[i.id]: i.published for i in stored if i.id in corpus_ids})
            dates = _edition_dates(list(moments.values()) or [last], settings.digest)
            core = {cid for cid, label in corpus.labels.items() if label.label == 2}

            days: list[DayScore] = []
            for day in dates:
                window = edition_window(day, settings.digest)
                clock.moment = window.end + timedelta(minutes=5)
                started, cpu_started = time.perf_counter(), time.process_time()
                edition = Editions(app).build(Editions(app).key(day))
                seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
                score = score_edition(
                    edition,
                    corpus_ids=corpus_ids,
                    labels=corpus.labels,
                    source_texts=texts,
                    core_in_window=[c for c in core if c in moments and moments[c] in window],
                    items_in_window=sum(1 for i in stored if i.published in window),
                    build_seconds=seconds,
                    build_cpu_seconds=cpu_seconds,
                )
                say(f"built {day}: {score.stories} stories in {seconds:.2f}s")
                days.append(score)
    total = total_score(days)
    unplaced = sorted(c for c in core if c not in moments)
    if unplaced:  # label-2 items with no time at all: missed by every edition
        total = _with_missed(total, unplaced)
    named = set(total.missed) | set(total.off_topic)
    named |= {cid for _, _, ids in total.summaryless for cid in ids}
    return EvalReport(
        corpus=corpus.folder.name,
        topic=topic.key,
        feeds=len(corpus.feed_files),
        items=len(stored),
        days=tuple(days),
        total=total,
        titles={cid: corpus.items[cid].title for cid in named if cid in corpus.items},
    )


def _match_items(stored: list[Item], corpus: Corpus) -> dict[int, str]:
    """Store item id -> corpus id, by the link's hash, then the link, guid or canonical URL."""
    by_link: dict[str, str] = {}
    for cid, entry in corpus.items.items():
        by_link.setdefault(entry.link, cid)
        by_link.setdefault(canonical_url(entry.link), cid)
    matched = {}
    for item in stored:
        for key in (item.url, item.guid):
            if key and item_id_for_link(key) in corpus.items:
                matched[item.id] = item_id_for_link(key)
                break
        else:
            for key in (item.url, item.guid, item.canonical_url):
                if key in by_link:
                    matched[item.id] = by_link[key]
                    break
    return matched


def _source_texts(
    stored: list[Item], corpus: Corpus, corpus_ids: dict[int, str]
) -> dict[int, list[str]]:
    """What a summary may quote, per stored item: its title and text as fetched, and the title
    and description the corpus lists for it."""
    texts: dict[int, list[str]] = {}
    for item in stored:
        found = [plain(item.title), plain(item.summary_html), plain(item.text)]
        original = corpus.items.get(corpus_ids.get(item.id, ""))
        if original is not None:
            found += [plain(original.title), plain(original.description)]
        texts[item.id] = [t for t in found if t]
    return texts


def _edition_dates(moments: Iterable[datetime], settings: DigestSettings) -> list[date]:
    """The edition dates whose windows hold at least one of `moments`, in order."""
    return sorted({_edition_for(moment, settings) for moment in moments})


def _edition_for(moment: datetime, settings: DigestSettings) -> date:
    day = moment.astimezone(settings.zone).date()
    for candidate in (day - timedelta(days=1), day, day + timedelta(days=1)):
        if moment in edition_window(candidate, settings):
            return candidate
    return day


def _with_missed(total: DayScore, missed: list[str]) -> DayScore:
    return replace(total, core=total.core + len(missed), missed=total.missed + tuple(missed))
