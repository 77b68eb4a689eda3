"""Files only their owner may read, from the moment they exist: the config (it holds the
secret key) and the SQLite database (subscriber addresses).

Made 0600 by ``os.open`` itself, never with a chmod afterwards: between a write and a chmod,
another local user could open the file and keep reading it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE = 0o600


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in a file that is 0600 from its creation: written beside
    it under a temporary name, then renamed over it (a reader sees the old file or the new)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)  # mkstemp: os.open(..., O_CREAT | O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist (an empty file is a valid new
    SQLite database; SQLite gives its -wal and -shm files the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return
    os.close(fd)
