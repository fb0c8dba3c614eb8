"""driftaudit.network, pure: where each holding is (VPC, kind), which VPCs reach each other,
whether an address is ours for a rule's network, group memberships, network ACL verdicts.

Documents are built as snapshot files hold them (tests/support/gitsnap.doc: the collectors'
canonical form in the envelope)."""

from __future__ import annotations

from typing import Any

from driftaudit.history.rules import span
from driftaudit.network import (
    AclEntry,
    Membership,
    Network,
    acl_entries,
    acl_verdict,
    decide,
    flows,
    links,
    memberships,
    route_targets,
)
from driftaudit.rule import Rule
from tests.support.gitsnap import doc

PROD, STAGING, PEER = "vpc-0aaa000000000prod", "vpc-0bbb0000000stage", "vpc-0ccc000000000peer"
STAGING_ACCOUNT = "210987654321"


def eni(eni_id: str, ip: str, vpc: str, subnet: str = "subnet-1", **extra: Any) -> dict[str, Any]:
    return {
        "NetworkInterfaceId": eni_id,
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
        "SubnetId": subnet,
        "VpcId": vpc,
        **extra,
    }


def instance(iid: str, ip: str, vpc: str, name: str, **eni_extra: Any) -> dict[str, Any]:
    interface = eni(f"eni-{iid[2:]}", ip, vpc, **eni_extra)
    interface["Attachment"] = {"DeviceIndex": 0, "Status": "attached"}
    return {
        "InstanceId": iid,
        "State": {"Name": "running"},
        "PrivateIpAddress": ip,
        "SubnetId": "subnet-1",
        "VpcId": vpc,
        "NetworkInterfaces": [interface],
        "Tags": {"Name": name},
    }


def in_account(document: dict[str, Any], account: str) -> dict[str, Any]:
    return {**document, "account": account}


def route_table(rtb: str, vpc: str, **target: str) -> dict[str, Any]:
    return {
        "RouteTableId": rtb,
        "VpcId": vpc,
        "Routes": [{"DestinationCidrBlock": "10.0.0.0/8", "State": "active", **target}],
    }


def test_the_vpc_of_each_holding() -> None:
    inst = instance("i-0web", "10.191.12.40", PROD, "web-1")
    # A second interface in another VPC (multi-VPC attachment): its address is there.
    inst["NetworkInterfaces"].append(eni("eni-0second", "10.50.0.9", PEER))
    docs = [
        doc("instances", inst),
        doc(
            "elastic_ips",
            {"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.7", "InstanceId": "i-0web"},
        ),
        doc(
            "elastic_ips",
            {
                "AllocationId": "eipalloc-2",
                "PublicIp": "198.51.100.8",
                "NetworkInterfaceId": "eni-0second",
            },
        ),
        doc(
            "nat_gateways",
            {
                "NatGatewayId": "nat-1",
                "VpcId": PROD,
                "NatGatewayAddresses": [{"PrivateIp": "10.191.0.5", "IsPrimary": True}],
            },
        ),
        doc(
            "load_balancers",
            {"Kind": "classic", "LoadBalancerName": "old", "VPCId": PEER, "Tags": {}},
        ),
    ]
    net = Network.of(docs)
    where = {(h.id, h.address): h.vpc for h in net.held}
    assert where[("i-0web", "10.191.12.40")] == PROD
    assert where[("i-0web", "10.50.0.9")] == PEER
    assert where[("eipalloc-1", "198.51.100.7")] == PROD  # through its instance
    assert where[("eipalloc-2", "198.51.100.8")] == PEER  # through its interface
    assert where[("nat-1", "10.191.0.5")] == PROD
    names = {h.id: h.name for h in net.held}
    assert names["i-0web"] == "web-1"


