"""The schema revision this code expects, read without SQLAlchemy or Alembic (both slow to
import), so that a command can tell a current database from one to upgrade cheaply."""

from __future__ import annotations

from pathlib import Path

#: Alembic's own table: the revision the database is at.
VERSION_TABLE = "alembic_version"


def head_revision() -> str:
    """The newest migration's revision, read off the file names: each migration is
    ``versions/NNNN_what.py`` with ``revision = "NNNN"``, one after the other (a test checks
    this agrees with Alembic's own reading of the scripts)."""
    # A path, not importlib.resources: that module costs more to import than this whole check
    # (Alembic, which runs the scripts, needs them as files anyway).
    versions = Path(__file__).parent / "migrations" / "versions"
    return max(
        entry.name.partition("_")[0]
        for entry in versions.iterdir()
        if entry.name.endswith(".py") and entry.name[:1].isdigit()
    )
