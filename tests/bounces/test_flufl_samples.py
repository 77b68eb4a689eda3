"""Real bounces of several MTAs from flufl.bounce's own test data, through `bounces process`."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from digest.bounces.parse import parse_report
from tests.bounces.helpers import SAMPLES
from tests.conftest import Workspace

FLUFL = SAMPLES / "flufl"
EXPECTED = {
    "aol_01.eml": ("hard", "screenname@aol.com"),
    "dsn_01.eml": ("hard", "userx@example.com"),
    "dsn_06.eml": ("soft", "userx@example.com"),
    "dsn_17.eml": ("soft", "userx@example.fi"),
    "exim_01.eml": ("hard", "userx@its.example.nl"),
    "microsoft_01.eml": ("hard", "userx@example.com"),
    "postfix_01.eml": ("hard", "xxxxx@local.ie"),
    "qmail_01.eml": ("hard", "userx@example.de"),
    "simple_01.eml": ("hard", "bbbsss@example.com"),
    "yahoo_01.eml": ("hard", "userx@example.com"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_bounce_names_its_address_and_kind(name: str):
    reports = parse_report((FLUFL / name).read_bytes())
    assert [(r.kind, r.email) for r in reports] == [EXPECTED[name]]


def test_a_maildir_of_real_bounces_bounces_the_subscriber_they_name(
    workspace: Workspace, tmp_path: Path
):
    workspace.invoke("subscribers", "add", "userx@example.com")
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in sorted(EXPECTED):
        box.add((FLUFL / name).read_bytes())
    result = workspace.json("bounces", "process", str(tmp_path / "Maildir"))
    assert (result["messages"], result["hard"], result["soft"]) == (10, 8, 2)
    assert result["unknown"] == 6 and result["unparsed"] == []
    # three different hard bounces reach the default max_hard_bounces (3)
    row = workspace.sql(
        "SELECT status, hard_bounces FROM subscribers WHERE email = 'userx@example.com'"
    )
    assert row == [("bounced", 3)]
