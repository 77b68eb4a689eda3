"""Wiring: one function builds the application from settings and optional injected parts.

The parts a command may not need (subscribers, ledger, fetcher, mailer, renderer) are built,
and their modules imported, on first use: every command starts quickly, whatever it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.clock import Clock, system_clock
from digest.config import Settings
from digest.store.database import Database, open_database
from digest.store.store import Store
from digest.topic_files import missing_topic

if TYPE_CHECKING:
    from digest.delivery.ledger import Ledger
    from digest.delivery.smtp import SmtpMailer
    from digest.ingest.service import Fetcher
    from digest.render.email import EditionRenderer
    from digest.types import Topic
    from subscribers.store import SubscriberStore
    from subscribers.tokens import TokenSigner


@dataclass
class App:
    """The parts one command needs, built once; ``close()`` (or ``with``) releases them."""

    settings: Settings
    database: Database
    store: Store
    clock: Clock
    mailer_factory: Callable[[], SmtpMailer]
    _fetcher_factory: Callable[[], Fetcher] = field(repr=False)
    _topic: Topic | None = field(default=None, repr=False)
    _owned: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _subscribers: SubscriberStore | None = field(default=None, repr=False)
    _ledger: Ledger | None = field(default=None, repr=False)

    @property
    def topic(self) -> Topic:
        if self._topic is None:
            from digest.editorial.topic import load_topic

            self._topic = load_topic(self.settings.digest.topic)
        return self._topic

    @property
    def subscribers(self) -> SubscriberStore:
        if self._subscribers is None:
            from subscribers.store import SubscriberStore
            from subscribers.suppression import AddressHasher

            settings = self.settings
            self._subscribers = SubscriberStore(
                self.database,
                hasher=AddressHasher(
                    settings.suppression_key,
                    (settings.secret_key, *settings.digest.old_secret_keys),
                ),
                topic_key=lambda: self.topic.key,  # the topic file is read on first use
            )
        return self._subscribers

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            from digest.delivery.ledger import Ledger

            self._ledger = Ledger(self.database, self.subscribers)
        return self._ledger

    def fetcher(self) -> Fetcher:
        fetcher = self._fetcher_factory()
        close = getattr(fetcher, "close", None)
        if close is not None:
            self._owned.append(close)
        return fetcher

    def renderer(self) -> EditionRenderer:
        from digest.render.email import EditionRenderer

        return EditionRenderer(
            digest_name=self.settings.digest.name,
            base_url=self.settings.web.base_url,
            contact_line=self.settings.web.contact_line,
            overrides=self.settings.digest.templates_path,
            language=self.settings.digest.language,
            timezone=self.settings.digest.timezone,
        )

    def signer(self) -> TokenSigner:
        from subscribers.tokens import TokenSigner

        return TokenSigner(
            self.settings.secret_key, self.settings.digest.old_secret_keys, clock=self.clock
        )

    def verp_keys(self) -> tuple[str, ...]:
        """Keys of VERP tokens: the secret key, then former ones (tokens already sent)."""
        return (self.settings.secret_key, *self.settings.digest.old_secret_keys)

    def close(self) -> None:
        while self._owned:
            self._owned.pop()()
        self.database.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_clock(database: Database) -> Clock:
    """This host's clock, or on a database several hosts may share, the database's."""
    if database.engine.dialect.name == "postgresql":
        from digest.store.dbclock import DatabaseClock

        return DatabaseClock(database.engine)
    return system_clock


def make_app(
    settings: Settings,
    *,
    database: Database | None = None,
    fetcher: Callable[[], Fetcher] | None = None,
    mailer: Callable[[], SmtpMailer] | None = None,
    clock: Clock | None = None,
    topic: Topic | None = None,
) -> App:
    """Build the application; any part may be injected (tests, the demo)."""
    if topic is None and (missing := missing_topic(settings.digest.topic)) is not None:
        raise missing  # before the database: a typo must not leave a digest.db behind
    db = database or open_database(settings.digest.database)

    def smtp_mailer() -> SmtpMailer:
        from digest.delivery.smtp import SmtpMailer

        return SmtpMailer(settings.smtp)

    def http_fetcher() -> Fetcher:
        from digest.ingest.fetch import HttpFetcher

        return HttpFetcher(settings.fetch)

    return App(
        settings=settings,
        database=db,
        store=Store(db),
        clock=clock or _default_clock(db),
        mailer_factory=mailer or smtp_mailer,
        _fetcher_factory=fetcher or http_fetcher,
        _topic=topic,
    )
