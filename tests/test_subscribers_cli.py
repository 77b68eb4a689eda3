"""`digest subscribers …` and `digest lists …` against a real SQLite file."""

from __future__ import annotations

import json
import re

from digest.app import make_app
from digest.config import load_settings
from tests.conftest import Workspace
from tests.databases import dump


def emails(workspace: Workspace, *args: str) -> list[str]:
    return [s["email"] for s in workspace.json("subscribers", "list", *args)]


def active_emails(workspace: Workspace) -> list[str]:
    with make_app(load_settings(workspace.config)) as app:
        return [s.email for s in app.subscribers.iter_active()]


def test_add_goes_on_the_default_list_and_show_json_has_status(workspace: Workspace):
    out = workspace.invoke("subscribers", "add", "Ada@Example.COM", "--name", "Ada").stdout
    assert "added ada@example.com to default" in out
    shown = workspace.json("subscribers", "show", "ada@example.com")
    assert shown["status"] == "active" and shown["lists"] == ["default"]
    assert shown["consent_source"] == "cli" and shown["consent_at"]
    assert shown["paused"] is False and shown["suppressed"] is False
    lists = workspace.json("lists", "list")
    assert [(lst["name"], lst["topic"], lst["members"]) for lst in lists] == [("default", None, 1)]
    assert active_emails(workspace) == ["ada@example.com"]


SEMICONDUCTORS_TOPIC = """
key = "semiconductors"
title = "Semiconductors"
[[sections]]
key = "fabs"
title = "Fabs"
"""


def test_lists_tie_subscribers_to_topics(workspace: Workspace, tmp_path):
    workspace.invoke("lists", "add", "policy", "--description", "Trade policy readers")
    topic_file = tmp_path / "semiconductors.toml"
    topic_file.write_text(SEMICONDUCTORS_TOPIC, encoding="utf-8")
    workspace.invoke("lists", "add", "chips", "--topic", str(topic_file))
    assert {lst["name"]: lst["topic"] for lst in workspace.json("lists", "list")}["chips"] == (
        "semiconductors"
    )
    workspace.invoke("subscribers", "add", "ada@example.com", "--list", "policy")
    workspace.invoke("subscribers", "add", "ada@example.com", "--list", "chips")  # joins another
    workspace.invoke("subscribers", "add", "bob@example.com", "--list", "chips")
    assert workspace.json("subscribers", "show", "ada@example.com")["lists"] == ["chips", "policy"]
    assert emails(workspace, "--list", "chips") == ["ada@example.com", "bob@example.com"]
    assert emails(workspace, "--list", "policy") == ["ada@example.com"]
    # the digest's topic is us-china-trade: only members of its lists receive it
    assert active_emails(workspace) == ["ada@example.com"]
    again = workspace.invoke("subscribers", "add", "ada@example.com", "--list", "chips", code=2)
    assert "already a subscriber (active) on chips" in again.stderr
    unknown = workspace.invoke("subscribers", "add", "cy@example.com", "--list", "nope", code=2)
    assert "no list nope" in unknown.stderr
    workspace.invoke("subscribers", "remove", "ada@example.com", "--list", "policy")
    assert active_emails(workspace) == []
    assert (
        "removed list chips (2 memberships)" in workspace.invoke("lists", "remove", "chips").stdout
    )
    assert emails(workspace) == ["ada@example.com", "bob@example.com"]  # people stay


def test_list_filters_by_status(workspace: Workspace):
    workspace.invoke("subscribers", "add", "ada@example.com")
    workspace.invoke("subscribers", "add", "bob@example.com")
    with make_app(load_settings(workspace.config)) as app:
        bob = app.subscribers.find("bob@example.com")
        app.subscribers.set_status(bob.id, "bounced", now=app.clock())
    assert emails(workspace, "--status", "bounced") == ["bob@example.com"]
    assert emails(workspace, "--status", "active") == ["ada@example.com"]
    table = workspace.invoke("subscribers", "list").stdout
    assert "bob@example.com" in table and "bounced" in table


def test_suppression_beats_add_and_import(workspace: Workspace, tmp_path):
    workspace.invoke("subscribers", "add", "ada@example.com")
    assert (
        "suppressed ada@example.com"
        in workspace.invoke("subscribers", "suppress", "ADA@example.com").stdout
    )
    assert workspace.json("subscribers", "show", "ada@example.com")["suppressed"] is True
    assert active_emails(workspace) == []  # active status, but suppressed: never mailed
    refused = workspace.invoke("subscribers", "add", "carol@example.com")
    assert refused.exit_code == 0
    workspace.invoke("subscribers", "suppress", "dave@example.com")
    refused = workspace.invoke("subscribers", "add", "dave@example.com", code=2)
    assert "suppression list" in refused.stderr
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email\ndave@example.com\neve@example.com\n", encoding="utf-8")
    report = workspace.json("subscribers", "import", str(csv_file), "--consented")
    assert report["added"] == 1
    assert report["skipped"] == [
        {"line": 2, "email": "dave@example.com", "reason": "address is suppressed; skipped"}
    ]
    workspace.invoke("subscribers", "unsuppress", "ada@example.com")
    assert "ada@example.com" in active_emails(workspace)
    assert (
        "not suppressed"
        in workspace.invoke("subscribers", "unsuppress", "x@example.com", code=2).stderr
    )


