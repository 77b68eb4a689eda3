"""The sender's shortcuts give exactly what the slow ways give: tokens, QP bodies, SMTP DATA."""

from __future__ import annotations

import quopri
import re

import pytest

from digest.delivery.bodies import _qp, _qp_link
from digest.delivery.links import LinkTokens
from digest.delivery.smtp import dot_stuffed
from subscribers.tokens import PREFERENCES, UNSUBSCRIBE, TokenSigner, address_tag


def test_link_tokens_are_the_signers_tokens_and_read_back():
    signer = TokenSigner("current-key", ["old-key"])
    tokens = LinkTokens(signer, "current-key", (UNSUBSCRIBE, PREFERENCES))
    for subscriber_id, email in [(1, "a@example.com"), (987654321, "zoë@bücher.example")]:
        for purpose in (UNSUBSCRIBE, PREFERENCES):
            token = tokens.make(purpose, subscriber_id, email)
            assert token == signer.make(purpose, subscriber_id, email=email)
            assert signer.read_link(purpose, token) == (subscriber_id, address_tag(email))
    # a key that is not the signer's cannot make its tokens: the signer makes them instead
    wrong = LinkTokens(signer, "another-key", (UNSUBSCRIBE,))
    assert wrong.make(UNSUBSCRIBE, 7, "b@example.com") == signer.make(
        UNSUBSCRIBE, 7, email="b@example.com"
    )


@pytest.mark.parametrize("text", [".starts\n", "a\n.b\n", "x" * 74 + ". y\n.z", ".\n", "a\n.\n"])
def test_qp_bodies_never_start_a_line_with_a_dot_and_decode_unchanged(text):
    encoded = _qp(text)
    assert not encoded.startswith(b".") and b"\r\n." not in encoded
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert quopri.decodestring(encoded).replace(b"\r\n", b"\n").decode() == text


@pytest.mark.parametrize(
    "url", ["https://a.example/" + "x" * 57 + ".abc", "https://a.example/" + "y" * 57 + ".=a=b"]
)
def test_qp_links_never_start_a_line_with_a_dot(url):
    encoded = _qp_link(url)
    assert not encoded.startswith(b".") and b"\r\n." not in encoded
    assert quopri.decodestring(encoded).decode() == url


@pytest.mark.parametrize(
    "message", [b"a\r\n.b\r\n", b".x\r\n..y\r\nz", b"plain\r\n", b"no newline at the end"]
)
def test_dot_stuffing_is_what_smtplib_sends(message):
    expected = re.sub(rb"(?m)^\.", b"..", message)  # smtplib's quoting of a bytes message
    if not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert dot_stuffed(message) == expected + b".\r\n"
