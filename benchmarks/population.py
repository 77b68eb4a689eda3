"""A built edition and many subscribers on it, for the sending benchmarks (send.py, workers.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, text

from digest import services
from digest.app import App
from digest.editions.service import Editions
from digest.loopback import FeedServer
from digest.store.models import SubscriberRow
from digest.types import Edition

SAMPLES = Path(__file__).resolve().parent.parent / "digest" / "samples"
DAY = date(2026, 3, 10)
_ROWS_PER_STATEMENT = 5000


def build_sample_edition(app: App) -> Edition:
    """The bundled sample feeds, served on loopback, fetched and built into DAY's edition."""
    with FeedServer(SAMPLES) as feeds:
        for path in sorted(SAMPLES.glob("*.xml")):
            services.add_feed(app, feeds.url(path.name))
        services.fetch(app)
    editions = Editions(app)
    return editions.build(editions.key(DAY))


def add_readers(app: App, count: int, now: datetime, *, names: bool = False) -> None:
    """``count`` active subscribers on the default list (as `digest subscribers add` puts
    them), written in bulk: the application's own path would take longer than the benchmark.
    With ``names``, two in three have a display name and a consent record."""
    with app.database.engine.begin() as connection:
        for start in range(0, count, _ROWS_PER_STATEMENT):
            rows = [
                {
                    "email": f"reader{n}@bench.example",
                    "status": "active",
                    "sections": [],
                    "format": "html",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(start, min(start + _ROWS_PER_STATEMENT, count))
            ]
            if names:
                for n, row in enumerate(rows, start):
                    row.update(
                        name=f"Reader {n}" if n % 3 else None,
                        consent_at=now,
                        consent_source="bench",
                    )
            connection.execute(insert(SubscriberRow), rows)
        connection.execute(
            text(
                "INSERT INTO lists (name, topic, created_at) VALUES ('default', NULL, :now)"
                " ON CONFLICT DO NOTHING"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO list_members (list_id, subscriber_id, created_at)"
                " SELECT lists.id, subscribers.id, :now FROM lists, subscribers"
                " WHERE lists.name = 'default' ON CONFLICT DO NOTHING"
            ),
            {"now": now},
        )
