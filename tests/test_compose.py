"""The spliced MIME template: valid messages, byte for byte what the email package would parse."""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default

import pytest

from digest.delivery.bodies import fold_newlines
from digest.delivery.compose import MAX_MESSAGE_BYTES, MessageTemplate
from digest.errors import HeaderError, MessageTooLargeError
from digest.render.email import RenderedEdition

UNSUB = "DIGEST-UNSUBSCRIBE-URL-0123456789abcdef"
PREFS = "DIGEST-PREFERENCES-URL-0123456789abcdef"
NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


def rendered(text: str = "", html: str = "") -> RenderedEdition:
    return RenderedEdition(
        subject="US–China trade, 2 Jun: Tariff talks resume in Geneva",
        html=html
        or (
            "<html><body><p>Zölle = tariffs; 关税 " + "news " * 40 + "</p>"
            f'<a href="{UNSUB}">Unsubscribe</a> · <a href="{PREFS}">Preferences</a>   \n'
            "</body></html>\n"
        ),
        text=text or f"Tariffs = 关税, trailing   \nUnsubscribe: {UNSUB}\nSettings: {PREFS}\n",
        unsubscribe_marker=UNSUB,
        preferences_marker=PREFS,
    )


def template(**kwargs) -> MessageTemplate:
    return MessageTemplate(
        kwargs.pop("edition", None) or rendered(),
        sender="Trade Digest <digest@news.example>",
        list_id="us-china-trade <us-china-trade.news.example>",
        unsubscribe_mailto="mailto:leave@news.example?subject=unsubscribe",
        **kwargs,
    )


def personal(t: MessageTemplate, **kwargs) -> bytes:
    values = {
        "recipient": "zoe@bücher.example",
        "recipient_name": "Zoë Chen",
        "message_id": "<20250602.42@news.example>",
        "date": NOW,
        "unsubscribe_url": "https://news.example/u/" + "Tok3n_-." * 20 + "=x&y=1",
        "preferences_url": "https://news.example/preferences/abc=def&g",
    }
    values.update(kwargs)
    return t.message(**values)


def test_the_spliced_message_parses_back_to_exactly_the_personalized_email():
    edition = rendered()
    data = personal(template(edition=edition))
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert data.isascii()
    message = BytesParser(policy=default).parsebytes(data)
    names = ("From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe")
    for name in (*names, "List-Unsubscribe-Post", "MIME-Version"):
        assert len(message.get_all(name)) == 1, name
    assert message["To"].addresses[0].display_name == "Zoë Chen"
    assert message["To"].addresses[0].addr_spec == "zoe@xn--bcher-kva.example"
    assert message["Subject"] == edition.subject
    url = "https://news.example/u/" + "Tok3n_-." * 20 + "=x&y=1"
    raw = data.split(b"\r\n\r\n", 1)[0].decode()
    # literal: not RFC 2047-encoded, not folded inside the URL
    assert (
        f"\r\nList-Unsubscribe: <{url}>, <mailto:leave@news.example?subject=unsubscribe>\r\n" in raw
    )
    plain, html_part = message.iter_parts()
    assert [plain.get_content_type(), html_part.get_content_type()] == ["text/plain", "text/html"]
    assert plain.get_content_charset() == html_part.get_content_charset() == "utf-8"
    expected = edition.personalize(
        unsubscribe_url=url, preferences_url="https://news.example/preferences/abc=def&g"
    )
    assert plain.get_content().replace("\r\n", "\n") == expected.text
    # the HTML's line breaks went out as spaces (see test_delivery_fast_paths for why it's the same)
    assert html_part.get_content().replace("\r\n", "\n") == fold_newlines(expected.html)
    assert plain["Content-Transfer-Encoding"] == "base64"
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"


def test_text_only_variant_is_a_single_text_part():
    message = BytesParser(policy=default).parsebytes(personal(template(text_only=True)))
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert "Unsubscribe: https://news.example/u/" in message.get_content()


def test_every_message_gets_its_own_strings_and_the_rest_is_shared():
    t = template()
    a = personal(t, recipient="ada@example.com", recipient_name=None)
    b = personal(
        t, recipient="bob@example.com", recipient_name="Bob", message_id="<2@news.example>"
    )
    assert b"To: ada@example.com\r\n" in a and b"To: Bob <bob@example.com>\r\n" in b
    assert b"Message-ID: <2@news.example>\r\n" in b


@pytest.mark.parametrize(
    "change",
    [
        {"recipient_name": "Eve\r\nBcc: victim@example.com"},
        {"recipient": "eve@example.com\nBcc: victim@example.com"},
        {"message_id": "<1@x>\r\nX-Evil: 1"},
        {"unsubscribe_url": "https://news.example/u/a b"},
        {"preferences_url": "https://news.example/p/\r\nX: y"},
        {"message_id": "no-angle-brackets"},
        {"date": datetime(2025, 6, 2)},
    ],
)
def test_no_header_can_be_injected(change):
    with pytest.raises(HeaderError):
        personal(template(), **change)


def test_a_subject_with_a_line_break_is_refused():
    edition = rendered()
    bad = RenderedEdition(
        subject="Hi\r\nBcc: x@example.com",
        html=edition.html,
        text=edition.text,
        unsubscribe_marker=UNSUB,
        preferences_marker=PREFS,
    )
    with pytest.raises(HeaderError):
        template(edition=bad)


def test_a_message_over_102_kb_is_refused_clearly():
    big = rendered(html=f'<p>{"x" * MAX_MESSAGE_BYTES}</p><a href="{UNSUB}">u</a>{PREFS}\n')
    with pytest.raises(MessageTooLargeError, match="over the 102 KB"):
        template(edition=big)
