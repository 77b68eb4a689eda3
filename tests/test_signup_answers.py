"""The subscribe form answers every kind of address the same way, in the same time.

Active, suppressed, pending and new addresses, with a slow relay (a real aiosmtpd server that
holds each reply) and with the relay down: the confirmation email is only queued in the
request, so nothing the relay does shows in the answer.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from digest.app import make_app
from digest.config import load_settings
from subscribers.optin import send_queued
from tests.conftest import Workspace

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
RELAY_DELAY = 2.0
KINDS = {
    "active": "ada@example.com",
    "suppressed": "sam@example.com",
    "pending": "pat@example.com",
    "new": "neo@example.com",
}


def prepared_app(workspace: Workspace):
    app = make_app(load_settings(workspace.config), clock=lambda: T0)
    app.subscribers.add(KINDS["active"], now=T0)
    app.subscribers.suppress(KINDS["suppressed"], now=T0)
    app.subscribers.add(KINDS["pending"], now=T0, status="pending")
    return app


@pytest.mark.parametrize("relay", ["slow", "down"])
def test_every_kind_of_address_gets_the_same_answer_in_the_same_time(
    workspace: Workspace, smtp_server, relay
):
    from digest.web.app import create_web_app

    smtp_server.handler.delay = RELAY_DELAY
    if relay == "down":
        workspace.config.write_text(
            workspace.config.read_text().replace(f"port = {workspace.smtp_port}", "port = 9")
        )
    with prepared_app(workspace) as app:
        client = create_web_app(app).test_client()
        client.get("/subscribe")  # first-request set-up (templates) is not any address's cost
        answers = {}
        seconds = {}
        for kind, email in KINDS.items():
            started = time.perf_counter()
            response = client.post("/subscribe", data={"email": email})
            seconds[kind] = time.perf_counter() - started
            answers[kind] = (response.status_code, response.get_data(as_text=True))
        assert len(set(answers.values())) == 1, answers
        assert answers["new"][0] == 200 and "Check your inbox" in answers["new"][1]
        # nobody waited on the relay: each answer well inside one relay reply
        assert max(seconds.values()) < RELAY_DELAY / 2, seconds
        # applied and sent later: nothing was lost, the new address is pending, and only the
        # two pending addresses get a confirmation
        assert smtp_server.handler.messages == []
        started = time.perf_counter()
        run = send_queued(app)
        assert app.subscribers.find(KINDS["new"]).status == "pending"
        assert app.subscribers.find(KINDS["suppressed"]) is None
        assert app.subscribers.find(KINDS["active"]).status == "active"
        if relay == "slow":
            assert run.sent == 2
            assert time.perf_counter() - started >= RELAY_DELAY  # the relay really is slow
            assert sorted(smtp_server.handler.recipients()) == [KINDS["new"], KINDS["pending"]]
        else:
            assert run.deferred == 2
