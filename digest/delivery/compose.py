"""Fast MIME: an edition's message is framed once, then only the per-subscriber strings are spliced.

The email package needs milliseconds to serialize a 45 KB message; a digest sends the same body
to everyone except for a few strings (To, Message-ID, Date and the subscriber's links). A
:class:`MessageTemplate` encodes everything that is the same (headers, boundaries and the
quoted-printable bodies) once, as bytes, and :meth:`MessageTemplate.message` joins those bytes
with the encoded per-subscriber strings.

Splicing into quoted-printable works because QP allows a soft line break (``=`` CRLF) anywhere:
each fixed stretch of body is encoded on its own, and the subscriber's link goes in between,
on lines of its own joined by soft breaks, so the decoded text is exactly the personalized one.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from email import quoprimime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from digest.delivery.message import (
    POLICY,
    _address,
    _check_addr_spec,
    ascii_address,
    check_header_value,
    check_unsubscribe,
    parse_sender,
)
from digest.delivery.smtp import DotSafe
from digest.errors import HeaderError, MessageTooLargeError
from digest.render.email import RenderedEdition

__all__ = ["MAX_MESSAGE_BYTES", "MessageTemplate"]

#: Gmail clips messages over 102 KB; ours must stay under.
MAX_MESSAGE_BYTES = 102 * 1024

_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
# Room left for the per-subscriber strings when the template's size is checked up front.
_PERSONAL_ALLOWANCE = 2048

#: Signs a finished message; returns the header lines to put in front of it.
Signer = Callable[[bytes], bytes]


class _Body:
    """One MIME part's body as fixed QP-encoded bytes with slots for the two links."""

    def __init__(self, content: str, markers: dict[str, str], *, escape: bool) -> None:
        self.escape = escape
        pattern = re.compile("|".join(re.escape(marker) for marker in markers))
        self.pieces: list[bytes] = []
        #: For each slot between pieces: "unsubscribe" or "preferences".
        self.slots: list[str] = []
        position = 0
        for match in pattern.finditer(content):
            self.pieces.append(_qp(content[position : match.start()]))
            self.slots.append(markers[match.group()])
            position = match.end()
        self.pieces.append(_qp(content[position:]))

    def layout(self) -> list[bytes | tuple[str, bool]]:
        """The pieces with, between them, ``(slot, escape)`` where a link goes."""
        out: list[bytes | tuple[str, bool]] = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append((slot, self.escape))
            out.append(piece)
        return out


def _qp(text: str) -> bytes:
    """``text`` as UTF-8 quoted-printable; a stretch that ends mid-line ends with a soft break."""
    if not text:
        return b""
    encoded = quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), 76, "\r\n")
    if not encoded.endswith("\r\n"):
        encoded += "=\r\n"  # soft break: the next stretch continues this line
    return _no_leading_dot(encoded).encode("ascii")


def _no_leading_dot(encoded: str) -> str:
    """QP lines where no line starts with ".": such a dot is written "=2E" on a line of its own,
    ended by a soft break, so the message needs no dot-stuffing on its way through SMTP."""
    if encoded.startswith("."):
        encoded = "=2E=\r\n" + encoded[1:]
    return encoded.replace("\r\n.", "\r\n=2E=\r\n")


def _qp_link(url: str) -> bytes:
    """A link as QP lines of at most 76 characters joined by soft breaks, ending in one."""
    if "=" not in url:  # the usual link: cut every 75 characters
        split = "".join(f"{url[n : n + 75]}=\r\n" for n in range(0, len(url), 75))
        return _no_leading_dot(split).encode("ascii")
    escaped = url.replace("=", "=3D")
    lines, start = [], 0
    while start < len(escaped):
        end = start + 75
        cut = escaped.rfind("=", end - 2, end)  # never split an =3D escape
        if cut != -1 and end < len(escaped):
            end = cut
        lines.append(escaped[start:end])
        start = end
    return _no_leading_dot("".join(f"{line}=\r\n" for line in lines)).encode("ascii")


