"""VERP envelope senders and Feedback-ID, checked on what a real SMTP server receives."""

from __future__ import annotations

import pytest

from digest.bounces.verp import VerpAddresses
from tests.conftest import Workspace
from tests.servers import SmtpServer
from tests.test_send import DAY, PEOPLE, ready

BOUNCES = '\n[delivery]\nbounce_address = "bounces@news.example"\n'


def test_each_envelope_sender_is_the_signed_verp_form_of_its_own_delivery(
    workspace: Workspace, fixture_feeds, smtp_server: SmtpServer
):
    workspace.write_config(BOUNCES)
    ready(workspace, fixture_feeds)
    workspace.json("send", "--any-date", "--date", DAY)
    verp = VerpAddresses("bounces@news.example", ["test-secret-key"])
    rows = dict(workspace.sql("SELECT id, email FROM deliveries"))
    edition_id = workspace.sql("SELECT id FROM editions ORDER BY id")[0][0]
    assert len(smtp_server.handler.messages) == len(PEOPLE)
    seen = set()
    for (mail_from, rcpts, _), message in zip(
        smtp_server.handler.messages, smtp_server.handler.parsed(), strict=True
    ):
        local, _, domain = mail_from.partition("@")
        assert domain == "news.example" and local.startswith("bounces+")
        delivery_id = verp.delivery_id(mail_from)
        assert delivery_id is not None and rows[delivery_id] == rcpts[0]
        # some MTAs lowercase or uppercase the local part: the token survives both
        assert verp.delivery_id(mail_from.upper()) == delivery_id
        seen.add(delivery_id)
        assert message["Feedback-ID"] == f"{DAY}:us-china-trade:{edition_id}:news.example"
        assert message["From"].addresses[0].addr_spec == "digest@news.example"
    assert seen == set(rows)


def test_without_a_bounce_address_the_envelope_and_headers_are_as_before(
    workspace: Workspace, fixture_feeds, smtp_server: SmtpServer
):
    ready(workspace, fixture_feeds)
    workspace.json("send", "--any-date", "--date", DAY)
    assert {mail_from for mail_from, _, _ in smtp_server.handler.messages} == {
        "digest@news.example"
    }
    assert all(m["Feedback-ID"] is None for m in smtp_server.handler.parsed())


def test_a_forged_or_foreign_token_names_no_delivery():
    verp = VerpAddresses("bounces@news.example", ["new-key", "old-key"])
    good = verp.address(42)
    assert verp.delivery_id(good) == 42
    token = good.partition("+")[2].partition("@")[0]
    assert verp.delivery_id(f"bounces+43-{token.partition('-')[2]}@news.example") is None
    assert verp.delivery_id(f"bounces+{token}@elsewhere.example") is None
    assert verp.delivery_id(f"other+{token}@news.example") is None
    assert verp.delivery_id("bounces@news.example") is None
    # a token signed before the key was rotated still names its delivery
    assert VerpAddresses("bounces@news.example", ["old-key"]).address(7) != verp.address(7)
    assert verp.delivery_id(VerpAddresses("bounces@news.example", ["old-key"]).address(7)) == 7


@pytest.mark.parametrize("value", ["bounces+x@news.example", "not an address"])
def test_a_bounce_address_with_a_plus_or_no_domain_is_a_config_error(
    workspace: Workspace, value: str
):
    workspace.write_config(f'\n[delivery]\nbounce_address = "{value}"\n')
    result = workspace.invoke("deliveries", code=2)
    assert "bounce_address" in result.stderr and len(result.stderr.strip().splitlines()) == 1
