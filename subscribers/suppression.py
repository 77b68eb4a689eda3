"""The suppression list's keys: an HMAC of the normalized address, never the address itself.

Erasing a subscriber (GDPR) deletes every piece of personal data but must keep the address from
being mailed again if it is re-imported; a keyed hash does that without keeping the address.
The key is the installation's secret key; hashes made under former keys (``old_secret_keys``)
still match, so rotating the key does not forget anyone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from digest.errors import SubscriberError

_CONTEXT = b"digest.suppression:"


class AddressHasher:
    def __init__(self, secret_key: str, old_keys: Sequence[str] = ()) -> None:
        keys = [secret_key, *old_keys] if secret_key else []
        self._keys = [key.encode("utf-8") for key in dict.fromkeys(k for k in keys if k)]

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def current(self, address: str) -> str:
        """The hash a new suppression is stored under (current key)."""
        if not self._keys:
            raise SubscriberError(
                "the suppression list needs a secret key (set [digest] secret_key or "
                "DIGEST_SECRET_KEY)"
            )
        return self._hash(self._keys[0], address)

    def all(self, address: str) -> list[str]:
        """Every hash the address may be stored under (current and former keys)."""
        return [self._hash(key, address) for key in self._keys]

    @staticmethod
    def _hash(key: bytes, address: str) -> str:
        return hmac.new(key, _CONTEXT + address.encode("utf-8"), hashlib.sha256).hexdigest()
