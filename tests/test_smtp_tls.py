"""SMTP security modes and login against a real aiosmtpd server with a test CA (trustme)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.config import SmtpSettings
from digest.delivery.smtp import SmtpMailer
from digest.errors import SmtpUnavailableError
from digest.loopback import free_port
from tests.conftest import Workspace
from tests.servers import RecordingHandler

USER, PASSWORD = "digest", "correct horse"
# The implicit-TLS server does encrypt; aiosmtpd just cannot tell (see tls_server).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request, ca: trustme.CA) -> Iterator[tuple[str, int, RecordingHandler]]:
    handler = RecordingHandler()
    port = free_port()
    context = server_context(ca)
    options = {"authenticator": authenticate, "auth_required": True}
    if request.param == "starttls":
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            **options,
        )
    else:
        # aiosmtpd only counts STARTTLS as encryption for AUTH; this whole session is TLS.
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            ssl_context=context,
            auth_require_tls=False,
            **options,
        )
    controller.start()
    yield request.param, port, handler
    controller.stop()


def settings(security: str, port: int, ca_file: Path | None, password: str = PASSWORD):
    return SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=security,
        username=USER,
        password=password,
        sender="digest@news.example",
        timeout_seconds=5,
        ca_file=str(ca_file or ""),
    )


def test_tls_and_login_deliver(tls_server, ca, tmp_path):
    security, port, handler = tls_server
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    mailer = SmtpMailer(settings(security, port, ca_file))
    reply = mailer.send("digest@news.example", "ada@example.com", b"Subject: hi\r\n\r\nhello\r\n")
    mailer.close()
    assert reply.startswith("250")
    assert handler.recipients() == ["ada@example.com"]


def test_wrong_password_is_a_clear_error(tls_server, ca, tmp_path):
    security, port, handler = tls_server
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with pytest.raises(SmtpUnavailableError, match="login .* refused: 535"):
        SmtpMailer(settings(security, port, ca_file, password="wrong")).open()
    assert handler.messages == []


def test_an_untrusted_certificate_is_refused(tls_server):
    security, port, handler = tls_server
    with pytest.raises(SmtpUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
        SmtpMailer(settings(security, port, None)).open()
    assert handler.messages == []


def test_send_command_over_starttls_with_password_from_environment(
    workspace: Workspace, fixture_feeds, ca, tmp_path
):
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(ca),
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        workspace.smtp_port = port
        workspace.write_config()
        workspace.config.write_text(
            workspace.config.read_text().replace(
                "timeout_seconds = 5\n\n[web]",
                f'timeout_seconds = 5\nsecurity = "starttls"\nusername = "{USER}"\n'
                f'ca_file = "{ca_file}"\n\n[web]',
            )
        )
        workspace.invoke("feeds", "add", *fixture_feeds.values())
        workspace.invoke("subscribers", "add", "ada@example.com")
        workspace.invoke("fetch")
        refused = workspace.invoke("send", "--any-date", "--date", "2025-06-02", code=1)
        assert "login" in refused.stderr and "refused" in refused.stderr  # no password set
        report = workspace.invoke(
            "send",
            "--any-date",
            "--date",
            "2025-06-02",
            "--json",
            env={"DIGEST_SMTP_PASSWORD": PASSWORD},
        )
        assert '"sent": 1' in report.stdout
        assert handler.recipients() == ["ada@example.com"]
    finally:
        controller.stop()
