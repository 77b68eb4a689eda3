"""`digest bounces fetch`: the reports in an IMAP folder, each deleted or moved once acted on.

Each message is recorded (or kept aside) before it is deleted or moved, so a run cut short
leaves the rest on the server; reading one twice changes nothing (reports are recorded once).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator

from digest.app import App
from digest.bounces.process import ProcessResult, process_messages
from digest.config import BouncesSettings
from digest.errors import ConfigError, MailboxError, one_line

__all__ = ["fetch_reports"]

_TIMEOUT_SECONDS = 60


def fetch_reports(app: App) -> ProcessResult:
    settings = app.settings.bounces
    if not settings.imap_host or not settings.imap_user:
        raise ConfigError("[bounces] imap_host and imap_user must be set for `bounces fetch`")
    where = f"{settings.imap_host}:{settings.imap_port}"
    imap = _connect(settings, where)
    try:
        try:
            imap.login(settings.imap_user, settings.imap_password)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(
                f"IMAP login to {where} as {settings.imap_user} refused: {_text(exc)}"
            ) from exc
        return _process_folder(app, imap, settings, where)
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise MailboxError(f"IMAP connection to {where} lost: {one_line(exc)}") from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):  # already gone
            imap.logout()


def _connect(settings: BouncesSettings, where: str) -> imaplib.IMAP4:
    try:
        if settings.imap_security == "ssl":
            return imaplib.IMAP4_SSL(
                settings.imap_host,
                settings.imap_port,
                ssl_context=_tls_context(settings),
                timeout=_TIMEOUT_SECONDS,
            )
        imap = imaplib.IMAP4(settings.imap_host, settings.imap_port, timeout=_TIMEOUT_SECONDS)
        if settings.imap_security == "starttls":
            imap.starttls(ssl_context=_tls_context(settings))
        return imap
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"cannot connect to IMAP server {where}: {one_line(exc)}") from exc


def _tls_context(settings: BouncesSettings) -> ssl.SSLContext:
    """Certificates are always verified; imap_ca_file only adds CAs to trust."""
    context = ssl.create_default_context()
    if settings.imap_ca_file:
        try:
            context.load_verify_locations(cafile=settings.imap_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"[bounces] imap_ca_file {settings.imap_ca_file}: {one_line(exc)}"
            ) from exc
    return context


def _process_folder(
    app: App, imap: imaplib.IMAP4, settings: BouncesSettings, where: str
) -> ProcessResult:
    status, data = imap.select(_quoted(settings.folder))
    if status != "OK":
        raise MailboxError(f"IMAP folder {settings.folder!r} on {where}: {_text(data)}")
    status, data = imap.uid("SEARCH", None, "ALL")  # type: ignore[arg-type]
    if status != "OK":
        raise MailboxError(f"cannot list IMAP folder {settings.folder!r}: {_text(data)}")
    uids = [uid.decode() for uid in (data[0] or b"").split()]
    status, capabilities = imap.capability()
    can_move = b"MOVE" in b" ".join(c for c in capabilities if isinstance(c, bytes)).split()

    def messages() -> Iterator[tuple[str, bytes]]:
        for uid in uids:
            message = _fetch(imap, uid)
            if message is None:
                continue  # expunged by another client since the search
            yield f"{settings.folder}/{uid}", message
            # The consumer has recorded it (or kept it aside) when it asks for the next one.
            _done_with(imap, uid, settings, can_move)

    result = process_messages(app, messages())
    imap.expunge()
    return result


def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes | None:
    status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise MailboxError(f"cannot read IMAP message {uid}: {_text(data)}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _done_with(imap: imaplib.IMAP4, uid: str, settings: BouncesSettings, can_move: bool) -> None:
    if settings.after == "move":
        target = _quoted(settings.move_to)
        if can_move:
            status, data = imap.uid("MOVE", uid, target)
            if status != "OK":
                raise MailboxError(
                    f"cannot move message {uid} to {settings.move_to}: {_text(data)}"
                )
            return
        status, data = imap.uid("COPY", uid, target)
        if status != "OK":
            raise MailboxError(f"cannot copy message {uid} to {settings.move_to}: {_text(data)}")
    status, data = imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
    if status != "OK":
        raise MailboxError(f"cannot delete IMAP message {uid}: {_text(data)}")


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string (names may have spaces)."""
    return '"' + re.sub(r'(["\\])', r"\\\1", folder) + '"'


def _text(value: object) -> str:
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split()) or "no reason given"
