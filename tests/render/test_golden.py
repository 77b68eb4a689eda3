"""Golden files: the HTML and text renderings of a fixed edition, byte for byte.

An intended change to the templates or the renderer shows up here as a diff. Review it, then
regenerate the files with ``DIGEST_UPDATE_GOLDEN=1 python -m pytest tests/render/test_golden.py``
and commit them with the change.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from tests.render.conftest import sample_edition, sample_renderer

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
NOTE = "A quieter day in Washington; Beijing's commerce ministry briefs on Thursday."


def rendered() -> dict[str, str]:
    email = sample_renderer().render_preview(replace(sample_edition(), note=NOTE))
    return {
        "digest.html": email.html,
        "digest.txt": email.text,
        "digest.subject.txt": email.subject + "\n",
    }


@pytest.mark.parametrize("name", ["digest.html", "digest.txt", "digest.subject.txt"])
def test_rendering_matches_the_golden_file(name: str):
    actual = rendered()[name]
    path = GOLDEN / name
    if os.environ.get("DIGEST_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path.name} missing: run with DIGEST_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="rendered",
                n=1,
            )
        )
        pytest.fail(
            f"{name} differs from the golden file (DIGEST_UPDATE_GOLDEN=1 to accept):\n"
            + diff[:4000]
        )


def test_rendering_is_deterministic():
    assert rendered() == rendered()
