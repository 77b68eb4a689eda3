"""`digest demo`: the whole pipeline offline, on the bundled feeds, in a few seconds.

Feeds are served over loopback HTTP, the database is a temporary SQLite file, and the emails go
over real SMTP to an embedded server that saves them under the outbox folder.
"""

from __future__ import annotations

import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from importlib import resources
from pathlib import Path

from digest import services
from digest.app import make_app
from digest.clock import fixed_clock
from digest.config import (
    DigestSettings,
    FetchSettings,
    Settings,
    SmtpSettings,
    WebSettings,
    new_secret_key,
)
from digest.editions.service import Editions
from digest.errors import UsageError
from digest.loopback import FeedServer, SmtpSink
from digest.types import Edition
from digest.windows import edition_window


@dataclass(frozen=True)
class DemoResult:
    edition: Edition
    feeds: int
    items: int
    on_topic_items: int
    counts: dict[str, int]
    messages: list[Path]
    preview: services.PreviewFiles
    outbox: Path
    seconds: float


def run_demo(outbox: Path, *, progress: Callable[[str], None] | None = None) -> DemoResult:
    say = progress or (lambda _line: None)
    started = time.monotonic()
    with resources.as_file(resources.files("digest") / "samples") as samples:
        manifest = tomllib.loads((samples / "demo.toml").read_text(encoding="utf-8"))
        edition_date = date.fromisoformat(str(manifest["date"]))
        _clear_outbox(outbox)
        with (
            tempfile.TemporaryDirectory(prefix="digest-demo-") as workdir,
            FeedServer(samples) as feed_server,
            SmtpSink(outbox) as smtp,
        ):
            settings = _demo_settings(Path(workdir), smtp.port)
            # The demo's news day is fixed, so "now" is that morning, just after send time.
            now = edition_window(edition_date, settings.digest).end + timedelta(minutes=5)
            with make_app(settings, clock=fixed_clock(now.astimezone(UTC))) as app:
                for feed in manifest["feeds"]:
                    services.add_feed(app, feed_server.url(feed["file"]))
                for person in manifest.get("subscribers", []):
                    app.subscribers.add(person["email"], name=person.get("name"), now=now)
                say(f"serving {len(manifest['feeds'])} sample feeds on {feed_server.base_url}")
                reports = services.fetch(app)
                failed = [r for r in reports if r.status == "error"]
                if failed:
                    raise UsageError(f"demo feed failed: {failed[0].url}: {failed[0].error}")
                say(f"fetched {sum(r.items_seen for r in reports)} items")
                editions = Editions(app)
                edition = editions.build(editions.key(edition_date))
                say(f"built the {edition_date} edition: {len(edition.stories)} stories")
                preview = services.preview(app, edition, outbox)
                say(f"sending over SMTP to 127.0.0.1:{smtp.port}")
                report = services.send(app, edition)
                items = app.store.count_items()
    return DemoResult(
        edition=edition,
        feeds=len(reports),
        items=items,
        on_topic_items=sum(len(story.sources) for story in edition.stories),
        counts=report.counts,
        messages=smtp.saved,
        preview=preview,
        outbox=outbox,
        seconds=time.monotonic() - started,
    )


def _demo_settings(workdir: Path, smtp_port: int) -> Settings:
    return Settings(
        digest=DigestSettings(
            database=f"sqlite:///{workdir / 'demo.db'}", secret_key=new_secret_key()
        ),
        fetch=FetchSettings(allow_private_addresses=True, timeout_seconds=10),
        smtp=SmtpSettings(
            host="127.0.0.1", port=smtp_port, sender="US–China Trade Digest <digest@demo.example>"
        ),
        web=WebSettings(
            base_url="http://localhost:8080", contact_line="Demo Newsroom, 1 Example Street"
        ),
    )


def _clear_outbox(outbox: Path) -> None:
    """Start each demo with an outbox holding only this run's messages."""
    if outbox.exists() and not outbox.is_dir():
        raise UsageError(f"{outbox} exists and is not a folder")
    outbox.mkdir(parents=True, exist_ok=True)
    for old in outbox.glob("*.eml"):
        old.unlink()
