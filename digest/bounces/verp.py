"""Per-recipient envelope senders (VERP): ``bounces+TOKEN@domain``, TOKEN naming a delivery row.

A bounce goes to the envelope sender, so the address it comes back to says which message
bounced, whatever the remote MTA writes in its report. TOKEN is the delivery's id and a
truncated HMAC of it under the secret key, in lowercase base32 (some MTAs lowercase local
parts; base32 has no character a local part must quote): a report cannot be forged to bounce
somebody else's address. Tokens made under a former key (``old_secret_keys``) still decode.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

from digest.errors import ConfigError

__all__ = ["VerpAddresses"]

_CONTEXT = b"digest.verp:"
#: 10 bytes of HMAC: 16 base32 characters, 80 bits against guessing.
_MAC_BYTES = 10
_TOKEN = re.compile(r"([0-9]+)-([a-z2-7]{16})")


class VerpAddresses:
    def __init__(self, bounce_address: str, keys: Sequence[str]) -> None:
        """``bounce_address`` is the plain address; ``keys`` the secret key, then former keys."""
        self._local, _, self._domain = bounce_address.rpartition("@")
        self._keys = [key.encode("utf-8") for key in dict.fromkeys(k for k in keys if k)]
        if not self._keys:
            raise ConfigError("[delivery] bounce_address needs a secret key to sign its tokens")

    def _mac(self, key: bytes, delivery_id: int) -> str:
        digest = hmac.new(key, _CONTEXT + str(delivery_id).encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:_MAC_BYTES]).decode("ascii").lower()

    def token(self, delivery_id: int) -> str:
        return f"{delivery_id}-{self._mac(self._keys[0], delivery_id)}"

    def address(self, delivery_id: int) -> str:
        """The envelope sender of delivery ``delivery_id``."""
        return f"{self._local}+{self.token(delivery_id)}@{self._domain}"

    def delivery_id(self, address: str) -> int | None:
        """The delivery an address of ours names, or None (not ours, or a forged token)."""
        address = address.strip().strip("<>").lower()
        local, _, domain = address.rpartition("@")
        base, plus, token = local.partition("+")
        if not plus or base != self._local.lower() or domain != self._domain.lower():
            return None
        found = _TOKEN.fullmatch(token)
        if found is None:
            return None
        delivery_id = int(found.group(1))
        for key in self._keys:
            if hmac.compare_digest(self._mac(key, delivery_id), found.group(2)):
                return delivery_id
        return None
