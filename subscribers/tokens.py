"""Signed tokens for subscriber links (itsdangerous), one salt per purpose."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

from digest.errors import TokenError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
#: Confirms a subscription (double opt-in); the only purpose whose links expire.
CONFIRM = "confirm"


class TokenSigner:
    """Makes and checks tokens naming a subscriber id for one purpose.

    Unsubscribe and preferences links must keep working for as long as the email exists, so they
    carry no expiry; confirmation links do expire. The purpose is the salt, so a token for one use
    never works for another. Tokens are signed with the current key and checked against it and
    every old key, so rotating the key keeps links already sent working.
    """

    def __init__(
        self,
        secret_key: str,
        old_keys: Sequence[str] = (),
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not secret_key:
            raise TokenError(
                "no secret key configured (set [digest] secret_key or DIGEST_SECRET_KEY)"
            )
        # itsdangerous signs with the last key and accepts any of them.
        self._keys = [*(key for key in old_keys if key and key != secret_key), secret_key]
        self._clock = clock

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self._keys, salt=f"digest.{purpose}")

    def _timed(self) -> URLSafeTimedSerializer:
        clock = self._clock
        signer: type[TimestampSigner] = TimestampSigner
        if clock is not None:
            now: Callable[[], datetime] = clock

            # The app's clock, so tests (and the demo) can move time without patching.
            class _ClockSigner(TimestampSigner):
                def get_timestamp(self) -> int:
                    return int(now().timestamp())

            signer = _ClockSigner
        return URLSafeTimedSerializer(self._keys, salt=f"digest.{CONFIRM}", signer=signer)

    def make(
        self,
        purpose: str,
        subscriber_id: int,
        *,
        email: str | None = None,
        nonce: str | None = None,
    ) -> str:
        """A token for ``subscriber_id``; with ``email``, it also carries a short tag of the
        address, so it stops working if the id ever belongs to someone else (a database may
        reuse the id of a deleted row). A confirmation link also carries the subscriber's
        current ``nonce``, which confirming clears, so the link works once."""
        payload: int | list[int | str] = (
            subscriber_id if email is None else [subscriber_id, address_tag(email)]
        )
        if nonce is not None:
            if email is None:
                raise TokenError("a confirmation nonce needs the address too")
            payload = [subscriber_id, address_tag(email), nonce]
        if purpose == CONFIRM:
            return str(self._timed().dumps(payload))
        return str(self._serializer(purpose).dumps(payload))

    def read(self, purpose: str, token: str, *, max_age: timedelta | None = None) -> int:
        return self.read_link(purpose, token, max_age=max_age)[0]

    def read_link(
        self, purpose: str, token: str, *, max_age: timedelta | None = None
    ) -> tuple[int, str | None]:
        """(subscriber id, address tag or None for tokens made without an address)."""
        subscriber_id, tag, _ = self.read_confirmation(purpose, token, max_age=max_age)
        return subscriber_id, tag

    def read_confirmation(
        self, purpose: str, token: str, *, max_age: timedelta | None = None
    ) -> tuple[int, str | None, str | None]:
        """(subscriber id, address tag, nonce): the tag and nonce are None when absent."""
        try:
            if purpose == CONFIRM:
                age = int((max_age or timedelta(hours=72)).total_seconds())
                value = self._timed().loads(token, max_age=age)
            else:
                value = self._serializer(purpose).loads(token)
        except SignatureExpired as exc:
            raise ExpiredTokenError(
                "this confirmation link has expired; subscribe again to get a new one"
            ) from exc
        except BadSignature as exc:
            raise TokenError(
                "this link is not valid (it was altered or is meant for another page)"
            ) from exc
        tag = nonce = None
        if isinstance(value, list) and len(value) in (2, 3):
            if not all(isinstance(part, str) for part in value[1:]):
                raise TokenError("this link is not valid")
            value, tag, nonce = (*value, None)[:3]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TokenError("this link is not valid")
        return value, tag, nonce


def address_tag(email: str) -> str:
    """A short fingerprint of an address, checked inside a signed token (not a secret)."""
    return hashlib.sha256(b"digest.token:" + email.encode("utf-8")).hexdigest()[:12]


class ExpiredTokenError(TokenError):
    """A confirmation link older than its validity."""
