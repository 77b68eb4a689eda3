"""Every feed format and the usual mess, read by the fast path and by the feedparser fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from digest.errors import ParseError
from digest.ingest import parse as parse_module
from digest.ingest.dates import parse_date
from digest.ingest.formats import NotHandled, read_fast
from digest.ingest.parse import parse_feed

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
URL = "https://site.example/feeds/main.xml"

RSS_091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="0.91"><channel><title>Old &amp; Plain</title><link>https://old.example/</link>
<item><title>Steel quotas extended</title><link>https://old.example/steel</link>
<description>Quotas stay for a year.</description></item></channel></rss>"""

RSS_10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example/"><title>RDF Wire</title></channel>
<item rdf:about="https://rdf.example/a"><title>Soybean orders pick up</title>
<link>https://rdf.example/a</link><description>Buyers return.</description>
<dc:date>2025-06-01T09:30:00+02:00</dc:date></item>
</rdf:RDF>"""

ATOM_03 = b"""<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Atom Old</title>
<entry><title>Rare earths talks</title><link rel="alternate" type="text/html"
 href="https://atom03.example/rare"/><id>tag:atom03.example,2025:1</id>
<issued>2025-06-01T10:00:00Z</issued>
<content type="text/html" mode="escaped">&lt;p&gt;Talks &lt;b&gt;continue&lt;/b&gt;.&lt;/p&gt;
</content>
</entry></feed>"""

ATOM_10 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/news/">
<title type="html">Atom &amp;amp; &lt;b&gt;Daily&lt;/b&gt;</title>
<entry><title type="text">Less than 5 &lt; 6 &amp; tariffs</title>
<link href="2025/06/chips"/><id>tag:atom.example,2025:chips</id>
<updated>2025-06-01T08:00:00Z</updated><published>2025-06-01T07:00:00-04:00</published>
<summary>Short.</summary>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Read
<a href="../docs/rule.pdf">the rule</a><script>alert(1)</script>
<img src="x" onerror="alert(2)"/><a href="javascript:alert(3)">click</a></p></div></content>
</entry>
<entry xml:base="https://elsewhere.example/blog/"><title>Second</title>
<link rel="alternate" href="post"/><link rel="enclosure" href="https://cdn.example/a.mp3"/>
<id>tag:atom.example,2025:second</id><updated>2025-06-01T09:00:00Z</updated>
<content type="text">Plain &lt;b&gt;text&lt;/b&gt; body</content></entry>
</feed>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON Desk",
        "home_page_url": "https://json.example/",
        "feed_url": "https://json.example/feed.json",
        "items": [
            {
                "id": "1",
                "url": "/stories/one",
                "title": "Export <em>controls</em> widened",
                "content_html": '<p>Details <a href="/rules">here</a><script>x()</script></p>',
                "date_published": "2025-06-01T06:00:00Z",
            },
            {
                "id": 2,
                "url": "https://json.example/stories/two",
                "content_text": "Plain text <not a tag> & more",
            },
            "not an item",
        ],
    }
).encode()

MESSY_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Messy</title>
<item><title>No guid, no date</title><link>https://messy.example/a?utm_source=rss&amp;id=7</link>
<description>First.</description></item>
<item><title>From the future</title><link>https://messy.example/b</link><guid>b</guid>
<pubDate>Sat, 01 Jan 2099 00:00:00 GMT</pubDate></item>
<item><title>Same entry twice</title><link>https://messy.example/c</link><guid>c</guid>
<pubDate>Mon, 02 Jun 2025 05:00:00 EDT</pubDate></item>
<item><title>Same entry twice</title><link>https://messy.example/c</link><guid>c</guid></item>
<item><description>Only a body, no title or link, about tariffs on steel and more.</description>
</item>
<item><guid>https://messy.example/permalink</guid><title>Guid as link</title></item>
<item><title>Title with &lt;b&gt;markup&lt;/b&gt; &amp;amp; entities</title>
<link>relative/path</link><guid isPermaLink="false">e</guid></item>
</channel></rss>"""


def both_paths(body: bytes, url: str = URL):
    """The fast reader's result, and feedparser's on the same bytes."""
    fast = parse_feed(body, url=url, now=NOW)
    original = parse_module.read_fast

    def decline(*args, **kwargs):
        raise NotHandled("forced")

    parse_module.read_fast = decline
    try:
        slow = parse_feed(body, url=url, now=NOW)
    finally:
        parse_module.read_fast = original
    return fast, slow


def test_rss_091_and_10():
    old = parse_feed(RSS_091, url=URL, now=NOW)
    assert old.format == "rss0.91" and old.title == "Old & Plain"
    assert old.items[0].title == "Steel quotas extended" and old.items[0].published == NOW
    rdf = parse_feed(RSS_10, url=URL, now=NOW)
    assert rdf.format == "rss1.0" and rdf.title == "RDF Wire"
    item = rdf.items[0]
    assert item.guid == "https://rdf.example/a"
    assert item.published == datetime(2025, 6, 1, 7, 30, tzinfo=UTC)


