"""digest fetch against a real loopback HTTP server: storing, 304s, updates, failures, safety."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.ingest.parse import parse_feed
from digest.ingest.sanitize import html_to_text, sanitize_html
from digest.ingest.urls import canonical_url
from tests.conftest import FEEDS, Workspace
from tests.servers import Route


def rows(workspace: Workspace, sql: str) -> list[tuple]:
    return workspace.sql(sql)


def add_all(workspace: Workspace, urls: dict[str, str]) -> None:
    workspace.invoke("feeds", "add", *urls.values())


def test_fetch_stores_items_and_records_the_broken_feed(workspace, fixture_feeds):
    add_all(workspace, fixture_feeds)
    report = workspace.json("fetch")
    by_url = {feed["url"]: feed for feed in report["feeds"]}
    assert by_url[fixture_feeds["wire"]] | {"error": None, "note": None} == {
        "url": fixture_feeds["wire"],
        "status": "ok",
        "items": 6,
        "new": 6,
        "updated": 0,
        "error": None,
        "note": None,
    }
    assert by_url[fixture_feeds["gazette"]]["new"] == 4
    assert by_url[fixture_feeds["hostile"]]["new"] == 2
    assert by_url[fixture_feeds["broken"]]["status"] == "error"
    assert "not a feed" in by_url[fixture_feeds["broken"]]["error"]
    assert report["totals"] == {
        "feeds": 4,
        "ok": 3,
        "not_modified": 0,
        "failed": 1,
        "skipped": 0,
        "items": 12,
        "new": 12,
        "updated": 0,
    }
    assert rows(workspace, "select count(*) from items") == [(12,)]
    feeds = {feed["url"]: feed for feed in workspace.json("feeds", "list")}
    assert feeds[fixture_feeds["broken"]]["consecutive_failures"] == 1
    assert feeds[fixture_feeds["broken"]]["last_error"].startswith("not a feed")
    assert feeds[fixture_feeds["wire"]]["title"] == "Test Wire"
    assert feeds[fixture_feeds["wire"]]["items"] == 6


def test_second_fetch_is_a_conditional_get_answered_304(workspace, fixture_feeds, feed_http):
    add_all(workspace, fixture_feeds)
    workspace.json("fetch")
    report = workspace.json("fetch")
    statuses = {feed["url"]: feed["status"] for feed in report["feeds"]}
    assert statuses[fixture_feeds["wire"]] == "not-modified"
    assert statuses[fixture_feeds["gazette"]] == "not-modified"
    second = feed_http.requests_for("/wire.xml")[1]
    assert second["If-None-Match"] == feed_http.routes["/wire.xml"].etag
    assert rows(workspace, "select count(*) from items") == [(12,)]
    broken = {f["url"]: f for f in workspace.json("feeds", "list")}[fixture_feeds["broken"]]
    assert broken["consecutive_failures"] == 2


def test_refetch_updates_changed_items_in_place_and_never_duplicates(
    workspace, fixture_feeds, feed_http
):
    add_all(workspace, {"wire": fixture_feeds["wire"]})
    workspace.json("fetch")
    before = dict(rows(workspace, "select guid, id from items"))
    feed_http.routes["/wire.xml"] = Route(body=(FEEDS / "updated.xml").read_bytes())
    report = workspace.json("fetch")
    assert report["totals"]["new"] == 1
    assert report["totals"]["updated"] == 1
    after = dict(rows(workspace, "select guid, id from items"))
    assert len(after) == 7
    assert all(after[guid] == item_id for guid, item_id in before.items())  # same rows
    assert workspace.json("fetch")["totals"]["new"] == 0  # 304 now


def test_hostile_html_is_sanitized_before_it_is_stored(workspace, fixture_feeds):
    add_all(workspace, {"hostile": fixture_feeds["hostile"]})
    workspace.json("fetch")
    stored = rows(workspace, "select title, summary_html, text from items")
    assert len(stored) == 2
    for title, summary_html, text in stored:
        lowered = summary_html.lower()
        for bad in ("<script", "onerror", "javascript:", "<iframe", "<form", "<img", "alert("):
            assert bad not in lowered, (bad, summary_html)
        assert "<" not in title
        assert "alert(" not in text
    titles = [title for title, _, _ in stored]
    assert any(title.startswith("Chips & tariffs") for title in titles)


def test_tracking_parameters_are_dropped_from_canonical_urls(workspace, fixture_feeds):
    add_all(workspace, {"wire": fixture_feeds["wire"]})
    workspace.json("fetch")
    pairs = rows(workspace, "select url, canonical_url, guid from items where url like '%utm_%'")
    assert len(pairs) == 1
    url, canonical, _ = pairs[0]
    assert "utm_source=rss" in url  # the link as the feed gave it is kept
    assert "utm_" not in canonical
    # an item without a guid gets its link as a stable id
    guids = [guid for (guid,) in rows(workspace, "select guid from items")]
    assert any(
        guid.startswith("https://testwire.example/news/2025/06/01/treasury") for guid in guids
    )


def test_private_addresses_are_refused_unless_allowed(workspace, fixture_feeds):
    workspace.write_config(extra="")
    workspace.config.write_text(
        workspace.config.read_text().replace(
            "allow_private_addresses = true", "allow_private_addresses = false"
        )
    )
    add_all(workspace, {"wire": fixture_feeds["wire"]})
    result = workspace.invoke("fetch", "--json", code=1)
    assert "non-public address" in result.stdout
    assert "every feed failed" in result.stderr


SMALL_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Small</title>
<item><title>One</title><link>https://small.example/1</link></item></channel></rss>"""