def test_erase_removes_personal_data_and_keeps_the_address_suppressed(
    workspace: Workspace, tmp_path
):
    workspace.invoke("subscribers", "add", "ada@example.com", "--name", "Ada Lovelace")
    workspace.invoke("subscribers", "erase", "ada@example.com", "--yes")
    assert emails(workspace) == []
    everything = dump(workspace.database)
    assert "ada@example.com" not in everything and "Lovelace" not in everything
    assert (
        "suppression list"
        in workspace.invoke("subscribers", "add", "ada@example.com", code=2).stderr
    )
    csv_file = tmp_path / "back.csv"
    csv_file.write_text("email,name\nada@example.com,Ada\n", encoding="utf-8")
    report = workspace.json("subscribers", "import", str(csv_file), "--consented")
    assert report["added"] == 0 and len(report["skipped"]) == 1
    # without --yes it asks, and a "no" changes nothing
    workspace.invoke("subscribers", "add", "bob@example.com")
    workspace.invoke("subscribers", "erase", "bob@example.com", code=1)
    assert emails(workspace) == ["bob@example.com"]


def test_export_data_prints_one_subscribers_data_as_json(
    workspace: Workspace, fixture_feeds, smtp_server
):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com", "--name", "Ada")
    workspace.invoke("run", "--any-date", "--date", "2025-06-02")
    data = json.loads(workspace.invoke("subscribers", "export-data", "ada@example.com").stdout)
    assert data["email"] == "ada@example.com" and data["name"] == "Ada"
    assert data["lists"] == ["default"] and data["consent"]["source"] == "cli"
    assert [(d["edition"], d["status"]) for d in data["deliveries"]] == [("2025-06-02", "sent")]
    assert (
        "no subscriber"
        in workspace.invoke("subscribers", "export-data", "nobody@example.com", code=2).stderr
    )


def test_add_confirm_sends_a_confirmation_email_and_stays_pending(
    workspace: Workspace, smtp_server
):
    out = workspace.invoke("subscribers", "add", "ada@example.com", "--confirm").stdout
    assert "pending; confirmation email sent" in out
    assert workspace.json("subscribers", "show", "ada@example.com")["status"] == "pending"
    assert active_emails(workspace) == []
    (message,) = smtp_server.handler.parsed()
    assert message["To"] == "ada@example.com"
    assert message["Subject"].startswith("Confirm your subscription")
    text = message.get_body(("plain",)).get_content()
    assert re.search(r"https://news\.example/confirm/\S+", text)
    assert "72 hours" in text
    # a second --confirm resends; an active subscriber is refused
    workspace.invoke("subscribers", "add", "ada@example.com", "--confirm")
    assert len(smtp_server.handler.messages) == 2
    workspace.invoke("subscribers", "add", "bob@example.com")
    refused = workspace.invoke("subscribers", "add", "bob@example.com", "--confirm", code=2)
    assert "already an active subscriber" in refused.stderr


def test_invalid_addresses_get_one_line_errors(workspace: Workspace):
    result = workspace.invoke("subscribers", "add", "not an address", code=2)
    assert result.stderr.startswith("digest: error: invalid address") and "Traceback" not in (
        result.stderr + result.stdout
    )


def test_upgrade_puts_existing_subscribers_on_the_default_list(workspace: Workspace):
    """A database from before lists existed: everyone keeps getting the digest."""
    from alembic import command

    from digest.store.database import Database, _alembic_config

    url = workspace.database
    with Database(url) as database:
        cfg = _alembic_config()
        with database.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "0002")
    workspace.sql(
        "INSERT INTO subscribers (email, name, status, sections, format, created_at, updated_at)"
        " VALUES ('old@example.com', 'Old', 'active', '[]', 'html', '2024-01-01 00:00:00',"
        " '2024-01-01 00:00:00')"
    )
    shown = workspace.json("subscribers", "show", "old@example.com")  # migrates to head
    assert shown["lists"] == ["default"] and shown["status"] == "active"
    assert active_emails(workspace) == ["old@example.com"]
