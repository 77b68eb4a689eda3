"""Which IP addresses a feed may be fetched from: public ones only (unless allowed).

``ipaddress``'s ``is_global`` is the base, with two gaps closed: IPv6 forms that carry an IPv4
address inside (mapped, compatible, NAT64, 6to4, Teredo) are judged by that IPv4 address, since
the packet ends up there; and a few special IPv4 ranges that some Python versions count as
global (192.0.0.0/24, documentation and benchmarking nets, multicast) are refused outright.
"""

from __future__ import annotations

import ipaddress

_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments (192.0.0.8 and friends)
        "192.0.2.0/24",
        "192.88.99.0/24",  # the old 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64: a private network


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, if it is one of the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client behind the Teredo server
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) <= 1:
        return None  # :: and ::1 are themselves
    if address in _IPV4_COMPATIBLE or address in _IPV4_TRANSLATED or address in _NAT64:
        return low32
    return None


def non_public_reason(text: str) -> str | None:
    """Why ``text`` (an IP address) is not a public address, or None when it is one."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone
    except ValueError:
        return f"{text} is not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and _ipv4_reason(inner) is not None:
            return f"non-public address ({address}, that is {inner})"
        mapped = address.ipv4_mapped is not None  # judged by its IPv4 address alone
        if not mapped and (
            address in _NAT64_LOCAL or not address.is_global or address.is_multicast
        ):
            return f"non-public address ({address})"
        return None
    return _ipv4_reason(address)


def _ipv4_reason(address: ipaddress.IPv4Address) -> str | None:
    if not address.is_global or any(address in net for net in _NOT_PUBLIC_V4):
        return f"non-public address ({address})"
    return None
