"""Sending over SMTP with smtplib, replies mapped onto the project's delivery errors."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable

from digest.config import SmtpSettings
from digest.errors import (
    PermanentDeliveryError,
    RecipientRefusedError,
    SmtpUnavailableError,
    TemporaryDeliveryError,
    one_line,
)


class DotSafe(bytes):
    """A message in which no line starts with ".": SMTP sends it without dot-stuffing, which
    would otherwise scan the whole message each time (what MessageTemplate makes)."""


class SmtpMailer:
    """A reusable SMTP connection (one per sending worker, reopened after a failure). ``send``
    returns the server's reply to the message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self._settings
        where = f"{s.host}:{s.port}"
        refusal = plaintext_auth_refusal(s)
        if refusal:  # before connecting: nothing, not even the username, goes out
            raise SmtpUnavailableError(refusal)
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=self._tls_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpUnavailableError(
                f"SMTP login to {where} as {s.username} refused: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpUnavailableError(
                f"SMTP server {where} does not support {s.security}: {exc}"
            ) from exc
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SmtpUnavailableError(
                f"cannot connect to SMTP server {where}: {one_line(exc)}"
            ) from exc
        self._smtp = smtp

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates are always verified; ca_file only adds CAs to trust."""
        context = ssl.create_default_context()
        if self._settings.ca_file:
            context.load_verify_locations(cafile=self._settings.ca_file)
        return context

    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    def send(
        self,
        envelope_from: str,
        recipient: str,
        message: bytes,
        *,
        ready: Callable[[], None] | None = None,
    ) -> str:
        """Send one message; ``ready`` is called after the server's 354, before the message
        goes out: the server cannot accept it before ``ready`` returns. If ``ready`` raises,
        the connection is dropped mid-DATA (nothing is delivered) and the error propagates."""
        if self._smtp is None:
            self.open()
        smtp = self._smtp
        assert smtp is not None
        try:
            # The commands smtplib's mail(), rcpt() and data() send, without re-parsing the
            # addresses (already checked plain ASCII addr-specs) or a regular expression over
            # the whole message per send: per message, these cost more than the round trips.
            code, reply = smtp.docmd("mail", f"FROM:<{envelope_from}>")
            if code != 250:
                raise self._refused(code, reply, f"sender {envelope_from} refused", reset=True)
            code, reply = smtp.docmd("rcpt", f"TO:<{recipient}>")
            if code not in (250, 251):
                raise self._refused(
                    code, reply, f"recipient {recipient} refused", reset=True, bounce=True
                )
            code, reply = smtp.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            if ready is not None:
                try:
                    ready()
                except BaseException:
                    self._drop()  # not QUIT: in DATA, the server would take it as text
                    raise
            safe = isinstance(message, DotSafe) and message.endswith(b"\r\n")
            smtp.send(message + b".\r\n" if safe else dot_stuffed(message))
            code, reply = smtp.getreply()
            if code != 250:
                raise self._refused(code, reply, "message refused", bounce=True)
            return _reply(code, reply)
        except smtplib.SMTPResponseException as exc:  # before OSError: it is one
            self.close()
            raise _classify(exc.smtp_code, exc.smtp_error, "server error") from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise TemporaryDeliveryError(f"connection lost: {one_line(exc)}") from exc

    def _refused(
        self, code: int, reply: bytes | str, what: str, *, reset: bool = False, bounce: bool = False
    ) -> TemporaryDeliveryError | PermanentDeliveryError:
        if code == 421:  # the server is closing this connection: the next message reconnects
            self.close()
        elif reset:
            self._reset()
        return _classify(code, reply, what, bounce=bounce)

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def plaintext_auth_refusal(settings: SmtpSettings) -> str | None:
    """Why a login would be refused for going out unencrypted, or None when it is fine."""
    if not settings.username or settings.security != "none" or settings.allow_plaintext_auth:
        return None
    return (
        f"refusing to send the SMTP password for {settings.username} to "
        f'{settings.host}:{settings.port} unencrypted: set [smtp] security to "starttls" '
        f'or "ssl", or allow_plaintext_auth = true for a relay on this machine'
    )


def dot_stuffed(message: bytes) -> bytes:
    """``message`` as SMTP DATA: a line that starts with "." gets another one (RFC 5321
    4.5.2, as smtplib does), then the end-of-data line. Plain byte replaces, no regex."""
    data = message.replace(b"\n.", b"\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _classify(
    code: int, reply: bytes | str, what: str, *, bounce: bool = False
) -> TemporaryDeliveryError | PermanentDeliveryError:
    message = f"{what}: {_reply(code, reply)}"
    if 500 <= code < 600:
        error = RecipientRefusedError if bounce else PermanentDeliveryError
        return error(message, code=code)
    return TemporaryDeliveryError(message, code=code)


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"
