"""`digest subscribers import --from TOOL`: each tool's export, on a sample written for the tests.

The samples in tests/fixtures/exports follow each tool's documented export columns.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from subscribers import importer
from tests.conftest import FIXTURES, Workspace

EXPORTS = FIXTURES / "exports"


def run_import(workspace: Workspace, tool: str, name: str, *extra: str) -> dict[str, Any]:
    report: dict[str, Any] = workspace.json(
        "subscribers", "import", str(EXPORTS / name), "--from", tool, *extra
    )
    return report


def statuses(workspace: Workspace) -> dict[str, str]:
    return {s["email"]: s["status"] for s in workspace.json("subscribers", "list")}


def by_status(workspace: Workspace) -> dict[str, set[str]]:
    """The subscribers' addresses, grouped by status."""
    groups: dict[str, set[str]] = {}
    for email, status in statuses(workspace).items():
        groups.setdefault(status, set()).add(email)
    return groups


def shown(workspace: Workspace, email: str, attributes: dict[str, str]) -> dict[str, Any]:
    """The subscriber as `subscribers show` gives it, after checking the attributes it kept."""
    subscriber: dict[str, Any] = workspace.json("subscribers", "show", email)
    assert subscriber["attributes"] == attributes
    return subscriber


def assert_one_rejected(report: dict[str, Any], line: int, reason: str) -> None:
    """The preset refused exactly one row, that line, saying why (never guessing)."""
    assert [r["line"] for r in report["rejected"]] == [line]
    assert reason in report["rejected"][0]["reason"]


def suppressed(workspace: Workspace, email: str) -> bool:
    """Adding the address is refused because it is on the suppression list."""
    return "on the suppression list" in workspace.invoke("subscribers", "add", email, code=2).stderr


def test_listmonk_statuses_names_attributes_and_an_unknown_status(workspace: Workspace):
    report = run_import(workspace, "listmonk", "listmonk.csv", "--consented")
    assert report["rows"] == 6 and report["added"] == 4
    assert [(r["line"], r["email"]) for r in report["suppressed"]] == [(5, "spam.trap@example.net")]
    assert_one_rejected(report, 7, "'snoozed' has no rule here")
    assert Counter(statuses(workspace).values()) == {"active": 3, "unsubscribed": 1}
    lucia = shown(workspace, "lucia.ferrari@example.it", {"topics": '["tariffs", "chips"]'})
    assert lucia["name"] == "Lucía Ferrari" and lucia["consent_at"].startswith("2024-06-30T05:05")
    assert suppressed(workspace, "spam.trap@example.net")


def test_mailchimp_files_join_names_and_map_each_status(workspace: Workspace):
    subscribed = run_import(workspace, "mailchimp", "mailchimp-subscribed.csv", "--consented")
    assert (subscribed["added"], subscribed["rejected"]) == (3, [])
    ines = shown(workspace, "ines.alves@example.pt", {"tags": '"Trade desk"'})
    assert ines["name"] == "Inês Alves" and ines["timezone"] == "Europe/Lisbon"
    # the consent time is the double opt-in confirmation, in UTC
    assert ines["consent_at"].startswith("2023-05-04T09:14:01")
    amara = shown(workspace, "amara@example.com", {"mailchimp_timezone": "Somewhere/Unknown"})
    # a zone Mailchimp guessed that does not exist is kept aside, not imported
    assert amara["name"] == "Amara" and amara["timezone"] is None
    unsubscribed = run_import(workspace, "mailchimp", "mailchimp-unsubscribed.csv", "--consented")
    assert unsubscribed["added"] == 1
    cleaned = run_import(workspace, "mailchimp", "mailchimp-cleaned.csv", "--consented")
    assert cleaned["added"] == 0
    assert cleaned["suppressed"][0]["reason"] == "cleaned in Mailchimp"
    assert by_status(workspace) == {
        "active": {"ines.alves@example.pt", "tom.baker@example.co.uk", "amara@example.com"},
        "unsubscribed": {"gone.away@example.com"},
    }
    assert suppressed(workspace, "bounced.box@example.com")


