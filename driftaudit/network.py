"""Pure: the networks of a snapshot, so that "is this address ours" is asked of the network a
rule guards, not of the whole estate (``10.191.12.99`` held in another account's unconnected
VPC with the same CIDR is not ours for a prod rule).

From snapshot documents (all of one snapshot for :class:`Network`, or one at a time for the
history index, which keeps the same facts as intervals of samples):

* **where each holding is**: the VPC of the interface holding an instance's address (else the
  instance's VpcId), an interface's, NAT gateway's or load balancer's own VpcId, and for an
  elastic IP the VPC of the interface or instance it is associated with;
* **which VPCs reach each other**: two VPCs whose route tables route through the same VPC
  peering connection or the same transit gateway, in any account and region the snapshots
  hold. Approximations: transit gateway route tables are not read (every VPC routing to a
  transit gateway reaches every other one that does), and routes are not matched against
  the address (a route to any part of the peer counts); blackhole routes (their target is
  gone) do not count; one hop only, as AWS routes (peering is not transitive);
* **whether an address is ours for a rule**: a public address (:func:`driftaudit.rule.is_public`)
  when any of our resources holds it; a private one only when it is held in the VPC of the
  rule's group or a VPC connected to it. A holder or group whose VPC the documents do not
  show counts in every network (documents written by hand or by an older collector);
* **who is in a security group** (instances by their interfaces' Groups, else their
  SecurityGroups; interfaces by their Groups), **what a prefix list holds**, and **what a
  network ACL lets through**: its entries in RuleNumber order, first match decides, and
  stateless, so the reply (to the source, on ephemeral ports) must get out too.

VPC, group and prefix-list ids are compared as they are: AWS ids are unique across accounts
and regions (a VPC shared through AWS RAM has the same id in every account using it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from driftaudit.collect.collectors import REGISTRY
from driftaudit.history.holders import (
    HOLDER_TYPES,
    alive,
    attached_instance,
    holdings,
    released,
)
from driftaudit.history.rules import Span, canonical_network, span
from driftaudit.rule import PORTED, Rule, is_public, network_of, protocol_of

Raw = Mapping[str, Any]
#: The ports a client sends from, where a reply through a network ACL goes (AWS's guidance
#: for ACL egress rules: 1024-65535 covers every operating system's ephemeral range).
EPHEMERAL = (1024, 65535)
#: (protocol, first port, last port): traffic a rule lets in. Protocol "-1" is any.
Flow = tuple[str, int, int]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (v for v in value if isinstance(v, Mapping))


# --- where a holding is ---------------------------------------------------------------------


def resource_vpc(resource: Raw) -> str:
    """The VPC a resource's own document names ("" when none: an elastic IP's is its
    association's). Classic load balancers spell it VPCId."""
    return _text(resource.get("VpcId")) or _text(resource.get("VPCId"))


def located(rtype: str, resource: Raw) -> dict[str, str]:
    """Resource id -> VPC of an instance (and each of its interfaces) or an interface: what an
    elastic IP associated with one of them is located by."""
    out: dict[str, str] = {}
    own = resource_vpc(resource)
    if rtype == "instances":
        if own and _text(resource.get("InstanceId")):
            out[resource["InstanceId"]] = own
        for eni in _items(resource.get("NetworkInterfaces")):
            vpc = _text(eni.get("VpcId")) or own
            if vpc and _text(eni.get("NetworkInterfaceId")):
                out[eni["NetworkInterfaceId"]] = vpc
    elif rtype == "network_interfaces" and own and _text(resource.get("NetworkInterfaceId")):
        out[resource["NetworkInterfaceId"]] = own
    return out


#: Holder types whose holdings are located through another resource (:func:`holding_vpc`).
LOCATED_ELSEWHERE = frozenset({"elastic_ips"})


def holding_vpc(rtype: str, resource: Raw, via: str, where: Mapping[str, str]) -> str:
    """The VPC of one holding of ``resource``: an instance's address is in its interface's
    VPC, an elastic IP in that of the interface or instance it is associated with (looked up
    in ``where``, :func:`located` of the same snapshot); "" when not known."""
    if rtype == "instances":
        for eni in _items(resource.get("NetworkInterfaces")):
            if eni.get("NetworkInterfaceId") == via and _text(eni.get("VpcId")):
                return str(eni["VpcId"])
    if rtype in LOCATED_ELSEWHERE:
        for key in ("NetworkInterfaceId", "InstanceId"):
            ref = _text(resource.get(key))
            if ref and where.get(ref):
                return where[ref]
        return ""
    return resource_vpc(resource)


