"""Every address a resource can hold is a holder with its kind (issue 11, item 7), snapshot
from the moto server, committed on backdated days and answered by ``history ip``.

On moto: secondary private addresses (``assign_private_ip_addresses``), IPv6 addresses
(``assign_ipv6_addresses``: moto drops ``Ipv6Addresses`` on ``run_instances``), an elastic IP
moving from one instance to another, a NAT gateway and its interface, and a load
balancer's interface. What moto does not do, the loopback proxy adds to its answers as AWS
sends them (element names from botocore's EC2 model, parsed by botocore like any answer):

* delegated prefixes: moto accepts ``assign_private_ip_addresses(Ipv4Prefixes=…)`` and
  ``assign_ipv6_addresses(Ipv6Prefixes=…)`` and ignores them; AWS lists them in
  ``ipv4PrefixSet`` / ``ipv6PrefixSet`` of the interface, in DescribeNetworkInterfaces and in
  DescribeInstances;
* the interfaces AWS services make: moto's NAT gateway interface is an ordinary one and its
  load balancers have none; AWS's are requester-managed, the NAT gateway's of type
  ``natGateway`` described ``Interface for NAT Gateway nat-…``, an application load
  balancer's described ``ELB app/NAME/ID`` (made here with ``create_network_interface``).
"""

from __future__ import annotations

import ipaddress
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.demo import environment
from driftaudit.schemas import errors
from tests.conftest import FAKE_ENV
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import REGION, git, run
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]
TYPES = "instances,network_interfaces,elastic_ips,nat_gateways,load_balancers,security_groups"
DAYS = ("2026-11-01T06:00:00+00:00", "2026-11-02T06:00:00+00:00", "2026-11-03T06:00:00+00:00")
WEB1, WEB2, SECONDARY, LB_PRIVATE = "10.191.12.10", "10.191.12.11", "10.191.12.50", "10.191.12.200"
PREFIX4 = "10.191.12.16/28"


@dataclass
class Estate:
    snaps: Path
    ids: dict[str, str]  # what the story made, by name
    addresses: dict[str, str]  # the addresses it asks about, by name

    def holders(self, capsys: Capsys, address: str, *args: str) -> list[dict[str, Any]]:
        code, out, err = run(
            capsys, "history", "ip", address, "-C", str(self.snaps), "--format", "json", *args
        )
        assert code == 0, err
        result = json.loads(out)
        assert errors("history", result) == []
        return list(result["holders"])


def as_aws_sends_it(changes: dict[str, dict[str, Any]]) -> Any:
    """A rewrite of DescribeNetworkInterfaces and DescribeInstances answers: for each
    interface id, members set (``requesterManaged``...) or prefix sets added
    (``ipv4PrefixSet``: a list of prefixes), in the answer's own XML namespace."""

    def rewrite(body: bytes) -> bytes:
        root = ET.fromstring(body)
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        ET.register_namespace("", ns.strip("{}"))
        for item in root.iter(f"{ns}item"):
            eni = item.findtext(f"{ns}networkInterfaceId")
            if eni not in changes or item.find(f"{ns}privateIpAddress") is None:
                continue  # only the interface itself, not a reference to it
            for name, value in changes[eni].items():
                if isinstance(value, list):
                    member = name.replace("Set", "")  # ipv4PrefixSet -> ipv4Prefix
                    listed = ET.SubElement(item, f"{ns}{name}")
                    for prefix in value:
                        entry = ET.SubElement(listed, f"{ns}item")
                        ET.SubElement(entry, f"{ns}{member}").text = prefix
                else:
                    element = item.find(f"{ns}{name}")
                    if element is None:
                        element = ET.SubElement(item, f"{ns}{name}")
                    element.text = value
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))

    return rewrite


