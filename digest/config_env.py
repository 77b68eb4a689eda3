"""Settings from the environment: ``DIGEST_<SECTION>__<KEY>`` for every key, ``..._FILE`` for
secrets (Docker and Kubernetes secrets are files), and the older short names of the secrets.

Environment values are strings; they are read here into the type the key has (the file's TOML
types), then checked by config.py exactly as the file's values are. Each value carries its
source, for `digest config show`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from digest.errors import ConfigError

PREFIX = "DIGEST_"
FILE_SUFFIX = "_FILE"
#: Keys whose values are secrets: masked by `config show`, and settable from a file.
SECRETS = frozenset(
    {
        ("digest", "secret_key"),
        ("digest", "old_secret_keys"),
        ("digest", "suppression_key"),
        ("smtp", "password"),
        ("bounces", "imap_password"),
        ("bounces", "postmark_secret"),
        ("bounces", "mailgun_signing_key"),
    }
)
#: The short names these secrets had before every key could come from the environment.
SHORT_NAMES = {
    ("digest", "secret_key"): "DIGEST_SECRET_KEY",
    ("digest", "old_secret_keys"): "DIGEST_OLD_SECRET_KEYS",
    ("smtp", "password"): "DIGEST_SMTP_PASSWORD",
    ("bounces", "imap_password"): "DIGEST_IMAP_PASSWORD",
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def variable(table: str, key: str) -> str:
    """The environment variable of a key: DIGEST_<SECTION>__<KEY>."""
    return f"{PREFIX}{table.upper()}__{key.upper()}"


def configured_by_environment(env: Mapping[str, str]) -> bool:
    """True when some DIGEST_<SECTION>__<KEY> variable is set (a container needs no file)."""
    return any(name.startswith(PREFIX) and "__" in name for name in env)


@dataclass(frozen=True, slots=True)
class EnvironmentValues:
    #: table -> key -> typed value.
    values: dict[str, dict[str, Any]]
    #: (table, key) -> where the value came from, e.g. "environment DIGEST_SMTP__HOST".
    sources: dict[tuple[str, str], str]
    #: DIGEST_X__Y variables that name no key.
    warnings: tuple[str, ...]


def from_environment(tables: Mapping[str, type], env: Mapping[str, str]) -> EnvironmentValues:
    values: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str], str] = {}
    known: set[str] = set()
    for table, cls in tables.items():
        for item in fields(cls):
            key = item.name
            names = [variable(table, key)]
            if (table, key) in SHORT_NAMES:
                names.append(SHORT_NAMES[(table, key)])
            known.update(names)
            if (table, key) in SECRETS:
                known.update(name + FILE_SUFFIX for name in names)
            found = _lookup(table, key, names, env)
            if found is None:
                continue
            text, source = found
            values.setdefault(table, {})[key] = _typed(text, type(item.default), source)
            sources[(table, key)] = source
    warnings = tuple(
        f"environment variable {name} names no setting (ignored)"
        for name in sorted(env)
        if name.startswith(PREFIX) and "__" in name and name not in known
    )
    return EnvironmentValues(values, sources, warnings)


def _lookup(
    table: str, key: str, names: list[str], env: Mapping[str, str]
) -> tuple[str, str] | None:
    """The first of ``names`` set (directly, or for a secret as NAME_FILE) and its source."""
    secret = (table, key) in SECRETS
    for name in names:
        direct = env.get(name, "")
        path = env.get(name + FILE_SUFFIX, "") if secret else ""
        if direct and path:
            raise ConfigError(f"set {name} or {name}{FILE_SUFFIX}, not both")
        if direct:
            return direct, f"environment {name}"
        if path:
            return _read_secret(name + FILE_SUFFIX, Path(path)), f"file named by {name}_FILE"
    return None


def _read_secret(name: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{name}: cannot read {path}: {reason}") from exc
    value = text.rstrip("\r\n")  # editors and `echo` add a final newline; it is not the secret
    if not value:
        raise ConfigError(f"{name}: {path} is empty")
    return value


def _typed(text: str, expected: type, source: str) -> Any:
    """The value of an environment string as the type of the key (what TOML would give)."""
    name = source.rsplit(" ", 1)[-1]
    if expected is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ConfigError(f"{name} must be true or false, not {text!r}")
    if expected is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {text!r}") from None
    if expected is float:
        try:
            number = float(text.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {text!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number, not {text!r}")
        return number
    if expected is tuple:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text
