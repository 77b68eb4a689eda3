"""The digest email rendered from a hand-built edition: escaping, inlining, both parts, links."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from digest.errors import RenderError
from digest.render import EditionRenderer, RenderedEdition
from digest.types import RenderedEmail

UNSUBSCRIBE = "https://digest.example.org/unsubscribe?token=abc.DEF-123&list=us-china"
PREFERENCES = 'https://digest.example.org/preferences?token=abc.DEF-123&x=<">'


class _Collector(HTMLParser):
    """Tags, attributes and text of an HTML document, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(document: str) -> _Collector:
    collector = _Collector()
    collector.feed(document)
    collector.close()
    return collector


def personalized(renderer, edition) -> RenderedEmail:
    return renderer.render(edition).personalize(
        unsubscribe_url=UNSUBSCRIBE, preferences_url=PREFERENCES
    )


def test_html_escapes_feed_text(renderer, edition, hostile_title, hostile_outlet):
    email = personalized(renderer, edition)
    assert "<script" not in email.html.lower()
    assert "<img" not in email.html.lower()
    assert "<em>" not in email.html and "<b>" not in email.html
    page = parse(email.html)
    assert not [tag for tag, _ in page.tags if tag in ("script", "img", "em", "b")]
    text = "".join(page.text)
    # the text survives, as text
    assert hostile_title in text
    assert hostile_outlet in text
    assert 'Summary with <em>markup</em> & an "ampersand" that must stay text.' in text


def test_css_is_inlined_and_media_query_kept(renderer, edition):
    email = personalized(renderer, edition)
    page = parse(email.html)
    styled = {tag for tag, attrs in page.tags if attrs.get("style")}
    assert {"body", "table", "td", "h2", "h3", "p", "a"} <= styled
    # only the @media rules stay in a <style> block
    blocks = re.findall(r"<style[^>]*>(.*?)</style>", email.html, flags=re.S)
    assert len(blocks) == 1
    assert "@media" in blocks[0]
    assert ".headline {" not in blocks[0].split("@media", 1)[0]


def test_html_structure(renderer, edition):
    email = personalized(renderer, edition)
    assert email.html.startswith("<!DOCTYPE html>")
    page = parse(email.html)
    html_tag = next(attrs for tag, attrs in page.tags if tag == "html")
    assert html_tag["lang"] == "en"
    text = " ".join("".join(page.text).split())
    assert "The Trade Brief" in text
    assert "Tuesday 10 March 2026" in text
    assert (
        "Today in brief: Washington widens curbs on chipmaking tool servicing "
        '<script>alert(1)</script> & "quotes" in tariff row '
        "Dutch supplier says new rules will trim 2026 sales" in text
    )
    assert "07:05 UTC" in text and "14:20 UTC" in text
    tables = [attrs for tag, attrs in page.tags if tag == "table"]
    assert any(attrs.get("width") == "600" for attrs in tables)
    assert any("max-width:600px" in (attrs.get("style") or "") for attrs in tables)
    # a hidden preheader naming the top stories, highest score first
    preheader = re.search(r'<div class="preheader"[^>]*>(.*?)</div>', email.html, flags=re.S)
    assert preheader and "display:none" in preheader.group(0)
    assert html.unescape(preheader.group(1)).startswith(
        "Washington widens curbs on chipmaking tool servicing · <script>"
    )


def test_every_story_in_both_parts(renderer, edition):
    email = personalized(renderer, edition)
    page = parse(email.html)
    hrefs = [attrs.get("href") for tag, attrs in page.tags if tag == "a"]
    h3_text = html.unescape(email.html)
    for story in edition.stories:
        assert story.url in hrefs
        assert story.title in h3_text
        assert story.title in email.text
        # the story's link is listed, numbered, under it
        assert re.search(r"^  \[\d+\] [^\n]*:\s+" + re.escape(story.url) + "$", email.text, re.M)


