"""Address validation and normalization with email-validator (no DNS look-ups)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import SubscriberError


def normalize_email(address: str) -> str:
    """The canonical form of ``address``; SubscriberError with the reason when invalid."""
    candidate = address.strip()
    if any(ch in candidate for ch in "\r\n\0"):
        raise SubscriberError(f"invalid address {candidate!r}: contains a line break")
    # Imported here: its tables cost a twentieth of a second, and every command imports this
    # module (the CLI lists the import presets) while few validate an address.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise SubscriberError(f"invalid address {candidate!r}: {exc}") from exc
    # The domain is case-insensitive; local parts are kept as typed except for case, which
    # every mainstream provider ignores, so "Ada@X" and "ada@x" are one subscriber.
    return result.normalized.lower()


def clean_name(name: str | None) -> str | None:
    """A display name safe for a header: no control characters, trimmed, None when empty."""
    if name is None:
        return None
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    return cleaned[:256] or None


def normalize_timezone(value: str | None) -> str | None:
    """An IANA time zone name as given, None when empty; SubscriberError when unknown."""
    if value is None or not value.strip():
        return None
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SubscriberError(f"unknown time zone {name!r} (use a name like Europe/Paris)") from exc
    return name
