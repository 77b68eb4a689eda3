"""`digest bounces fetch` against a real Dovecot IMAP server (IMAPS) started by the test."""

from __future__ import annotations

import imaplib
import json
import os
import shutil
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from digest.loopback import free_port
from tests.bounces.dovecot import DOVECOT, PASSWORD, USER, DovecotServer
from tests.bounces.helpers import (
    BOUNCE_CONFIG,
    report_rows,
    sample,
    send_edition,
    subscriber_state,
)
from tests.conftest import Workspace


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    if not shutil.which(DOVECOT):
        if os.environ.get("CI"):
            pytest.fail("CI must have Dovecot (.ci/run installs dovecot-imapd)")
        pytest.skip("Dovecot is not installed here (Debian: apt-get install dovecot-imapd)")
    server = DovecotServer()
    server.start()
    yield server
    server.stop()


def _imap(server: DovecotServer) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=context)
    imap.login(USER, PASSWORD)
    return imap


def _fetch(workspace: Workspace, env: dict[str, str]) -> Any:
    return json.loads(workspace.invoke("bounces", "fetch", "--json", env=env).stdout)


def _count(server: DovecotServer, folder: str) -> int:
    imap = _imap(server)
    try:
        status, data = imap.select(folder)
        assert status == "OK", data
        return int(data[0] or 0)
    finally:
        imap.logout()


def _configure(workspace: Workspace, server: DovecotServer, after: str = "") -> None:
    workspace.write_config(
        BOUNCE_CONFIG.rstrip("\n")
        + f'\nimap_host = "127.0.0.1"\nimap_port = {server.port}\nimap_user = "{USER}"\n'
        + f'imap_ca_file = "{server.ca_file}"\n{after}'
    )


def _fill(server: DovecotServer, messages: list[bytes], create: str = "") -> None:
    imap = _imap(server)
    try:
        if create:
            imap.create(create)
        for message in messages:
            status, data = imap.append("INBOX", None, None, message)
            assert status == "OK", data
    finally:
        imap.logout()


def test_fetch_acts_on_each_report_and_deletes_it_and_keeps_the_rest_aside(
    workspace: Workspace, fixture_feeds, smtp_server, dovecot: DovecotServer
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    _configure(workspace, dovecot)
    _fill(
        dovecot,
        [
            sample("postfix-user-unknown.eml", sent["ada@example.com"]),
            sample("yahoo-arf-abuse.eml", sent["zoe@example.org"]),
            sample("vacation-auto-reply.eml", sent["bob@example.net"]),
        ],
    )
    env = {"DIGEST_IMAP_PASSWORD": PASSWORD}
    result = workspace.invoke("bounces", "fetch", "--json", env=env)
    assert '"hard": 1' in result.stdout and '"complaints": 1' in result.stdout
    assert subscriber_state(workspace, "ada@example.com") == ("active", 1)
    assert subscriber_state(workspace, "zoe@example.org")[0] == "unsubscribed"
    assert len(list((workspace.folder / "kept").iterdir())) == 1
    assert _count(dovecot, "INBOX") == 0
    assert sorted(report_rows(workspace)) == [
        ("ada@example.com", "hard", "dsn"),
        ("zoe@example.org", "complaint", "arf"),
    ]
    # the same report arriving again (a second copy) changes nothing
    _fill(dovecot, [sample("postfix-user-unknown.eml", sent["ada@example.com"])])
    again = _fetch(workspace, env)
    assert (again["messages"], again["hard"], again["duplicates"]) == (1, 0, 1)
    assert subscriber_state(workspace, "ada@example.com") == ("active", 1)


def test_fetch_can_move_processed_messages_to_another_folder(
    workspace: Workspace, fixture_feeds, smtp_server, dovecot: DovecotServer
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    _configure(workspace, dovecot, 'after = "move"\nmove_to = "Processed"\n')
    _fill(
        dovecot,
        [sample("gmail-no-such-user.eml", sent["bob@example.net"])],
        create="Processed",
    )
    env = {"DIGEST_IMAP_PASSWORD": PASSWORD}
    assert _fetch(workspace, env)["hard"] == 1
    assert (_count(dovecot, "INBOX"), _count(dovecot, "Processed")) == (0, 1)
    assert _fetch(workspace, env)["messages"] == 0


def test_a_wrong_password_is_one_line_and_changes_nothing(
    workspace: Workspace, fixture_feeds, smtp_server, dovecot: DovecotServer
):
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    _configure(workspace, dovecot)
    _fill(dovecot, [sample("exim-failed.eml", sent["ada@example.com"])])
    result = workspace.invoke(
        "bounces", "fetch", code=1, env={"DIGEST_IMAP_PASSWORD": "not-the-password"}
    )
    assert "IMAP login" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _count(dovecot, "INBOX") == 1
    assert report_rows(workspace) == []


def test_fetch_without_a_mailbox_or_with_the_server_down_is_one_line(workspace: Workspace):
    result = workspace.invoke("bounces", "fetch", code=2)
    assert "imap_host" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    workspace.write_config(
        f'\n[bounces]\nimap_host = "127.0.0.1"\nimap_port = {free_port()}\nimap_user = "u"\n'
    )
    down = workspace.invoke("bounces", "fetch", code=1)
    assert "cannot connect to IMAP server" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
