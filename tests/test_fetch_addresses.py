"""Where the fetcher connects: to the very address it resolved and checked (no second lookup
for DNS rebinding to change), with the name kept for the Host header and TLS."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from digest.config import FetchSettings
from digest.errors import FetchError
from digest.ingest.addresses import non_public_reason
from digest.ingest.fetch import HttpFetcher, connect_tcp
from tests.misbehaving import MisbehavingServer, respond

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Pinned</title>'
    b"<item><title>Tariffs</title><link>https://pinned.example/1</link></item></channel></rss>"
)


def port_of(misbehaving: MisbehavingServer) -> int:
    return int(misbehaving.url("/").rsplit(":", 1)[1].split("/")[0])


class RebindingResolver:
    """Answers a public address the first time, loopback every time after: DNS rebinding."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return ["93.184.216.34"] if len(self.calls) == 1 else ["127.0.0.1"]


class LoopbackOnly:
    """Real connections to loopback; the public internet is out of reach in tests, so a
    connection to any other address fails as an unreachable host would (this is the one fake).
    It records every address connected to."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    def __call__(self, address: str, port: int, timeout: float) -> socket.socket:
        self.connects.append((address, port))
        if address != "127.0.0.1":
            raise ConnectionRefusedError(f"no route to {address}")
        return connect_tcp(address, port, timeout)


def test_a_rebinding_name_is_never_fetched_from_loopback(misbehaving):
    misbehaving.routes["/feed.xml"] = respond(FEED)
    resolver = RebindingResolver()
    transport = LoopbackOnly()
    url = f"http://rebind.test:{port_of(misbehaving)}/feed.xml"
    settings = FetchSettings(allow_private_addresses=False, timeout_seconds=5)
    fetcher = HttpFetcher(settings, connect=transport, resolver=resolver)
    with fetcher, pytest.raises(FetchError, match="network error"):
        fetcher.fetch(url)
    assert misbehaving.count("/feed.xml") == 0  # loopback never asked
    # resolved once: the address checked is the address used
    assert resolver.calls == [("rebind.test", port_of(misbehaving))]
    assert transport.connects == [("93.184.216.34", port_of(misbehaving))]


def test_the_checked_address_is_refused_before_any_connection(misbehaving):
    misbehaving.routes["/feed.xml"] = respond(FEED)
    transport = LoopbackOnly()
    settings = FetchSettings(allow_private_addresses=False)
    fetcher = HttpFetcher(settings, connect=transport, resolver=lambda h, p: ["127.0.0.1"])
    with fetcher, pytest.raises(FetchError, match=r"non-public address \(127\.0\.0\.1\)"):
        fetcher.fetch(f"http://looks-public.test:{port_of(misbehaving)}/feed.xml")
    assert transport.connects == [] and misbehaving.count("/feed.xml") == 0


def test_a_name_connects_to_its_resolved_address_and_keeps_its_host_header(misbehaving):
    seen: list[str] = []

    def handler(request: BaseHTTPRequestHandler) -> None:
        seen.append(request.headers["Host"])
        respond(FEED)(request)

    misbehaving.routes["/feed.xml"] = handler
    port = port_of(misbehaving)
    resolver = {"feeds.pinned.test": ["127.0.0.1"]}
    settings = FetchSettings(allow_private_addresses=True)
    with HttpFetcher(settings, resolver=lambda host, _port: resolver[host]) as fetcher:
        fetched = fetcher.fetch(f"http://feeds.pinned.test:{port}/feed.xml")
    assert fetched.status == 200 and fetched.body == FEED
    assert fetched.final_url == f"http://feeds.pinned.test:{port}/feed.xml"
    assert seen == [f"feeds.pinned.test:{port}"]


def test_the_next_address_is_tried_when_one_refuses(misbehaving):
    misbehaving.routes["/feed.xml"] = respond(FEED)
    closed = MisbehavingServer()  # started and stopped: its port now refuses connections
    closed.start()
    dead = port_of(closed)
    closed.stop()
    port = port_of(misbehaving)
    # The server listens on 127.0.0.1 only; 127.0.0.2 (also loopback) refuses.
    settings = FetchSettings(allow_private_addresses=True)
    with HttpFetcher(settings, resolver=lambda h, p: ["127.0.0.2", "127.0.0.1"]) as fetcher:
        assert fetcher.fetch(f"http://two.test:{port}/feed.xml").body == FEED
    fetcher = HttpFetcher(settings, resolver=lambda h, p: ["127.0.0.1"])
    with fetcher, pytest.raises(FetchError, match="network error"):
        fetcher.fetch(f"http://two.test:{dead}/feed.xml")


HIDDEN_LOOPBACK = [
    "::7f00:1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
    "64:ff9b::7f00:1",  # NAT64
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::",  # 6to4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "::ffff:169.254.169.254",
]
SPECIAL_V4 = ["192.0.0.8", "192.0.0.170", "198.18.0.1", "100.64.0.1", "224.0.0.1", "240.0.0.1"]


@pytest.mark.parametrize("address", HIDDEN_LOOPBACK + SPECIAL_V4)
def test_addresses_hiding_a_private_ipv4_or_special_are_refused(misbehaving, address):
    """As a literal in the URL and as what a name resolves to: refused before connecting."""
    transport = LoopbackOnly()
    settings = FetchSettings(allow_private_addresses=False)
    host = f"[{address}]" if ":" in address else address
    port = port_of(misbehaving)
    fetcher = HttpFetcher(settings, connect=transport)
    with fetcher, pytest.raises(FetchError, match="non-public address"):
        fetcher.fetch(f"http://{host}:{port}/feed.xml")
    fetcher = HttpFetcher(settings, connect=transport, resolver=lambda h, p: [address])
    with fetcher, pytest.raises(FetchError, match="resolves to a non-public address"):
        fetcher.fetch(f"http://hidden.test:{port}/feed.xml")
    assert transport.connects == []


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"],
)
def test_public_addresses_and_their_ipv6_forms_pass_the_check(address):
    assert non_public_reason(address) is None


def test_one_private_address_among_public_ones_refuses_the_name():
    settings = FetchSettings(allow_private_addresses=False)
    transport = LoopbackOnly()
    both = ["93.184.216.34", "::ffff:10.0.0.1"]
    fetcher = HttpFetcher(settings, connect=transport, resolver=lambda h, p: both)
    with fetcher, pytest.raises(FetchError, match=r"that is 10\.0\.0\.1"):
        fetcher.fetch("http://mixed.test/feed.xml")
    assert transport.connects == []


@pytest.fixture
def tls_feed_server() -> Iterator[tuple[trustme.CA, int, list[str], list[str]]]:
    """An https feed server on loopback whose certificate names feeds.tls.test; it records
    the TLS server name (SNI) and Host header of each request."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("feeds.tls.test").configure_cert(context)
    names: list[str] = []
    hosts: list[str] = []

    def record_name(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        names.append(name or "")

    context.sni_callback = record_name

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a pooled connection may be offered again

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            hosts.append(self.headers["Host"])
            respond(FEED)(self)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield ca, httpd.server_address[1], names, hosts
    httpd.shutdown()
    httpd.server_close()


def test_https_to_the_pinned_address_still_checks_the_certificate_against_the_name(
    tls_feed_server,
):
    ca, port, names, hosts = tls_feed_server
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    settings = FetchSettings(allow_private_addresses=True)
    to_loopback = {"feeds.tls.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]}
    fetcher = HttpFetcher(
        settings, resolver=lambda host, _port: to_loopback[host], tls_context=client_context
    )
    with fetcher:
        fetched = fetcher.fetch(f"https://feeds.tls.test:{port}/feed.xml")
        assert fetched.body == FEED
        assert names == ["feeds.tls.test"] and hosts == [f"feeds.tls.test:{port}"]
        # Same address, another name: the certificate does not match it, so no fetch (and the
        # kept-alive connection verified for the first name is not reused for it).
        with pytest.raises(FetchError, match="certificate|hostname"):
            fetcher.fetch(f"https://impostor.test:{port}/feed.xml")
    assert hosts == [f"feeds.tls.test:{port}"]
