"""Subscribers' display names in the To header: a long non-ASCII one is folded into RFC 2047
encoded-words of at most 75 characters, and one that would break the header is shortened, so
the message goes out. Checked on what a real SMTP server received."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

from digest.delivery.message import MAX_DISPLAY_NAME
from tests.conftest import Workspace
from tests.servers import SmtpServer

DAY = "2025-06-02"
LONG_ACCENTED = "Zoë Ångström-Müller, Département des Études Économiques"  # 55 characters
CJK = "张伟" * 120  # 240 characters
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def decoded(header: bytes) -> str:
    return str(make_header(decode_header(header.decode("ascii"))))


def raw_to_header(data: bytes) -> bytes:
    head = data.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^To: .*?(?=\r\n[^ \t])", head, re.MULTILINE | re.DOTALL)
    assert match is not None
    return match.group()


def test_long_non_ascii_names_are_folded_and_capped_and_mailed(
    workspace: Workspace, fixture_feeds: dict[str, str], smtp_server: SmtpServer
):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "zoe@example.org", "--name", LONG_ACCENTED)
    workspace.invoke("subscribers", "add", "wei@example.com", "--name", CJK)
    report = workspace.json("send", "--any-date", "--date", DAY)
    assert report["counts"]["sent"] == 2 and report["counts"]["failed"] == 0
    by_rcpt = {rcpts[0]: data for _, rcpts, data in smtp_server.handler.messages}
    assert set(by_rcpt) == {"zoe@example.org", "wei@example.com"}
    for data in by_rcpt.values():
        header = raw_to_header(data)
        assert all(len(line) <= 78 for line in header.split(b"\r\n"))
        words = ENCODED_WORD.findall(header)
        assert len(words) >= 2 and all(len(word) <= 75 for word in words)
    # Decoded as RFC 2047 says (white space between encoded-words is dropped); the email
    # package's newer parser keeps a space there in Python 3.11, so it is not the judge.
    zoe = decoded(raw_to_header(by_rcpt["zoe@example.org"]))
    assert zoe == f"To: {LONG_ACCENTED} <zoe@example.org>"
    wei = decoded(raw_to_header(by_rcpt["wei@example.com"]))
    shown = wei.removeprefix("To: ").removesuffix(" <wei@example.com>")
    assert len(shown) == MAX_DISPLAY_NAME and shown == CJK[: MAX_DISPLAY_NAME - 1] + "…"
    parsed = {m["To"].addresses[0].addr_spec for m in smtp_server.handler.parsed()}
    assert parsed == {"zoe@example.org", "wei@example.com"}
    statuses = {s["email"]: s["status"] for s in workspace.json("subscribers", "list")}
    assert statuses == {"zoe@example.org": "active", "wei@example.com": "active"}
    assert workspace.json("subscribers", "show", "wei@example.com")["name"] == CJK  # kept whole
