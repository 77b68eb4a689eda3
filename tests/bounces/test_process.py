"""`digest bounces process`: real MTAs' report formats from a file, stdin, an mbox and a
Maildir, against a database whose edition went out through a real SMTP server."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from tests.bounces.helpers import report_rows, sample, send_edition, subscriber_state
from tests.conftest import Workspace
from tests.test_send import DAY

HARD = [
    "postfix-user-unknown.eml",
    "exim-failed.eml",
    "gmail-no-such-user.eml",
    "microsoft365-recipient-not-found.eml",
]


@pytest.mark.parametrize("name", HARD)
def test_a_hard_bounce_of_each_mta_counts_once_however_often_it_is_read(
    workspace: Workspace, fixture_feeds, smtp_server, tmp_path: Path, name: str
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    report = tmp_path / "report.eml"
    report.write_bytes(sample(name, sent["ada@example.com"]))
    first = workspace.json("bounces", "process", str(report))
    assert (first["hard"], first["soft"], first["complaints"], first["duplicates"]) == (1, 0, 0, 0)
    assert subscriber_state(workspace, "ada@example.com") == ("active", 1)
    again = workspace.json("bounces", "process", str(report))
    assert (again["hard"], again["duplicates"]) == (0, 1)
    assert subscriber_state(workspace, "ada@example.com") == ("active", 1)
    assert report_rows(workspace) == [("ada@example.com", "hard", "dsn")]
    assert subscriber_state(workspace, "zoe@example.org") == ("active", 0)


def test_the_verp_token_names_the_subscriber_even_when_a_forwarded_address_failed(
    workspace: Workspace, fixture_feeds, smtp_server, tmp_path: Path
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    report = tmp_path / "forwarded.eml"
    report.write_bytes(
        sample("postfix-user-unknown.eml", sent["bob@example.net"], rcpt="bob@old-job.example")
    )
    workspace.json("bounces", "process", str(report))
    assert subscriber_state(workspace, "bob@example.net") == ("active", 1)
    assert report_rows(workspace) == [("bob@example.net", "hard", "dsn")]


def test_two_different_hard_bounces_reach_max_hard_bounces_and_a_soft_one_counts_for_nothing(
    workspace: Workspace, fixture_feeds, smtp_server, tmp_path: Path
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    zoe = sent["zoe@example.org"]
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for name in ("postfix-delayed-mailbox-full.eml", "postfix-user-unknown.eml"):
        box.add(sample(name, zoe))
    box.add(sample("gmail-no-such-user.eml", zoe))
    box.flush()
    box.close()
    result = workspace.json("bounces", "process", str(tmp_path / "bounces.mbox"))
    assert (result["messages"], result["soft"], result["hard"]) == (3, 1, 2)
    # max_hard_bounces = 2 in this configuration
    assert subscriber_state(workspace, "zoe@example.org") == ("bounced", 2)
    deliveries = workspace.json("deliveries", "--date", DAY)
    assert deliveries["reports"] == {"hard": 2, "soft": 1, "complaint": 0}
    text = workspace.invoke("deliveries", "--date", DAY).stdout
    assert "2 hard bounces, 1 soft bounces, 0 complaints" in text
    status = workspace.json("status")
    assert status["last_editions"][0]["reports"] == {"hard": 2, "soft": 1, "complaint": 0}


@pytest.mark.parametrize("name", ["yahoo-arf-abuse.eml", "microsoft-jmrp-redacted.eml"])
def test_a_complaint_unsubscribes_and_suppresses_at_once(
    workspace: Workspace, fixture_feeds, smtp_server, name: str
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    data = sample(name, sent["ada@example.com"])
    result = CliRunner().invoke(
        cli, ["--config", str(workspace.config), "bounces", "process", "-"], input=data
    )
    assert result.exit_code == 0, result.output
    assert "1 complaints" in result.stdout
    shown = workspace.json("subscribers", "show", "ada@example.com")
    assert shown["status"] == "unsubscribed" and shown["suppressed"] is True
    assert report_rows(workspace) == [("ada@example.com", "complaint", "arf")]
    assert workspace.json("deliveries", "--date", DAY)["reports"]["complaint"] == 1
    # a re-import cannot bring the address back
    csv = Path("back.csv")
    csv.write_text("email\nada@example.com\n", encoding="utf-8")
    imported = workspace.json("subscribers", "import", str(csv), "--consented")
    assert [row["email"] for row in imported["skipped"]] == ["ada@example.com"]


def test_a_maildir_with_a_message_that_is_no_report_keeps_it_aside_and_carries_on(
    workspace: Workspace, fixture_feeds, smtp_server, tmp_path: Path
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(sample("vacation-auto-reply.eml", sent["ada@example.com"]))
    box.add(sample("exim-failed.eml", sent["bob@example.net"]))
    box.add(b"\x00\xff not even a header\r\n")
    result = workspace.invoke("bounces", "process", str(tmp_path / "Maildir"))
    assert "3 messages: 1 hard bounces" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all("not a bounce or complaint report" in line for line in lines)
    kept = sorted((workspace.folder / "kept").iterdir())
    assert len(kept) == 2
    assert any(b"I am away until 16 June" in path.read_bytes() for path in kept)
    assert subscriber_state(workspace, "ada@example.com") == ("active", 0)
    assert subscriber_state(workspace, "bob@example.net") == ("active", 1)
    # the same folder again: nothing new recorded, nothing new kept
    workspace.invoke("bounces", "process", str(tmp_path / "Maildir"))
    assert len(list((workspace.folder / "kept").iterdir())) == 2
    assert subscriber_state(workspace, "bob@example.net") == ("active", 1)


def test_a_missing_file_is_one_line_and_exit_2(workspace: Workspace):
    result = workspace.invoke("bounces", "process", "no-such-file.eml", code=2)
    assert "cannot read no-such-file.eml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