@pytest.fixture(scope="module")
def estate(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with environment(FAKE_ENV):
        yield make_estate(moto_server, tmp_path_factory.mktemp("holders") / "snaps")


def make_estate(moto_server: MotoServer, snaps: Path) -> Estate:
    moto_server.reset()
    ec2 = boto3.client("ec2", endpoint_url=moto_server.url, region_name=REGION)
    elbv2 = boto3.client("elbv2", endpoint_url=moto_server.url, region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.191.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vpc_id = vpc["VpcId"]
    block6 = ipaddress.ip_network(vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"])
    subnet6 = next(block6.subnets(new_prefix=64))
    subnet = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.191.12.0/24",
        Ipv6CidrBlock=str(subnet6),
        AvailabilityZone="us-east-1a",
    )["Subnet"]["SubnetId"]
    other = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.191.13.0/24", AvailabilityZone="us-east-1b"
    )["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc_id)["GroupId"]

    def launch(name: str, address: str) -> tuple[str, str]:
        made = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            PrivateIpAddress=address,
            SecurityGroupIds=[web],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
            ],
        )["Instances"][0]
        return made["InstanceId"], made["NetworkInterfaces"][0]["NetworkInterfaceId"]

    web1, eni1 = launch("web-1", WEB1)
    web2, _ = launch("web-2", WEB2)
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni1, PrivateIpAddresses=[SECONDARY])
    ipv6 = str(subnet6[0xABCD])
    ec2.assign_ipv6_addresses(NetworkInterfaceId=eni1, Ipv6Addresses=[ipv6])
    prefix6 = str(list(subnet6.subnets(new_prefix=80))[1])
    eip = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=web1)
    nat_eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=nat_eip["AllocationId"])
    nat_id = nat["NatGateway"]["NatGatewayId"]
    nat_address = nat["NatGateway"]["NatGatewayAddresses"][0]
    lb_arn = elbv2.create_load_balancer(
        Name="web", Subnets=[subnet, other], SecurityGroups=[web], Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    lb_name = lb_arn.split(":loadbalancer/", 1)[1]  # app/web/50dc6c495c0c9188
    lb_eni = ec2.create_network_interface(
        SubnetId=subnet, PrivateIpAddress=LB_PRIVATE, Description=f"ELB {lb_name}"
    )["NetworkInterface"]["NetworkInterfaceId"]
    rewrite = as_aws_sends_it(
        {
            eni1: {"ipv4PrefixSet": [PREFIX4], "ipv6PrefixSet": [prefix6]},
            nat_address["NetworkInterfaceId"]: {
                "interfaceType": "natGateway",
                "description": f"Interface for NAT Gateway {nat_id}",
                "requesterManaged": "true",
            },
            lb_eni: {"requesterManaged": "true"},
        }
    )
    with FaultProxy(
        moto_server.url,
        rewrite={"ec2:DescribeNetworkInterfaces": rewrite, "ec2:DescribeInstances": rewrite},
    ) as proxy:

        def snapshot(day: int) -> None:
            with environment({"GIT_AUTHOR_DATE": DAYS[day], "GIT_COMMITTER_DATE": DAYS[day]}):
                proc = run_snapshot(proxy.url, snaps)
            assert proc == 0

        snapshot(0)
        # Day 2: the elastic IP moves from web-1 to web-2. (moto's AllowReassociation leaves
        # it on web-1's interface too; AWS moves it: disassociating first is the same move.)
        association = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])
        ec2.disassociate_address(AssociationId=association["Addresses"][0]["AssociationId"])
        ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=web2)
        snapshot(1)
        # Day 3: web-1 terminated, its addresses and prefixes released.
        ec2.terminate_instances(InstanceIds=[web1])
        snapshot(2)
    return Estate(
        snaps,
        {
            "web-1": web1,
            "web-2": web2,
            "eni-1": eni1,
            "eip": eip["AllocationId"],
            "nat": nat_id,
            "nat-eip": nat_eip["AllocationId"],
            "nat-eni": nat_address["NetworkInterfaceId"],
            "lb": lb_name,
            "lb-eni": lb_eni,
        },
        {
            "ipv6": ipv6,
            "in-prefix6": str(ipaddress.ip_network(prefix6)[7]),
            "prefix6": prefix6,
            "public": eip["PublicIp"],
            "nat-private": nat_address["PrivateIp"],
            "nat-public": nat_address["PublicIp"],
        },
    )


def run_snapshot(endpoint: str, snaps: Path) -> int:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "driftaudit", "snapshot", REGION, "--endpoint-url", endpoint,
         "-o", str(snaps), "--commit", "-q", "--type", TYPES],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert proc.stderr == "", proc.stderr
    return proc.returncode


def times(estate: Estate) -> list[str]:
    from driftaudit.times import iso

    return [iso(int(t)) for t in git(estate.snaps, "log", "--reverse", "--format=%ct").split()]


def held(holders: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(h["type"], h["id"], h["address"]) for h in holders}


def test_secondary_private_address(estate: Estate, capsys: Capsys) -> None:
    ids = estate.ids
    holders = estate.holders(capsys, SECONDARY)
    assert held(holders) == {
        ("instances", ids["web-1"], SECONDARY),
        ("network_interfaces", ids["eni-1"], SECONDARY),
    }
    t = times(estate)
    for h in holders:  # held from the first snapshot, released when web-1 was terminated
        assert h["start"]["last_without"] is None and h["start"]["first_with"] == t[0]
        assert (h["end"]["last_with"], h["end"]["first_without"]) == (t[1], t[2])


def test_ipv6_address_assigned_after_launch(estate: Estate, capsys: Capsys) -> None:
    ids, address = estate.ids, estate.addresses["ipv6"]
    holders = estate.holders(capsys, address)
    assert held(holders) == {
        ("instances", ids["web-1"], address),
        ("network_interfaces", ids["eni-1"], address),
    }
    assert {h["scope"] for h in holders} == {"ipv6"}


