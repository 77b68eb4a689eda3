"""`digest init`: a commented config and a ready database in a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from digest.config import CONFIG_FILENAME, load_settings, new_secret_key, render_config_template
from digest.errors import UsageError
from digest.store.database import open_database


@dataclass(frozen=True)
class InitResult:
    config: Path
    database: str


def init_folder(folder: Path, *, force: bool = False) -> InitResult:
    path = folder / CONFIG_FILENAME
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite it)")
    path.write_text(render_config_template(new_secret_key()), encoding="utf-8")
    path.chmod(0o600)  # it holds the secret key
    settings = load_settings(path)
    with open_database(settings.digest.database):
        pass
    return InitResult(config=path, database=settings.digest.database)
