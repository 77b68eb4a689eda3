"""The bounce settings that only fail when a report arrives, checked ahead (`config check`)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from digest.config import BouncesSettings
from digest.errors import ConfigError

__all__ = ["bounce_settings_problems", "sendgrid_key"]


def sendgrid_key(public_key: str) -> Any:
    """SendGrid's verification key (base64 DER, as its settings page shows it, or PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        if public_key.lstrip().startswith("-----"):
            key = serialization.load_pem_public_key(public_key.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(public_key))
    except (ValueError, binascii.Error):
        raise ConfigError("[bounces] sendgrid_public_key cannot be read") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("[bounces] sendgrid_public_key is not an ECDSA key")
    return key


def bounce_settings_problems(settings: BouncesSettings) -> list[str]:
    problems = []
    if settings.imap_ca_file and not Path(settings.imap_ca_file).is_file():
        problems.append(f"[bounces] imap_ca_file {settings.imap_ca_file} is not a file")
    if settings.imap_host and not settings.imap_password:
        problems.append("[bounces] imap_host is set but DIGEST_IMAP_PASSWORD is not")
    if settings.sendgrid_public_key:
        try:
            sendgrid_key(settings.sendgrid_public_key)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems
