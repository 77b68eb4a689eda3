"""`digest subscribers import` without --consented: the rows wait as pending, and the command
says so and how to confirm them; --send-confirmations mails them through the outbox."""

from __future__ import annotations

import re
from pathlib import Path

from digest.app import make_app
from digest.config import load_settings
from tests.conftest import Workspace


def write_csv(folder: Path) -> Path:
    path = folder / "readers.csv"
    path.write_text("email,name\nada@example.com,Ada\nbob@example.com,Bob\n", encoding="utf-8")
    return path


def test_an_import_without_consent_says_the_rows_wait_and_how_to_confirm_them(
    workspace: Workspace, smtp_server
):
    csv_file = write_csv(workspace.folder)
    out = workspace.invoke("subscribers", "import", str(csv_file)).stdout
    assert "2 of them wait as pending" in out and "--send-confirmations" in out
    assert smtp_server.handler.messages == []
    report = workspace.json("subscribers", "import", str(csv_file))
    assert report["pending"] == 2 and "pending_ids" not in report


def test_send_confirmations_mails_each_pending_row_once_per_window(
    workspace: Workspace, smtp_server
):
    csv_file = write_csv(workspace.folder)
    result = workspace.invoke("subscribers", "import", str(csv_file), "--send-confirmations")
    assert "confirmations: 2 queued, 2 sent" in result.stdout
    assert sorted(smtp_server.handler.recipients()) == ["ada@example.com", "bob@example.com"]
    again = workspace.invoke("subscribers", "import", str(csv_file), "--send-confirmations")
    assert "0 queued (2 already had one in the last 6 h), 0 sent" in again.stdout
    assert len(smtp_server.handler.messages) == 2
    # the link in the email confirms
    from digest.web.app import create_web_app

    message = next(m for m in smtp_server.handler.parsed() if m["To"].endswith("<ada@example.com>"))
    path = re.search(
        r"https://news\.example(/confirm/\S+)", message.get_body(("plain",)).get_content()
    )
    with make_app(load_settings(workspace.config)) as app:
        client = create_web_app(app).test_client()
        assert "You are subscribed" in client.post(path.group(1)).get_data(True)
        assert app.subscribers.find("ada@example.com").status == "active"


def test_send_confirmations_with_consented_is_refused(workspace: Workspace):
    csv_file = write_csv(workspace.folder)
    result = workspace.invoke(
        "subscribers", "import", str(csv_file), "--consented", "--send-confirmations", code=2
    )
    (line,) = result.stderr.strip().splitlines()
    assert "--send-confirmations" in line
    assert workspace.json("subscribers", "list") == []


def test_with_the_relay_down_the_confirmations_wait_in_the_outbox(
    workspace: Workspace, smtp_server
):
    csv_file = write_csv(workspace.folder)
    # retries due at once, so the next `confirmations send` takes them (no clock to move)
    config = workspace.config.read_text() + "\n[delivery]\nretry_initial_seconds = 0\n"
    workspace.config.write_text(config.replace(f"port = {workspace.smtp_port}", "port = 9"))
    result = workspace.invoke(
        "subscribers", "import", str(csv_file), "--send-confirmations", code=1
    )
    (line,) = result.stderr.strip().splitlines()
    assert "cannot connect" in line and "digest confirmations send" in line
    assert workspace.json("subscribers", "show", "ada@example.com")["status"] == "pending"
    down = workspace.invoke("confirmations", "send", code=1)
    assert "0 sent, 2 deferred" in down.stdout and len(down.stderr.strip().splitlines()) == 1
    # the relay back: the command sends both, once
    workspace.config.write_text(config)
    sent = workspace.invoke("confirmations", "send")
    assert "confirmations: 2 sent, 0 deferred" in sent.stdout
    assert "0 sent" in workspace.invoke("confirmations", "send").stdout
    assert sorted(smtp_server.handler.recipients()) == ["ada@example.com", "bob@example.com"]


def test_add_confirm_with_the_relay_down_says_the_email_waits(workspace: Workspace, smtp_server):
    config = workspace.config.read_text() + "\n[delivery]\nretry_initial_seconds = 0\n"
    workspace.config.write_text(config.replace(f"port = {workspace.smtp_port}", "port = 9"))
    result = workspace.invoke("subscribers", "add", "cy@example.com", "--confirm", code=1)
    (line,) = result.stderr.strip().splitlines()
    assert "added cy@example.com as pending" in line and "waits in the outbox" in line
    workspace.config.write_text(config)
    assert "1 sent" in workspace.invoke("confirmations", "send").stdout
    assert smtp_server.handler.recipients() == ["cy@example.com"]
