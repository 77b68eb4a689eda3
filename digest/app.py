"""Wiring: one function builds the application from settings and optional injected parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from digest.clock import Clock, system_clock
from digest.config import Settings
from digest.delivery.ledger import Ledger
from digest.delivery.smtp import Mailer, SmtpMailer
from digest.editorial import load_topic
from digest.ingest.fetch import HttpFetcher
from digest.ingest.service import Fetcher
from digest.render.email import EditionRenderer
from digest.store.database import Database, open_database
from digest.store.store import Store
from digest.types import Topic
from subscribers.store import SubscriberStore
from subscribers.suppression import AddressHasher
from subscribers.tokens import TokenSigner


@dataclass
class App:
    """The parts one command needs, built once; ``close()`` (or ``with``) releases them."""

    settings: Settings
    database: Database
    store: Store
    subscribers: SubscriberStore
    ledger: Ledger
    clock: Clock
    mailer_factory: Callable[[], Mailer]
    _fetcher_factory: Callable[[], Fetcher] = field(repr=False)
    _topic: Topic | None = field(default=None, repr=False)
    _owned: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def topic(self) -> Topic:
        if self._topic is None:
            self._topic = load_topic(self.settings.digest.topic)
        return self._topic

    def fetcher(self) -> Fetcher:
        fetcher = self._fetcher_factory()
        close = getattr(fetcher, "close", None)
        if close is not None:
            self._owned.append(close)
        return fetcher

    def renderer(self) -> EditionRenderer:
        return EditionRenderer(
            digest_name=self.settings.digest.name,
            base_url=self.settings.web.base_url,
            contact_line=self.settings.web.contact_line,
            overrides=self.settings.digest.templates_path,
            language=self.settings.digest.language,
            timezone=self.settings.digest.timezone,
        )

    def signer(self) -> TokenSigner:
        return TokenSigner(
            self.settings.secret_key, self.settings.digest.old_secret_keys, clock=self.clock
        )

    def close(self) -> None:
        while self._owned:
            self._owned.pop()()
        self.database.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_app(
    settings: Settings,
    *,
    database: Database | None = None,
    fetcher: Callable[[], Fetcher] | None = None,
    mailer: Callable[[], Mailer] | None = None,
    clock: Clock | None = None,
    topic: Topic | None = None,
) -> App:
    """Build the application; any part may be injected (tests, the demo)."""
    db = database or open_database(settings.digest.database)
    topic_keys: list[str] = [topic.key] if topic is not None else []

    def topic_key() -> str:  # loaded on first use, like App.topic
        if not topic_keys:
            topic_keys.append(load_topic(settings.digest.topic).key)
        return topic_keys[0]

    subscribers = SubscriberStore(
        db,
        hasher=AddressHasher(
            settings.suppression_key, (settings.secret_key, *settings.digest.old_secret_keys)
        ),
        topic_key=topic_key,
    )
    return App(
        settings=settings,
        database=db,
        store=Store(db),
        subscribers=subscribers,
        ledger=Ledger(db, subscribers),
        clock=clock or system_clock,
        mailer_factory=mailer or (lambda: SmtpMailer(settings.smtp)),
        _fetcher_factory=fetcher or (lambda: HttpFetcher(settings.fetch)),
        _topic=topic,
    )
