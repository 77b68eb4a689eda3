"""build_message and header checks: the bytes parsed back as a mail client would."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from digest.delivery.message import (
    build_message,
    check_header_value,
    make_message_id,
    parse_sender,
)
from digest.errors import HeaderError
from digest.types import RenderedEmail

SENDER = "The Trade Brief <brief@digest.example.org>"
LONG_UNSUBSCRIBE = "https://digest.example.org/unsubscribe/" + "t0k3n-" * 19 + "end"
MAILTO = "mailto:unsubscribe@digest.example.org?subject=unsubscribe"
DATE = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)


def build(rendered: RenderedEmail, **overrides) -> bytes:
    arguments = dict(
        sender=SENDER,
        recipient="zoe@example.com",
        recipient_name="Zoë Ångström",
        message_id="<20260310.abc123@digest.example.org>",
        date=DATE,
        list_id="US-China trade digest <us-china-trade.digest.example.org>",
        unsubscribe_url=LONG_UNSUBSCRIBE,
        unsubscribe_mailto=MAILTO,
    )
    arguments.update(overrides)
    return build_message(rendered, **arguments)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.fixture
def rendered(renderer, edition) -> RenderedEmail:
    return renderer.render(edition).personalize(
        unsubscribe_url=LONG_UNSUBSCRIBE,
        preferences_url="https://digest.example.org/preferences/abc",
    )


def test_structure_and_charsets(rendered):
    message = parse(build(rendered))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    for part, expected in zip(parts, (rendered.text, rendered.html), strict=True):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
        assert part.get_content().replace("\r\n", "\n") == expected
        assert part["MIME-Version"] is None


def test_crlf_and_short_lines(rendered):
    raw = build(rendered)
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
        if not line.startswith(b"List-Unsubscribe:"):
            assert len(line) <= 78, line
        line.decode("ascii")  # 7-bit clean: no 8BITMIME needed


def test_exactly_one_of_each_header(rendered):
    raw = build(rendered)
    message = parse(raw)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for name in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ):
        assert len(message.get_all(name) or []) == 1, name
        assert (
            head.lower().count(f"\r\n{name.lower()}:") + head.lower().startswith(f"{name.lower()}:")
            == 1
        ), name
    assert raw.count(b"MIME-Version:") == 1
    assert message["Message-ID"] == "<20260310.abc123@digest.example.org>"
    assert message["Date"].datetime == DATE
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_list_unsubscribe_is_literal(rendered):
    assert len(LONG_UNSUBSCRIBE) >= 150
    expected = f"<{LONG_UNSUBSCRIBE}>, <{MAILTO}>"
    raw = build(rendered)
    assert f"\r\nList-Unsubscribe: {expected}\r\n".encode("ascii") in raw
    assert parse(raw)["List-Unsubscribe"] == expected
    # and without the mailto
    raw = build(rendered, unsubscribe_mailto=None)
    assert f"\r\nList-Unsubscribe: <{LONG_UNSUBSCRIBE}>\r\n".encode("ascii") in raw


def test_non_ascii_names_and_subject_encoded(rendered):
    rendered = RenderedEmail(
        subject="US–China trade, 10 Mar: Beijing’s “rare earth” curbs — what changes",
        html=rendered.html,
        text=rendered.text,
    )
    raw = build(rendered, sender="Le Brief Économique <brief@digest.example.org>")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in head
    head.decode("ascii")
    message = parse(raw)
    assert message["Subject"] == rendered.subject
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    assert message["To"].addresses[0].addr_spec == "zoe@example.com"
    assert message["From"].addresses[0].display_name == "Le Brief Économique"
    assert message["From"].addresses[0].addr_spec == "brief@digest.example.org"


def test_ascii_names_not_encoded(rendered):
    raw = build(rendered, recipient_name="Jane Doe")
    assert b"\r\nTo: Jane Doe <zoe@example.com>\r\n" in raw
    assert b"\r\nFrom: The Trade Brief <brief@digest.example.org>\r\n" in raw or raw.startswith(
        b"From: The Trade Brief <brief@digest.example.org>\r\n"
    )
    raw = build(rendered, recipient_name=None)
    assert parse(raw)["To"] == "zoe@example.com"


@pytest.mark.parametrize(
    "bad", ["Hello\r\nBcc: victim@example.com", "Hello\nX: y", "Hi\rthere", "nul\x00"]
)
def test_line_breaks_in_subject_or_name_are_refused(rendered, bad):
    with pytest.raises(HeaderError, match="Subject"):
        build(RenderedEmail(subject=bad, html=rendered.html, text=rendered.text))
    with pytest.raises(HeaderError, match="To"):
        build(rendered, recipient_name=bad)
    with pytest.raises(HeaderError):
        build(rendered, sender=f"{bad} <brief@digest.example.org>")


@pytest.mark.parametrize(
    "bad",
    [
        {"recipient": "zoe@example.com\r\nBcc: x@example.com"},
        {"unsubscribe_url": "https://x.example/u\r\nBcc: x@example.com"},
        {"unsubscribe_url": "https://x.example/u>, <https://evil.example"},
        {"unsubscribe_mailto": "https://not-a-mailto.example"},
        {"list_id": "list\n<id.example>"},
        {"message_id": "not-a-message-id"},
        {"date": datetime(2026, 3, 10, 6, 30)},  # naive
        {"recipient": "not an address"},
    ],
)
def test_other_header_values_are_checked(rendered, bad):
    with pytest.raises(HeaderError):
        build(rendered, **bad)


def test_check_header_value():
    assert check_header_value("Subject", "Fine – one line") == "Fine – one line"
    for bad in ("a\rb", "a\nb", "a\x00b", "a\u2028b"):
        with pytest.raises(HeaderError) as info:
            check_header_value("Subject", bad)
        assert "Subject" in str(info.value)
        assert "\n" not in str(info.value)


def test_parse_sender():
    assert parse_sender("brief@digest.example.org") == ("", "brief@digest.example.org")
    assert parse_sender("The Trade Brief <brief@digest.example.org>") == (
        "The Trade Brief",
        "brief@digest.example.org",
    )
    assert parse_sender('"Brief, The" <brief@digest.example.org>') == (
        "Brief, The",
        "brief@digest.example.org",
    )
    assert parse_sender("Écho <echo@example.com>") == ("Écho", "echo@example.com")
    for bad in (
        "",
        "not an address",
        "a@b.example, c@d.example",
        "Name <>",
        "Name <no-at-sign>",
        "brief@digest.example.org\r\nBcc: x@example.com",
        "two@@example.com",
    ):
        with pytest.raises(HeaderError):
            parse_sender(bad)


def test_make_message_id():
    first, second = make_message_id("digest.example.org"), make_message_id("digest.example.org")
    assert first != second
    assert first.startswith("<") and first.endswith("@digest.example.org>")
    with pytest.raises(HeaderError):
        make_message_id("bad\r\ndomain")


def test_forty_story_message_under_gmail_clip_limit(renderer, big_edition):
    edition = big_edition(stories_per_section=8, sections=5)
    assert len(edition.stories) == 40
    rendered = renderer.render(edition).personalize(
        unsubscribe_url=LONG_UNSUBSCRIBE,
        preferences_url="https://digest.example.org/preferences/abc",
    )
    raw = build(rendered)
    assert len(raw) < 102 * 1024, len(raw)
    assert len(rendered.html.encode("utf-8")) < 102 * 1024


def test_date_header_in_other_timezone(rendered):
    paris = timezone(timedelta(hours=1))
    message = parse(build(rendered, date=DATE.astimezone(paris)))
    assert message["Date"].datetime == DATE


def test_international_addresses(rendered):
    message = parse(build(rendered, recipient="zoe@bücher.example"))
    assert message["To"].addresses[0].addr_spec == "zoe@xn--bcher-kva.example"
    with pytest.raises(HeaderError, match="SMTPUTF8"):
        build(rendered, recipient="zoë@example.com")
