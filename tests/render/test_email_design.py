"""The email's design rules: size under Gmail's clip, dark mode, links, accessibility."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import default

from digest.delivery.bodies import encoded_size
from digest.delivery.compose import MessageTemplate
from digest.render import EditionRenderer
from digest.render.email import EMAIL_BUDGET_BYTES, MAX_EMAIL_STORIES
from digest.types import Section, Source, Story
from tests.render.conftest import make_edition

GMAIL_CLIP_BYTES = 102 * 1024
LONG_UNSUBSCRIBE = "https://digest.example.org/u/" + "t" * 180
LONG_PREFERENCES = "https://digest.example.org/preferences/" + "p" * 180


def huge_edition(sections: int = 12, stories: int = 150):
    """A day nobody will have: every story long, with a dozen outlets each."""
    start = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    built = []
    for s in range(sections):
        key = f"section-{s}"
        items = []
        for n in range(stories):
            url = f"https://news.example.com/{key}/{n}/" + "slug-" * 30
            sources = tuple(
                Source(
                    item_id=s * 100_000 + n * 100 + m,
                    feed=f"Outlet number {m} of a very long list of regional papers",
                    title="t",
                    url=f"{url}?from={m}",
                    published=start + timedelta(minutes=n),
                )
                for m in range(12)
            )
            items.append(
                Story(
                    title=f"Headline {s}-{n} " + "about the widening dispute over supplies " * 6,
                    url=url,
                    summary="A long summary sentence with many words in it. " * 60,
                    published=start + timedelta(minutes=n),
                    section=key,
                    score=float(10_000 - s * 1000 - n),
                    sources=sources,
                )
            )
        built.append(Section(key=key, title=f"Section {s} & more", stories=tuple(items)))
    return make_edition(tuple(built))


def test_huge_edition_stays_under_gmail_clip(renderer):
    edition = huge_edition()
    rendered = renderer.render(edition)
    email = rendered.personalize(unsubscribe_url=LONG_UNSUBSCRIBE, preferences_url=LONG_PREFERENCES)
    assert encoded_size(rendered.html, rendered.text) <= EMAIL_BUDGET_BYTES
    # the whole message as sent, both parts and the headers, stays under the clip
    template = MessageTemplate(
        rendered,
        sender="The Trade Brief <digest@digest.example.org>",
        list_id="us-china-trade <us-china-trade.digest.example.org>",
        unsubscribe_mailto="mailto:leave@digest.example.org?subject=unsubscribe",
    )
    message = template.message(
        recipient="reader@example.com",
        recipient_name="A Reader With A Long Name",
        message_id="<20260310.123456789@digest.example.org>",
        date=datetime(2026, 3, 10, 6, tzinfo=UTC),
        unsubscribe_url=LONG_UNSUBSCRIBE,
        preferences_url=LONG_PREFERENCES,
    )
    assert GMAIL_CLIP_BYTES * 0.8 < len(message) < GMAIL_CLIP_BYTES  # full, but not clipped
    # so full that base64 (fewer lines, more bytes) would not fit: the text part went in the
    # smaller quoted-printable, and no story was dropped for the wire's sake
    plain, _ = BytesParser(policy=default).parsebytes(message).iter_parts()
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content().replace("\r\n", "\n") == email.text
    shown = email.html.count("<h3")
    assert 1 <= shown <= MAX_EMAIL_STORIES
    # the brief names the top stories, and the rest is one click away
    assert "Today in brief:\n- Headline 0-0 " in email.text
    assert "on the web</a>" in email.html
    assert "https://digest.example.org/archive/2026-03-10" in email.text
    # the top stories are the ones kept
    assert "Headline 0-0 " in email.html
    # the text part shows the same stories, wrapped at 72 columns
    assert email.text.count("\n* Headline") == shown
    for line in email.text.splitlines():
        assert len(line) <= 72 or re.fullmatch(r"\s*(\[\d+\] [^:]*:\s*)?https?://\S+", line), line


def test_normal_edition_is_not_cut(renderer, edition):
    email = renderer.render_preview(edition)
    assert email.html.count("<h3") == len(edition.stories)
    assert "on the web</a>" not in email.html


def test_dark_mode_and_narrow_screens_in_the_style_block(renderer, edition):
    email = renderer.render_preview(edition)
    (block,) = re.findall(r"<style[^>]*>(.*?)</style>", email.html, flags=re.S)
    assert "@media (prefers-color-scheme: dark)" in block
    assert "max-width: 620px" in block
    assert '<meta name="color-scheme" content="light dark">' in email.html
    # system fonts, inlined
    assert "-apple-system" in email.html and "@font-face" not in email.html


def test_accessible_structure(renderer, edition):
    email = renderer.render_preview(edition)
    assert '<html lang="en">' in email.html
    assert email.html.count("<h1") == 1
    assert email.html.count("<h2") == 2 and email.html.count("<h3") == 3
    assert 'role="presentation"' in email.html
    texts = re.findall(r"<a [^>]*>(.*?)</a>", email.html, flags=re.S)
    assert texts and all(t.strip() for t in texts)
    assert not any(t.strip().lower() in ("here", "click here", "link") for t in texts)
    assert "Read this edition online" in email.html
    assert "Unsubscribe from The Trade Brief" in email.html


def test_numbered_links_in_the_text_part(renderer, edition):
    text = renderer.render_preview(edition).text
    numbers = [int(n) for n in re.findall(r"^  \[(\d+)\] ", text, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1))
    curbs = text.split("* Washington widens", 1)[1].split("\n* ", 1)[0]
    assert "[1] Harbour Wire: https://news.example.com/2026/03/09/chip-tool-curbs\n" in curbs
    # a link too long for the line goes on the next one, whole
    assert "[2] Outlet B:\n      https://news.example.com/2026/03/09/chip-tool-curbs?via=1" in curbs


def test_editor_note_in_both_parts(renderer, edition):
    email = renderer.render_preview(replace(edition, note="Markets <closed> & quiet."))
    assert "From the editor:</span> Markets &lt;closed&gt; &amp; quiet." in email.html
    assert "From the editor: Markets <closed> & quiet." in email.text
    assert "From the editor" not in renderer.render_preview(edition).text


def test_preheader_and_subject_follow_the_lead_story(edition):
    renderer = EditionRenderer(digest_name="The Trade Brief", base_url="https://d.example")
    email = renderer.render_preview(edition)
    preheader = re.search(r'<div class="preheader"[^>]*>(.*?)</div>', email.html, flags=re.S)
    assert preheader and preheader.group(1).startswith("Washington widens curbs")
    assert email.subject.startswith("US–China trade, 10 Mar: Washington widens")
    assert len(email.subject) <= 80
