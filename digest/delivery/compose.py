"""Fast MIME: an edition's message is framed once, then only the per-subscriber strings are spliced.

The email package needs milliseconds to serialize a 45 KB message; a digest sends the same body
to everyone except for a few strings (To, Message-ID, Date and the subscriber's links). A
:class:`MessageTemplate` encodes everything that is the same (headers, boundaries and the
bodies, see :mod:`digest.delivery.bodies`) once, as bytes, and :meth:`MessageTemplate.message`
joins those bytes with the encoded per-subscriber strings.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from email.charset import Charset
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from digest.delivery.bodies import Body, Hole, html_body, text_body
from digest.delivery.message import (
    POLICY,
    _check_addr_spec,
    ascii_address,
    check_header_value,
    check_unsubscribe,
    display_name,
    folded_address,
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

_UTF8 = Charset("utf-8")

#: Signs a finished message; returns the header lines to put in front of it.
Signer = Callable[[bytes], bytes]


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
        feedback_id: str | None = None,
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
        fixed.set_raw("From", folded_address("From", sender_name, sender_addr).decode("ascii"))
        fixed["Subject"] = " ".join(rendered.subject.split())
        fixed["List-Id"] = list_id.strip()
        if feedback_id:
            fixed["Feedback-ID"] = check_header_value("Feedback-ID", feedback_id)
        head = fixed.as_bytes(policy=POLICY)
        self._fixed_headers = head[: head.index(b"\r\n\r\n") + 2]
        markers = {
            rendered.unsubscribe_marker: "unsubscribe",
            rendered.preferences_marker: "preferences",
        }
        # Fewest lines on the wire when the message fits that way; else the smallest encoding,
        # which the renderer's budget counts on.
        html = None if text_only else html_body(rendered.html, markers)
        for fewest_lines in (True, False):
            text = text_body(rendered.text, markers, fewest_lines=fewest_lines)
            layout = self._layout_of(text, html)
            self._layout = [item if isinstance(item, bytes) else b"" for item in layout]
            self._holes = [
                (n, item) for n, item in enumerate(layout) if not isinstance(item, bytes)
            ]
            empty = {"unsubscribe": "", "preferences": ""}
            fixed_size = (
                len(self._fixed_headers)
                + sum(map(len, self._layout))
                + sum(len(hole(empty)) for _, hole in self._holes)
            )
            if fixed_size + _PERSONAL_ALLOWANCE <= MAX_MESSAGE_BYTES:
                break
        else:
            raise MessageTooLargeError(
                f"the email is {fixed_size / 1024:.0f} KB, over the {MAX_MESSAGE_BYTES // 1024} "
                "KB at which Gmail clips messages; shorten the edition"
            )

    @staticmethod
    def _layout_of(text: Body, html: Body | None) -> list[bytes | Hole]:
        """Everything after the per-subscriber headers, as one list: joined with the links
        filled in, it is the message's remainder (one join per message, nothing re-encoded)."""
        part_head = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: {}\r\n'
        if html is None:  # text only
            head = f"MIME-Version: 1.0\r\n{part_head.format('plain', text.transfer_encoding)}\r\n"
            return [head.encode(), *text.layout()]
        boundary = f"digest-alternative-{secrets.token_hex(12)}"
        return [
            b"MIME-Version: 1.0\r\n"
            + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode(),
            f"--{boundary}\r\n{part_head.format('plain', text.transfer_encoding)}\r\n".encode(),
            *text.layout(),
            f"\r\n--{boundary}\r\n{part_head.format('html', html.transfer_encoding)}\r\n".encode(),
            *html.layout(),
            f"\r\n--{boundary}--\r\n".encode(),
        ]

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
        links = {"unsubscribe": unsubscribe_url, "preferences": preferences_url}
        out = self._layout.copy()
        for n, hole in self._holes:
            out[n] = hole(links)
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
        # Header lines start with a name or folding white space, and no body line starts with a dot;
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
    """The To value: ``addr`` or ``Name <addr>``, a non-ASCII name as RFC 2047 encoded-words
    of at most 75 characters, one per folded line."""
    recipient = check_header_value("To", recipient).strip()
    _check_addr_spec("To", recipient)
    addr = ascii_address(recipient, "To")
    display = display_name(check_header_value("To", name or ""))
    if not display:
        return addr.encode("ascii")
    if display.isascii():
        return formataddr((display, addr)).encode("ascii")
    # The email package's charset splits the name at character boundaries; its header folding
    # does the same but takes milliseconds a name, too slow for one message per subscriber.
    try:
        lengths = itertools.chain([72], itertools.repeat(75))  # "To: " shares the first line
        words = [word for word in _UTF8.header_encode_lines(display, lengths) if word]
    except UnicodeError as exc:
        raise HeaderError(f"To name cannot be encoded: {exc}") from exc
    last_line = len(words[-1]) + (len("To: ") if len(words) == 1 else 1)
    fold = " " if last_line + 1 + len(addr) + 2 <= 78 else "\r\n "
    folded = "\r\n ".join(words)
    return f"{folded}{fold}<{addr}>".encode("ascii")