def test_oversized_and_failing_feeds_are_recorded_and_others_carry_on(workspace, feed_http):
    big = feed_http.serve_file("/big.xml", FEEDS / "wire.xml")
    feed_http.routes["/oops.xml"] = Route(
        body=b"server exploded", status=500, content_type="text/plain"
    )
    feed_http.routes["/ok.xml"] = Route(body=SMALL_FEED)
    ok = feed_http.url("/ok.xml")
    workspace.config.write_text(
        workspace.config.read_text().replace(
            "timeout_seconds = 5\n", "timeout_seconds = 5\nmax_bytes = 2000\n", 1
        )
    )
    workspace.invoke("feeds", "add", big, feed_http.url("/oops.xml"), ok)
    report = {f["url"]: f for f in workspace.json("fetch")["feeds"]}
    assert "2,000-byte limit" in report[big]["error"]
    assert report[feed_http.url("/oops.xml")]["error"] == "HTTP 500 Internal Server Error"
    assert report[ok]["status"] == "ok" and report[ok]["new"] == 1


def test_unreachable_feed_is_a_clean_error(workspace):
    workspace.invoke("feeds", "add", "http://127.0.0.1:9/feed.xml")
    result = workspace.invoke("fetch", code=1)
    assert "failed" in result.stderr
    assert "Traceback" not in result.output


# --- parsing and sanitizing, on bytes ----------------------------------------------------------

NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


def test_parse_clamps_future_dates_dedupes_entries_and_dates_undated_items():
    future = (NOW + timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T &amp; Co</title>
<item><title>A</title><link>https://a.example/1</link>
  <guid isPermaLink="false">g1</guid><pubDate>{future}</pubDate></item>
<item><title>A again</title><link>https://a.example/1</link>
  <guid isPermaLink="false">g1</guid></item>
<item><title>Undated</title><link>/relative/2</link></item>
</channel></rss>""".encode()
    parsed = parse_feed(body, url="https://a.example/feed.xml", now=NOW)
    assert parsed.title == "T & Co"
    assert [item.guid for item in parsed.items] == ["g1", "https://a.example/relative/2"]
    assert parsed.items[0].published == NOW
    assert parsed.items[1].published == NOW
    assert parsed.items[1].url == "https://a.example/relative/2"


def test_parse_reads_atom_and_prefers_full_content():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><id>urn:x</id><updated>2025-06-01T10:00:00Z</updated>
<entry><id>urn:1</id><title type="html">Tariffs &lt;em&gt;rise&lt;/em&gt;</title>
<link href="https://b.example/1"/><updated>2025-06-01T10:00:00Z</updated>
<summary>Short.</summary>
<content type="html">&lt;p&gt;Long first paragraph.&lt;/p&gt;
&lt;p&gt;Second one.&lt;/p&gt;</content>
</entry>
</feed>"""
    parsed = parse_feed(body, url="https://b.example/atom", now=NOW)
    (item,) = parsed.items
    assert item.title == "Tariffs rise"
    assert item.text == "Long first paragraph.\nSecond one."
    assert item.published == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


def test_sanitizer_keeps_text_and_safe_links_only():
    dirty = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> <a href="/ok">ok</a></p>'
        '<script>alert(1)</script><img src="https://t.example/p.gif" width="1" height="1">'
    )
    clean = sanitize_html(dirty, base_url="https://site.example/a/b")
    assert "onclick" not in clean and "script" not in clean and "img" not in clean
    assert 'href="https://site.example/ok"' in clean
    assert "javascript" not in clean
    assert html_to_text("<p>AT&amp;T &lt; Verizon</p><p>Next</p>") == "AT&T < Verizon\nNext"


def test_canonical_url():
    assert canonical_url("HTTPS://News.Example:443/a?utm_source=x&id=7&fbclid=abc#frag") == (
        "https://news.example/a?id=7"
    )


def test_only_well_known_tracking_parameters_are_removed():
    assert canonical_url("https://n.example/a?cid=123") != canonical_url(
        "https://n.example/a?cid=456"
    )
    kept = "https://n.example/a?cid=1&src=rss&ref=home&rss=1&ocid=2&smid=3&spm=4&ito=5&ns_c=6"
    assert canonical_url(kept) == kept
    tracked = (
        "https://n.example/a?UTM_Source=x&utm_medium=y&fbclid=1&gclid=2&msclkid=3&mc_cid=4"
        "&mc_eid=5&_hsenc=6&mkt_tok=7&igshid=8&id=9"
    )
    assert canonical_url(tracked) == "https://n.example/a?id=9"
