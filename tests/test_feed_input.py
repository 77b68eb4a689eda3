"""Bad feed input gets one clear line and a non-zero exit, and nothing is half-added."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Workspace
from tests.servers import FeedHTTPServer, Route

BAD = {
    "http://": "has no host",
    "http://exa mple.com/feed": "contains a space",
    "https://:80/x": "has no host",
    "http://[::1": "not a valid URL",
    "http://host.example:99999/feed": "not a valid URL",
    "http://exa..mple.com/feed": "not a valid host name",
    "javascript:alert(1)": "must start with http:// or https://",
}


@pytest.mark.parametrize("url", list(BAD))
def test_feeds_add_refuses_a_bad_url_in_one_line(workspace: Workspace, url: str):
    result = workspace.invoke("feeds", "add", "https://good.example/feed.xml", url, code=2)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("digest: error: ")
    assert BAD[url] in result.stderr and url in result.stderr
    assert "Traceback" not in result.stderr
    assert workspace.json("feeds", "list") == []  # the good one is not added alone either


@pytest.mark.parametrize("url", ["http://", "http://[::1", "https://:80/x"])
def test_feeds_check_refuses_a_bad_url_in_one_line(workspace: Workspace, url: str):
    result = workspace.invoke("feeds", "check", url, code=2)
    assert result.stderr.count("\n") == 1 and BAD[url] in result.stderr


def test_opml_outlines_that_are_no_feed_address_are_reported_as_refused(
    workspace: Workspace, isolated: Path
):
    opml = isolated / "mixed.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="ok" xmlUrl="https://ok.example/rss"/>'
        '<outline text="js" xmlUrl="javascript:alert(1)"/>'
        '<outline text="spaced" xmlUrl="http://exa mple.com/feed"/>'
        "</body></opml>"
    )
    result = workspace.invoke("feeds", "import", str(opml), code=1)
    assert result.stdout == "added 1 feeds, 0 already present, 2 refused\n"
    assert result.stderr.splitlines() == [
        "digest: refused javascript:alert(1): feed URL must start with http:// or https://",
        "digest: refused http://exa mple.com/feed: feed URL contains a space or a control "
        "character",
    ]
    assert [f["url"] for f in workspace.json("feeds", "list")] == ["https://ok.example/rss"]
    again = workspace.invoke("feeds", "import", str(opml), code=1)
    assert again.stdout.startswith("added 0 feeds, 1 already present, 2 refused")


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (
            b"<!DOCTYPE html>\n<html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            "text/html; charset=utf-8",
            "not a feed: got an HTML page (text/html)",
        ),
        (b"Just some words.\nAnd more words.\n", "text/plain", "not a feed: got plain text"),
        (b'{"status": "ok"}', "application/json", "not a feed: got JSON that is not a JSON"),
        (b"", "application/rss+xml", "not a feed: the response was empty"),
    ],
)
def test_feeds_check_on_a_non_feed_says_what_it_found(
    workspace: Workspace, feed_http: FeedHTTPServer, body: bytes, content_type: str, said: str
):
    feed_http.routes["/thing"] = Route(body=body, content_type=content_type)
    result = workspace.invoke("feeds", "check", feed_http.url("/thing"), code=1)
    line = " ".join(result.stdout.split())
    assert said in line, result.stdout
    assert "syntax error" not in result.stdout and "<unknown>" not in result.stdout
