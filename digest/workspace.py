"""`digest init`: a commented config and a ready database in a folder; and the signing key's
rotation, which never loses a key that links already sent or suppressions depend on."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from digest.config import (
    CONFIG_FILENAME,
    DEFAULT_DATABASE,
    load_settings,
    new_secret_key,
    render_config_template,
)
from digest.errors import ConfigError, UsageError, one_line
from digest.private_files import write_private
from digest.store.database import open_database, shown_url
from digest.topic_files import missing_topic


@dataclass(frozen=True)
class InitResult:
    config: Path
    database: str
    #: What happened to the keys: "new", "kept" or "rotated".
    keys: str = "new"


@dataclass(frozen=True)
class _Keys:
    secret_key: str
    suppression_key: str
    old_secret_keys: tuple[str, ...]


def init_folder(
    folder: Path, *, force: bool = False, rotate_key: bool = False, database: str | None = None
) -> InitResult:
    """Write digest.toml (fresh keys), or with ``force`` a fresh file keeping the keys, or with
    ``rotate_key`` only a new secret key in the existing file. ``database`` is the URL to write
    in it (default: SQLite in the folder); the database is created or upgraded either way."""
    path = folder / CONFIG_FILENAME
    if database is not None and not database.strip():
        raise UsageError("--database needs a URL, e.g. postgresql://user@host/digest")
    if rotate_key and database is not None:
        raise UsageError("--rotate-key changes only the key; edit [digest] database by hand")
    if rotate_key:
        if not path.exists():
            raise UsageError(
                f"{path} does not exist: there is no key to rotate (run `digest init`)"
            )
        rotate_secret_key(path)
        keys = "rotated"
    elif path.exists() and not force:
        raise UsageError(
            f"{path} already exists (use --force to rewrite it keeping its keys, or "
            "--rotate-key to replace the secret key)"
        )
    else:
        kept = _existing_keys(path) if path.exists() else None
        if database is None and path.exists():
            database = _existing_database(path)  # --force keeps the database too
        fresh = _Keys(new_secret_key(), new_secret_key(), ())
        chosen = kept or fresh
        _write(
            path,
            render_config_template(
                chosen.secret_key,
                chosen.suppression_key,
                chosen.old_secret_keys,
                database=database.strip() if database else DEFAULT_DATABASE,
            ),
        )
        keys = "kept" if kept else "new"
    settings = load_settings(path)
    missing = missing_topic(settings.digest.topic)
    if missing is not None:
        raise missing  # before the database is created
    with open_database(settings.digest.database):
        pass
    return InitResult(config=path, database=shown_url(settings.digest.database), keys=keys)


def _existing_keys(path: Path) -> _Keys | None:
    """The keys of the file ``--force`` replaces (None when it has no secret key)."""
    try:
        data = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML, so its keys cannot be kept ({exc}); fix it, or move it "
            "away to start afresh"
        ) from exc
    digest = _digest_table(data, path)
    secret = digest.get("secret_key")
    if not isinstance(secret, str) or not secret:
        return None
    old = digest.get("old_secret_keys", [])
    old_keys = tuple(k for k in old if isinstance(k, str) and k) if isinstance(old, list) else ()
    # An installation from before the suppression key hashed suppressions with the secret key:
    # that key becomes the suppression key, so every suppression made so far still matches.
    suppression = digest.get("suppression_key")
    if not isinstance(suppression, str) or not suppression:
        suppression = secret
    return _Keys(secret, suppression, old_keys)


def _existing_database(path: Path) -> str | None:
    try:
        value = _digest_table(tomllib.loads(_read(path)), path).get("database")
    except tomllib.TOMLDecodeError:
        return None  # _existing_keys has said why already
    return value if isinstance(value, str) and value else None


def rotate_secret_key(path: Path) -> None:
    """A new secret key; the current one moves to the front of old_secret_keys, and the
    suppression key is pinned (to the current secret key, if the file had none). Every other
    line of the file, comments included, is kept."""
    try:
        document = tomlkit.parse(_read(path))
    except TOMLKitError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    digest: Any = document.get("digest")
    if digest is None:
        digest = tomlkit.table()
        document["digest"] = digest
    current = str(digest.get("secret_key", "") or "")
    if not current:
        raise UsageError(
            f"{path} has no secret_key to rotate; set one or run `digest init --force`"
        )
    old = [str(key) for key in digest.get("old_secret_keys", []) if str(key) != current]
    if not digest.get("suppression_key"):
        digest["suppression_key"] = current
    digest["old_secret_keys"] = [current, *old]
    digest["secret_key"] = new_secret_key()
    _write(path, tomlkit.dumps(document))


def _write(path: Path, text: str) -> None:
    """The config holds the secret key: only its owner may ever read it."""
    try:
        write_private(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {one_line(exc)}") from exc


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _digest_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    table = data.get("digest", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [digest] must be a table")
    return table
