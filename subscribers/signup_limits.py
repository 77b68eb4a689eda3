"""Limits on the public sign-up form, so it cannot be used to mail-bomb an address.

Flask-Limiter counts POSTs to /subscribe per client network and per email address in fixed
one-hour windows. Its counters live in the project's own database (:class:`DatabaseStorage`, a
``limits`` storage), so several web worker processes (gunicorn) share them without a Redis or
Memcached server to run, and they follow the app's clock. Over a limit, the answer is a 429
page, whether the address is known or not.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Flask, request
from flask_limiter import Limiter
from limits.storage import Storage
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from digest.store.database import Database
from digest.store.models import RateLimitRow

if TYPE_CHECKING:
    from digest.app import App

View = TypeVar("View", bound=Callable[..., Any])
SCHEME = "digest-database"


class DatabaseStorage(Storage):
    """A ``limits`` storage on the project's database: fixed windows, one row per key.

    Each increment is one UPDATE (atomic on SQLite and PostgreSQL), so concurrent workers never
    lose a count; a key whose window has ended starts a new one.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        database: Database,
        clock: Callable[[], datetime],
        **options: Any,
    ) -> None:
        self._sessions = database.sessions
        self._clock = clock
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _now(self) -> float:
        return self._clock().timestamp()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._now()
        for _ in range(3):  # another worker may start or reset the same window meanwhile
            with self._sessions.begin() as session:
                counted = session.execute(
                    update(RateLimitRow)
                    .where(RateLimitRow.key == key, RateLimitRow.expires_at > now)
                    .values(count=RateLimitRow.count + amount)
                )
                if counted.rowcount:  # type: ignore[attr-defined]
                    return int(
                        session.scalar(select(RateLimitRow.count).where(RateLimitRow.key == key))
                        or 0
                    )
                restarted = session.execute(
                    update(RateLimitRow)
                    .where(RateLimitRow.key == key, RateLimitRow.expires_at <= now)
                    .values(count=amount, expires_at=now + expiry)
                )
                if restarted.rowcount:  # type: ignore[attr-defined]
                    return amount
            try:
                with self._sessions.begin() as session:
                    # a new key: forget windows that have ended, so the table stays small
                    session.execute(delete(RateLimitRow).where(RateLimitRow.expires_at <= now))
                    session.add(RateLimitRow(key=key, count=amount, expires_at=now + expiry))
                return amount
            except IntegrityError:
                continue
        raise SQLAlchemyError(f"rate limit {key!r}: could not count this request")

    def get(self, key: str) -> int:
        with self._sessions() as session:
            row = session.get(RateLimitRow, key)
            return row.count if row is not None and row.expires_at > self._now() else 0

    def get_expiry(self, key: str) -> float:
        with self._sessions() as session:
            row = session.get(RateLimitRow, key)
            return row.expires_at if row is not None else self._now()

    def check(self) -> bool:
        try:
            with self._sessions() as session:
                session.execute(select(RateLimitRow.key).limit(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._sessions.begin() as session:
            gone = session.execute(delete(RateLimitRow))
            return int(gone.rowcount)  # type: ignore[attr-defined]

    def clear(self, key: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(RateLimitRow).where(RateLimitRow.key == key))


def client_network() -> str:
    """The client's address; for IPv6 its /64, which one host or home usually owns whole."""
    remote = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def signup_limits(web: Flask, app: App) -> Callable[[View], View]:
    """A decorator for the sign-up view that applies the configured limits (none when both
    are 0)."""
    settings = app.settings.web
    secret = app.settings.secret_key.encode("utf-8")

    def address_key() -> str:
        # keyed hash: the table never holds an address, and keys cannot be guessed from one
        email = " ".join(request.form.get("email", "").split()).casefold()[:320]
        return hmac.new(secret, b"digest.signup:" + email.encode(), hashlib.sha256).hexdigest()

    limits = [
        (settings.subscribes_per_ip_per_hour, client_network, "subscribe-ip"),
        (settings.subscribes_per_address_per_hour, address_key, "subscribe-address"),
    ]
    limits = [limit for limit in limits if limit[0] > 0]
    if not limits:
        return lambda view: view
    options: dict[str, Any] = {"database": app.database, "clock": app.clock}
    limiter = Limiter(
        key_func=client_network,
        app=web,
        storage_uri=f"{SCHEME}://",
        storage_options=options,
        strategy="fixed-window",
        headers_enabled=False,
    )
    decorators = [
        limiter.limit(f"{count} per hour", key_func=key, methods=["POST"], scope=scope)
        for count, key, scope in limits
    ]

    def limited(view: View) -> View:
        for decorate in decorators:
            view = cast(View, decorate(view))
        return view

    return limited