def test_outlets_shown_once_headline_source_first(renderer, edition):
    email = personalized(renderer, edition)
    text = html.unescape(email.html)
    # duplicate outlet collapsed; the first outlet is the headline's source, not "also"
    assert re.search(r"Also reported by: <a [^>]*>Outlet B</a>, <a [^>]*>Outlet C</a><", text)
    assert "Harbour Wire · 9 Mar 07:05 UTC" in text
    assert "Also reported by: Outlet B, Outlet C\n" in email.text
    assert "  Harbour Wire · 9 Mar 07:05 UTC" in email.text
    # a story with one outlet has no "also" line
    dutch = email.text.split("Dutch supplier", 1)[1].split("\n* ", 1)[0]
    assert "Also reported by" not in dutch


def test_empty_sections_absent(renderer, edition):
    email = personalized(renderer, edition)
    assert "Critical minerals" not in email.html
    assert "CRITICAL MINERALS" not in email.text.upper()
    assert email.html.count("<h2") == 2
    assert "EXPORT CONTROLS &amp; CHIPS" not in email.html  # title case kept, CSS uppercases
    assert "Export controls &amp; chips" in email.html
    assert "EXPORT CONTROLS & CHIPS\n-----------------------\n" in email.text


def test_empty_edition(renderer, empty_edition):
    rendered = renderer.render(empty_edition)
    email = rendered.personalize(unsubscribe_url=UNSUBSCRIBE, preferences_url=PREFERENCES)
    note = "No major developments on US–China trade in the last 24 hours."
    assert note in " ".join(email.text.split())
    assert note in " ".join(html.unescape(email.html).split())
    assert "<h2" not in email.html and "<h3" not in email.html
    assert "Today in brief" not in email.text
    assert UNSUBSCRIBE in email.text
    assert email.subject == "US–China trade, 10 Mar: no major developments"


def test_text_part_wrapped_at_72_columns(renderer, edition, big_edition):
    for ed in (edition, big_edition()):
        email = personalized(renderer, ed)
        assert "&amp;" not in email.text and "&lt;" not in email.text  # text is not escaped
        for line in email.text.splitlines():
            if len(line) > 72:
                assert re.fullmatch(r"\s*https?://\S+", line), line
        assert email.text.endswith("\n") and not email.text.endswith("\n\n")
        assert "\r" not in email.text


def test_text_part_layout(renderer, edition):
    text = personalized(renderer, edition).text
    lines = text.splitlines()
    assert lines[0] == "The Trade Brief"
    assert lines[1] == "US–China trade · Tuesday 10 March 2026"
    brief = lines.index("Today in brief:")
    assert lines[brief + 1 : brief + 4] == [
        "- Washington widens curbs on chipmaking tool servicing",
        '- <script>alert(1)</script> & "quotes" in tariff row',
        "- Dutch supplier says new rules will trim 2026 sales",
    ]
    # every heading is underlined to its length
    for heading in ("EXPORT CONTROLS & CHIPS", "TARIFFS"):
        index = lines.index(heading)
        assert lines[index + 1] == "-" * len(heading)
    # footer links, each on a line of its own
    assert lines[lines.index("Unsubscribe:") + 1] == UNSUBSCRIBE
    assert lines[lines.index("Manage preferences:") + 1] == PREFERENCES
    assert "The Trade Brief, 1 Example Street, London EC1A 1AA" in lines
    # no stray template whitespace
    assert "\n\n\n" not in text
    assert all(line == line.rstrip() for line in lines)


def test_personalize_fills_every_placeholder(renderer, edition):
    rendered = renderer.render(edition)
    assert isinstance(rendered, RenderedEdition)
    markers = (rendered.unsubscribe_marker, rendered.preferences_marker)
    for marker in markers:
        assert marker in rendered.html and marker in rendered.text
    email = rendered.personalize(unsubscribe_url=UNSUBSCRIBE, preferences_url=PREFERENCES)
    for marker in markers:
        assert marker not in email.html and marker not in email.text
    assert "DIGEST-" not in email.html + email.text
    # the text part has the URLs as given; the HTML part has them escaped, once
    assert UNSUBSCRIBE in email.text and PREFERENCES in email.text
    page = parse(email.html)
    hrefs = [attrs.get("href") for tag, attrs in page.tags if tag == "a"]
    assert UNSUBSCRIBE in hrefs and PREFERENCES in hrefs
    assert 'x=<">' not in email.html
    # the same rendering serves the next subscriber
    other = rendered.personalize(
        unsubscribe_url="https://digest.example.org/u/2",
        preferences_url="https://digest.example.org/p/2",
    )
    assert "https://digest.example.org/u/2" in other.text and UNSUBSCRIBE not in other.text
    assert other.subject == email.subject == rendered.subject


