"""Pure address arithmetic for the history queries: CIDR containment and port matching.

Addresses and networks become integer ranges (family, first, last), so "does this rule allow
that source" is a range comparison, in Python here and in SQL in the index. IPv4 and IPv6 are
kept apart by ``family``: an IPv6 rule ``::/0`` never allows an IPv4 address.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

#: Protocols whose rules carry ICMP type/code in FromPort/ToPort, not ports.
ICMP = frozenset({"icmp", "icmpv6", "1", "58"})


class Span(NamedTuple):
    family: int  # 4 or 6
    lo: int
    hi: int

    def contains(self, other: Span) -> bool:
        return self.family == other.family and self.lo <= other.lo and other.hi <= self.hi


def span(text: str) -> Span | None:
    """The range an address or CIDR covers (host bits ignored, as AWS does for
    ``10.191.12.13/24``), or None when ``text`` is neither."""
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


def allows_port(protocol: Any, from_port: Any, to_port: Any, port: int) -> bool:
    """Whether a security-group rule lets traffic to ``port`` through.

    Protocol ``-1`` is all traffic, every port. ICMP rules carry type/code, never a port.
    A rule with a port range matches inclusively; a rule of another protocol without ports
    (AWS allows every port for protocols other than tcp, udp and icmp) matches any port.
    """
    protocol = str(protocol).lower()
    if protocol == "-1":
        return True
    if protocol in ICMP:
        return False
    if from_port is None or to_port is None:
        return True
    if int(from_port) == -1:  # some APIs report -1/-1 for "all ports"
        return True
    return int(from_port) <= port <= int(to_port)


def rule_allows(rule: dict[str, Any], source: Span, port: int | None = None) -> bool:
    """A flattened rule (Direction, Protocol, FromPort, ToPort, SourceType, Source) allows
    every address of ``source`` in, on ``port`` if given."""
    if rule.get("Direction", "ingress") != "ingress":
        return False
    if rule.get("SourceType") not in ("cidr", "cidr6"):
        return False
    allowed = span(str(rule.get("Source", "")))
    if allowed is None or not allowed.contains(source):
        return False
    return port is None or allows_port(
        rule.get("Protocol"), rule.get("FromPort"), rule.get("ToPort"), port
    )
