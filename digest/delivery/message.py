"""MIME framing of a rendered email: one multipart/alternative message, ready for SMTP.

Headers are checked before they are set: a value with CR, LF or NUL (or any other line
separator) is refused with :class:`~digest.errors.HeaderError`, so feed text or a subscriber's
name can never inject a header. ``List-Unsubscribe`` is written literally (never RFC 2047-encoded,
never folded inside a URL) because mailbox providers' one-click unsubscribe (RFC 8058) reads it
as is.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from digest.errors import HeaderError
from digest.types import RenderedEmail

__all__ = [
    "build_message",
    "check_unsubscribe",
    "check_header_value",
    "make_message_id",
    "parse_sender",
    "shorter_encoding",
]

#: CRLF line endings; bodies in 7-bit transfer encodings (quoted-printable or base64, whichever
#: is shorter, so no 8BITMIME is needed); headers set with ``set_raw`` (List-Unsubscribe) are
#: written verbatim instead of being refolded.
POLICY = SMTP.clone(refold_source="none", cte_type="7bit")

#: Folds address headers on lines of at most 76 characters, so each RFC 2047 encoded-word
#: is at most 75 long as the RFC requires (the default 78 lets one reach 77).
_ADDRESS_POLICY = POLICY.clone(max_line_length=76)

#: RFC 5322's limit on a line, CRLF excluded.
_MAX_LINE = 998

#: A display name longer than this is shortened (ending in "…") in the To and From headers:
#: mail programs show only the start anyway, and a long non-ASCII one would take many lines.
MAX_DISPLAY_NAME = 64

# Everything str.splitlines() splits on, plus NUL: any of them could start a new header line.
_LINE_BREAKING = re.compile(r"[\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Bytes quoted-printable writes as =XX: everything non-ASCII, and "=" itself.
_QP_ESCAPED = bytes(range(0x80, 0x100)) + b"="
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_ADDR_SPEC = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+")


def check_header_value(name: str, value: str) -> str:
    """Return ``value`` unchanged, or raise HeaderError if it contains a line break or NUL."""
    if not isinstance(value, str):
        raise HeaderError(f"{name} header value must be text, not {type(value).__name__}")
    if _LINE_BREAKING.search(value):
        raise HeaderError(f"{name} header contains a line break or NUL character")
    return value


def _check_addr_spec(what: str, addr: str) -> str:
    if not _ADDR_SPEC.fullmatch(addr):
        raise HeaderError(f"{what} is not a valid email address: {addr!r}")
    local, _, domain = addr.rpartition("@")
    if domain.startswith(".") or domain.endswith(".") or ".." in domain or ".." in local:
        raise HeaderError(f"{what} is not a valid email address: {addr!r}")
    return addr


def parse_sender(value: str) -> tuple[str, str]:
    """Split ``addr`` or ``Name <addr>`` into ``(name, addr)``; raise HeaderError if invalid."""
    check_header_value("From", value)
    text = value.strip()
    if not text:
        raise HeaderError("From address is empty")
    addresses = getaddresses([text])
    if len(addresses) != 1:
        raise HeaderError(f"From must be a single address: {text!r}")
    name, addr = parseaddr(text)
    if not addr or (name, addr) != addresses[0]:
        raise HeaderError(f"From is not a valid address: {text!r}")
    # parseaddr is lenient: "a b@c" or a trailing comment still parse, so check what came out.
    _check_addr_spec("From", addr)
    bare = "<" not in text
    if bare and text != addr:
        raise HeaderError(f"From is not a valid address: {text!r}")
    return name.strip(), addr


def make_message_id(domain: str) -> str:
    """A new globally unique ``<...@domain>`` Message-ID."""
    check_header_value("Message-ID", domain)
    domain = domain.strip().strip(".")
    if not domain or not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        raise HeaderError(f"Message-ID domain is not a valid host name: {domain!r}")
    return make_msgid(domain=domain)


def ascii_address(addr: str, header: str = "To") -> str:
    """``addr`` as plain ASCII for headers and the SMTP envelope: IDNA for the domain.

    A non-ASCII local part would need SMTPUTF8, which we do not use: HeaderError.
    """
    local, _, domain = addr.rpartition("@")
    if not local.isascii():
        raise HeaderError(f"{header} address {addr!r} has a non-ASCII local part (needs SMTPUTF8)")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")  # bücher.example → xn--bcher-kva...
        except UnicodeError as exc:
            raise HeaderError(f"{header} address {addr!r} has an invalid domain") from exc
    return f"{local}@{domain}"


def display_name(name: str | None) -> str:
    """A display name for a header: one line of single spaces, at most MAX_DISPLAY_NAME
    characters. The email package's folding then splits a non-ASCII one into RFC 2047
    encoded-words of at most 75 characters, on lines of at most 78."""
    text = " ".join((name or "").split())
    if len(text) > MAX_DISPLAY_NAME:
        text = text[: MAX_DISPLAY_NAME - 1].rstrip() + "…"
    return text


def folded_address(header: str, name: str | None, addr: str) -> bytes:
    """``Name <addr>`` as the header's folded value (CRLF between lines, none at the end)."""
    address = _address(header, name, addr)
    try:
        line = _ADDRESS_POLICY.fold_binary(
            header, _ADDRESS_POLICY.header_store_parse(header, address)[1]
        )
    except (ValueError, TypeError, UnicodeError) as exc:
        raise HeaderError(f"{header} header cannot be encoded: {exc}") from exc
    return line[len(header) + 2 : -2]


