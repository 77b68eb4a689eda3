"""A login over an unencrypted SMTP connection is refused unless the config allows it, against
a real aiosmtpd server that offers AUTH without TLS."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.config import settings_from_dict
from digest.config_report import check_settings
from digest.loopback import free_port
from tests.conftest import Workspace
from tests.servers import RecordingHandler

USER, PASSWORD = "digest", "correct horse"
DAY = "2025-06-02"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class PlaintextAuthServer:
    """Offers AUTH PLAIN/LOGIN in the clear and records every login it is sent."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.logins: list[tuple[str, str]] = []
        self.port = free_port()
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password.decode() == PASSWORD)

    def __enter__(self) -> PlaintextAuthServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@pytest.fixture
def relay() -> Iterator[PlaintextAuthServer]:
    with PlaintextAuthServer() as server:
        yield server


def configure(workspace: Workspace, port: int, extra: str = "") -> None:
    workspace.smtp_port = port
    workspace.write_config()
    text = workspace.config.read_text()
    workspace.config.write_text(
        text.replace(
            "timeout_seconds = 5\n\n[web]",
            f'timeout_seconds = 5\nsecurity = "none"\nusername = "{USER}"\n{extra}\n[web]',
        )
    )
    assert f'username = "{USER}"' in workspace.config.read_text()


def test_plaintext_login_is_refused_and_nothing_is_marked(
    workspace: Workspace, fixture_feeds, relay: PlaintextAuthServer
):
    configure(workspace, relay.port)
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com")
    workspace.invoke("fetch")
    env = {"DIGEST_SMTP_PASSWORD": PASSWORD}
    refused = workspace.invoke("send", "--any-date", "--date", DAY, code=1, env=env)
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "unencrypted" in lines[0] and "allow_plaintext_auth" in lines[0]
    assert PASSWORD not in refused.output
    assert relay.logins == [] and relay.handler.messages == []
    counts = workspace.json("deliveries", "--date", DAY)["counts"]
    assert (counts["pending"], counts["sent"], counts["failed"]) == (1, 0, 0)

    check = workspace.invoke("config", "check", code=1, env=env)
    assert "allow_plaintext_auth" in check.output

    # Allowed for a relay on this machine: the same rows go out, once.
    configure(workspace, relay.port, "allow_plaintext_auth = true\n")
    sent = workspace.invoke("send", "--any-date", "--date", DAY, "--json", env=env)
    report = json.loads(sent.stdout)
    assert report["counts"]["sent"] == 1 and report["counts"]["failed"] == 0
    assert relay.logins and set(relay.logins) == {(USER, PASSWORD)}
    assert relay.handler.recipients() == ["ada@example.com"]


@pytest.mark.parametrize(
    ("host", "noted"), [("127.0.0.1", False), ("localhost", False), ("relay.example", True)]
)
def test_config_check_notes_plaintext_login_to_another_machine(host: str, noted: bool):
    settings = settings_from_dict(
        {"smtp": {"host": host, "username": USER, "allow_plaintext_auth": True}}
    )
    result = check_settings(settings)
    assert not any("unencrypted" in problem for problem in result.problems)
    assert any("unencrypted" in note for note in result.notes) is noted