def test_substack_email_disabled_means_unsubscribed(workspace: Workspace):
    report = run_import(workspace, "substack", "substack.csv", "--consented")
    assert report["added"] == 4
    assert_one_rejected(report, 6, "email_disabled 'maybe'")
    assert by_status(workspace) == {
        "active": {
            "reader.one@example.com",
            "paying.reader@example.com",
            "comp.reader@example.com",
        },
        "unsubscribed": {"muted@example.com"},
    }
    paying = shown(workspace, "paying.reader@example.com", {"plan": "yearly"})
    assert paying["consent_at"].startswith("2023-07-15T08:00:00")


def test_ghost_members_not_subscribed_to_emails_stay_unsubscribed_even_when_consented(
    workspace: Workspace,
):
    report = run_import(workspace, "ghost", "ghost.csv", "--consented")
    assert report["added"] == 3
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [(5, "no email address")]
    assert by_status(workspace) == {
        "active": {"kofi.mensah@example.gh", "sam.okoro@example.ng"},
        "unsubscribed": {"lena.schmidt@example.de"},
    }
    kofi = shown(
        workspace, "kofi.mensah@example.gh", {"labels": "Imported, Trade", "tiers": "Free"}
    )
    assert kofi["name"] == "Kofi Mensah"


def test_buttondown_types_pending_suppressed_and_unmapped(workspace: Workspace):
    report = run_import(workspace, "buttondown", "buttondown.csv", "--consented")
    assert report["added"] == 4
    assert [(r["email"], r["reason"]) for r in report["suppressed"]] == [
        ("angry@example.com", "complained in Buttondown")
    ]
    assert_one_rejected(report, 7, "subscriber_type 'paused' has no rule here")
    assert by_status(workspace) == {
        "active": {"ana.lima@example.br", "wei.zhang@example.com"},
        "pending": {"not.yet@example.com"},
        "unsubscribed": {"left.us@example.com"},
    }
    shown(workspace, "ana.lima@example.br", {"company": "Porto Freight", "tags": "policy"})


def test_without_consented_a_preset_makes_nobody_active(workspace: Workspace):
    run_import(workspace, "ghost", "ghost.csv")
    assert Counter(statuses(workspace).values()) == {"pending": 2, "unsubscribed": 1}


def test_a_dry_run_suppresses_nobody(workspace: Workspace):
    report = run_import(workspace, "listmonk", "listmonk.csv", "--dry-run")
    assert len(report["suppressed"]) == 1 and report["dry_run"]
    assert workspace.json("subscribers", "list") == []
    workspace.invoke("subscribers", "add", "spam.trap@example.net")


def test_the_wrong_preset_for_a_file_is_a_one_line_error(workspace: Workspace, tmp_path: Path):
    result = workspace.invoke(
        "subscribers", "import", str(EXPORTS / "ghost.csv"), "--from", "mailchimp", code=2
    )
    assert "not a Mailchimp export (no 'email address' column)" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_mailchimp_zip_export_is_imported_whole_in_one_go(workspace: Workspace, tmp_path: Path):
    archive = tmp_path / "audience_export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in ("subscribed", "unsubscribed", "cleaned"):
            zipped.write(EXPORTS / f"mailchimp-{name}.csv", f"{name}_members_export_1a2b3c.csv")
        zipped.writestr("README.txt", "not a CSV file, left alone")
    report = workspace.json(
        "subscribers", "import", str(archive), "--from", "mailchimp", "--consented"
    )
    assert (report["rows"], report["added"], report["rejected"]) == (5, 4, [])
    assert [r["reason"] for r in report["suppressed"]] == [
        "cleaned in Mailchimp (in cleaned_members_export_1a2b3c.csv)"
    ]
    assert Counter(statuses(workspace).values()) == {"active": 3, "unsubscribed": 1}
    assert suppressed(workspace, "bounced.box@example.com")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(importer, "MAX_UNZIPPED_BYTES", 2_000_000)  # a smaller bomb will do
    archive = tmp_path / "huge.zip"
    row = b"a@example.com,A\n" * 65536
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped,
        zipped.open("members.csv", "w") as member,
    ):
        member.write(b"Email Address,First Name\n")
        for _ in range(3):
            member.write(row)  # 3 MB of one repeated row compresses to a few KB
    assert archive.stat().st_size < 100_000
    result = workspace.invoke("subscribers", "import", str(archive), "--from", "mailchimp", code=2)
    assert "more than the 2,000,000 an import reads" in result.stderr
