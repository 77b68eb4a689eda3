"""`digest web` and the subscribe form given bad input: one line, a non-zero exit, nothing done."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from digest.app import make_app
from digest.config import load_settings
from subscribers.optin import send_queued
from tests.conftest import Workspace

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_port_out_of_range_is_refused_in_one_line(workspace: Workspace, port: str):
    result = workspace.invoke("web", "--port", port, code=2)
    (line,) = result.stderr.strip().splitlines()
    assert "between 1 and 65535" in line and port in line


def test_a_busy_port_is_one_line_and_exit_2(workspace: Workspace):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = workspace.invoke("web", "--host", "127.0.0.1", "--port", str(port), code=2)
    (line,) = result.stderr.strip().splitlines()
    assert line == f"digest: error: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_config_port_out_of_range_is_refused(workspace: Workspace):
    text = workspace.config.read_text()
    workspace.config.write_text(text.replace("[web]", "[web]\nport = 70000", 1))
    result = workspace.invoke("web", code=2)
    (line,) = result.stderr.strip().splitlines()
    assert "[web] port out of range: 70000" in line


def test_an_unknown_list_is_refused_not_the_default_one(workspace: Workspace):
    from digest.web.app import create_web_app

    with make_app(load_settings(workspace.config), clock=lambda: T0) as app:
        app.subscribers.create_list("members", now=T0)
        client = create_web_app(app).test_client()
        assert client.get("/subscribe?list=nolist").status_code == 404
        for answer in (
            client.post("/subscribe?list=nolist", data={"email": "kim@example.com"}),
            client.post("/subscribe", data={"email": "kim@example.com", "list": "nolist"}),
        ):
            assert answer.status_code == 404 and "No such list" in answer.get_data(True)
        assert app.subscribers.find("kim@example.com") is None
        # a list that exists, named in the address: joined, not the default list
        assert client.get("/subscribe?list=members").status_code == 200
        ok = client.post("/subscribe?list=members", data={"email": "kim@example.com"})
        assert ok.status_code == 200
        assert send_queued(app).signups == 1
        assert app.subscribers.find("kim@example.com").lists == ("members",)


def test_digest_web_serves_on_the_port_it_is_given_and_stops_on_ctrl_c(workspace: Workspace):
    import os
    import signal
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "digest", "--config", str(workspace.config), "web"]
    with subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()  # printed once the socket listens
            assert f"serving on http://127.0.0.1:{port}" in line
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
                assert answer.read() == b"ok\n"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