def test_each_holding_has_its_kind() -> None:
    inst = instance("i-0a", "10.0.0.1", PROD, "app")
    nic = inst["NetworkInterfaces"][0]
    nic["PrivateIpAddresses"].append({"Primary": False, "PrivateIpAddress": "10.0.0.2"})
    nic["Association"] = {"PublicIp": "198.51.100.1", "IpOwnerId": "amazon"}
    nic["Ipv6Addresses"] = [{"Ipv6Address": "2001:db8::1"}]
    nic["Ipv4Prefixes"] = [{"Ipv4Prefix": "10.0.8.16/28"}]
    nat_nic = eni(
        "eni-0nat",
        "10.0.1.5",
        PROD,
        InterfaceType="natGateway",
        RequesterManaged=True,
        Description="Interface for NAT Gateway nat-0a1b2c",
    )
    alb_nic = eni(
        "eni-0alb",
        "10.0.1.6",
        PROD,
        RequesterManaged=True,
        Description="ELB app/web/50dc6c495c0c9188",
    )
    user_nic = eni(
        "eni-0user", "10.0.1.7", PROD, Description="ELB app/made/up", InterfaceType="interface"
    )
    eip = {
        "AllocationId": "eipalloc-1",
        "PublicIp": "198.51.100.9",
        "PrivateIpAddress": "10.0.0.1",
        "InstanceId": "i-0a",
    }
    net = Network.of(
        [doc("instances", inst), doc("elastic_ips", eip)]
        + [doc("network_interfaces", n) for n in (nat_nic, alb_nic, user_nic)]
    )
    kinds = {(h.id, h.address): h.kind for h in net.held}
    assert kinds[("i-0a", "10.0.0.1")] == "primary private"
    assert kinds[("i-0a", "10.0.0.2")] == "secondary private"
    assert kinds[("i-0a", "198.51.100.1")] == "public"
    assert kinds[("i-0a", "2001:db8::1")] == "IPv6"
    assert kinds[("i-0a", "10.0.8.16/28")] == "delegated IPv4 prefix"
    assert kinds[("eipalloc-1", "198.51.100.9")] == "elastic IP"
    assert kinds[("eipalloc-1", "10.0.0.1")] == "associated private"
    assert kinds[("eni-0nat", "10.0.1.5")] == "primary private (NAT gateway nat-0a1b2c interface)"
    assert kinds[("eni-0alb", "10.0.1.6")] == (
        "primary private (load balancer app/web/50dc6c495c0c9188 interface)"
    )
    # A user's own description is user text: never part of an answer's kind.
    assert kinds[("eni-0user", "10.0.1.7")] == "primary private"
    # An address inside a delegated prefix is held by it.
    assert [h.kind for h in net.holders_of("10.0.8.20")] == ["delegated IPv4 prefix"]


def test_overlapping_private_ranges_are_scoped_by_network() -> None:
    """The issue's case: 10.191.12.99 held by a staging instance in another account's VPC
    with the same CIDR is not ours for prod's rule; a peered VPC's is."""
    staging = in_account(
        doc("instances", instance("i-0stage", "10.191.12.99", STAGING, "staging-1")),
        STAGING_ACCOUNT,
    )
    net = Network.of([staging])
    assert [h.id for h in net.holders_of("10.191.12.99")] == ["i-0stage"]
    assert net.ours_for("10.191.12.99", PROD) == []
    assert [h.id for h in net.ours_for("10.191.12.99", STAGING)] == ["i-0stage"]
    # Peered: both route tables go through the same peering connection.
    peered = Network.of(
        [
            staging,
            doc("route_tables", route_table("rtb-1", PROD, VpcPeeringConnectionId="pcx-1")),
            in_account(
                doc("route_tables", route_table("rtb-2", STAGING, VpcPeeringConnectionId="pcx-1")),
                STAGING_ACCOUNT,
            ),
        ]
    )
    assert [h.id for h in peered.ours_for("10.191.12.99", PROD)] == ["i-0stage"]
    # A public address is ours wherever we hold it.
    inst = instance("i-0pub", "10.9.0.1", STAGING, "pub")
    inst["PublicIpAddress"] = "198.51.100.99"
    pub = Network.of([doc("instances", inst)])
    assert [h.id for h in pub.ours_for("198.51.100.99", PROD)] == ["i-0pub"]
    # A holder whose VPC no document shows counts in every network.
    bare = instance("i-0bare", "10.191.12.98", "", "bare")
    bare.pop("VpcId")
    assert [h.id for h in Network.of([doc("instances", bare)]).ours_for("10.191.12.98", PROD)] == [
        "i-0bare"
    ]


