"""HTTP fetching with httpx: conditional GET, bounded in time and size, http(s) only.

A host name is resolved once per request, by the fetcher's resolver; the addresses are checked
(unless private ones are allowed) and the connection goes to one of those very addresses, with
the name kept in the Host header and as the TLS server name (so the certificate is still checked
against the name). Resolving again to connect would let a DNS answer change in between
(DNS rebinding: public for the check, loopback for the connection).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from digest.config import FetchSettings
from digest.errors import FetchError, HttpStatusError, one_line
from digest.ingest.addresses import non_public_reason
from digest.types import FetchedFeed

REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
#: Content-Encodings we decode ourselves, so the size cap counts decompressed bytes.
ENCODINGS = "gzip, deflate"

#: ``(host, port) -> IP addresses``, in the order to try them; FetchError when none.
Resolver = Callable[[str, int], Sequence[str]]


class HttpFetcher:
    """Fetches feed documents over pooled clients. Thread-safe; close it when done.

    The https client (and its TLS context, slow to build) is only made when an https URL
    comes up, so a run over plain-http feeds never pays for it.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
        tls_context: ssl.SSLContext | None = None,
    ):
        self._settings = settings
        self._transport = transport
        self._resolver = resolver or resolve_host
        self._tls_context = tls_context  # None: the system's CAs
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, scheme: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(scheme)
            if client is None:
                timeout = httpx.Timeout(
                    self._settings.timeout_seconds,
                    connect=min(10.0, self._settings.timeout_seconds),
                )
                client = httpx.Client(
                    timeout=timeout,
                    follow_redirects=False,  # followed by hand so every hop is checked
                    headers={
                        "User-Agent": self._settings.user_agent,
                        "Accept": ACCEPT,
                        "Accept-Encoding": ENCODINGS,
                    },
                    transport=self._transport or self._own_transport(scheme),
                )
                self._clients[scheme] = client
            return client

    def _own_transport(self, scheme: str) -> httpx.BaseTransport:
        limits = httpx.Limits(max_connections=max(10, self._settings.concurrency * 2))
        if scheme != "https":
            # Plain http never does TLS: no need to load the CA store for it.
            return httpx.HTTPTransport(verify=False, limits=limits)
        context = httpx.create_ssl_context(verify=self._tls_context or True)
        return _PoolPerName(lambda: httpx.HTTPTransport(verify=context, limits=limits))

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed:
        """GET ``url``; a 304 comes back with an empty body. FetchError on any failure."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self._settings.deadline_seconds
        current = url
        permanent: str | None = None  # where permanent redirects alone lead
        only_permanent = True
        seen = {url}
        for _hop in range(self._settings.max_redirects + 1):
            self._check_url(current)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(self._too_slow())
            timeout = httpx.Timeout(
                min(self._settings.timeout_seconds, remaining),
                connect=min(10.0, self._settings.timeout_seconds, remaining),
            )
            client = self._client(urlsplit(current).scheme)
            try:
                response = self._open(client, current, headers, timeout, deadline)
                with closing(response):
                    status = response.status_code
                    if status == 304:
                        return FetchedFeed(
                            url=url,
                            final_url=current,
                            status=304,
                            etag=etag,
                            last_modified=last_modified,
                            permanent_url=permanent,
                        )
                    if status in REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"HTTP {status} without a Location")
                        target = urljoin(current, location.strip())
                        if target in seen:
                            raise FetchError(f"redirect loop at {target}")
                        seen.add(target)
                        if status in PERMANENT and only_permanent:
                            permanent = target
                        else:
                            only_permanent = False
                        current = target
                        continue
                    if status != 200:
                        raise HttpStatusError(
                            f"HTTP {status} {response.reason_phrase}".strip(),
                            status=status,
                            retry_after=retry_after_seconds(response.headers.get("retry-after")),
                        )
                    body = self._read_body(response, deadline)
                    return FetchedFeed(
                        url=url,
                        final_url=current,
                        status=200,
                        body=body,
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                        content_type=response.headers.get("content-type"),
                        permanent_url=permanent,
                    )
            except httpx.TimeoutException as exc:
                if time.monotonic() >= deadline - 0.05:
                    raise FetchError(self._too_slow()) from exc
                raise FetchError(f"timed out after {self._settings.timeout_seconds:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"network error: {one_line(exc)}") from exc
            except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
                raise FetchError(f"bad URL {current}: {one_line(exc)}") from exc
        raise FetchError(f"more than {self._settings.max_redirects} redirects")

    def _open(
        self,
        client: httpx.Client,
        url: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        deadline: float,
    ) -> httpx.Response:
        """Send the GET to an address the name resolved to (and was checked for), streaming.

        The addresses are tried in turn, as a plain connect would (IPv6 then IPv4, say).
        """
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        if self._settings.allow_private_addresses:
            addresses = list(self._resolver(host, port))
        else:
            addresses = refuse_private_host(host, port, self._resolver)
        if not addresses:
            raise FetchError(f"cannot resolve {host}: no address")
        pinned_headers = {**headers, "Host": target.netloc.decode("ascii")}
        for n, address in enumerate(addresses):
            request = client.build_request(
                "GET",
                target.copy_with(host=address.split("%", 1)[0]),
                headers=pinned_headers,
                timeout=timeout,
                extensions={"sni_hostname": host},  # TLS name and certificate check: the name
            )
            try:
                return client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if n == len(addresses) - 1 or time.monotonic() >= deadline:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _too_slow(self) -> str:
        return f"gave up after the {self._settings.deadline_seconds:g} s deadline"

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        limit = self._settings.max_bytes
        too_big = f"feed larger than the {limit:,}-byte limit"
        declared = response.headers.get("content-length")
        encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
        if declared and declared.isdigit() and int(declared) > limit and encoding == "identity":
            raise FetchError(too_big)
        decoder = _Decoder(encoding)
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():  # as received: a chunk size would wait to fill it
            # Decompressed a bounded piece at a time: a gzip bomb stops at the cap, in memory too.
            for piece in decoder.decode(raw, limit - size + 1):
                size += len(piece)
                if size > limit:
                    raise FetchError(too_big)
                chunks.append(piece)
            if time.monotonic() > deadline:
                raise FetchError(self._too_slow())
        return b"".join(chunks)

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise FetchError(f"bad URL {url}: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise FetchError(
                f"only http and https feeds are fetched, not {parts.scheme or 'a bare path'}"
            )
        if not parts.hostname:
            raise FetchError("URL has no host")


class _PoolPerName(httpx.BaseTransport):
    """A connection pool per TLS server name. Requests go to IP addresses (see the module's
    docstring), and one pool keyed by address alone would hand a kept-alive connection whose
    certificate was checked for one name to a request for another name on the same address."""

    def __init__(self, make: Callable[[], httpx.BaseTransport]) -> None:
        self._make = make
        self._pools: dict[str, httpx.BaseTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = str(request.extensions.get("sni_hostname") or request.url.host)
        with self._lock:
            pool = self._pools.get(name)
            if pool is None:
                pool = self._pools[name] = self._make()
        return pool.handle_request(request)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


class _Decoder:
    """gzip/deflate/identity, decompressing at most ``room`` bytes per step."""

    def __init__(self, encoding: str) -> None:
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
            self._deflate_unsure = True
        elif encoding not in ("identity", ""):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self._deflate_unsure = encoding == "deflate"

    def decode(self, data: bytes, room: int) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            while data:
                piece = self._zlib.decompress(data, max(1, room))
                self._deflate_unsure = False
                room -= len(piece)
                yield piece
                data = self._zlib.unconsumed_tail
                if room <= 0:
                    return
        except zlib.error as exc:
            if self._deflate_unsure:  # "deflate" servers often send a raw stream, no header
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._deflate_unsure = False
                yield from self.decode(data, room)
                return
            raise FetchError(f"corrupt compressed body: {exc}") from exc


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the system's order of preference."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror}") from exc
    except (UnicodeError, OSError) as exc:
        raise FetchError(f"cannot resolve {host}: {one_line(exc)}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refuse_private_host(host: str, port: int, resolver: Resolver = resolve_host) -> list[str]:
    """The addresses of ``host``; FetchError when any is not public (private, loopback,
    link-local, reserved, or an IPv6 form of such an IPv4 address): a name with one such
    address is refused whole, since any of them may be the one used.
    """
    addresses = list(resolver(host, port))
    for text in addresses:
        reason = non_public_reason(text)
        if reason is not None:
            raise FetchError(
                f"{host} resolves to a {reason}; "
                "set [fetch] allow_private_addresses = true to allow it"
            )
    return addresses
