"""Canonical URLs: the same article reached through different tracking links is one URL."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters that only track a click and never pick the page: removed, and only these.
#: The list is short on purpose: a name such as ``cid``, ``src``, ``ref`` or ``rss`` selects
#: the article on some sites (``?cid=123`` and ``?cid=456`` are two stories), so it stays.
TRACKING_PREFIXES = ("utm_",)
TRACKING_NAMES = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # X/Twitter
        "igshid",  # Instagram
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_hsenc",  # HubSpot
        "_hsmi",
        "mkt_tok",  # Marketo
    }
)


# Most links have no query, port or user part: those need only their case fixed.
_PLAIN = re.compile(r"(https?)://([A-Za-z0-9.-]+)(/[^?#\s]*)?", re.IGNORECASE)


# An http(s) link whose host is a plain name or IPv4 address: it has a host, whatever follows.
_PLAIN_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?#]\S*)?", re.IGNORECASE)

# A host name label once IDNA-encoded (underscores are wrong but common, so allowed).
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def feed_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed's address (one line), or None when it can be fetched."""
    if not url[:8].lower().startswith(("http://", "https://")):
        return "feed URL must start with http:// or https://"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "feed URL contains a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    host = parts.hostname
    if not host:
        return "feed URL has no host"
    if port == 0:
        return "port 0 is not a port"
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    try:
        labels = host.rstrip(".").encode("idna").decode("ascii").split(".")
    except UnicodeError:
        return f"{host} is not a valid host name"
    if not all(_LABEL.fullmatch(label) for label in labels):
        return f"{host} is not a valid host name"
    return None


#: Schemes that run or embed content instead of pointing to a page: never an item's id.
_SCRIPT_SCHEMES = ("javascript:", "data:", "vbscript:")


def http_link(link: str) -> str:
    """``link`` when it is an http(s) address with a host, else "" (an item keeps no other
    kind of link: a ``javascript:`` or ``data:`` "link" is dropped as if absent)."""
    link = link.strip()
    if _PLAIN_LINK.fullmatch(link) is not None:  # most links: no need to split them
        return link
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    return link if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


def script_like(value: str) -> bool:
    """Whether ``value`` is a ``javascript:``, ``data:`` or ``vbscript:`` URL (any case or
    spacing a browser would forgive)."""
    squeezed = "".join(value.split()).lower()
    return squeezed.startswith(_SCRIPT_SCHEMES)


def canonical_url(url: str) -> str:
    """``url`` without fragment, tracking parameters, default port or case differences in host."""
    plain = _PLAIN.fullmatch(url)
    if plain is not None:
        scheme, host, path = plain.groups()
        return f"{scheme.lower()}://{host.lower()}{path or '/'}"
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = (
        parts.port
        if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443))
        else None
    )
    netloc = host if port is None else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not (key.lower().startswith(TRACKING_PREFIXES) or key.lower() in TRACKING_NAMES)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))
