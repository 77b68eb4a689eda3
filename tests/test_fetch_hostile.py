"""digest fetch against servers that misbehave: slow, endless, huge, compressed bombs, entity
tricks, private addresses behind redirects, loops, throttling, errors, moves and removals.
Every test runs against a real loopback HTTP server and checks what was stored."""

from __future__ import annotations

import gzip
import time
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from digest.ingest import fetch as fetch_module
from tests.conftest import Workspace
from tests.misbehaving import redirect, respond


def feed(*titles: str, base: str = "https://news.example") -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/{n}</link><guid>{base}/{n}</guid>"
        f"<description>&lt;p&gt;About {title}.&lt;/p&gt;</description>"
        "<pubDate>Mon, 02 Jun 2025 08:00:00 +0000</pubDate></item>"
        for n, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed of {titles[0] if titles else 'nothing'}</title>{items}</channel></rss>"
    ).encode()


GOOD = feed("Tariff talks resume", "Port volumes rise")


def set_fetch(workspace: Workspace, **values: object) -> None:
    """Put keys into the [fetch] table of the workspace config (small limits keep tests fast)."""
    lines = "".join(
        f"{key} = {str(value).lower() if isinstance(value, bool) else value}\n"
        for key, value in values.items()
    )
    text = workspace.config.read_text()
    for key in values:
        text = "\n".join(line for line in text.split("\n") if not line.startswith(f"{key} ="))
    workspace.config.write_text(text.replace("[fetch]\n", "[fetch]\n" + lines, 1))


def rows(workspace: Workspace, sql: str) -> list[tuple]:
    return workspace.sql(sql)


def fetch(workspace: Workspace, code: int = 0) -> dict:
    import json

    result = workspace.invoke("fetch", "--json", code=code)
    report = json.loads(result.stdout)
    return {item["url"]: item for item in report["feeds"]}


def listed(workspace: Workspace) -> dict[str, dict]:
    return {item["url"]: item for item in workspace.json("feeds", "list")}


# --- slow, endless, huge ---------------------------------------------------------------------


