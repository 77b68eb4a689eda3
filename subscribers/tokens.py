"""Signed tokens for subscriber links (itsdangerous), one salt per purpose."""

from __future__ import annotations

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

    def make(self, purpose: str, subscriber_id: int) -> str:
        if purpose == CONFIRM:
            return str(self._timed().dumps(subscriber_id))
        return str(self._serializer(purpose).dumps(subscriber_id))

    def read(self, purpose: str, token: str, *, max_age: timedelta | None = None) -> int:
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
        if not isinstance(value, int) or isinstance(value, bool):
            raise TokenError("this link is not valid")
        return value


class ExpiredTokenError(TokenError):
    """A confirmation link older than its validity."""
