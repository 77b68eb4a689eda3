"""digest demo, as a user runs it: a subprocess in an empty folder, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from email.parser import BytesParser
from email.policy import default
from pathlib import Path


def test_demo_runs_end_to_end_offline(isolated: Path):
    result = subprocess.run(  # the timeout only guards against a hang; speed is not tested here
        [sys.executable, "-m", "digest", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outbox = isolated / "outbox"
    messages = sorted(outbox.glob("*.eml"))
    assert len(messages) == 3
    assert "messages sent over SMTP: 3" in result.stdout
    assert "Export controls & chips" in result.stdout
    preview = outbox / "digest-2026-03-10.html"
    assert str(Path("outbox") / preview.name) in result.stdout
    html = preview.read_text()
    parsed = BytesParser(policy=default).parsebytes(messages[0].read_bytes())
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = parsed.get_body(("plain",)).get_content()
    # the lookalikes in the sample feeds stay out; a multi-outlet story shows its other outlets
    for lookalike in ("smartphone", "panda", "hockey", "softwood", "potato"):
        assert lookalike not in text.lower()
        assert lookalike not in html.lower()
    assert "Also reported by" in text
    assert "<script" not in html.lower()


def test_demo_json_and_a_second_run_replaces_the_outbox(isolated: Path):
    first = subprocess.run(
        [sys.executable, "-m", "digest", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    second = subprocess.run(
        [sys.executable, "-m", "digest", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(second.stdout)
    assert report["date"] == "2026-03-10"
    assert report["feeds"] == 6
    assert report["counts"]["sent"] == 3
    assert report["stories"] == sum(report["sections"].values()) >= 8
    assert len(list((isolated / "outbox").glob("*.eml"))) == 3
