"""Body encodings with holes for the links: decoded, they are exactly the personalized text."""

from __future__ import annotations

import base64
import html
import quopri
import re

import lxml.html
import pytest

from digest.delivery.bodies import Base64Body, QuotedPrintableBody, fold_newlines

UNSUB = "DIGEST-UNSUBSCRIBE-URL-00000000000000aa"
PREFS = "DIGEST-PREFERENCES-URL-00000000000000bb"
MARKERS = {UNSUB: "unsubscribe", PREFS: "preferences"}


def fill(body: Base64Body | QuotedPrintableBody, links: dict[str, str]) -> bytes:
    return b"".join(item if isinstance(item, bytes) else item(links) for item in body.layout())


def lines(encoded: bytes) -> list[bytes]:
    assert encoded.endswith(b"\r\n")
    return encoded[:-2].split(b"\r\n")


@pytest.mark.parametrize(
    "text",
    [
        f"Zölle = tariffs, 关税\n\nUnsubscribe: {UNSUB}\nSettings: {PREFS}\n",
        f"{PREFS} first, then {UNSUB}",  # a link at the very start, the other order
        "é" * 100 + f"\n{UNSUB}\n" + "x" * 500,  # a two-byte character across the 3-byte cut
        "no links at all\n" * 20,
    ],
)
@pytest.mark.parametrize("extra", ["", "a", "ab", "abc"])  # every length modulo 3
@pytest.mark.parametrize("escape", [False, True])
def test_base64_bodies_decode_to_the_personalized_text(text, extra, escape):
    links = {
        "unsubscribe": f"https://news.example/u/tok{extra}?a=1&b=2",
        "preferences": f"https://news.example/p/{extra}x",
    }
    encoded = fill(Base64Body(text, MARKERS, escape=escape), links)
    link = (lambda url: html.escape(url, quote=True)) if escape else (lambda url: url)
    expected = text.replace(UNSUB, link(links["unsubscribe"])).replace(
        PREFS, link(links["preferences"])
    )
    decoded = base64.b64decode(encoded.replace(b"\r\n", b""), validate=True).decode()
    assert decoded == expected.replace("\n", "\r\n")  # canonical text: CRLF line breaks
    for line in lines(encoded):
        assert 0 < len(line) <= 76 and len(line) % 4 == 0
        assert not line.startswith(b".")


def test_base64_packs_the_text_part_into_fewer_lines_than_quoted_printable():
    text = "\n".join(f"  [{n}] Outlet:\n      https://outlet.example/{n}\n" for n in range(40))
    text += f"\nUnsubscribe: {UNSUB}\n"
    links = {"unsubscribe": "https://news.example/u/t", "preferences": "-"}
    as_base64 = fill(Base64Body(text, MARKERS, escape=False), links)
    as_qp = fill(QuotedPrintableBody(text, MARKERS, escape=False), links)
    assert quopri.decodestring(as_qp) == base64.b64decode(as_base64.replace(b"\r\n", b""))
    assert len(lines(as_base64)) * 2 < len(lines(as_qp))


def test_quoted_printable_bodies_decode_to_the_personalized_html():
    markup = f'<p>Zölle</p><a href="{UNSUB}">leave</a> <a href="{PREFS}">settings</a>\n'
    links = {"unsubscribe": "https://n.example/u/t?a=1&b=2", "preferences": "https://n.example/p"}
    encoded = fill(QuotedPrintableBody(markup, MARKERS, escape=True), links)
    assert quopri.decodestring(encoded).decode().replace("\r\n", "\n") == markup.replace(
        UNSUB, "https://n.example/u/t?a=1&amp;b=2"
    ).replace(PREFS, "https://n.example/p")


def _page(markup: str) -> tuple[str, list[tuple[str, list[tuple[str, str]]]]]:
    """The text as a browser shows it (white space collapsed) and the elements with attributes."""
    root = lxml.html.document_fromstring(markup)
    elements = [(e.tag, sorted(e.attrib.items())) for e in root.iter() if isinstance(e.tag, str)]
    return re.sub(r"[ \t\r\n\f]+", " ", root.text_content()).strip(), elements


def test_folding_newlines_keeps_the_page_and_what_must_not_change():
    markup = (
        "<!DOCTYPE html><html><head><style>\n  .a { color: red; }\n</style></head>\n"
        '<body>\n  <p class="a">Tariffs\n   on\tchips</p>\n'
        "<pre>line one\n  line two</pre>\n<textarea>a\nb</textarea>\n"
        '<a\n  href="https://x.example/a">no\u00a0break\u00a0\nspace</a>\n</body></html>\n'
    )
    folded = fold_newlines(markup)
    assert folded.count("\n") == 4  # inside <pre>, <textarea>, the <a> tag, and the last one
    assert "<pre>line one\n  line two</pre>" in folded and "<textarea>a\nb</textarea>" in folded
    assert '<a\n  href="https://x.example/a">' in folded  # tags are left as they are
    assert "no\u00a0break\u00a0 space" in folded  # a no-break space is content
    assert folded.endswith("</html>\n")
    assert _page(folded) == _page(markup)
    assert fold_newlines(folded) == folded