def counts_for(address_public: bool, holder_vpc: str, rule_vpc: str, connected: bool) -> bool:
    """Whether a holding makes the address ours for a rule of a group in ``rule_vpc``:
    ``connected`` says whether the two VPCs are connected (:func:`links`)."""
    if address_public or not holder_vpc or not rule_vpc:
        return True
    return holder_vpc == rule_vpc or connected


def public(address: str) -> bool:
    """Reachable from the internet (not RFC 1918, CGNAT, link-local, IPv6 unique-local...)."""
    net = network_of(address)
    return net is not None and is_public(net)


# --- which VPCs reach each other ---------------------------------------------------------------


def route_targets(resource: Raw) -> frozenset[str]:
    """The peering connections and transit gateways a route table's routes go through
    (a blackhole route's target is gone: it does not count)."""
    out: set[str] = set()
    for route in _items(resource.get("Routes")):
        if route.get("State") == "blackhole":
            continue
        for key in ("VpcPeeringConnectionId", "TransitGatewayId"):
            if _text(route.get(key)):
                out.add(route[key])
    return frozenset(out)


def links(tables: Iterable[tuple[str, Iterable[str]]]) -> set[tuple[str, str, str]]:
    """(VPC, other VPC, through) for every two VPCs whose route tables (``(vpc, targets)``
    pairs) go through the same peering connection or transit gateway, both ways round."""
    by_target: dict[str, set[str]] = {}
    for vpc, targets in tables:
        if vpc:
            for target in targets:
                by_target.setdefault(target, set()).add(vpc)
    return {
        (a, b, target) for target, vpcs in by_target.items() for a in vpcs for b in vpcs if a != b
    }


# --- security groups, prefix lists --------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Membership:
    """A resource is in ``group`` through the interface ``via`` ("" for the resource itself)
    in ``subnet`` of ``vpc`` ("" when the document does not say)."""

    group: str
    via: str
    subnet: str
    vpc: str


def memberships(rtype: str, resource: Raw) -> list[Membership]:
    """The security groups an instance (through each interface) or an interface is in."""
    found: set[Membership] = set()
    own_subnet, own_vpc = _text(resource.get("SubnetId")), resource_vpc(resource)
    if rtype == "instances":
        for eni in _items(resource.get("NetworkInterfaces")):
            via = _text(eni.get("NetworkInterfaceId"))
            subnet = _text(eni.get("SubnetId")) or own_subnet
            vpc = _text(eni.get("VpcId")) or own_vpc
            for g in _items(eni.get("Groups")):
                if _text(g.get("GroupId")):
                    found.add(Membership(g["GroupId"], via, subnet, vpc))
        if not found:  # interfaces not shown: the instance's own list
            for g in _items(resource.get("SecurityGroups")):
                if _text(g.get("GroupId")):
                    found.add(Membership(g["GroupId"], "", own_subnet, own_vpc))
    elif rtype == "network_interfaces":
        for g in _items(resource.get("Groups")):
            if _text(g.get("GroupId")):
                found.add(Membership(g["GroupId"], "", own_subnet, own_vpc))
    return sorted(found)


def group_id(source: str) -> str:
    """A rule's group source without the owner a cross-account reference carries
    (``111122223333/sg-0a1b`` -> ``sg-0a1b``): group ids are unique across accounts."""
    return source.rpartition("/")[2]


def prefix_entries(resource: Raw) -> list[tuple[str, str]]:
    """(CIDR, description) of a managed prefix list's entries that read as CIDRs."""
    out = []
    for entry in _items(resource.get("Entries")):
        cidr = canonical_network(_text(entry.get("Cidr")))
        if cidr is not None:
            out.append((cidr, _text(entry.get("Description"))))
    return sorted(set(out))


# --- network ACLs ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class AclEntry:
    """One entry of a network ACL: ports None for all of them (or for a protocol without)."""

    egress: bool
    number: int
    action: str  # allow | deny
    protocol: str  # canonical (driftaudit.rule.protocol_of): tcp, udp, icmp, -1, a number
    lo: int | None
    hi: int | None
    cidr: str


def acl_entries(resource: Raw) -> list[AclEntry]:
    """The entries of a network ACL document that read as entries."""
    out = []
    for e in _items(resource.get("Entries")):
        number, cidr = e.get("RuleNumber"), _text(e.get("CidrBlock") or e.get("Ipv6CidrBlock"))
        action = _text(e.get("RuleAction"))
        if (
            isinstance(number, bool)
            or not isinstance(number, int)
            or action
            not in (
                "allow",
                "deny",
            )
        ):
            continue
        net = canonical_network(cidr)
        if net is None:
            continue
        ports = e.get("PortRange")
        lo = ports.get("From") if isinstance(ports, Mapping) else None
        hi = ports.get("To") if isinstance(ports, Mapping) else None
        if not (isinstance(lo, int) and isinstance(hi, int)):
            lo = hi = None
        protocol = protocol_of(e.get("Protocol", "-1"))
        out.append(AclEntry(bool(e.get("Egress")), number, action, protocol, lo, hi, net))
    return sorted(out)


