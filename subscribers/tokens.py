"""Signed tokens for subscriber links (itsdangerous), one salt per purpose."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from digest.errors import TokenError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"


class TokenSigner:
    """Makes and checks tokens naming a subscriber id for one purpose.

    Unsubscribe links must keep working for as long as the email exists, so they carry no
    expiry; the purpose is the salt, so a token for one use never works for another.
    """

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise TokenError(
                "no secret key configured (set [digest] secret_key or DIGEST_SECRET_KEY)"
            )
        self._secret_key = secret_key

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self._secret_key, salt=f"digest.{purpose}")

    def make(self, purpose: str, subscriber_id: int) -> str:
        return str(self._serializer(purpose).dumps(subscriber_id))

    def read(self, purpose: str, token: str) -> int:
        try:
            value = self._serializer(purpose).loads(token)
        except BadSignature as exc:
            raise TokenError(
                "this link is not valid (it was altered or is meant for another page)"
            ) from exc
        if not isinstance(value, int):
            raise TokenError("this link is not valid")
        return value