def one_byte_a_second(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.end_headers()
    for byte in GOOD:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(1)


def endless(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.end_headers()
    request.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
    chunk = b"<item><title>again</title></item>" * 1000
    while True:
        request.wfile.write(chunk)


def claims_gigabytes(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Content-Length", str(5 * 2**30))
    request.end_headers()
    zeros = b" " * 65536
    for _ in range(5 * 2**30 // len(zeros)):
        request.wfile.write(zeros)


def test_slow_endless_and_huge_bodies_fail_alone_and_quickly(workspace, misbehaving):
    set_fetch(workspace, deadline_seconds=2, timeout_seconds=1.5, max_bytes=200_000)
    misbehaving.routes["/slow.xml"] = one_byte_a_second
    misbehaving.routes["/endless.xml"] = endless
    misbehaving.routes["/huge.xml"] = claims_gigabytes
    misbehaving.routes["/good.xml"] = respond(GOOD)
    urls = {name: misbehaving.url(f"/{name}.xml") for name in ("slow", "endless", "huge", "good")}
    workspace.invoke("feeds", "add", *urls.values())
    report = fetch(workspace)
    assert "2 s deadline" in report[urls["slow"]]["error"]
    assert "200,000-byte limit" in report[urls["endless"]]["error"]
    assert "200,000-byte limit" in report[urls["huge"]]["error"]
    assert report[urls["good"]]["new"] == 2
    assert rows(workspace, "select count(*) from items") == [(2,)]
    health = listed(workspace)
    assert health[urls["slow"]]["consecutive_failures"] == 1
    assert "deadline" in health[urls["slow"]]["last_error"]
    assert health[urls["good"]]["last_error"] is None


# --- compression -----------------------------------------------------------------------------


def test_gzip_and_deflate_feeds_are_read_and_a_gzip_bomb_is_stopped(workspace, misbehaving):
    set_fetch(workspace, max_bytes=1_000_000)
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire, 50 MB once inflated
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = raw_deflate.compress(feed("Raw deflate story")) + raw_deflate.flush()
    misbehaving.routes["/gz.xml"] = respond(
        gzip.compress(feed("Gzipped story")), headers={"Content-Encoding": "gzip"}
    )
    misbehaving.routes["/zlib.xml"] = respond(
        zlib.compress(feed("Zlib story")), headers={"Content-Encoding": "deflate"}
    )
    misbehaving.routes["/raw.xml"] = respond(raw, headers={"Content-Encoding": "deflate"})
    misbehaving.routes["/bomb.xml"] = respond(bomb, headers={"Content-Encoding": "gzip"})
    urls = [misbehaving.url(p) for p in ("/gz.xml", "/zlib.xml", "/raw.xml", "/bomb.xml")]
    workspace.invoke("feeds", "add", *urls)
    report = fetch(workspace)
    assert [report[url]["new"] for url in urls[:3]] == [1, 1, 1]
    assert "1,000,000-byte limit" in report[urls[3]]["error"]
    titles = {title for (title,) in rows(workspace, "select title from items")}
    assert titles == {"Gzipped story", "Zlib story", "Raw deflate story"}


# --- XML tricks ------------------------------------------------------------------------------


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title>
<item><title>Exploding &lol9;</title><link>https://laughs.example/1</link>
<description>Body &lol9;</description></item></channel></rss>"""


def external_entity(secret: Path) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>Leaky</title>
<item><title>Look: &leak;</title><link>https://leaky.example/1</link>
<description>Inside: &leak;</description></item></channel></rss>""".encode()


def test_entity_bombs_and_external_entities_are_harmless(workspace, misbehaving, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN-4711")
    misbehaving.routes["/laughs.xml"] = respond(BILLION_LAUGHS)
    misbehaving.routes["/leaky.xml"] = respond(external_entity(secret))
    urls = [misbehaving.url("/laughs.xml"), misbehaving.url("/leaky.xml")]
    workspace.invoke("feeds", "add", *urls)
    report = fetch(workspace)
    for url in urls:  # read leniently or refused: either way recorded, never expanded
        assert report[url]["status"] in ("ok", "error")
    stored = rows(workspace, "select title || summary_html || text from items")
    everything = "".join(text for (text,) in stored)
    assert "TOP-SECRET" not in everything
    assert "lollollol" not in everything
    assert len(everything) < 2_000


MIS_ENCODED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9 News'
    "</title><item><title>Caf\xe9 owners fear tariffs</title><link>https://cafe.example/1</link>"
    "<description>Na\xefve &nbsp; hopes</description></item></channel></rss>"
).encode("latin-1")

WINDOWS_1252 = (
    '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>Quotes'
    "</title><item><title>\u201cFair\u201d trade \u2013 again</title>"
    "<link>https://quotes.example/1</link></item></channel></rss>"
).encode("cp1252")


def test_mis_encoded_and_odd_xml_is_read(workspace, misbehaving):
    misbehaving.routes["/latin.xml"] = respond(MIS_ENCODED)  # says utf-8, is latin-1
    misbehaving.routes["/cp1252.xml"] = respond(WINDOWS_1252, content_type="text/xml")
    misbehaving.routes["/junk.xml"] = respond(
        b"<html><body>Not a feed</body></html>", 200, "text/html"
    )
    urls = [misbehaving.url(p) for p in ("/latin.xml", "/cp1252.xml", "/junk.xml")]
    workspace.invoke("feeds", "add", *urls)
    report = fetch(workspace)
    assert report[urls[0]]["new"] == 1 and report[urls[1]]["new"] == 1
    assert report[urls[2]]["status"] == "error" and "not a feed" in report[urls[2]]["error"]
    titles = {title for (title,) in rows(workspace, "select title from items")}
    assert "Caf\xe9 owners fear tariffs" in titles
    assert "\u201cFair\u201d trade \u2013 again" in titles


# --- addresses and redirects -----------------------------------------------------------------


def test_redirect_to_a_private_address_is_refused(workspace, misbehaving, monkeypatch):
    """A public-looking host that redirects to loopback: the second hop is refused."""
    set_fetch(workspace, allow_private_addresses=False)
    port = int(misbehaving.url("/").rsplit(":", 1)[1].split("/")[0])
    real_refuse = fetch_module.refuse_private_host

    def refuse(host: str, port: int, resolver: fetch_module.Resolver) -> list[str]:
        if host == "feeds.public.test":  # the "public" host lives on loopback here
            return ["127.0.0.1"]
        return real_refuse(host, port, resolver)

    monkeypatch.setattr(fetch_module, "refuse_private_host", refuse)
    misbehaving.routes["/hop.xml"] = redirect(misbehaving.url("/internal.xml"), status=302)
    misbehaving.routes["/internal.xml"] = respond(GOOD)
    misbehaving.routes["/direct.xml"] = respond(GOOD)
    hop = f"http://feeds.public.test:{port}/hop.xml"
    direct = f"http://feeds.public.test:{port}/direct.xml"
    workspace.invoke("feeds", "add", hop, direct)
    report = fetch(workspace)
    assert "non-public address (127.0.0.1)" in report[hop]["error"]
    assert misbehaving.count("/internal.xml") == 0  # never asked
    assert report[direct]["new"] == 2


def test_refused_address_kinds():
    for host in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "0.0.0.0"):
        with pytest.raises(fetch_module.FetchError, match="non-public"):
            fetch_module.refuse_private_host(host, 80)


def test_redirect_loops_and_chains_fail_with_a_reason(workspace, misbehaving):
    misbehaving.routes["/a.xml"] = redirect(misbehaving.url("/b.xml"), status=302)
    misbehaving.routes["/b.xml"] = redirect(misbehaving.url("/a.xml"), status=302)
    for n in range(7):
        misbehaving.routes[f"/chain{n}.xml"] = redirect(
            misbehaving.url(f"/chain{n + 1}.xml"), status=307
        )
    misbehaving.routes["/chain7.xml"] = respond(GOOD)
    misbehaving.routes["/short0.xml"] = redirect(misbehaving.url("/short1.xml"), status=302)
    misbehaving.routes["/short1.xml"] = respond(GOOD)
    urls = [misbehaving.url(p) for p in ("/a.xml", "/chain0.xml", "/short0.xml")]
    workspace.invoke("feeds", "add", *urls)
    report = fetch(workspace)
    assert "redirect loop" in report[urls[0]]["error"]
    assert "more than 5 redirects" in report[urls[1]]["error"]
    assert report[urls[2]]["new"] == 2
    assert set(listed(workspace)) == set(urls)  # temporary redirects never change the list


def test_permanent_redirects_update_the_stored_url(workspace, misbehaving):
    misbehaving.routes["/old.xml"] = redirect(misbehaving.url("/new.xml"), status=301)
    misbehaving.routes["/new.xml"] = respond(GOOD)
    misbehaving.routes["/old2.xml"] = redirect(misbehaving.url("/new2.xml"), status=308)
    misbehaving.routes["/new2.xml"] = respond(feed("Elsewhere", base="https://other.example"))
    misbehaving.routes["/dup.xml"] = redirect(misbehaving.url("/taken.xml"), status=301)
    misbehaving.routes["/taken.xml"] = respond(feed("Taken", base="https://taken.example"))
    old, old2, dup, taken = (
        misbehaving.url(p) for p in ("/old.xml", "/old2.xml", "/dup.xml", "/taken.xml")
    )
    workspace.invoke("feeds", "add", old, old2, dup, taken)
    report = fetch(workspace)
    assert "moved permanently" in report[old]["note"]
    assert "already in the feed list" in report[dup]["note"]
    assert set(listed(workspace)) == {
        misbehaving.url("/new.xml"),
        misbehaving.url("/new2.xml"),
        dup,
        taken,
    }
    before = misbehaving.count("/old.xml")
    fetch(workspace)
    assert misbehaving.count("/old.xml") == before  # the new address is asked directly now
    assert rows(workspace, "select count(*) from items") == [(5,)]


# --- status codes: 429, 503, 500, 410 --------------------------------------------------------


def test_retry_after_is_honoured_and_enable_clears_it(workspace, misbehaving):
    misbehaving.routes["/busy.xml"] = respond(
        b"slow down", status=429, content_type="text/plain", headers={"Retry-After": "3600"}
    )
    misbehaving.routes["/down.xml"] = respond(
        b"maintenance",
        status=503,
        content_type="text/plain",
        headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
    )
    busy, down = misbehaving.url("/busy.xml"), misbehaving.url("/down.xml")
    workspace.invoke("feeds", "add", busy, down)
    first = fetch(workspace, code=1)
    assert first[busy]["error"].startswith("HTTP 429")
    health = listed(workspace)
    assert health[busy]["state"] == "backing-off" and health[busy]["next_attempt_at"]
    assert health[down]["next_attempt_at"].startswith(("2026", "2027", "2028", "2099"))
    second = fetch(workspace)  # skipped, not failed: the exit code stays 0
    assert second[busy]["status"] == "skipped" and "backing off" in second[busy]["error"]
    assert misbehaving.count("/busy.xml") == 1
    table = workspace.invoke("feeds", "list").stdout
    assert "backing off" in table
    workspace.invoke("feeds", "enable", busy)
    misbehaving.routes["/busy.xml"] = respond(GOOD)
    assert fetch(workspace)[busy]["new"] == 2
    assert listed(workspace)[busy]["state"] == "active"


def test_repeated_failures_back_off(workspace, misbehaving):
    misbehaving.routes["/oops.xml"] = respond(b"boom", status=500, content_type="text/plain")
    misbehaving.routes["/good.xml"] = respond(GOOD)
    oops, good = misbehaving.url("/oops.xml"), misbehaving.url("/good.xml")
    workspace.invoke("feeds", "add", oops, good)
    for _ in range(3):
        assert fetch(workspace)[oops]["error"] == "HTTP 500 Internal Server Error"
    health = listed(workspace)[oops]
    assert health["consecutive_failures"] == 3 and health["state"] == "backing-off"
    assert fetch(workspace)[oops]["status"] == "skipped"
    assert misbehaving.count("/oops.xml") == 3


def test_gone_feed_is_disabled_and_re_added(workspace, misbehaving):
    misbehaving.routes["/gone.xml"] = respond(b"gone", status=410, content_type="text/plain")
    misbehaving.routes["/good.xml"] = respond(GOOD)
    gone, good = misbehaving.url("/gone.xml"), misbehaving.url("/good.xml")
    workspace.invoke("feeds", "add", gone, good)
    assert "410" in fetch(workspace)[gone]["error"]
    health = listed(workspace)[gone]
    assert health["state"] == "disabled" and "410" in health["disabled_reason"]
    assert "disabled:" in workspace.invoke("feeds", "list").stdout
    assert fetch(workspace)[gone]["status"] == "skipped"
    assert misbehaving.count("/gone.xml") == 1
    misbehaving.routes["/gone.xml"] = respond(GOOD)
    assert "enabled" in workspace.invoke("feeds", "add", gone).stdout
    assert fetch(workspace)[gone]["new"] == 2
    assert listed(workspace)[gone]["state"] == "active"


# --- feeds check -----------------------------------------------------------------------------


def test_feeds_check_reports_without_adding(workspace, misbehaving):
    misbehaving.routes["/good.xml"] = respond(GOOD)
    misbehaving.routes["/page.html"] = respond(
        b"<html><p>hello</p></html>", content_type="text/html"
    )
    misbehaving.routes["/moved.xml"] = redirect(misbehaving.url("/good.xml"), status=301)
    good = workspace.json("feeds", "check", misbehaving.url("/good.xml"))
    assert good["usable"] is True
    assert (good["format"], good["title"], good["items"]) == (
        "RSS 2.0",
        "Feed of Tariff talks resume",
        2,
    )
    moved = workspace.json("feeds", "check", misbehaving.url("/moved.xml"))
    assert any("moved permanently" in problem for problem in moved["problems"])
    bad = workspace.invoke("feeds", "check", misbehaving.url("/page.html"), code=1)
    assert "unusable" in bad.stdout and "not a feed" in bad.stdout
    assert workspace.json("feeds", "list") == []
