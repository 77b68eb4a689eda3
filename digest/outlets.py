"""Outlets: which feeds belong to one publication, and the name a reader sees for it.

A newspaper often has several feeds (world news, markets); a story it carries in two of them is
still one outlet's report, so "N outlets" counts and the ranking's agreement across outlets
must count it once. Rules, per feed:

- **Site.** The registrable domain (public suffix list) its items link to, by majority, else
  that of the feed's own URL: ``feeds.a.wsj.com`` and ``www.wsj.com`` are both ``wsj.com``.
  Item links come first because a feed may be served from elsewhere (a feed service, a local
  mirror) while its articles live on the outlet's site. An IP address or a single-label host
  (``localhost``) names no site.
- **Name.** An admin's name for the feed (``feeds add --name``, ``feeds rename``) wins. A feed
  without one takes the name given to other feeds of its site, when they agree on one.
- **Key.** Feeds with the same name are one outlet; unnamed feeds of one site are one outlet;
  a feed with neither is an outlet of its own. Two publications sharing a host (blogs on one
  platform) are told apart by naming them.

Pure: feeds and links in, keys and names out.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from digest.types import Feed

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

__all__ = [
    "OUTLET_NAME_MAX",
    "Outlet",
    "load_suffixes",
    "normalize_outlet_name",
    "outlets_of",
    "site_of",
]

#: Longest outlet name an admin may give (the column's width).
OUTLET_NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class Outlet:
    #: Same key, same outlet: "name:<name folded>", "site:<domain>" or "feed:<id>".
    key: str
    #: What a reader sees: the admin's name, else the feed's title, else its URL.
    name: str


def normalize_outlet_name(name: str) -> str:
    """The name as stored: one line, spaces collapsed; a ValueError says what is wrong."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("an outlet name must not be empty")
    if len(cleaned) > OUTLET_NAME_MAX:
        raise ValueError(f"an outlet name must be at most {OUTLET_NAME_MAX} characters")
    return cleaned


def site_of(url: str, suffixes: PublicSuffixList) -> str | None:
    """The registrable domain of `url` ("wsj.com"), or None for an IP, a bare host or junk."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    if "." not in host:
        return None
    site = suffixes.privatesuffix(host)
    return str(site) if site else None


def _majority(sites: Iterable[str | None]) -> str | None:
    counted = Counter(site for site in sites if site)
    if not counted:
        return None
    # the most common; a tie goes to the alphabetically first, so the result is stable
    return min(counted.items(), key=lambda entry: (-entry[1], entry[0]))[0]


def load_suffixes() -> PublicSuffixList:
    """The public suffix list shipped with the library (reading it takes about 0.1 s: keep it)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def outlets_of(
    feeds: Sequence[Feed],
    item_links: Mapping[int, Sequence[str]] | None = None,
    suffixes: PublicSuffixList | None = None,
) -> dict[int, Outlet]:
    """Each feed's outlet, by feed id (rules in the module doc).

    `item_links` holds, by feed id, links of the feed's items (a sample is enough);
    `suffixes` is the list from :func:`load_suffixes` (loaded here when not given).
    """
    suffixes = suffixes or load_suffixes()
    links = item_links or {}
    sites: dict[int, str | None] = {}
    for feed in feeds:
        by_items = _majority(site_of(link, suffixes) for link in links.get(feed.id, ()))
        sites[feed.id] = by_items or site_of(feed.url, suffixes)

    names_on_site: dict[str, set[str]] = {}
    for feed in feeds:
        site = sites[feed.id]
        if feed.outlet and site:
            names_on_site.setdefault(site, set()).add(feed.outlet)

    found: dict[int, Outlet] = {}
    for feed in feeds:
        site = sites[feed.id]
        name = feed.outlet
        if not name and site and len(names_on_site.get(site, ())) == 1:
            name = next(iter(names_on_site[site]))
        if name:
            found[feed.id] = Outlet(key=f"name:{name.casefold()}", name=name)
        elif site:
            found[feed.id] = Outlet(key=f"site:{site}", name=feed.name)
        else:
            found[feed.id] = Outlet(key=f"feed:{feed.id}", name=feed.name)
    return found