class MessageTemplate:
    """An edition's message for one preference variant, ready to personalize.

    ``text_only`` makes a single text/plain message instead of multipart/alternative.
    """

    def __init__(
        self,
        rendered: RenderedEdition,
        *,
        sender: str,
        list_id: str,
        unsubscribe_mailto: str | None = None,
        text_only: bool = False,
        sign: Signer | None = None,
    ) -> None:
        sender_name, sender_addr = parse_sender(sender)
        check_header_value("Subject", rendered.subject)
        check_header_value("List-Id", list_id)
        if not list_id.strip():
            raise HeaderError("List-Id header is empty")
        self._mailto = unsubscribe_mailto
        self._sign = sign
        # The fixed headers, encoded and folded once by the email package.
        fixed = EmailMessage(policy=POLICY)
        fixed["From"] = _address("From", sender_name, sender_addr)
        fixed["Subject"] = " ".join(rendered.subject.split())
        fixed["List-Id"] = list_id.strip()
        head = fixed.as_bytes(policy=POLICY)
        self._fixed_headers = head[: head.index(b"\r\n\r\n") + 2]
        markers = {
            rendered.unsubscribe_marker: "unsubscribe",
            rendered.preferences_marker: "preferences",
        }
        text = _Body(rendered.text, markers, escape=False)
        if text_only:
            self._mime_head = (
                b"MIME-Version: 1.0\r\n"
                b'Content-Type: text/plain; charset="utf-8"\r\n'
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            )
            self._parts: list[tuple[bytes, _Body]] = [(b"", text)]
            self._tail = b""
        else:
            boundary = f"digest-alternative-{secrets.token_hex(12)}"
            self._mime_head = (
                b"MIME-Version: 1.0\r\n"
                + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode()
            )
            part_head = (
                f"--{boundary}\r\n"
                'Content-Type: text/{}; charset="utf-8"\r\n'
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            )
            html_body = _Body(rendered.html, markers, escape=True)
            self._parts = [
                (part_head.format("plain").encode(), text),
                (b"\r\n" + part_head.format("html").encode(), html_body),
            ]
            self._tail = f"\r\n--{boundary}--\r\n".encode()
        # Everything after the per-subscriber headers, as one list: joined with the links
        # filled in, it is the message's remainder (one join per message, nothing re-encoded).
        layout: list[bytes | tuple[str, bool]] = [self._mime_head]
        for head, body in self._parts:
            layout.append(head)
            layout += body.layout()
        layout.append(self._tail)
        self._layout = [b"" if isinstance(item, tuple) else item for item in layout]
        self._links = [(n, *item) for n, item in enumerate(layout) if isinstance(item, tuple)]
        fixed_size = len(self._fixed_headers) + sum(map(len, self._layout))
        if fixed_size + _PERSONAL_ALLOWANCE > MAX_MESSAGE_BYTES:
            raise MessageTooLargeError(
                f"the email is {fixed_size / 1024:.0f} KB, over the {MAX_MESSAGE_BYTES // 1024} "
                "KB at which Gmail clips messages; shorten the edition"
            )

    def message(
        self,
        *,
        recipient: str,
        recipient_name: str | None,
        message_id: str,
        date: datetime,
        unsubscribe_url: str,
        preferences_url: str,
    ) -> bytes:
        """One subscriber's message as bytes with CRLF line endings."""
        check_header_value("Message-ID", message_id)
        message_id = message_id.strip()
        if not _MESSAGE_ID.fullmatch(message_id):
            raise HeaderError(f"Message-ID must look like <unique@domain>: {message_id!r}")
        if date.tzinfo is None or date.utcoffset() is None:
            raise HeaderError("Date header needs a timezone-aware datetime")
        unsubscribe = check_unsubscribe(unsubscribe_url, self._mailto)
        for what, url in (("unsubscribe", unsubscribe_url), ("preferences", preferences_url)):
            if not url.isascii() or _SPACE_OR_CONTROL.search(url):
                raise HeaderError(f"{what} URL must be ASCII without spaces or control characters")
        to = _to_header(recipient, recipient_name)
        links = {}
        for slot, url in (("unsubscribe", unsubscribe_url), ("preferences", preferences_url)):
            links[slot, False] = _qp_link(url)
            escaped = html.escape(url, quote=True)
            links[slot, True] = links[slot, False] if escaped == url else _qp_link(escaped)
        out = self._layout.copy()
        for n, slot, escape in self._links:
            out[n] = links[slot, escape]
        message = b"".join(
            (
                self._fixed_headers,
                b"To: ",
                to,
                b"\r\nDate: ",
                _date_header(date.replace(microsecond=0)),
                b"\r\nMessage-ID: ",
                message_id.encode("ascii"),
                b"\r\nList-Unsubscribe: ",
                unsubscribe.encode("ascii"),
                b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                *out,
            )
        )
        # Header lines start with a name or folding white space, bodies are _no_leading_dot;
        # the signature's lines are dkimpy's, so a signed message is dot-stuffed as usual.
        message = DotSafe(message) if self._sign is None else self._sign(message) + message
        if len(message) > MAX_MESSAGE_BYTES:
            raise MessageTooLargeError(
                f"the message is {len(message) / 1024:.0f} KB, over the "
                f"{MAX_MESSAGE_BYTES // 1024} KB at which Gmail clips messages"
            )
        return message


@functools.lru_cache(maxsize=64)
def _date_header(date: datetime) -> bytes:
    # Cached: a send stamps many messages within the same second.
    return format_datetime(date).encode("ascii")


def _to_header(recipient: str, name: str | None) -> bytes:
    """The To value: ``addr`` or ``Name <addr>``, a non-ASCII name RFC 2047-encoded."""
    recipient = check_header_value("To", recipient).strip()
    _check_addr_spec("To", recipient)
    addr = ascii_address(recipient, "To")
    display = " ".join(check_header_value("To", name or "").split())
    if not display:
        return addr.encode("ascii")
    value = formataddr((display, addr), charset="utf-8")
    # Header.encode folds long encoded names with a bare LF; SMTP needs CRLF.
    value = value.replace("\r\n", "\n").replace("\n", "\r\n")
    if any(len(line) > 990 for line in value.split("\r\n")):
        raise HeaderError("To header is too long")
    return value.encode("ascii")
