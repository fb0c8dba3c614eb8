"""One security-group rule, typed, defined once: its identity, its text, and what it lets in.

A snapshot holds a security group's rules flattened (collect/collectors/security_groups.py):
one entry per (direction, protocol, port range, source), written on one line. Everything
that reads them — the differ, the severity rules, baseline checks and policies, the history
index and its queries — reads them through :class:`Rule`, so "does this rule allow port 22"
has one answer everywhere.

Semantics (AWS's, as Prowler and AWS Config read them):

* protocol ``-1`` is all traffic: every protocol, every port; it carries no ports;
* ``tcp`` and ``udp`` carry an inclusive port range (``-1``, or no range, means all ports);
* ``icmp``/``icmpv6`` carry an ICMP type and code in FromPort/ToPort, never ports;
* any other protocol (a number: 50 ESP, 132 SCTP...) allows all of that protocol: AWS
  ignores ports for it;
* a port asked about without a protocol means tcp or udp: "is port 53 open" is true of
  udp/53 and of tcp/53, false of an ESP rule and of an ICMP rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Protocol numbers AWS reports by name; other numbers stay numbers.
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
ICMP = frozenset({"icmp", "icmpv6"})
PORTED = frozenset({"tcp", "udp"})
DIRECTIONS = ("ingress", "egress")
SOURCE_TYPES = ("cidr", "cidr6", "group", "prefix_list")
#: Fields of a flattened rule that say what it allows; the rest describe it.
IDENTITY = ("Direction", "Protocol", "FromPort", "ToPort", "SourceType", "Source")
#: Describing fields whose change is reported (RuleId is AWS's handle, not the rule's meaning).
ATTRIBUTES = ("Description", "PeeringStatus", "VpcId", "VpcPeeringConnectionId", "Tags")

# Address space that is not "public" (reachable from the internet): RFC 1918, carrier-grade
# NAT, loopback, link-local, IPv6 unique-local. Spelled out rather than ipaddress.is_private,
# whose meaning changed between Python versions and counts documentation ranges as private.
NON_PUBLIC: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/32",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


class RuleError(ValueError):
    """A rule entry that is not one: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


def protocol_of(value: Any) -> str:
    """Canonical protocol text: tcp, udp, icmp, icmpv6, -1 (all traffic) or a number."""
    text = str(value).strip().lower()
    if text in ("all", "-1"):
        return "-1"
    return PROTOCOL_NAMES.get(text, text)


def protocol_label(protocol: str) -> str:
    return "all" if protocol == "-1" else protocol