def test_vpc_links_through_peering_and_transit_gateways() -> None:
    tables = [
        (PROD, route_targets(route_table("r1", PROD, VpcPeeringConnectionId="pcx-1"))),
        (PEER, route_targets(route_table("r2", PEER, VpcPeeringConnectionId="pcx-1"))),
        (PEER, route_targets(route_table("r3", PEER, VpcPeeringConnectionId="pcx-2"))),
        (STAGING, route_targets(route_table("r4", STAGING, VpcPeeringConnectionId="pcx-2"))),
        ("vpc-t1", route_targets(route_table("r5", "vpc-t1", TransitGatewayId="tgw-1"))),
        ("vpc-t2", route_targets(route_table("r6", "vpc-t2", TransitGatewayId="tgw-1"))),
    ]
    found = links(tables)
    assert (PROD, PEER, "pcx-1") in found and (PEER, PROD, "pcx-1") in found
    assert ("vpc-t1", "vpc-t2", "tgw-1") in found
    # Peering is not transitive: PROD - PEER - STAGING does not connect PROD and STAGING.
    assert not any(a == PROD and b == STAGING for a, b, _ in found)
    # A blackhole route's target is gone.
    gone = route_table("r7", PROD, VpcPeeringConnectionId="pcx-9")
    gone["Routes"][0]["State"] = "blackhole"
    assert route_targets(gone) == frozenset()
    # One side only: no link.
    assert links([(PROD, {"pcx-3"})]) == set()


def test_released_interfaces_hold_nothing_and_are_in_no_group() -> None:
    inst = instance("i-0gone", "10.0.0.3", PROD, "gone")
    inst["State"] = {"Name": "terminated"}
    nic = eni("eni-0gone", "10.0.0.3", PROD, Groups=[{"GroupId": "sg-0web"}])
    nic["Attachment"] = {"InstanceId": "i-0gone", "InstanceOwnerId": "123456789012"}
    net = Network.of([doc("instances", inst), doc("network_interfaces", nic)])
    assert net.holders_of("10.0.0.3") == []
    assert net.members_of("sg-0web") == []


def test_group_memberships() -> None:
    inst = instance("i-0web", "10.0.0.4", PROD, "web-1", Groups=[{"GroupId": "sg-0web"}])
    assert memberships("instances", inst) == [Membership("sg-0web", "eni-0web", "subnet-1", PROD)]
    # Without interfaces: the instance's own SecurityGroups.
    bare = {**inst, "NetworkInterfaces": [], "SecurityGroups": [{"GroupId": "sg-0db"}]}
    assert memberships("instances", bare) == [Membership("sg-0db", "", "subnet-1", PROD)]
    nic = eni("eni-0x", "10.0.0.5", PROD, Groups=[{"GroupId": "sg-0web"}])
    net = Network.of([doc("instances", inst), doc("network_interfaces", nic)])
    assert [(m.type, m.id, m.name) for m in net.members_of("111122223333/sg-0web")] == [
        ("instances", "i-0web", "web-1"),
        ("network_interfaces", "eni-0x", ""),
    ]