def acl_subnets(resource: Raw) -> list[str]:
    """The subnets a network ACL is associated with."""
    return sorted({_text(a.get("SubnetId")) for a in _items(resource.get("Associations"))} - {""})


@dataclass(frozen=True)
class Decision:
    """What one direction of a network ACL does with some traffic: ``rule`` is the number of
    the entry that decided (None: no entry matched, AWS's final ``*`` entry denies)."""

    allowed: bool
    rule: int | None

    @property
    def text(self) -> str:
        return f"rule {self.rule if self.rule is not None else '*'}"


def _subtract(ranges: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for a, b in ranges:
        if hi < a or lo > b:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo - 1))
        if hi < b:
            out.append((hi + 1, b))
    return out


def decide(entries: Iterable[AclEntry], egress: bool, address: Span, flow: Flow) -> Decision:
    """One direction of an ACL for traffic from (inbound) or to (outbound) ``address``.

    Entries are evaluated in RuleNumber order and the first that matches decides, as AWS
    does. A flow stands for several packets (a port range, or any protocol), so an entry that
    matches only part of it decides only that part: an allow lets some of the traffic
    through (allowed), a deny removes its part, and the flow is denied once nothing is left."""
    protocol, lo, hi = flow
    ported = protocol in PORTED
    left = [(lo, hi)] if ported else [(0, 0)]
    for e in sorted(x for x in entries if x.egress == egress):
        net = span(e.cidr)
        if net is None or not net.contains(address):
            continue
        if e.protocol != "-1" and protocol != "-1" and e.protocol != protocol:
            continue
        whole = e.protocol == "-1" or e.protocol == protocol  # the entry covers the protocol
        if ported and e.protocol in PORTED and e.lo is not None and e.hi is not None:
            elo, ehi = e.lo, e.hi
        else:
            elo, ehi = (lo, hi) if ported else (0, 0)
        part = [(max(a, elo), min(b, ehi)) for a, b in left if max(a, elo) <= min(b, ehi)]
        if not part:
            continue
        if e.action == "allow":
            return Decision(True, e.number)
        if whole:
            left = _subtract(left, elo, ehi)
            if not left:
                return Decision(False, e.number)
    return Decision(False, None)


def reply(flow: Flow) -> Flow:
    """The reply to a flow, leaving for the client's ephemeral port (ICMP: the same)."""
    protocol = flow[0]
    if protocol in PORTED or protocol == "-1":
        return (protocol, *EPHEMERAL)
    return flow


@dataclass(frozen=True)
class AclVerdict:
    """A network ACL on some traffic, both ways: it gets through when both directions allow
    it (network ACLs are stateless)."""

    acl: str
    inbound: Decision
    outbound: Decision

    @property
    def allowed(self) -> bool:
        return self.inbound.allowed and self.outbound.allowed

    @property
    def text(self) -> str:
        if self.allowed:
            return (
                f"allowed by {self.acl} (inbound {self.inbound.text}, "
                f"outbound {self.outbound.text})"
            )
        if not self.inbound.allowed:
            return f"denied by {self.acl} inbound {self.inbound.text}"
        return f"denied by {self.acl} outbound {self.outbound.text} (the reply)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "acl": self.acl,
            "allowed": self.allowed,
            "inbound": {"allowed": self.inbound.allowed, "rule": self.inbound.rule},
            "outbound": {"allowed": self.outbound.allowed, "rule": self.outbound.rule},
            "text": self.text,
        }


def flows(rule: Rule, port: int | None = None) -> list[Flow]:
    """The traffic a rule lets in, as ACLs see it: on ``port`` (tcp or udp) when given,
    else everything the rule allows."""
    if port is not None:
        return [(p, port, port) for p in ("tcp", "udp") if rule.allows(port, p)]
    if rule.protocol == "-1":
        return [("-1", 0, 65535)]
    if rule.protocol in PORTED:
        lo, hi = rule.from_port, rule.to_port
        if lo is None or hi is None or lo == -1:
            lo, hi = 0, 65535
        return [(rule.protocol, lo, hi)]
    return [(rule.protocol, 0, 0)]  # ICMP (type/code are not ports) or another protocol


def acl_verdict(
    acl: str, entries: Iterable[AclEntry], address: Span, traffic: list[Flow]
) -> AclVerdict | None:
    """The verdict of network ACL ``acl`` on ``traffic`` from ``address`` (None when there is
    no traffic): allowed when some flow gets in and its reply gets out."""
    entries = list(entries)
    verdicts = [
        AclVerdict(
            acl, decide(entries, False, address, f), decide(entries, True, address, reply(f))
        )
        for f in traffic
    ]
    for v in verdicts:
        if v.allowed:
            return v
    return verdicts[0] if verdicts else None


