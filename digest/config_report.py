"""`digest config show` and `digest config check`: the effective settings, where each came from,
and what would fail at run time although the values themselves are valid."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from digest.config import Settings
from digest.config_env import SECRETS
from digest.errors import DigestError
from digest.redact import redact

MASK = "********"
_TABLES = ("digest", "fetch", "smtp", "web", "delivery", "schedule")


def masked(table: str, key: str, value: Any) -> Any:
    """A secret's value hidden (its presence shown); other values as they are, but for the
    password a database URL may hold."""
    if (table, key) == ("digest", "database"):
        return redact(value)
    if (table, key) not in SECRETS or not value:
        return list(value) if isinstance(value, tuple) else value
    if isinstance(value, tuple):
        return [MASK for _ in value]
    return MASK


def settings_dict(settings: Settings) -> dict[str, Any]:
    """{"file", "settings": {table: {key: {"value", "source"}}}, "warnings"}, secrets masked."""
    tables: dict[str, dict[str, Any]] = {}
    for table in _TABLES:
        part = getattr(settings, table)
        tables[table] = {
            item.name: {
                "value": masked(table, item.name, getattr(part, item.name)),
                "source": settings.sources.get((table, item.name), "default"),
            }
            for item in fields(part)
        }
    return {
        "file": str(settings.path) if settings.path else None,
        "settings": tables,
        "warnings": list(settings.warnings),
    }


@dataclass(frozen=True, slots=True)
class CheckResult:
    #: Would make a command fail: `digest config check` exits 1.
    problems: tuple[str, ...]
    #: Worth knowing, not fatal.
    notes: tuple[str, ...]


def check_settings(settings: Settings) -> CheckResult:
    """What loading alone does not see: missing files, no key, a topic that does not load."""
    from digest.delivery.signing import make_signer
    from digest.editorial import load_topic

    problems: list[str] = []
    notes: list[str] = list(settings.warnings)
    base = settings.path.parent if settings.path else None
    if not settings.secret_key:
        problems.append(
            "[digest] secret_key is empty: unsubscribe links cannot be signed "
            "(set it, or DIGEST_DIGEST__SECRET_KEY)"
        )
    elif not settings.digest.suppression_key:
        notes.append(
            "[digest] suppression_key is not set: the suppression list is keyed with secret_key "
            "(`digest init --force` adds one)"
        )
    for label, run in (
        ("[digest] topic", lambda: load_topic(settings.digest.topic)),
        ("[delivery] DKIM", lambda: make_signer(settings.delivery, base)),
    ):
        try:
            run()
        except DigestError as exc:
            problems.append(f"{label}: {exc}")
    templates = settings.digest.templates_path
    if templates is not None and not templates.is_dir():
        problems.append(f"[digest] templates: {templates} is not a folder")
    from digest.delivery.smtp import plaintext_auth_refusal

    smtp = settings.smtp
    refusal = plaintext_auth_refusal(smtp)
    if refusal:
        problems.append(f"[smtp] {refusal}")
    elif smtp.username and smtp.security == "none" and not _is_loopback(smtp.host):
        notes.append(
            f"[smtp] allow_plaintext_auth: the password goes unencrypted to {smtp.host}, "
            "which is not this machine"
        )
    if settings.smtp.ca_file and not Path(settings.smtp.ca_file).is_file():
        problems.append(f"[smtp] ca_file {settings.smtp.ca_file} is not a file")
    from digest.bounces.keys import bounce_settings_problems

    problems.extend(bounce_settings_problems(settings.bounces))
    return CheckResult(tuple(problems), tuple(notes))


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