def acl(*entries: tuple[bool, int, str, str, str, tuple[int, int] | None]) -> list[AclEntry]:
    out = []
    for egress, number, action, protocol, cidr, ports in entries:
        entry: dict[str, Any] = {
            "Egress": egress,
            "RuleNumber": number,
            "RuleAction": action,
            "Protocol": protocol,
            "CidrBlock" if ":" not in cidr else "Ipv6CidrBlock": cidr,
        }
        if ports:
            entry["PortRange"] = {"From": ports[0], "To": ports[1]}
        out.append(entry)
    return acl_entries({"Entries": out})


SOURCE = span("10.191.12.40")
assert SOURCE is not None
OPEN_OUT = (True, 100, "allow", "-1", "0.0.0.0/0", None)


def test_acl_entries_in_order_first_match_decides() -> None:
    ssh = Rule.from_dict(
        {"Direction": "ingress", "Protocol": "tcp", "FromPort": 22, "ToPort": 22,
         "SourceType": "cidr", "Source": "10.191.12.40/32"}
    )  # fmt: skip
    traffic = flows(ssh, 22)
    assert traffic == [("tcp", 22, 22)]
    entries = acl(
        (False, 90, "deny", "6", "10.191.12.40/32", (22, 22)),
        (False, 100, "allow", "-1", "0.0.0.0/0", None),
        OPEN_OUT,
    )
    verdict = acl_verdict("acl-1", entries, SOURCE, traffic)
    assert verdict is not None and not verdict.allowed
    assert verdict.text == "denied by acl-1 inbound rule 90"
    # Another address gets past rule 90.
    other = span("10.191.12.41")
    assert other is not None
    allowed = acl_verdict("acl-1", entries, other, traffic)
    assert allowed is not None and allowed.allowed
    assert allowed.text == "allowed by acl-1 (inbound rule 100, outbound rule 100)"
    # Stateless: the reply leaves for an ephemeral port, and may be denied.
    no_reply = acl(
        (False, 100, "allow", "6", "0.0.0.0/0", (22, 22)),
        (True, 100, "allow", "6", "0.0.0.0/0", (443, 443)),
    )
    v = acl_verdict("acl-2", no_reply, SOURCE, traffic)
    assert v is not None and not v.allowed
    assert v.text == "denied by acl-2 outbound rule * (the reply)"
    # An IPv6 entry never matches an IPv4 address; nothing matched: AWS's final * denies.
    v6 = acl((False, 100, "allow", "-1", "::/0", None), OPEN_OUT)
    assert decide(v6, False, SOURCE, ("tcp", 22, 22)).rule is None


def test_acl_partial_matches() -> None:
    # A deny of part of the range leaves the rest to the next entries.
    entries = acl(
        (False, 50, "deny", "6", "0.0.0.0/0", (0, 1023)),
        (False, 60, "allow", "6", "0.0.0.0/0", (1000, 2000)),
    )
    assert decide(entries, False, SOURCE, ("tcp", 0, 1023)).allowed is False
    assert decide(entries, False, SOURCE, ("tcp", 1000, 1100)).rule == 60
    # Any protocol: a tcp-only deny does not decide it; an all-traffic deny does.
    assert (
        decide(
            acl((False, 10, "deny", "6", "0.0.0.0/0", None)), False, SOURCE, ("-1", 0, 65535)
        ).rule
        is None
    )
    allow_udp = acl((False, 10, "allow", "17", "0.0.0.0/0", (53, 53)))
    assert decide(allow_udp, False, SOURCE, ("-1", 0, 65535)).allowed
    # A port in both tcp and udp: allowed if either gets through.
    dns = Rule.from_dict(
        {"Direction": "ingress", "Protocol": "-1", "SourceType": "cidr", "Source": "0.0.0.0/0"}
    )
    assert flows(dns, 53) == [("tcp", 53, 53), ("udp", 53, 53)]
    v = acl_verdict(
        "acl-3",
        allow_udp + acl((True, 10, "allow", "17", "0.0.0.0/0", None)),
        SOURCE,
        flows(dns, 53),
    )
    assert v is not None and v.allowed and v.inbound.rule == 10
