"""The suppression list's keys: an HMAC of the normalized address, never the address itself.

Erasing a subscriber (GDPR) deletes every piece of personal data but must keep the address from
being mailed again if it is re-imported; a keyed hash does that without keeping the address.
The key is the installation's suppression key, which is never rotated (the secret key that
signs links is), so forgetting an old secret key never forgets a suppression. Installations
from before the suppression key hashed with the secret key: hashes made under it and the
former keys (``old_secret_keys``) still match.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from digest.errors import SubscriberError

_CONTEXT = b"digest.suppression:"


class AddressHasher:
    def __init__(self, suppression_key: str, legacy_keys: Sequence[str] = ()) -> None:
        """``suppression_key`` keys new hashes; ``legacy_keys`` (the secret key and its former
        keys) only find suppressions made before there was a suppression key."""
        keys = [suppression_key, *legacy_keys] if suppression_key else []
        self._keys = [key.encode("utf-8") for key in dict.fromkeys(k for k in keys if k)]

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def current(self, address: str) -> str:
        """The hash a new suppression is stored under (the suppression key)."""
        if not self._keys:
            raise SubscriberError(
                "the suppression list needs a key (set [digest] suppression_key, or "
                "secret_key, or DIGEST_DIGEST__SUPPRESSION_KEY)"
            )
        return self._hash(self._keys[0], address)

    def all(self, address: str) -> list[str]:
        """Every hash the address may be stored under (suppression key, then legacy keys)."""
        return [self._hash(key, address) for key in self._keys]

    @staticmethod
    def _hash(key: bytes, address: str) -> str:
        return hmac.new(key, _CONTEXT + address.encode("utf-8"), hashlib.sha256).hexdigest()