def test_markers_are_unique_per_render(renderer, edition):
    first, second = renderer.render(edition), renderer.render(edition)
    assert first.unsubscribe_marker != second.unsubscribe_marker
    assert first.unsubscribe_marker != first.preferences_marker


def test_personalize_refuses_broken_urls(renderer, edition):
    rendered = renderer.render(edition)
    with pytest.raises(RenderError):
        rendered.personalize(
            unsubscribe_url="https://x.example/\r\nBcc: a@b", preferences_url="https://x"
        )
    with pytest.raises(RenderError):
        rendered.personalize(unsubscribe_url="", preferences_url="https://x")


def test_subject(renderer, edition):
    subject = renderer.render(edition).subject
    assert subject == "US–China trade, 10 Mar: Washington widens curbs on chipmaking tool servicing"
    assert len(subject) <= 80


def test_subject_truncated_at_word_boundary_and_one_line(renderer, edition):
    from dataclasses import replace

    long_title = "Officials\r\nsay  the\ttalks " + "will resume after a long pause " * 5
    chips = edition.sections[0]
    lead = replace(chips.stories[0], title=long_title, score=99.0)
    ed = replace(edition, sections=(replace(chips, stories=(lead,)),))
    subject = renderer.render(ed).subject
    assert len(subject) <= 80
    assert (
        "\r" not in subject and "\n" not in subject and "\t" not in subject and "  " not in subject
    )
    assert subject.endswith("…")
    assert subject.startswith("US–China trade, 10 Mar: Officials say the talks will resume")
    words = subject[:-1].split()
    assert all(
        word in ("US–China", "trade,", "10", "Mar:") or word in long_title.split() for word in words
    )


def test_more_stories_link(edition, big_edition):
    renderer = EditionRenderer(
        digest_name="The Trade Brief",
        base_url="https://digest.example.org",
        max_stories_per_section=3,
    )
    ed = big_edition(stories_per_section=5, sections=2)
    email = renderer.render_preview(ed)
    assert email.html.count("<h3") == 6
    assert email.html.count("2 more stories in Section number 0 on the web") == 1
    assert email.html.count("2 more stories in Section number 1 on the web") == 1
    assert 'href="https://digest.example.org/archive/2026-03-10"' in email.html
    assert (
        "2 more stories in this section on the web:\nhttps://digest.example.org/archive/2026-03-10"
        in email.text
    )
    assert "Story 0-4" not in email.text and "Story 0-2" in email.text
    # the brief names only stories the email shows: the first, then the best of the rest
    brief = email.text.splitlines()
    start = brief.index("Today in brief:")
    assert [line.split(":")[0] for line in brief[start + 1 : start + 4]] == [
        "- Story 0-0",
        "- Story 0-1",
        "- Story 0-2",
    ]


def test_preview_has_no_placeholders(renderer, edition):
    email = renderer.render_preview(edition)
    assert "DIGEST-" not in email.html + email.text
    assert "https://digest.example.org/u/preview" in email.text


def test_unsafe_story_links_are_not_linked(renderer, edition):
    from dataclasses import replace

    chips = edition.sections[0]
    bad = replace(chips.stories[1], url="javascript:alert(document.cookie)")
    ed = replace(edition, sections=(replace(chips, stories=(chips.stories[0], bad)),))
    email = renderer.render_preview(ed)
    assert "javascript:" not in email.html.lower()
    assert "javascript:" not in email.text.lower()
    # the story is still there, just without a link
    assert "Dutch supplier says new rules will trim 2026 sales</h3>" in email.html
    assert "Dutch supplier says new rules will trim 2026 sales" in email.text


def test_missing_templates_are_a_render_error(tmp_path, empty_edition):
    with pytest.raises(RenderError):
        EditionRenderer(digest_name="X", base_url="https://x.example", templates=tmp_path / "nope")
    renderer = EditionRenderer(digest_name="X", base_url="https://x.example", templates=tmp_path)
    with pytest.raises(RenderError):
        renderer.render(empty_edition)
