"""Each subscriber's unsubscribe and preferences tokens, made fast enough to make per message.

:meth:`TokenSigner.make` builds an itsdangerous serializer, derives its key and tries zlib on
the payload every time: about 0.1 ms a token, two tokens a message, more than the rest of
composing it. :class:`LinkTokens` makes the same tokens with the serializer's signer built once
per purpose and its key derived once. The payload (``[id,"tag"]``, some 25 bytes) is not
compressed: zlib never makes one that short shorter, and the web pages read tokens either way.

A token made here is checked against :meth:`TokenSigner.make` once, when the object is built;
should the token format ever differ, every token comes from the signer itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

from itsdangerous import URLSafeSerializer

from subscribers.tokens import TokenSigner, address_tag

__all__ = ["LinkTokens"]


class LinkTokens:
    """``make(purpose, subscriber_id, email)``: what ``TokenSigner.make(..., email=email)``
    returns, for the purposes given."""

    def __init__(self, signer: TokenSigner, secret_key: str, purposes: Iterable[str]) -> None:
        self._signer = signer
        self._fast: dict[str, Callable[[bytes], bytes]] = {}
        for purpose in purposes:
            # The signer TokenSigner signs with: the current key, the purpose as salt.
            its = URLSafeSerializer(secret_key, salt=f"digest.{purpose}").make_signer()
            key, sep, algorithm = its.derive_key(), its.sep, its.algorithm

            def sign(
                payload: bytes, key: bytes = key, sep: bytes = sep, a: Any = algorithm
            ) -> bytes:
                signature = base64.urlsafe_b64encode(a.get_signature(key, payload))
                return payload + sep + signature.rstrip(b"=")

            self._fast[purpose] = sign
        sample_id, sample_email = 2**31 - 1, "check@example.com"
        for purpose in list(self._fast):
            if self.make(purpose, sample_id, sample_email) != signer.make(
                purpose, sample_id, email=sample_email
            ):
                del self._fast[purpose]  # not the signer's format: use the signer

    def make(self, purpose: str, subscriber_id: int, email: str) -> str:
        sign = self._fast.get(purpose)
        if sign is None:
            return self._signer.make(purpose, subscriber_id, email=email)
        # itsdangerous' compact JSON of [id, "tag"], URL-safe base64 without padding.
        data = f"[{subscriber_id:d},{json.dumps(address_tag(email))}]".encode("ascii")
        payload = base64.urlsafe_b64encode(data).rstrip(b"=")
        return sign(payload).decode("ascii")
