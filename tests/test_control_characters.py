"""Control characters in feed text: gone at ingest (so the Atom archive parses and the emails
are clean), and written out, inert, wherever text reaches the operator's terminal."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from lxml import etree

from digest import console
from digest.app import make_app
from digest.config import load_settings
from digest.controls import show_controls, strip_controls
from digest.types import Feed, FeedCheck
from tests.conftest import Workspace
from tests.servers import FeedHTTPServer, SmtpServer

DAY = "2025-06-02"
ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Raw C0 bytes are not XML: this one goes to the forgiving parser.
RSS_C0 = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    b"<title>Bell\x07 Wire \x1b[31mRED\x1b[0m</title>"
    b"<item><title>US \x1b[31mtariffs\x1b[0m on Chinese\x01 chips rise again</title>"
    b"<link>https://bell.example/1</link><author>ed\x1b]0;pwned\x07itor@bell.example</author>"
    b"<description>Washington raised tariffs on Chinese semiconductors\x08 on Sunday, "
    b"officials said.\x0c The export controls also widen.</description>"
    b"<pubDate>Sun, 01 Jun 2025 14:00:00 +0000</pubDate></item></channel></rss>"
)

# C1 characters are allowed in XML 1.0: this one is read by the fast path.
ATOM_C1 = (
    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
    "<title>C1\u0085 Times\u009b31m</title><id>urn:c1</id><updated>2025-06-01T15:00:00Z</updated>"
    "<entry><title>China\u0090 curbs gallium\u009f exports in new trade move</title>"
    "<id>urn:c1:1</id><link href='https://c1.example/1'/>"
    "<author><name>Desk\u0085</name></author><updated>2025-06-01T15:00:00Z</updated>"
    "<summary type='html'>&lt;p&gt;Beijing restricted exports of gallium&amp;#x9b; "
    "and germanium, a blow to chip makers\u0086.&lt;/p&gt;</summary></entry></feed>"
).encode()

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Json\u0001 Daily",
        "items": [
            {
                "id": "j1",
                "url": "https://json.example/1",
                "title": "Soybean\u001b[2J tariffs hit Chinese\u0000 buyers",
                "content_text": "China cut soybean purchases\u0001 as US tariffs rose.\u001b[0m",
                "date_published": "2025-06-01T16:00:00Z",
                "authors": [{"name": "A\u001bB"}],
            }
        ],
    }
).encode()


def test_control_characters_never_reach_the_archive_the_emails_or_the_terminal(
    workspace: Workspace, feed_http: FeedHTTPServer, smtp_server: SmtpServer
):
    feed_http.routes["/c0.xml"] = _route(RSS_C0)
    feed_http.routes["/c1.xml"] = _route(ATOM_C1, "application/atom+xml")
    feed_http.routes["/j.json"] = _route(JSON_FEED, "application/feed+json")
    urls = [feed_http.url(p) for p in ("/c0.xml", "/c1.xml", "/j.json")]
    workspace.invoke("feeds", "add", *urls)
    fetched = workspace.invoke("fetch")
    assert not ANY_CONTROL.search(fetched.stdout + fetched.stderr)
    stored = workspace.sql("select title, summary_html, text, guid, url from items")
    titles = [t for (t,) in workspace.sql("select title from feeds")]
    assert len(stored) == 3
    for value in [v for row in stored for v in row] + titles:
        assert not ANY_CONTROL.search(value), repr(value)
    assert "US tariffs on Chinese chips rise again" in {row[0] for row in stored}
    assert "Bell Wire RED" in titles  # an escape sequence goes whole, not leaving "[31m"

    listed = workspace.invoke("feeds", "list")
    built = workspace.invoke("build", "--date", DAY)
    checked = workspace.invoke("feeds", "check", urls[0])
    for out in (listed.stdout, built.stdout, checked.stdout):
        assert "\x1b" not in out and not ANY_CONTROL.search(out.replace("\n", ""))
    assert "Soybean tariffs hit Chinese buyers" in built.stdout and "Bell Wire RED" in built.stdout

    workspace.invoke("subscribers", "add", "ada@example.com", "--name", "Ada")
    workspace.invoke("send", "--any-date", "--date", DAY)
    (message,) = smtp_server.handler.parsed()
    for part in message.walk():
        if part.get_content_maintype() == "text":
            body = part.get_content()
            assert not ANY_CONTROL.search(
                body.replace("\n", "").replace("\r", "").replace("\t", "")
            )
    assert not ANY_CONTROL.search(str(message["Subject"]))

    from digest.web.app import create_web_app

    app = make_app(load_settings(workspace.config))
    try:
        client = create_web_app(app).test_client()
        atom = client.get("/archive.atom")
    finally:
        app.close()
    assert atom.status_code == 200
    root = etree.fromstring(atom.data)  # raises on "PCDATA invalid Char value"
    summary = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}summary")
    assert summary is not None and "Soybean tariffs hit Chinese buyers" in summary.text


def test_the_console_writes_control_characters_out_and_shows_markup_literally(capsys, monkeypatch):
    """Rows stored before this release (or any text from elsewhere) are shown inert."""
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no table cell wraps
    now = datetime(2025, 6, 1, tzinfo=UTC)
    feed = Feed(
        id=1,
        url="https://x.example/feed\x1b[2J",
        title="\x1b[31mRed\x1b[0m [bold]Wire[/bold]\r\u202eevil",
        item_count=1,
        last_fetched_at=now,
        last_success_at=now,
        last_status="error",
        last_error="HTTP 500 \x9b31mboom",
        consecutive_failures=1,
    )
    console.print_feeds([feed])
    check = FeedCheck(
        url="https://x.example/\x07",
        usable=True,
        format="rss20",
        title="T\x1b[1m [i]x[/i]",
        items=1,
        problems=("odd\x00",),
    )
    console.print_check(check)
    out = capsys.readouterr().out
    assert not ANY_CONTROL.search(out.replace("\n", "")) and "\u202e" not in out
    assert "\\x1b[31mRed\\x1b[0m" in out and "[bold]Wire[/bold]" in out
    assert "\\x9b31mboom" in out and "u202eevil" in out and "T\\x1b[1m [i]x[/i]" in out


def test_strip_and_show():
    assert strip_controls("a\x01b\x1b[31mc\x1b[0m\td\ne\r\nf\x85g") == "abc\td\ne\nf g"
    assert strip_controls("plain text") == "plain text"
    assert show_controls("a\x1bb\tc\n") == "a\\x1bb\tc\n"


def _route(body: bytes, content_type: str = "application/rss+xml"):
    from tests.servers import Route

    return Route(body=body, content_type=content_type)