def test_atom_03_and_10_with_bases_and_hostile_xhtml():
    old = parse_feed(ATOM_03, url=URL, now=NOW)
    assert old.format == "atom03"
    assert old.items[0].url == "https://atom03.example/rare"
    assert old.items[0].summary_html == "<p>Talks <b>continue</b>.</p>"
    new = parse_feed(ATOM_10, url=URL, now=NOW)
    assert new.format == "atom10" and new.title == "Atom & Daily"
    first, second = new.items
    assert first.title == "Less than 5 < 6 & tariffs"  # text, not markup
    assert first.url == "https://atom.example/news/2025/06/chips"
    assert first.published == datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
    assert 'href="https://atom.example/docs/rule.pdf"' in first.summary_html
    for bad in ("<script", "onerror", "javascript:", "<img", "alert"):
        assert bad not in first.summary_html
    assert second.url == "https://elsewhere.example/blog/post"
    assert second.summary_html == "Plain &lt;b&gt;text&lt;/b&gt; body"  # escaped, not markup
    assert second.text == "Plain <b>text</b> body"


def test_json_feed():
    parsed = parse_feed(JSON_FEED, url="https://json.example/feed.json", now=NOW)
    assert parsed.format == "json1.1" and parsed.title == "JSON Desk"
    one, two = parsed.items
    assert one.url == "https://json.example/stories/one"
    assert one.title == "Export controls widened"
    assert 'href="https://json.example/rules"' in one.summary_html
    assert "script" not in one.summary_html
    assert two.guid == "2" and two.summary_html == "Plain text &lt;not a tag&gt; &amp; more"
    assert two.title.startswith("Plain text <not a tag>")
    with pytest.raises(ParseError):
        parse_feed(b'{"version": "something else"}', url=URL, now=NOW)


def test_the_usual_mess_is_handled_alike_by_both_paths():
    fast, slow = both_paths(MESSY_RSS)
    assert fast.items == slow.items
    items = {item.title: item for item in fast.items}
    assert len(fast.items) == 6  # the repeated entry is kept once
    no_guid = items["No guid, no date"]
    assert no_guid.guid == "https://messy.example/a?utm_source=rss&id=7"
    assert no_guid.canonical_url == "https://messy.example/a?id=7"
    assert no_guid.published == NOW
    assert items["From the future"].published == NOW
    assert items["Same entry twice"].published == datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    bodies = [item for item in fast.items if item.title.startswith("Only a body")]
    assert bodies and bodies[0].guid.startswith("sha1:")
    assert items["Guid as link"].url == "https://messy.example/permalink"
    marked = items["Title with markup & entities"]
    assert marked.url == "https://site.example/feeds/relative/path"


@pytest.mark.parametrize("body", [RSS_091, RSS_10, ATOM_03, ATOM_10])
def test_fast_path_agrees_with_feedparser(body):
    fast, slow = both_paths(body)
    assert fast.title == slow.title
    assert [(i.guid, i.url, i.title, i.published) for i in fast.items] == [
        (i.guid, i.url, i.title, i.published) for i in slow.items
    ]


def test_broken_xml_falls_back_and_says_so():
    broken = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken &nbsp; feed</title>'
        b"<item><title>Unclosed <b>tag</title><link>https://b.example/1</link></item>"
    )
    with pytest.raises(NotHandled):
        read_fast(broken, url=URL)
    parsed = parse_feed(broken, url=URL, now=NOW)
    assert parsed.items and parsed.items[0].url == "https://b.example/1"
    assert parsed.problems and "not well-formed" in parsed.problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 02 Jun 2025 08:00:00 +0000", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("Mon, 02 Jun 2025 08:00:00 GMT", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("Mon, 02 Jun 2025 04:00:00 EDT", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("02 Jun 2025 08:00 -0000", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("Monday, 02-Jun-25 08:00:00 UTC", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("2025-06-02T10:00:00+02:00", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("2025-06-02T08:00:00Z", datetime(2025, 6, 2, 8, 0, tzinfo=UTC)),
        ("2025-06-02", datetime(2025, 6, 2, 0, 0, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_future_tolerance_is_small():
    soon = NOW + timedelta(minutes=5)
    body = MESSY_RSS.replace(
        b"Sat, 01 Jan 2099 00:00:00 GMT", soon.strftime("%a, %d %b %Y %H:%M:%S GMT").encode()
    )
    items = {i.title: i for i in parse_feed(body, url=URL, now=NOW).items}
    assert items["From the future"].published == soon
