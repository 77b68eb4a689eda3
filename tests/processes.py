"""Separate Python processes for the tests where several senders or claimers share one database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Workspace

ROOT = Path(__file__).resolve().parent.parent


def python_module(module: str, *args: str) -> subprocess.Popen[str]:
    """``python -m module args`` from this checkout, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def digest_process(workspace: Workspace, *args: str) -> subprocess.Popen[str]:
    """A ``digest`` command on the workspace's configuration, run as a process of its own."""
    return python_module("digest", "--config", str(workspace.config), *args)
