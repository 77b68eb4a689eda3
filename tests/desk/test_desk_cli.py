"""`digest approve`, `digest hold` and `digest preview --open / --serve` through the CLI."""

from __future__ import annotations

import socket
import webbrowser
from pathlib import Path

from tests.conftest import Workspace

DAY = "2025-06-02"


def status(workspace: Workspace) -> str:
    return workspace.json("build", "--date", DAY)["status"]


def test_hold_then_approve(workspace: Workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "ada@example.com")
    result = workspace.invoke("hold", "--date", DAY, "--reason", "legal check")
    assert result.stdout.strip() == f"{DAY}: held (legal check)"
    # a held edition is not sent: one line, non-zero exit, nothing delivered
    refused = workspace.invoke("send", "--any-date", "--date", DAY, code=None)
    assert refused.exit_code != 0
    assert "held by an editor" in refused.stderr and "Traceback" not in refused.stderr
    assert smtp_server.handler.messages == []
    assert workspace.invoke("approve", "--date", DAY).stdout.strip() == f"{DAY}: approved"
    workspace.invoke("send", "--any-date", "--date", DAY)
    assert len(smtp_server.handler.messages) == 1
    # a sent edition can no longer be held
    late = workspace.invoke("hold", "--date", DAY, code=None)
    assert late.exit_code != 0 and "already sent" in late.stderr


def test_preview_open_renders_files_and_opens_them(
    workspace: Workspace, fixture_feeds, monkeypatch, tmp_path: Path
):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    out = tmp_path / "files"
    result = workspace.invoke("preview", "--date", DAY, "--out", str(out), "--open")
    html_file = out / f"digest-{DAY}.html"
    assert html_file.exists() and (out / f"digest-{DAY}.txt").exists()
    assert opened == [html_file.resolve().as_uri(), (out / f"digest-{DAY}.txt").resolve().as_uri()]
    assert str(html_file) in result.stdout


def test_preview_serve_on_a_busy_port_is_one_line(workspace: Workspace):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = workspace.invoke("preview", "--serve", "--port", str(port), code=None)
    assert result.exit_code != 0
    assert result.stderr.startswith("digest: error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.stderr