def _address(header: str, name: str | None, addr: str) -> Address:
    check_header_value(header, addr)
    if name is not None:
        check_header_value(header, name)
    _check_addr_spec(header, addr)
    local, _, domain = ascii_address(addr, header).rpartition("@")
    try:
        return Address(display_name=display_name(name), username=local, domain=domain)
    except (ValueError, IndexError, TypeError) as exc:
        raise HeaderError(f"{header} is not a valid address: {addr!r}") from exc


def shorter_encoding(body: str) -> str:
    """The 7-bit transfer encoding that makes ``body`` (as UTF-8) smaller.

    Mostly-ASCII text (English news) stays readable and small as quoted-printable; text that is
    mostly non-ASCII (a Chinese-language edition) is smaller in base64. The email package's own
    guess looks only at the first ten lines, which a heading rule of "=" signs can mislead.
    """
    data = body.encode("utf-8")
    escaped = len(data) - len(data.translate(None, _QP_ESCAPED))
    quoted_printable = len(data) + 2 * escaped + len(data) // 76  # + soft line breaks
    base64 = (len(data) + 2) // 3 * 4 * 78 // 76
    return "quoted-printable" if quoted_printable <= base64 else "base64"


def _set_literal(message: EmailMessage, name: str, value: str) -> None:
    """Set a header exactly as given: no RFC 2047 encoding, no folding."""
    check_header_value(name, value)
    if not value.isascii():
        raise HeaderError(f"{name} header must be ASCII (encode non-ASCII URLs first)")
    if len(name) + 2 + len(value) > _MAX_LINE:
        raise HeaderError(f"{name} header is longer than {_MAX_LINE} characters")
    message.set_raw(name, value)


def check_unsubscribe(url: str, mailto: str | None) -> str:
    """The literal List-Unsubscribe value ``<https://...>, <mailto:...>``, checked."""
    check_header_value("List-Unsubscribe", url)
    if mailto is not None:
        check_header_value("List-Unsubscribe", mailto)
    if not url.lower().startswith(("https://", "http://")):
        raise HeaderError("List-Unsubscribe URL must be an http(s) URL")
    if mailto is not None and not mailto.lower().startswith("mailto:"):
        raise HeaderError("List-Unsubscribe mailto must start with mailto:")
    if any(ch in url + (mailto or "") for ch in " <>,\t"):
        raise HeaderError("List-Unsubscribe URLs must not contain spaces, commas or angle brackets")
    value = f"<{url}>" + (f", <{mailto}>" if mailto else "")
    if not value.isascii():
        raise HeaderError("List-Unsubscribe header must be ASCII (encode non-ASCII URLs first)")
    if len("List-Unsubscribe: ") + len(value) > _MAX_LINE:
        raise HeaderError(f"List-Unsubscribe header is longer than {_MAX_LINE} characters")
    return value


def build_message(
    email: RenderedEmail,
    *,
    sender: str,
    recipient: str,
    recipient_name: str | None = None,
    message_id: str,
    date: datetime,
    list_id: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str | None = None,
) -> bytes:
    """The message as bytes with CRLF line endings: text/plain then text/html, both UTF-8.

    ``unsubscribe_url`` is the one-click (RFC 8058) HTTPS link; ``unsubscribe_mailto`` an
    optional ``mailto:`` alternative. ``date`` must be timezone-aware.
    """
    sender_name, sender_addr = parse_sender(sender)
    check_header_value("Subject", email.subject)
    check_header_value("Message-ID", message_id)
    check_header_value("List-Id", list_id)
    if not _MESSAGE_ID.fullmatch(message_id.strip()):
        raise HeaderError(f"Message-ID must look like <unique@domain>: {message_id!r}")
    if date.tzinfo is None or date.utcoffset() is None:
        raise HeaderError("Date header needs a timezone-aware datetime")
    if not list_id.strip():
        raise HeaderError("List-Id header is empty")
    unsubscribe = check_unsubscribe(unsubscribe_url, unsubscribe_mailto)

    message = EmailMessage(policy=POLICY)
    message.set_raw("From", folded_address("From", sender_name, sender_addr).decode("ascii"))
    message.set_raw("To", folded_address("To", recipient_name, recipient.strip()).decode("ascii"))
    message["Subject"] = " ".join(email.subject.split())
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id.strip()
    message["List-Id"] = list_id.strip()
    _set_literal(message, "List-Unsubscribe", unsubscribe)
    _set_literal(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")

    message.set_content(
        email.text, subtype="plain", charset="utf-8", cte=shorter_encoding(email.text)
    )
    message.add_alternative(
        email.html, subtype="html", charset="utf-8", cte=shorter_encoding(email.html)
    )
    # add_alternative() gives the new part its own MIME-Version; only the top level needs one.
    for part in message.iter_parts():
        del part["MIME-Version"]
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    try:
        return message.as_bytes(policy=POLICY)
    except (ValueError, TypeError, UnicodeError) as exc:
        # e.g. a non-ASCII local part, which needs SMTPUTF8
        raise HeaderError(f"message headers cannot be encoded: {exc}") from exc
