"""A MIME part's body encoded once per edition, with holes where each subscriber's links go.

A relay (and the SMTP server at the other end) handles a message line by line, so its cost on
the wire grows with its number of lines as much as with its bytes. The plain-text part is made
of short lines (72 columns, blank lines, lists of links): as quoted-printable it keeps every one
of them, while base64 packs it into full 76-character lines, about half as many for a third more
bytes. So text parts go out in base64. HTML has no meaningful line breaks outside ``<pre>``: its
newline runs are folded into single spaces (:func:`fold_newlines`) and the result goes out as
quoted-printable, in full-length lines, unless it is mostly non-ASCII (then base64 is smaller).

Base64 makes the text part a third bigger. On a day busy enough that this would push the message
over Gmail's clipping size, the text part goes in its smaller encoding instead, so that the
fewer lines never cost a story.

SpamAssassin's ``MIME_BASE64_TEXT`` rule does not apply: it looks for base64 text parts in
US-ASCII or without a charset, and ours are declared UTF-8.
"""

from __future__ import annotations

import binascii
import functools
import html
import re
from collections.abc import Callable, Mapping
from email import quoprimime

from digest.delivery.message import shorter_encoding

__all__ = [
    "Base64Body",
    "Body",
    "Hole",
    "QuotedPrintableBody",
    "encoded_size",
    "fold_newlines",
    "html_body",
    "text_body",
]

#: Fills a hole from the subscriber's links, by slot name ("unsubscribe", "preferences").
Hole = Callable[[Mapping[str, str]], bytes]

# A tag (left as it is: a line break inside an attribute value is not a space), or a whole
# <pre> or <textarea>, whose line breaks are content.
_TAG_OR_PREFORMATTED = re.compile(r"<(pre|textarea)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
# Only ASCII white space: Python's \s would also take a no-break space, which is content.
_NEWLINE_RUN = re.compile(r"[ \t\r\n\f]*\n[ \t\r\n\f]*")


def fold_newlines(markup: str) -> str:
    """``markup`` with every run of white space holding a line break, outside tags and
    ``<pre>``/``<textarea>``, made one space: the same page to a browser, in fewer lines.
    Trailing white space ends in a single line break, if it held one."""
    body = markup.rstrip(" \t\r\n\f")
    end = "\n" if "\n" in markup[len(body) :] else markup[len(body) :]
    out: list[str] = []
    position = 0
    for match in _TAG_OR_PREFORMATTED.finditer(body):
        out.append(_NEWLINE_RUN.sub(" ", body[position : match.start()]))
        out.append(match.group())
        position = match.end()
    out.append(_NEWLINE_RUN.sub(" ", body[position:]))
    out.append(end)
    return "".join(out)


def _split(content: str, markers: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """``content`` cut at the markers: the stretches between them, and each marker's slot."""
    if not markers:
        return [content], []
    pattern = re.compile("|".join(re.escape(marker) for marker in markers))
    pieces: list[str] = []
    slots: list[str] = []
    position = 0
    for match in pattern.finditer(content):
        pieces.append(content[position : match.start()])
        slots.append(markers[match.group()])
        position = match.end()
    pieces.append(content[position:])
    return pieces, slots


def _link(links: Mapping[str, str], slot: str, escape: bool) -> str:
    url = links[slot]
    return html.escape(url, quote=True) if escape else url


class QuotedPrintableBody:
    """Quoted-printable: each fixed stretch is encoded on its own and ends in a soft line break
    when it ends mid-line, so a link can go in between on lines of its own."""

    transfer_encoding = "quoted-printable"

    def __init__(self, content: str, markers: Mapping[str, str], *, escape: bool) -> None:
        pieces, slots = _split(content, markers)
        self._layout: list[bytes | Hole] = [_qp(pieces[0])]
        for slot, piece in zip(slots, pieces[1:], strict=True):
            self._layout.append(functools.partial(_qp_hole, slot, escape))
            self._layout.append(_qp(piece))

    def layout(self) -> list[bytes | Hole]:
        return self._layout


def _qp_hole(slot: str, escape: bool, links: Mapping[str, str]) -> bytes:
    return _qp_link(_link(links, slot, escape))


class Base64Body:
    """Base64: everything before the first link is encoded once, up to a whole number of
    3-byte groups; the rest (the leftover bytes, the links and what follows) per subscriber.

    A decoder ignores line breaks, so the shorter line where the two meet is harmless, and
    both stretches break lines after multiples of 4 characters, as strict decoders like.
    """

    transfer_encoding = "base64"

    def __init__(self, content: str, markers: Mapping[str, str], *, escape: bool) -> None:
        # Text is encoded in its canonical form, with CRLF line breaks (RFC 2046, 4.1.1).
        canonical = content.replace("\r\n", "\n").replace("\n", "\r\n")
        pieces, slots = _split(canonical, markers)
        head = pieces[0].encode("utf-8")
        if not slots:
            self._layout: list[bytes | Hole] = [_b64_lines(head)]
            return
        cut = len(head) - len(head) % 3
        self._carry = head[cut:]
        self._rest = [
            (slot, escape, piece.encode("utf-8"))
            for slot, piece in zip(slots, pieces[1:], strict=True)
        ]
        self._layout = [_b64_lines(head[:cut]), self._tail]

    def layout(self) -> list[bytes | Hole]:
        return self._layout

    def _tail(self, links: Mapping[str, str]) -> bytes:
        data = [self._carry]
        for slot, escape, piece in self._rest:
            data.append(_link(links, slot, escape).encode("ascii"))
            data.append(piece)
        return _b64_lines(b"".join(data))


Body = QuotedPrintableBody | Base64Body


def text_body(text: str, markers: Mapping[str, str], *, fewest_lines: bool = True) -> Body:
    """The plain-text part as it goes out: base64 for the fewest lines, or else whichever
    encoding is smaller (quoted-printable for mostly-ASCII text)."""
    if fewest_lines or shorter_encoding(text) == "base64":
        return Base64Body(text, markers, escape=False)
    return QuotedPrintableBody(text, markers, escape=False)


def html_body(markup: str, markers: Mapping[str, str]) -> Body:
    """The HTML part as it goes out: line breaks folded, then quoted-printable unless base64 is
    smaller (mostly non-ASCII text)."""
    folded = fold_newlines(markup)
    if shorter_encoding(folded) == "quoted-printable":
        return QuotedPrintableBody(folded, markers, escape=True)
    return Base64Body(folded, markers, escape=True)


def encoded_size(markup: str, text: str) -> int:
    """Bytes the two parts take in a message at the least, with the link markers in place.
    (A message that would be too big with its text part in base64 has it in the smaller
    encoding instead: see MessageTemplate.)"""
    size = 0
    for body in (html_body(markup, {}), text_body(text, {}, fewest_lines=False)):
        size += sum(len(item) for item in body.layout() if isinstance(item, bytes))
    return size


def _b64_lines(data: bytes) -> bytes:
    """``data`` in base64, in lines of 76 characters ended by CRLF."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"".join(encoded[n : n + 76] + b"\r\n" for n in range(0, len(encoded), 76))


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
