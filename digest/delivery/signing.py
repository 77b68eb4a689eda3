"""DKIM signing with dkimpy, covering the headers a receiver must be able to trust.

The List-Unsubscribe headers are signed: Gmail and Yahoo honour one-click unsubscribe only when
the DKIM signature covers them.
"""

from __future__ import annotations

from pathlib import Path

import dkim

from digest.config import DeliverySettings
from digest.delivery.compose import Signer
from digest.errors import ConfigError

#: Signed headers, in the order they are hashed.
SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Id",
    b"Feedback-ID",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
)


def make_signer(settings: DeliverySettings, base: Path | None = None) -> Signer | None:
    """A DKIM signer from the [delivery] dkim_* keys, or None when DKIM is not configured.

    A relative key file is read relative to ``base`` (the config file's folder).
    """
    if not settings.dkim_private_key_file:
        return None
    path = Path(settings.dkim_private_key_file).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"[delivery] cannot read dkim_private_key_file {path}: {exc}") from exc
    selector = settings.dkim_selector.encode("ascii")
    domain = settings.dkim_domain.encode("ascii")
    try:  # sign once now, so a bad key is a config error and not a failure per message
        dkim.sign(b"From: a@b\r\n\r\n", selector, domain, key, include_headers=[b"From"])
    except (dkim.DKIMException, ValueError, IndexError) as exc:
        raise ConfigError(f"[delivery] DKIM key {path} cannot sign: {exc}") from exc

    def sign(message: bytes) -> bytes:
        signature: bytes = dkim.sign(
            message,
            selector,
            domain,
            key,
            include_headers=list(SIGNED_HEADERS),
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return signature

    return sign