# --- one snapshot --------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Held:
    """One address one resource holds in a snapshot, with where it is."""

    address: str
    scope: str
    kind: str
    type: str
    account: str
    region: str
    id: str
    via: str
    vpc: str
    name: str


@dataclass(frozen=True, order=True)
class Member:
    """A resource in a security group: the instance or interface, where, and its name."""

    group: str
    type: str
    account: str
    region: str
    id: str
    via: str
    subnet: str
    vpc: str
    name: str


@dataclass
class Network:
    """The networks of one snapshot, from its documents (envelopes ``{account, region, type,
    id, resource}`` as snapshot files hold them; others are skipped)."""

    held: list[Held] = field(default_factory=list)
    #: VPC -> the VPCs connected to it (:func:`links`).
    reach: dict[str, set[str]] = field(default_factory=dict)
    #: Security group id -> its VPC.
    groups: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[Member]] = field(default_factory=dict)
    #: Prefix list id -> (CIDR, description) of its entries.
    lists: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: Subnet -> (ACL id, its entries).
    acls: dict[str, tuple[str, list[AclEntry]]] = field(default_factory=dict)

    @classmethod
    def of(cls, docs: Iterable[Mapping[str, Any]]) -> Network:
        found = [
            d
            for d in docs
            if isinstance(d, Mapping)
            and isinstance(d.get("resource"), Mapping)
            and d.get("type") in REGISTRY
        ]
        net = cls()
        where: dict[str, str] = {}
        living: set[tuple[str, str, str]] = set()
        tables: list[tuple[str, frozenset[str]]] = []
        for d in found:
            rtype, resource = d["type"], d["resource"]
            where.update(located(rtype, resource))
            if rtype == "instances" and alive(rtype, resource):
                living.add((str(d["account"]), str(d["region"]), str(d["id"])))
        released_ids: set[tuple[str, str, str, str]] = set()
        for d in found:
            rtype, resource = d["type"], d["resource"]
            account, region, rid = str(d["account"]), str(d["region"]), str(d["id"])
            name = REGISTRY[rtype].name_of(resource)
            if rtype in HOLDER_TYPES:
                facts = holdings(rtype, resource)
                instance = attached_instance(rtype, resource, account)
                if instance and (account, region, instance) not in living:
                    facts = released(rtype, facts)
                    released_ids.add((rtype, account, region, rid))
                net.held += [
                    Held(
                        h.address,
                        h.scope,
                        h.kind,
                        rtype,
                        account,
                        region,
                        rid,
                        h.via,
                        holding_vpc(rtype, resource, h.via, where),
                        name,
                    )
                    for h in facts
                ]
            if rtype == "security_groups":
                net.groups[rid] = resource_vpc(resource)
            elif rtype == "route_tables":
                tables.append((resource_vpc(resource), route_targets(resource)))
            elif rtype == "managed_prefix_lists":
                net.lists.setdefault(rid, []).extend(prefix_entries(resource))
            elif rtype == "network_acls":
                entries = acl_entries(resource)
                for subnet in acl_subnets(resource):
                    net.acls[subnet] = (rid, entries)
            if (rtype, account, region, rid) in released_ids or not alive(rtype, resource):
                continue
            for m in memberships(rtype, resource):
                net.members.setdefault(m.group, []).append(
                    Member(m.group, rtype, account, region, rid, m.via, m.subnet, m.vpc, name)
                )
        for a, b, _ in links(tables):
            net.reach.setdefault(a, set()).add(b)
        net.held.sort()
        return net

    def holders_of(self, address: str) -> list[Held]:
        """Every holding of ``address`` (a delegated prefix holds each address in it)."""
        wanted = span(address)
        if wanted is None:
            return []
        return [h for h in self.held if (s := span(h.address)) is not None and s.contains(wanted)]

    def connected(self, vpc: str, other: str) -> bool:
        return other in self.reach.get(vpc, ())

    def ours_for(self, address: str, vpc: str) -> list[Held]:
        """The holdings that make ``address`` ours for a rule of a group in ``vpc`` (see the
        module's docstring); empty: the address is nobody's of ours in that network."""
        is_public = public(address)
        return [
            h
            for h in self.holders_of(address)
            if counts_for(is_public, h.vpc, vpc, self.connected(vpc, h.vpc))
        ]

    def group_vpc(self, group: str) -> str:
        """The VPC of a security group (a rule's own, or one it references), "" if unknown."""
        return self.groups.get(group_id(group), "")

    def members_of(self, group: str) -> list[Member]:
        return sorted(self.members.get(group_id(group), []))
