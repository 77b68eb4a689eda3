"""`digest init` makes digest.toml and digest.db readable by their owner alone, from the
moment each file exists (not by a chmod after writing)."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.store.database import open_database

#: While set, the audit hook records the mode of each watched file at every file operation.
_WATCH: dict[str, list[Path] | list[tuple[str, str, int]]] = {}


def _audit(event: str, args: tuple[object, ...]) -> None:
    if not _WATCH or event not in ("open", "os.chmod", "os.rename", "os.replace"):
        return
    watched: list[Path] = _WATCH["paths"]  # type: ignore[assignment]
    seen: list[tuple[str, str, int]] = _WATCH["seen"]  # type: ignore[assignment]
    for path in watched:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        seen.append((event, path.name, mode))


sys.addaudithook(_audit)  # hooks cannot be removed: it stays idle unless a test fills _WATCH


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """0o022, the common default that leaves new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes_seen_during(paths: list[Path], *args: str) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []
    _WATCH.update(paths=paths, seen=seen)
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        _WATCH.clear()
    assert result.exit_code == 0, result.output
    return seen


def test_init_files_are_never_readable_by_others(isolated: Path, usual_umask):
    config, database = isolated / "digest.toml", isolated / "digest.db"
    seen = modes_seen_during([config, database], "init")
    assert {name for _, name, _ in seen} == {"digest.toml", "digest.db"}  # it watched both
    assert {mode for _, _, mode in seen} == {0o600}, seen
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_rewriting_the_config_never_exposes_it(isolated: Path, usual_umask):
    config = isolated / "digest.toml"
    config.write_text('[digest]\nsecret_key = "old-key"\n', encoding="utf-8")
    config.chmod(0o644)  # an older install's file: replaced by a private one
    for args in (("init", "--force"), ("init", "--rotate-key")):
        before = config.stat().st_ino
        seen = modes_seen_during([config], *args)
        assert {mode for event, _, mode in seen if event == "os.chmod"} <= {0o600}, seen
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert config.stat().st_ino != before  # a new file, not the old one's contents changed
    assert "old-key" in config.read_text()  # kept among the old keys


def test_sqlite_database_and_its_wal_files_are_private(isolated: Path, usual_umask):
    path = isolated / "private.db"
    with open_database(f"sqlite:///{path}") as database:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with database.engine.connect() as connection:  # held open: the -wal and -shm exist
            side_files = [Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(p.exists() for p in side_files)
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [path, *side_files]}
            connection.exec_driver_sql("SELECT 1")
    assert set(modes.values()) == {0o600}, modes
    with sqlite3.connect(path) as db:  # still an ordinary SQLite database
        assert db.execute("SELECT x FROM t").fetchall() == [(1,)]