def network_of(text: str) -> Network | None:
    """The network a CIDR names (host bits cleared, as AWS reads ``10.191.12.13/24``)."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


def within(inner: Network, outer: Network) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def is_public(network: Network) -> bool:
    return not any(within(network, other) for other in NON_PUBLIC)


@dataclass(frozen=True)
class Source:
    """One rule source (for egress: destination), canonical. Baselines also use the keyword
    kinds ``world``, ``public``, ``public-host`` and ``unheld-host``."""

    kind: str  # cidr | cidr6 | group | prefix_list | world | public | public-host | unheld-host
    value: str
    network: Network | None = None

    @classmethod
    def of(cls, kind: str, value: str, account: str | None = None) -> Source:
        """A snapshot rule's source; a same-account group reference loses its owner prefix
        (the collector writes ``ACCOUNT/sg-…`` only across accounts)."""
        if kind in ("cidr", "cidr6"):
            net = network_of(value)
            return cls(kind, str(net) if net is not None else value, net)
        if kind == "group":
            owner, _, group = value.rpartition("/")
            if owner and owner == account:
                value = group
        return cls(kind, value)

    def covers(self, other: Source) -> bool:
        """Whether everything ``other`` names is inside this source (a CIDR containing the
        other's network, or the same group or prefix list)."""
        if self.network is not None and other.network is not None:
            return within(other.network, self.network)
        return (self.kind, self.value) == (other.kind, other.value)


def _int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(name, f"{value!r} is not an integer")
    return value


def _text(value: Any, name: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise RuleError(name, "missing")
        return None
    if not isinstance(value, str) or (required and not value):
        raise RuleError(name, f"{value!r} is not a non-empty string" if required else "not text")
    return value


@dataclass(frozen=True)
class Rule:
    """One flattened rule as a snapshot holds it (``raw``), read into typed fields."""

    direction: str
    protocol: str  # canonical: tcp, udp, icmp, icmpv6, -1 or a number
    from_port: int | None
    to_port: int | None
    source_type: str
    source: str
    description: str | None = None
    rule_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_dict(cls, item: Any) -> Rule:
        """Read one entry of a snapshot's ``Rules``; RuleError names the bad field."""
        if not isinstance(item, Mapping):
            raise RuleError("", f"{_show(item)} is not a rule (expected a mapping)")
        direction = _text(item.get("Direction"), "Direction", required=True)
        if direction not in DIRECTIONS:
            raise RuleError("Direction", f"{_show(direction)} is not ingress or egress")
        raw_protocol = item.get("Protocol")
        if isinstance(raw_protocol, bool) or not isinstance(raw_protocol, (str, int)):
            raise RuleError("Protocol", f"{_show(raw_protocol)} is not a protocol")
        source_type = _text(item.get("SourceType"), "SourceType", required=True)
        if source_type not in SOURCE_TYPES:
            raise RuleError("SourceType", f"{_show(source_type)} is not one of {SOURCE_TYPES}")
        source = _text(item.get("Source"), "Source", required=True)
        assert source is not None and direction is not None
        if source_type in ("cidr", "cidr6") and network_of(source) is None:
            raise RuleError("Source", f"{_show(source)} is not a CIDR")
        from_port, to_port = (
            _int(item.get("FromPort"), "FromPort"),
            _int(item.get("ToPort"), "ToPort"),
        )
        if (from_port is None) != (to_port is None):
            raise RuleError("ToPort" if to_port is None else "FromPort", "needs the other port")
        tags = item.get("Tags")
        if tags is not None and not (
            isinstance(tags, Mapping) and all(isinstance(v, str) for v in tags.values())
        ):
            raise RuleError("Tags", "must be a mapping of strings")
        return cls(
            direction,
            protocol_of(raw_protocol),
            from_port,
            to_port,
            source_type,
            source,
            _text(item.get("Description"), "Description"),
            _text(item.get("RuleId"), "RuleId"),
            item,
        )

    # --- identity ------------------------------------------------------------------------------

    @property
    def ports(self) -> tuple[int, int] | None:
        """(from, to) where the protocol has ports or ICMP type/code; None otherwise."""
        if self.from_port is None or self.to_port is None:
            return None
        if self.protocol in PORTED or self.protocol in ICMP:
            return (self.from_port, self.to_port)
        return None  # all traffic, or a protocol AWS does not filter by port

    def source_of(self, account: str | None = None) -> Source:
        return Source.of(self.source_type, self.source, account)

    def key(self, account: str | None = None) -> tuple[Any, ...]:
        """What the rule allows: equal keys are the same rule, whatever describes it."""
        source = self.source_of(account)
        return (self.direction, self.protocol, self.ports, source.kind, source.value)

    def attributes(self) -> dict[str, Any]:
        """What describes the rule without changing what it allows."""
        return {k: self.raw[k] for k in ATTRIBUTES if self.raw.get(k) not in (None, "", {})}

    # --- what it lets through -------------------------------------------------------------------

    def admits(self, protocol: str | None, lo: int, hi: int) -> bool:
        """Whether traffic of ``protocol`` (None: tcp or udp) to some port in [lo, hi] gets
        through. For ICMP, lo is the ICMP type asked about (-1: any)."""
        if self.protocol == "-1":
            return True
        wanted = PORTED if protocol is None else {protocol_of(protocol)}
        if self.protocol not in wanted:
            return False
        if self.protocol in ICMP:
            # ICMP has types, not ports: lo is the type asked about (-1: any).
            rtype = self.from_port if self.from_port is not None else -1
            return rtype == -1 or lo == -1 or rtype == lo
        if self.protocol not in PORTED:
            return True  # AWS lets every port of other protocols through
        if self.from_port is None or self.to_port is None or self.from_port == -1:
            return True
        return self.from_port <= hi and lo <= self.to_port

    def allows(self, port: int, protocol: str | None = None) -> bool:
        """Whether traffic to ``port`` (tcp or udp unless ``protocol`` is given) gets through."""
        return self.admits(protocol, port, port)

    def inside(self, protocol: str, ports: tuple[int, int] | None) -> bool:
        """Whether everything the rule lets through is within ``protocol`` on ``ports``
        (None: every port of it) — for baseline exceptions: ``tcp/80-443`` is not inside
        ``tcp/80`` nor ``tcp/443``."""
        if self.protocol != protocol_of(protocol):
            return False
        if ports is None or ports[0] == -1:
            return True
        mine = self.ports
        if mine is None or mine[0] == -1:
            return False
        return ports[0] <= mine[0] and mine[1] <= ports[1]

    @property
    def is_world(self) -> bool:
        """The source is the whole address space (0.0.0.0/0 or ::/0)."""
        net = network_of(self.source) if self.source_type in ("cidr", "cidr6") else None
        return net is not None and net.prefixlen == 0

    # --- text ------------------------------------------------------------------------------------

    @property
    def what(self) -> str:
        """``tcp/22``, ``tcp/8000-8080``, ``tcp/all``, ``icmp/8:-1``, ``all``, ``50``."""
        protocol = str(self.raw.get("Protocol", self.protocol)) if self.raw else self.protocol
        if self.protocol == "-1":
            return "all"
        if self.from_port is None or self.to_port is None:
            return protocol
        lo, hi = self.from_port, self.to_port
        if self.protocol in ICMP:
            return f"{protocol}/{lo}:{hi}"
        if lo == hi:
            return f"{protocol}/{lo}"
        if (lo, hi) in ((0, 65535), (-1, -1)):
            return f"{protocol}/all"
        return f"{protocol}/{lo}-{hi}"

    def text(self, description: bool = True) -> str:
        """``ingress tcp/22 from 10.191.12.13/32 "temp debugging"``; egress says ``to``."""
        word = "from" if self.direction == "ingress" else "to"
        out = f"{self.direction} {self.what} {word} {self.source}"
        if description and self.description:
            out += f" {quote(self.description)}"
        return out


def quote(value: Any) -> str:
    """A description or other user text in double quotes, on one line."""
    from driftaudit.textsafe import one_line

    return '""' if value in (None, "") else f'"{one_line(str(value))}"'


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_rules(value: Any) -> list[Rule]:
    """A snapshot's ``Rules`` list; RuleError names the entry and field (``Rules[3].FromPort``)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RuleError("Rules", f"{_show(value)} is not a list of rules")
    out = []
    for n, item in enumerate(value):
        try:
            out.append(Rule.from_dict(item))
        except RuleError as e:
            where = f"Rules[{n}]" + (f".{e.field}" if e.field else "")
            message = str(e).split(": ", 1)[1] if e.field else str(e)
            raise RuleError(where, message) from e
    return out


def rules_of(resource: Mapping[str, Any]) -> list[Rule]:
    """The rules of a security-group resource (which :func:`read_rules` has accepted)."""
    return read_rules(resource.get("Rules"))


def rule_problem(resource: Mapping[str, Any]) -> tuple[list[Any], str] | None:
    """(JSON path, problem) of the first unreadable rule of a resource, or None."""
    try:
        read_rules(resource.get("Rules"))
    except RuleError as e:
        path: list[Any] = ["resource"]
        for part in e.field.replace("]", "").replace("[", ".").split("."):
            if part:
                path.append(int(part) if part.isdigit() else part)
        return path, f"{e.field}: {str(e).split(': ', 1)[-1]}"
    return None


def texts(rules: Iterable[Rule]) -> list[str]:
    return [r.text() for r in rules]
