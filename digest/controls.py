"""Control characters in untrusted text: removed at ingest, shown harmlessly on a terminal.

Feeds may carry C0/C1 control characters (``\\x01``, ``\\x1b[31m``, ``\\x9b``). They are not
allowed in XML (the Atom archive would not parse), mean nothing in an email, and on a
terminal they recolour, move the cursor or rewrite what the operator reads.
"""

from __future__ import annotations

import re

# Terminal escape sequences go whole (CSI "ESC [ ... final", OSC "ESC ] ... BEL/ST", 8-bit CSI),
# so "\x1b[31mRed" becomes "Red", not "[31mRed".
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
)
# Controls that Python counts as white space keep a word boundary; the rest go.
_SPACING = re.compile(r"[\x0b\x0c\x1c-\x1f\x85]")
# C0 but tab and newline, DEL, C1, and what XML forbids besides (lone surrogates, U+FFFE/F).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# What a terminal must not act on: the above (and CR, which rewrites the line) plus the
# bidirectional overrides that make text read in another order than it is.
_UNSAFE_ON_TERMINAL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def strip_controls(text: str) -> str:
    """``text`` without control characters; tab and newline stay, a CR becomes a newline."""
    if text.isprintable() or _CONTROLS.search(text) is None:  # the usual case: one scan
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SEQUENCES.sub("", text)
    text = _SPACING.sub(" ", text)
    return _CONTROLS.sub("", text)


def show_controls(text: str) -> str:
    """``text`` for a terminal: each control character written out as ``\\xNN``/``\\uNNNN``,
    visible but inert; tab and newline stay."""
    if text.isprintable():
        return text
    return _UNSAFE_ON_TERMINAL.sub(_written_out, text)


def _written_out(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