def test_delegated_prefixes_hold_every_address_in_them(estate: Estate, capsys: Capsys) -> None:
    ids = estate.ids
    inside = str(ipaddress.ip_network(PREFIX4)[5])  # 10.191.12.21
    assert held(estate.holders(capsys, inside)) == {
        ("instances", ids["web-1"], PREFIX4),
        ("network_interfaces", ids["eni-1"], PREFIX4),
    }
    prefix6 = estate.addresses["prefix6"]
    holders = estate.holders(capsys, estate.addresses["in-prefix6"])
    assert held(holders) == {
        ("instances", ids["web-1"], prefix6),
        ("network_interfaces", ids["eni-1"], prefix6),
    }
    assert {h["scope"] for h in holders} == {"ipv6-prefix"}
    # Just outside the /28: nobody's.
    assert estate.holders(capsys, str(ipaddress.ip_address("10.191.12.32"))) == []


def test_elastic_ip_moving_between_instances(estate: Estate, capsys: Capsys) -> None:
    ids, public = estate.ids, estate.addresses["public"]
    holders = estate.holders(capsys, public)
    t = times(estate)
    spans: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for h in holders:
        spans.setdefault((h["type"], h["id"]), []).append(
            (h["start"]["first_with"], h["end"]["first_without"])
        )
    # web-1 until the move, web-2 from it; the allocation throughout (through one, then the
    # other: a holder row per instance it went through).
    assert spans[("instances", ids["web-1"])] == [(t[0], t[1])]
    assert spans[("instances", ids["web-2"])] == [(t[1], None)]
    allocation = sorted(spans[("elastic_ips", ids["eip"])])
    assert allocation[0][0] == t[0] and allocation[-1][1] is None
    # --at names the holder of that day.
    at_day1 = {(h["type"], h["id"]) for h in estate.holders(capsys, public, "--at", t[0])}
    assert ("instances", ids["web-1"]) in at_day1 and ("instances", ids["web-2"]) not in at_day1
    at_day2 = {(h["type"], h["id"]) for h in estate.holders(capsys, public, "--at", t[1])}
    assert ("instances", ids["web-2"]) in at_day2 and ("instances", ids["web-1"]) not in at_day2


def test_nat_gateway_and_its_interface(estate: Estate, capsys: Capsys) -> None:
    ids = estate.ids
    private, public = estate.addresses["nat-private"], estate.addresses["nat-public"]
    assert {("nat_gateways", ids["nat"]), ("network_interfaces", ids["nat-eni"])} <= {
        (h["type"], h["id"]) for h in estate.holders(capsys, private)
    }
    assert {
        ("nat_gateways", ids["nat"]),
        ("elastic_ips", ids["nat-eip"]),
        ("network_interfaces", ids["nat-eni"]),
    } <= {(h["type"], h["id"]) for h in estate.holders(capsys, public)}


def test_load_balancer_interface(estate: Estate, capsys: Capsys) -> None:
    assert held(estate.holders(capsys, LB_PRIVATE)) == {
        ("network_interfaces", estate.ids["lb-eni"], LB_PRIVATE)
    }


def test_every_holder_names_its_kind(estate: Estate, capsys: Capsys) -> None:
    ids, a = estate.ids, estate.addresses
    nat_interface = f"NAT gateway {ids['nat']} interface"
    lb_interface = f"load balancer {ids['lb']} interface"
    expected = {
        SECONDARY: {
            ("instances", ids["web-1"], "secondary private"),
            ("network_interfaces", ids["eni-1"], "secondary private"),
        },
        a["ipv6"]: {
            ("instances", ids["web-1"], "IPv6"),
            ("network_interfaces", ids["eni-1"], "IPv6"),
        },
        "10.191.12.21": {
            ("instances", ids["web-1"], "delegated IPv4 prefix"),
            ("network_interfaces", ids["eni-1"], "delegated IPv4 prefix"),
        },
        a["in-prefix6"]: {
            ("instances", ids["web-1"], "delegated IPv6 prefix"),
            ("network_interfaces", ids["eni-1"], "delegated IPv6 prefix"),
        },
        a["public"]: {
            ("elastic_ips", ids["eip"], "elastic IP"),
            ("instances", ids["web-1"], "elastic IP"),
            ("instances", ids["web-2"], "elastic IP"),
            ("network_interfaces", ids["eni-1"], "elastic IP"),
        },
        a["nat-private"]: {
            ("nat_gateways", ids["nat"], "primary private"),
            ("network_interfaces", ids["nat-eni"], f"primary private ({nat_interface})"),
            ("elastic_ips", ids["nat-eip"], "associated private"),
        },
        a["nat-public"]: {
            ("nat_gateways", ids["nat"], "elastic IP"),
            ("elastic_ips", ids["nat-eip"], "elastic IP"),
            ("network_interfaces", ids["nat-eni"], f"elastic IP ({nat_interface})"),
        },
        LB_PRIVATE: {("network_interfaces", ids["lb-eni"], f"primary private ({lb_interface})")},
    }
    for address, kinds in expected.items():
        found = {(h["type"], h["id"], h.get("kind")) for h in estate.holders(capsys, address)}
        assert kinds <= found, address
