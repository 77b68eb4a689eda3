"""HTTP fetching with httpx: conditional GET, bounded in time and size, http(s) only."""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

import httpx

from digest.config import FetchSettings
from digest.errors import FetchError, one_line
from digest.types import FetchedFeed

REDIRECTS = {301, 302, 303, 307, 308}
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


class HttpFetcher:
    """Fetches feed documents over one pooled client. Thread-safe; close it when done."""

    def __init__(self, settings: FetchSettings, *, transport: httpx.BaseTransport | None = None):
        self._settings = settings
        timeout = httpx.Timeout(
            settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,  # followed by hand so every hop is checked
            headers={"User-Agent": settings.user_agent, "Accept": ACCEPT},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

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
        deadline = time.monotonic() + self._settings.timeout_seconds * 2
        current = url
        for _hop in range(self._settings.max_redirects + 1):
            self._check_url(current)
            try:
                with self._client.stream("GET", current, headers=headers) as response:
                    if response.status_code == 304:
                        return FetchedFeed(
                            url=url,
                            final_url=current,
                            status=304,
                            etag=etag,
                            last_modified=last_modified,
                        )
                    if response.status_code in REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"HTTP {response.status_code} without a Location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise FetchError(
                            f"HTTP {response.status_code} {response.reason_phrase}".strip()
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
                    )
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out after {self._settings.timeout_seconds:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"network error: {one_line(exc)}") from exc
        raise FetchError(f"more than {self._settings.max_redirects} redirects")

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        limit = self._settings.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"feed larger than the {limit:,}-byte limit")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decompressed: the cap holds for gzip bombs too
            size += len(chunk)
            if size > limit:
                raise FetchError(f"feed larger than the {limit:,}-byte limit")
            if time.monotonic() > deadline:
                raise FetchError("feed took too long to download")
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(
                f"only http and https feeds are fetched, not {parts.scheme or 'a bare path'}"
            )
        if not parts.hostname:
            raise FetchError("URL has no host")
        if not self._settings.allow_private_addresses:
            refuse_private_host(
                parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
            )


def refuse_private_host(host: str, port: int) -> None:
    """FetchError when ``host`` resolves to a private, loopback, link-local or reserved address."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(
                f"{host} resolves to a non-public address ({address}); "
                "set [fetch] allow_private_addresses = true to allow it"
            )
