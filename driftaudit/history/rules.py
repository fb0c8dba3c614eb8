"""Pure address arithmetic for the history queries: CIDR containment as integer ranges.

Addresses and networks become integer ranges (family, first, last), so "does this rule allow
that source" is a range comparison, in Python here and in SQL in the index. IPv4 and IPv6 are
kept apart by ``family``: an IPv6 rule ``::/0`` never allows an IPv4 address. What a rule lets
through (protocols, ports) is :class:`driftaudit.rule.Rule`'s to say.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, NamedTuple

from driftaudit.rule import Rule, protocol_of


class Span(NamedTuple):
    family: int  # 4 or 6
    lo: int
    hi: int

    def contains(self, other: Span) -> bool:
        return self.family == other.family and self.lo <= other.lo and other.hi <= self.hi


# A dotted quad as ipaddress writes it (no leading zeros), with an optional prefix length:
# most of what the index reads, taken apart without building ipaddress objects.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(3[0-2]|[12]?[0-9]))?")


def _ipv4(text: str) -> tuple[int, int] | None:
    """(address, prefix length) of a plain IPv4 address or CIDR; None for anything else
    (IPv6, whitespace, leading zeros...: ipaddress decides those)."""
    m = _IPV4.fullmatch(text)
    if m is None:
        return None
    a, b, c, d, prefix = m.groups()
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d), int(prefix or 32)


def span(text: str) -> Span | None:
    """The range an address or CIDR covers (host bits ignored, as AWS does for
    ``10.191.12.13/24``), or None when ``text`` is neither."""
    quad = _ipv4(text)
    if quad is not None:
        value, prefix = quad
        size = (1 << (32 - prefix)) - 1
        return Span(4, value & ~size, (value & ~size) | size)
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return Span(net.version, int(net.network_address), int(net.broadcast_address))


def to_blob(value: int) -> bytes:
    """16 bytes big-endian: SQLite compares blobs with memcmp, so byte order is number order
    for both families (IPv4 values just use the low 4 bytes)."""
    return value.to_bytes(16, "big")


def canonical_address(text: str) -> str | None:
    """``10.191.12.13`` or the compressed IPv6 form; None when not an address."""
    if "/" not in text and _IPV4.fullmatch(text):
        return text  # already as ipaddress writes it
    try:
        return ipaddress.ip_address(str(text).strip()).compressed
    except ValueError:
        return None


def canonical_network(text: str) -> str | None:
    """A CIDR as AWS would accept it (host bits cleared); None when not a CIDR."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False).with_prefixlen
    except ValueError:
        return None


def rule_allows(rule: Rule, source: Span, port: int | None = None) -> bool:
    """An ingress CIDR rule lets every address of ``source`` in (on ``port``, tcp or udp,
    if given)."""
    if rule.direction != "ingress" or rule.source_type not in ("cidr", "cidr6"):
        return False
    allowed = span(rule.source)
    if allowed is None or not allowed.contains(source):
        return False
    return port is None or rule.allows(port)


def stored_rule(
    direction: Any, protocol: Any, from_port: Any, to_port: Any, source_type: Any, source: Any
) -> Rule:
    """A rule as the index stores it (identity columns only), for its semantics and text."""
    return Rule(
        str(direction), protocol_of(protocol), from_port, to_port, str(source_type), str(source)
    )
