"""Whole `digest` processes measured as a user waits for them (for the benchmark scripts).

CPU time is the kernel's accounting of the child (user + system, all its threads): on a shared
machine it varies far less than wall time, which is measured too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple


class Timing(NamedTuple):
    cpu: float
    wall: float


def child_env(source: Path, **extra: str) -> dict[str, str]:
    """The environment of a child that runs the digest in ``source``: first on the path, and
    writing bytecode (an installed package has its .pyc files; without them each start
    compiles every module)."""
    env = {**os.environ, "PYTHONPATH": str(source), **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measured(arguments: list[str], *, cwd: Path, env: dict[str, str]) -> Timing:
    """Run ``python ARGUMENTS`` to its end; it must succeed (else exit with its error)."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: it never fills up
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code
        if code != 0:
            errors.seek(0)
            last = errors.read().decode(errors="replace").strip().splitlines()[-1:]
            sys.exit(f"python {' '.join(arguments)} failed ({code}): {' '.join(last)}")
    return Timing(cpu=usage.ru_utime + usage.ru_stime, wall=wall)
