"""The fetcher's own HTTP/1.1 over the standard library: kept-alive connections are reused,
one the server closed while idle is replaced, chunked bodies and odd paths are read."""

from __future__ import annotations

import base64
from http.server import BaseHTTPRequestHandler

from digest.config import FetchSettings
from digest.ingest.fetch import HttpFetcher
from tests.misbehaving import respond

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Kept</title></channel></rss>'
SETTINGS = FetchSettings(allow_private_addresses=True, timeout_seconds=5)


def test_a_kept_alive_connection_serves_the_next_fetches(misbehaving):
    peers: list[int] = []

    def handler(request: BaseHTTPRequestHandler) -> None:
        peers.append(request.client_address[1])  # the client's port: one per connection
        respond(FEED, headers={"Last-Modified": "Tue, 10 Mar 2026 05:00:00 GMT"})(request)

    misbehaving.routes["/a.xml"] = handler
    misbehaving.routes["/b.xml"] = handler
    with HttpFetcher(SETTINGS) as fetcher:
        first = fetcher.fetch(misbehaving.url("/a.xml"))
        second = fetcher.fetch(misbehaving.url("/b.xml"))
    assert first.body == second.body == FEED
    assert first.last_modified == "Tue, 10 Mar 2026 05:00:00 GMT"
    assert len(peers) == 2 and peers[0] == peers[1]


def test_a_connection_the_server_closed_while_idle_is_replaced(misbehaving):
    peers: list[int] = []

    def closes_after(request: BaseHTTPRequestHandler) -> None:
        peers.append(request.client_address[1])
        respond(FEED)(request)  # no "Connection: close": the client keeps it...
        request.close_connection = True  # ...and the server hangs up right after

    misbehaving.routes["/feed.xml"] = closes_after
    with HttpFetcher(SETTINGS) as fetcher:
        assert fetcher.fetch(misbehaving.url("/feed.xml")).body == FEED
        assert fetcher.fetch(misbehaving.url("/feed.xml")).body == FEED
    assert len(peers) == 2 and peers[0] != peers[1]


def test_chunked_bodies_304s_and_escaped_paths(misbehaving):
    def chunked(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        for start in range(0, len(FEED), 7):
            piece = FEED[start : start + 7]
            request.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        request.wfile.write(b"0\r\n\r\n")

    def not_modified(request: BaseHTTPRequestHandler) -> None:
        assert request.headers["If-None-Match"] == '"v1"'
        request.send_response(304)
        request.end_headers()

    misbehaving.routes["/chunked.xml"] = chunked
    misbehaving.routes["/same.xml"] = not_modified
    misbehaving.routes["/caf%C3%A9%20news.xml?x=%C3%A9"] = respond(FEED)
    with HttpFetcher(SETTINGS) as fetcher:
        fetched = fetcher.fetch(misbehaving.url("/chunked.xml"))
        assert fetched.body == FEED and fetched.content_type == "application/rss+xml"
        unchanged = fetcher.fetch(misbehaving.url("/same.xml"), etag='"v1"')
        assert unchanged.not_modified and unchanged.etag == '"v1"'
        assert fetcher.fetch(misbehaving.url("/café news.xml?x=é")).body == FEED


def test_credentials_in_the_url_are_sent_as_basic_auth_to_that_host_only(misbehaving):
    seen: list[str | None] = []

    def private(request: BaseHTTPRequestHandler) -> None:
        seen.append(request.headers["Authorization"])
        respond(FEED)(request)

    misbehaving.routes["/private.xml"] = private
    url = misbehaving.url("/private.xml").replace("http://", "http://reader:p%40ss@")
    with HttpFetcher(SETTINGS) as fetcher:
        assert fetcher.fetch(url).body == FEED
        assert fetcher.fetch(misbehaving.url("/private.xml")).body == FEED
    assert seen == ["Basic " + base64.b64encode(b"reader:p@ss").decode(), None]
