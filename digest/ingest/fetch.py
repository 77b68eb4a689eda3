"""HTTP fetching with the standard library: conditional GET, bounded in time and size, http(s)
only.

A host name is resolved once per request, by the fetcher's resolver; the addresses are checked
(unless private ones are allowed) and the connection goes to one of those very addresses, with
the name kept in the Host header and as the TLS server name (so the certificate is still checked
against the name). Resolving again to connect would let a DNS answer change in between
(DNS rebinding: public for the check, loopback for the connection).

``http.client`` rather than an HTTP library: a fetch needs one GET at a time per connection,
redirects are followed by hand anyway (each hop is checked), and the standard library loads in
a fraction of the time, which is most of a run where every feed answers 304.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

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
#: Bytes of a redirect's (or an error's) body read so its connection can be kept.
_DRAIN = 65536
#: What request targets may hold as they are; anything else (spaces, non-ASCII) is escaped.
_TARGET_SAFE = "/%:@!$&'()*+,;=-._~?"

#: ``(host, port) -> IP addresses``, in the order to try them; FetchError when none.
Resolver = Callable[[str, int], Sequence[str]]
#: ``(address, port, timeout) -> a connected socket``; OSError when it cannot connect.
Connector = Callable[[str, int, float], socket.socket]


def connect_tcp(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


class _NoReconnect(Exception):
    pass


class _Connection(http.client.HTTPConnection):
    """A connection to one checked address over a socket made (and TLS-wrapped) by the
    fetcher. It never connects by itself: http.client would go to ``host`` on its own."""

    def __init__(self, sock: socket.socket, address: str, port: int) -> None:
        super().__init__(address, port)
        self.sock = sock

    def connect(self) -> None:
        raise _NoReconnect("the connection was closed")


#: (scheme, address, port, server name): a connection verified for one name never serves another.
_Key = tuple[str, str, int, str]


class _Pool:
    """Kept-alive connections waiting for their next request, per key. Thread-safe."""

    def __init__(self, per_key: int) -> None:
        self._per_key = per_key
        self._idle: dict[_Key, list[_Connection]] = {}
        self._lock = threading.Lock()

    def take(self, key: _Key) -> _Connection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give(self, key: _Key, connection: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self._per_key:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            everything = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in everything:
            connection.close()


class HttpFetcher:
    """Fetches feed documents over kept-alive connections. Thread-safe; close it when done.

    The TLS context (slow to build) is only made when an https URL comes up, so a run over
    plain-http feeds never pays for it. ``connect`` opens the TCP connection to a checked
    address (tests replace it to stand in for hosts out of reach).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        connect: Connector | None = None,
        resolver: Resolver | None = None,
        tls_context: ssl.SSLContext | None = None,
    ):
        self._settings = settings
        self._connect = connect or connect_tcp
        self._resolver = resolver or resolve_host
        self._tls_context = tls_context  # None: the CAs httpx and requests trust (certifi)
        self._pool = _Pool(max(10, settings.concurrency * 2))
        self._lock = threading.Lock()
        self._headers = {
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ENCODINGS,
        }

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls_context is None:
                self._tls_context = default_tls_context()
            return self._tls_context

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed:
        """GET ``url``; a 304 comes back with an empty body. FetchError on any failure."""
        headers = dict(self._headers)
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
            try:
                key, connection, response = self._open(current, headers, deadline)
                keep = False
                try:
                    status = response.status
                    if status == 200:
                        body = self._read_body(response, deadline)
                        keep = True
                        return FetchedFeed(
                            url=url,
                            final_url=current,
                            status=200,
                            body=body,
                            etag=response.getheader("etag"),
                            last_modified=response.getheader("last-modified"),
                            content_type=response.getheader("content-type"),
                            permanent_url=permanent,
                        )
                    keep = self._drain(response, deadline)
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
                        location = response.getheader("location")
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
                    raise HttpStatusError(
                        f"HTTP {status} {response.reason}".strip(),
                        status=status,
                        retry_after=retry_after_seconds(response.getheader("retry-after")),
                    )
                finally:
                    if keep and response.isclosed() and not response.will_close:
                        self._pool.give(key, connection)
                    else:
                        connection.close()
            except TimeoutError as exc:
                if time.monotonic() >= deadline - 0.05:
                    raise FetchError(self._too_slow()) from exc
                raise FetchError(f"timed out after {self._settings.timeout_seconds:g} s") from exc
            except http.client.InvalidURL as exc:
                raise FetchError(f"bad URL {current}: {one_line(exc)}") from exc
            except (OSError, http.client.HTTPException, _NoReconnect) as exc:
                # before ValueError: a certificate that does not verify is both
                raise FetchError(f"network error: {one_line(exc) or type(exc).__name__}") from exc
            except ValueError as exc:
                raise FetchError(f"bad URL {current}: {one_line(exc)}") from exc
        raise FetchError(f"more than {self._settings.max_redirects} redirects")

    def _open(
        self, url: str, headers: dict[str, str], deadline: float
    ) -> tuple[_Key, _Connection, http.client.HTTPResponse]:
        """Send the GET to an address the name resolved to (and was checked for).

        The addresses are tried in turn, as a plain connect would (IPv6 then IPv4, say). A
        kept-alive connection the server has closed meanwhile is replaced once.
        """
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        host = host if host.isascii() else host.encode("idna").decode("ascii")
        port = parts.port or (443 if https else 80)
        if self._settings.allow_private_addresses:
            addresses = list(self._resolver(host, port))
        else:
            addresses = refuse_private_host(host, port, self._resolver)
        if not addresses:
            raise FetchError(f"cannot resolve {host}: no address")
        shown = f"[{host}]" if ":" in host else host
        default_port = parts.port is None or parts.port == (443 if https else 80)
        target = quote(parts.path or "/", safe=_TARGET_SAFE)
        if parts.query:
            target += "?" + quote(parts.query, safe=_TARGET_SAFE)
        pinned = {**headers, "Host": shown if default_port else f"{shown}:{port}"}
        if parts.username is not None or parts.password is not None:  # https://user:pw@host/
            secret = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            pinned["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        for n, address in enumerate(addresses):
            key: _Key = (parts.scheme, address, port, host)
            reused = self._pool.take(key)
            if reused is not None:
                try:
                    return key, reused, self._send(reused, target, pinned, deadline)
                except (OSError, http.client.HTTPException, _NoReconnect):
                    reused.close()  # closed by the server while idle: a new one below
            try:
                connection = self._new_connection(key, deadline)
            except (OSError, TimeoutError):
                if n == len(addresses) - 1 or time.monotonic() >= deadline:
                    raise
                continue
            try:
                return key, connection, self._send(connection, target, pinned, deadline)
            except BaseException:
                connection.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _new_connection(self, key: _Key, deadline: float) -> _Connection:
        scheme, address, port, host = key
        timeout = max(0.001, min(10.0, self._settings.timeout_seconds, deadline - time.monotonic()))
        sock = self._connect(address, port, timeout)
        try:
            if scheme == "https":
                sock.settimeout(timeout)
                # TLS name and certificate check: the name, not the address connected to.
                sock = self._tls().wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock, address, port)

    def _send(
        self, connection: _Connection, target: str, headers: dict[str, str], deadline: float
    ) -> http.client.HTTPResponse:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline")
        assert connection.sock is not None
        connection.sock.settimeout(min(self._settings.timeout_seconds, remaining))
        connection.request("GET", target, headers=headers)
        return connection.getresponse()

    @staticmethod
    def _drain(response: http.client.HTTPResponse, deadline: float) -> bool:
        """Read a short body (a redirect's, an error page) so the connection can serve the
        next request; False when it is too long or too slow for that."""
        size = 0
        for piece in _pieces(response):
            size += len(piece)
            if size > _DRAIN or time.monotonic() >= deadline:
                return False
        return True

    def _too_slow(self) -> str:
        return f"gave up after the {self._settings.deadline_seconds:g} s deadline"

    def _read_body(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        limit = self._settings.max_bytes
        too_big = f"feed larger than the {limit:,}-byte limit"
        declared = response.getheader("content-length")
        encoding = (response.getheader("content-encoding") or "identity").strip().lower()
        if declared and declared.isdigit() and int(declared) > limit and encoding == "identity":
            raise FetchError(too_big)
        decoder = _Decoder(encoding)
        chunks: list[bytes] = []
        size = 0
        for raw in _pieces(response):
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
            parts.port  # noqa: B018 - raises ValueError for a port that is not one
        except ValueError as exc:
            raise FetchError(f"bad URL {url}: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise FetchError(
                f"only http and https feeds are fetched, not {parts.scheme or 'a bare path'}"
            )
        if not parts.hostname:
            raise FetchError("URL has no host")


def _pieces(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The body as it arrives (a full buffer would wait to fill), then the response closed:
    http.client leaves one whose length ran down to 0 open, and its connection unusable."""
    while piece := response.read1(65536):
        yield piece
    response.read()


def default_tls_context() -> ssl.SSLContext:
    """Certificates checked against certifi's CAs (as httpx and requests do), or against the
    files SSL_CERT_FILE / SSL_CERT_DIR name when set."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()  # OpenSSL reads both variables
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


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
