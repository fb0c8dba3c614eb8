"""Network collectors: interfaces, elastic IPs, VPCs, subnets, route tables, network ACLs,
internet gateways, NAT gateways.

moto (in-process) for what it models; Stubber-validated AWS-shaped pages for what it does
not: two pages with NextToken, prefix-list routes, gateway route-table associations,
private NAT gateways, IPv6 and ICMP ACL entries."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from driftaudit.canonical import dumps
from driftaudit.collect.collectors import (
    REGISTRY,
    elastic_ips,
    nat_gateways,
    network_interfaces,
)
from driftaudit.collect.collectors.base import ResourceType
from driftaudit.collect.engine import build_resources
from tests.support.collector_checks import (
    ACCOUNT,
    HOSTILE_TAGS,
    REGION,
    build_checked,
    ids_of,
    moto_clients,
    stubbed_fetch,
    tag_list,
    tag_spec,
    two_pages,
)

# 14:00 at UTC+2: must come out as 12:00Z.
T = dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def collect(rtype: ResourceType) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    raw = rtype.fetch(moto_clients)
    return raw, build_checked(rtype, raw)


def vpc_and_subnets(ec2: Any, count: int = 1) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subs = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(count)
    ]
    return vpc, subs


# --- AWS-shaped samples (each validated by Stubber in test_two_pages) -------------------

ENI_SAMPLES = [
    {
        "NetworkInterfaceId": "eni-0a1b2c3d4e5f60001",
        "SubnetId": "subnet-0a1b2c3d4e5f60001",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "AvailabilityZone": "us-east-1a",
        "Description": "Primary network interface",
        "InterfaceType": "interface",
        "MacAddress": "0a:1b:2c:3d:4e:5f",
        "OwnerId": ACCOUNT,
        "PrivateDnsName": "ip-10-0-1-10.ec2.internal",
        "PrivateIpAddress": "10.0.1.10",
        "RequesterId": "AIDAEXAMPLE",
        "RequesterManaged": False,
        "SourceDestCheck": True,
        "Status": "in-use",
        "Attachment": {
            "AttachTime": T,
            "AttachmentId": "eni-attach-0a1b2c3d4e5f60001",
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "NetworkCardIndex": 0,
            "InstanceId": "i-0a1b2c3d4e5f60001",
            "InstanceOwnerId": ACCOUNT,
            "Status": "attached",
        },
        "Groups": [
            {"GroupId": "sg-0bbbbbbbbbbbbbbbb", "GroupName": "web"},
            {"GroupId": "sg-0aaaaaaaaaaaaaaaa", "GroupName": "default"},
        ],
        "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::20"}, {"Ipv6Address": "2600:1f18::10"}],
        "PrivateIpAddresses": [
            {"Primary": False, "PrivateIpAddress": "10.0.1.11"},
            {"Primary": True, "PrivateIpAddress": "10.0.1.10"},
        ],
        "TagSet": tag_list(HOSTILE_TAGS),
    },
    {
        # An interface AWS manages for a NAT gateway: no instance, Amazon-owned public IP.
        "NetworkInterfaceId": "eni-0a1b2c3d4e5f60002",
        "SubnetId": "subnet-0a1b2c3d4e5f60001",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "AvailabilityZone": "us-east-1a",
        "Description": "Interface for NAT Gateway nat-0a1b2c3d4e5f60001",
        "InterfaceType": "nat_gateway",
        "OwnerId": ACCOUNT,
        "PrivateIpAddress": "10.0.1.99",
        "RequesterId": "amazon",
        "RequesterManaged": True,
        "SourceDestCheck": False,
        "Status": "in-use",
        "Association": {
            "AllocationId": "eipalloc-0a1b2c3d4e5f60001",
            "AssociationId": "eipassoc-0a1b2c3d4e5f60001",
            "IpOwnerId": "amazon",
            "PublicIp": "198.51.100.1",
        },
        "Attachment": {
            "AttachmentId": "ela-attach-0a1b2c3d4e5f60002",
            "DeviceIndex": 1,
            "InstanceOwnerId": "amazon-aws",
            "Status": "attached",
        },
        "Groups": [],
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.1.99"}],
        "TagSet": [],
    },
]

EIP_SAMPLES: list[dict[str, Any]] = [
    {
        "AllocationId": "eipalloc-0a1b2c3d4e5f60001",
        "AssociationId": "eipassoc-0a1b2c3d4e5f60001",
        "Domain": "vpc",
        "NetworkInterfaceId": "eni-0a1b2c3d4e5f60002",
        "NetworkInterfaceOwnerId": ACCOUNT,
        "PrivateIpAddress": "10.0.1.99",
        "PublicIp": "198.51.100.1",
        "PublicIpv4Pool": "amazon",
        "NetworkBorderGroup": "us-east-1",
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {
        "AllocationId": "eipalloc-0a1b2c3d4e5f60002",
        "Domain": "vpc",
        "PublicIp": "198.51.100.2",
        "PublicIpv4Pool": "amazon",
        "NetworkBorderGroup": "us-east-1",
    },
    # EC2-Classic: no AllocationId, left out.
    {"PublicIp": "198.51.100.3", "Domain": "standard", "InstanceId": "i-0a1b2c3d4e5f60009"},
]

VPC_SAMPLES = [
    {
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "CidrBlock": "10.0.0.0/16",
        "DhcpOptionsId": "dopt-0a1b2c3d4e5f60001",
        "InstanceTenancy": "default",
        "IsDefault": False,
        "OwnerId": ACCOUNT,
        "State": "available",
        "CidrBlockAssociationSet": [
            {
                "AssociationId": "vpc-cidr-assoc-0a1b2c3d4e5f60002",
                "CidrBlock": "10.1.0.0/16",
                "CidrBlockState": {"State": "associated"},
            },
            {
                "AssociationId": "vpc-cidr-assoc-0a1b2c3d4e5f60001",
                "CidrBlock": "10.0.0.0/16",
                "CidrBlockState": {"State": "associated"},
            },
        ],
        "Ipv6CidrBlockAssociationSet": [
            {
                "AssociationId": "vpc-cidr-assoc-0a1b2c3d4e5f60003",
                "Ipv6CidrBlock": "2600:1f18:1234:5600::/56",
                "Ipv6CidrBlockState": {"State": "associated"},
                "Ipv6Pool": "Amazon",
                "NetworkBorderGroup": "us-east-1",
            }
        ],
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {
        "VpcId": "vpc-0a1b2c3d4e5f60002",
        "CidrBlock": "172.31.0.0/16",
        "DhcpOptionsId": "dopt-0a1b2c3d4e5f60001",
        "InstanceTenancy": "default",
        "IsDefault": True,
        "OwnerId": ACCOUNT,
        "State": "available",
    },
]

SUBNET_SAMPLES = [
    {
        "SubnetId": "subnet-0a1b2c3d4e5f60001",
        "SubnetArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f60001",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "CidrBlock": "10.0.1.0/24",
        "AvailabilityZone": "us-east-1a",
        "AvailabilityZoneId": "use1-az1",
        "AvailableIpAddressCount": 247,
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "AssignIpv6AddressOnCreation": True,
        "Ipv6Native": False,
        "OwnerId": ACCOUNT,
        "State": "available",
        "Ipv6CidrBlockAssociationSet": [
            {
                "AssociationId": "subnet-cidr-assoc-0a1b2c3d4e5f60001",
                "Ipv6CidrBlock": "2600:1f18:1234:5601::/64",
                "Ipv6CidrBlockState": {"State": "associated"},
            }
        ],
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {
        "SubnetId": "subnet-0a1b2c3d4e5f60002",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "CidrBlock": "10.0.2.0/24",
        "AvailabilityZone": "us-east-1b",
        "AvailableIpAddressCount": 251,
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": True,
        "OwnerId": ACCOUNT,
        "State": "available",
    },
]

ROUTE_TABLE_SAMPLES = [
    {
        "RouteTableId": "rtb-0a1b2c3d4e5f60001",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "OwnerId": ACCOUNT,
        "Routes": [
            {
                "DestinationPrefixListId": "pl-63a5400a",
                "GatewayId": "vpce-0a1b2c3d4e5f60001",
                "Origin": "CreateRoute",
                "State": "active",
            },
            {
                "DestinationIpv6CidrBlock": "::/0",
                "EgressOnlyInternetGatewayId": "eigw-0a1b2c3d4e5f60001",
                "Origin": "CreateRoute",
                "State": "active",
            },
            {
                "DestinationCidrBlock": "192.168.0.0/16",
                "GatewayId": "vgw-0a1b2c3d4e5f60001",
                "Origin": "EnableVgwRoutePropagation",
                "State": "active",
            },
            {
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": "nat-0a1b2c3d4e5f60001",
                "Origin": "CreateRoute",
                "State": "blackhole",
            },
            {
                "DestinationCidrBlock": "10.0.0.0/16",
                "GatewayId": "local",
                "Origin": "CreateRouteTable",
                "State": "active",
            },
        ],
        "Associations": [
            {
                "RouteTableAssociationId": "rtbassoc-0a1b2c3d4e5f60003",
                "RouteTableId": "rtb-0a1b2c3d4e5f60001",
                "GatewayId": "igw-0a1b2c3d4e5f60001",
                "Main": False,
                "AssociationState": {"State": "associated"},
            },
            {
                "RouteTableAssociationId": "rtbassoc-0a1b2c3d4e5f60002",
                "RouteTableId": "rtb-0a1b2c3d4e5f60001",
                "SubnetId": "subnet-0a1b2c3d4e5f60002",
                "Main": False,
                "AssociationState": {"State": "associated"},
            },
            {
                "RouteTableAssociationId": "rtbassoc-0a1b2c3d4e5f60001",
                "RouteTableId": "rtb-0a1b2c3d4e5f60001",
                "SubnetId": "subnet-0a1b2c3d4e5f60001",
                "Main": False,
                "AssociationState": {"State": "associated"},
            },
        ],
        "PropagatingVgws": [{"GatewayId": "vgw-0a1b2c3d4e5f60001"}],
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {
        "RouteTableId": "rtb-0a1b2c3d4e5f60002",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "OwnerId": ACCOUNT,
        "Routes": [
            {
                "DestinationCidrBlock": "10.0.0.0/16",
                "GatewayId": "local",
                "Origin": "CreateRouteTable",
                "State": "active",
            }
        ],
        "Associations": [
            {
                "RouteTableAssociationId": "rtbassoc-0a1b2c3d4e5f60009",
                "RouteTableId": "rtb-0a1b2c3d4e5f60002",
                "Main": True,
                "AssociationState": {"State": "associated"},
            }
        ],
        "PropagatingVgws": [],
        "Tags": [],
    },
]

ACL_SAMPLES = [
    {
        "NetworkAclId": "acl-0a1b2c3d4e5f60001",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "IsDefault": False,
        "OwnerId": ACCOUNT,
        "Entries": [
            {
                "RuleNumber": 32767,
                "Egress": True,
                "Protocol": "-1",
                "RuleAction": "deny",
                "CidrBlock": "0.0.0.0/0",
            },
            {
                "RuleNumber": 100,
                "Egress": True,
                "Protocol": "-1",
                "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0",
            },
            {
                "RuleNumber": 110,
                "Egress": False,
                "Protocol": "6",
                "RuleAction": "allow",
                "Ipv6CidrBlock": "::/0",
                "PortRange": {"From": 443, "To": 443},
            },
            {
                "RuleNumber": 90,
                "Egress": False,
                "Protocol": "1",
                "RuleAction": "allow",
                "CidrBlock": "10.0.0.0/8",
                "IcmpTypeCode": {"Type": 8, "Code": -1},
            },
            {
                "RuleNumber": 32767,
                "Egress": False,
                "Protocol": "-1",
                "RuleAction": "deny",
                "CidrBlock": "0.0.0.0/0",
            },
        ],
        "Associations": [
            {
                "NetworkAclAssociationId": "aclassoc-0a1b2c3d4e5f60002",
                "NetworkAclId": "acl-0a1b2c3d4e5f60001",
                "SubnetId": "subnet-0a1b2c3d4e5f60002",
            },
            {
                "NetworkAclAssociationId": "aclassoc-0a1b2c3d4e5f60001",
                "NetworkAclId": "acl-0a1b2c3d4e5f60001",
                "SubnetId": "subnet-0a1b2c3d4e5f60001",
            },
        ],
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {
        "NetworkAclId": "acl-0a1b2c3d4e5f60002",
        "VpcId": "vpc-0a1b2c3d4e5f60002",
        "IsDefault": True,
        "OwnerId": ACCOUNT,
        "Entries": [],
        "Associations": [],
        "Tags": [],
    },
]

IGW_SAMPLES: list[dict[str, Any]] = [
    {
        "InternetGatewayId": "igw-0a1b2c3d4e5f60001",
        "OwnerId": ACCOUNT,
        # DescribeInternetGateways reports an attached gateway as "available".
        "Attachments": [{"State": "available", "VpcId": "vpc-0a1b2c3d4e5f60001"}],
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {"InternetGatewayId": "igw-0a1b2c3d4e5f60002", "OwnerId": ACCOUNT, "Attachments": []},
]

NAT_SAMPLES = [
    {
        "NatGatewayId": "nat-0a1b2c3d4e5f60001",
        "SubnetId": "subnet-0a1b2c3d4e5f60001",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "State": "available",
        "ConnectivityType": "public",
        "CreateTime": T,
        "NatGatewayAddresses": [
            {
                "AllocationId": "eipalloc-0a1b2c3d4e5f60002",
                "NetworkInterfaceId": "eni-0a1b2c3d4e5f60002",
                "PrivateIp": "10.0.1.120",
                "PublicIp": "198.51.100.2",
                "AssociationId": "eipassoc-0a1b2c3d4e5f60002",
                "IsPrimary": False,
                "Status": "succeeded",
            },
            {
                "AllocationId": "eipalloc-0a1b2c3d4e5f60001",
                "NetworkInterfaceId": "eni-0a1b2c3d4e5f60002",
                "PrivateIp": "10.0.1.99",
                "PublicIp": "198.51.100.1",
                "AssociationId": "eipassoc-0a1b2c3d4e5f60001",
                "IsPrimary": True,
                "Status": "succeeded",
            },
        ],
        "Tags": tag_list(HOSTILE_TAGS),
    },
    {
        # A private NAT gateway has no Elastic IP.
        "NatGatewayId": "nat-0a1b2c3d4e5f60002",
        "SubnetId": "subnet-0a1b2c3d4e5f60002",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "State": "pending",
        "ConnectivityType": "private",
        "CreateTime": T,
        "NatGatewayAddresses": [
            {
                "NetworkInterfaceId": "eni-0a1b2c3d4e5f60003",
                "PrivateIp": "10.0.2.50",
                "IsPrimary": True,
                "Status": "assigning",
            }
        ],
    },
    {
        "NatGatewayId": "nat-0a1b2c3d4e5f60003",
        "SubnetId": "subnet-0a1b2c3d4e5f60002",
        "VpcId": "vpc-0a1b2c3d4e5f60001",
        "State": "deleted",
        "ConnectivityType": "public",
        "CreateTime": T,
        "DeleteTime": T,
        "NatGatewayAddresses": [],
    },
]

# (type, operation, result key, AWS-shaped items, ids expected after transform)
SAMPLES: list[tuple[ResourceType, str, str, list[dict[str, Any]], set[str]]] = [
    (
        network_interfaces.RESOURCE,
        "describe_network_interfaces",
        "NetworkInterfaces",
        ENI_SAMPLES,
        {"eni-0a1b2c3d4e5f60001", "eni-0a1b2c3d4e5f60002"},
    ),
    (
        elastic_ips.RESOURCE,
        "describe_addresses",
        "Addresses",
        EIP_SAMPLES,
        {"eipalloc-0a1b2c3d4e5f60001", "eipalloc-0a1b2c3d4e5f60002"},
    ),
    (
        REGISTRY["vpcs"],
        "describe_vpcs",
        "Vpcs",
        VPC_SAMPLES,
        {"vpc-0a1b2c3d4e5f60001", "vpc-0a1b2c3d4e5f60002"},
    ),
    (
        REGISTRY["subnets"],
        "describe_subnets",
        "Subnets",
        SUBNET_SAMPLES,
        {"subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"},
    ),
    (
        REGISTRY["route_tables"],
        "describe_route_tables",
        "RouteTables",
        ROUTE_TABLE_SAMPLES,
        {"rtb-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60002"},
    ),
    (
        REGISTRY["network_acls"],
        "describe_network_acls",
        "NetworkAcls",
        ACL_SAMPLES,
        {"acl-0a1b2c3d4e5f60001", "acl-0a1b2c3d4e5f60002"},
    ),
    (
        REGISTRY["internet_gateways"],
        "describe_internet_gateways",
        "InternetGateways",
        IGW_SAMPLES,
        {"igw-0a1b2c3d4e5f60001", "igw-0a1b2c3d4e5f60002"},
    ),
    (
        nat_gateways.RESOURCE,
        "describe_nat_gateways",
        "NatGateways",
        NAT_SAMPLES,
        {"nat-0a1b2c3d4e5f60001", "nat-0a1b2c3d4e5f60002"},
    ),
]
SAMPLE_IDS = [s[0].name for s in SAMPLES]


def pages_of(operation: str, key: str, items: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    # DescribeAddresses is not paginated: one call returns every address.
    if boto3.client("ec2", region_name=REGION).can_paginate(operation):
        return two_pages(operation, key, items)
    return [(operation, {key: items})]


def stubbed(rtype: ResourceType) -> dict[str, dict[str, Any]]:
    """The canonical resources of a type's AWS-shaped samples."""
    for sample_type, operation, key, items, _ in SAMPLES:
        if sample_type is rtype:
            return build_checked(rtype, stubbed_fetch(rtype, pages_of(operation, key, items)))
    raise KeyError(rtype.name)


# --- every type, AWS-shaped -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rtype", "operation", "key", "items", "expected"), SAMPLES, ids=SAMPLE_IDS
)
def test_stubbed_pages_give_every_item(
    rtype: ResourceType, operation: str, key: str, items: list[Any], expected: set[str]
) -> None:
    raw = stubbed_fetch(rtype, pages_of(operation, key, items))
    assert raw == items
    resources = build_checked(rtype, raw)
    assert set(resources) == expected
    tagged = [r for r in resources.values() if r["Tags"]]
    assert [r["Tags"] for r in tagged] == [HOSTILE_TAGS]


@pytest.mark.parametrize(
    ("rtype", "operation", "key", "items", "expected"), SAMPLES, ids=SAMPLE_IDS
)
def test_transform_is_pure(
    rtype: ResourceType, operation: str, key: str, items: list[Any], expected: set[str]
) -> None:
    for item in items:
        before = copy.deepcopy(item)
        rtype.transform(item)
        build_resources(rtype, [item])
        assert item == before


def test_registered() -> None:
    from driftaudit.collect.collectors import REGISTRY

    for rtype, *_ in SAMPLES:
        assert REGISTRY[rtype.name] is rtype
        assert rtype.services == ("ec2",)


# --- network interfaces -----------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_network_interfaces_moto(ec2: Any) -> None:
    vpc, (subnet,) = vpc_and_subnets(ec2)
    groups = [
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("web", "db")
    ]
    eni = ec2.create_network_interface(
        SubnetId=subnet,
        Groups=groups,
        PrivateIpAddresses=[
            {"PrivateIpAddress": "10.0.0.50", "Primary": True},
            {"PrivateIpAddress": "10.0.0.9", "Primary": False},
            {"PrivateIpAddress": "10.0.0.200", "Primary": False},
        ],
        TagSpecifications=tag_spec("network-interface"),
    )["NetworkInterface"]["NetworkInterfaceId"]
    other = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    raw, resources = collect(network_interfaces.RESOURCE)
    assert set(resources) == {eni, other} == ids_of(raw, "NetworkInterfaceId")
    r = resources[eni]
    assert "TagSet" in raw[0] and "TagSet" not in r
    assert r["Tags"] == HOSTILE_TAGS
    assert resources[other]["Tags"] == {}
    assert [g["GroupId"] for g in r["Groups"]] == sorted(groups)
    assert [p["PrivateIpAddress"] for p in r["PrivateIpAddresses"]] == [
        "10.0.0.200",
        "10.0.0.50",
        "10.0.0.9",
    ]
    assert r["PrivateIpAddress"] == "10.0.0.50"


def test_network_interfaces_aws_shapes() -> None:
    resources = stubbed(network_interfaces.RESOURCE)
    r = resources["eni-0a1b2c3d4e5f60001"]
    assert r["Attachment"]["AttachTime"] == "2024-05-01T12:00:00Z"
    assert [a["Ipv6Address"] for a in r["Ipv6Addresses"]] == ["2600:1f18::10", "2600:1f18::20"]
    assert [g["GroupName"] for g in r["Groups"]] == ["default", "web"]
    assert resources["eni-0a1b2c3d4e5f60002"]["RequesterManaged"] is True


# --- elastic IPs ------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_elastic_ips_moto(ec2: Any) -> None:
    _, (subnet,) = vpc_and_subnets(ec2)
    tagged = ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip"))
    plain = ec2.allocate_address(Domain="vpc")
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.associate_address(AllocationId=plain["AllocationId"], NetworkInterfaceId=eni)
    classic = ec2.allocate_address(Domain="standard")
    raw, resources = collect(elastic_ips.RESOURCE)
    # The EC2-Classic address was listed, without an AllocationId, and left out.
    assert [a for a in raw if a["PublicIp"] == classic["PublicIp"]][0].get("AllocationId") is None
    assert set(resources) == {tagged["AllocationId"], plain["AllocationId"]}
    assert resources[tagged["AllocationId"]]["Tags"] == HOSTILE_TAGS
    assert resources[plain["AllocationId"]]["NetworkInterfaceId"] == eni


# --- VPCs -------------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_vpcs_moto(ec2: Any) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tag_spec("vpc"))["Vpc"]
    for cidr in ("10.2.0.0/16", "10.1.0.0/16"):
        ec2.associate_vpc_cidr_block(VpcId=vpc["VpcId"], CidrBlock=cidr)
    raw, resources = collect(REGISTRY["vpcs"])
    default = [v["VpcId"] for v in raw if v["IsDefault"]]
    assert set(resources) == {vpc["VpcId"], *default} and len(default) == 1
    r = resources[vpc["VpcId"]]
    assert r["Tags"] == HOSTILE_TAGS
    assert [c["CidrBlock"] for c in r["CidrBlockAssociationSet"]] == [
        "10.0.0.0/16",
        "10.1.0.0/16",
        "10.2.0.0/16",
    ]
    assert resources[default[0]]["Tags"] == {}


def test_vpcs_aws_shapes() -> None:
    r = stubbed(REGISTRY["vpcs"])["vpc-0a1b2c3d4e5f60001"]
    assert [c["CidrBlock"] for c in r["CidrBlockAssociationSet"]] == ["10.0.0.0/16", "10.1.0.0/16"]


# --- subnets ----------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_subnets_moto_drop_the_free_address_count(ec2: Any) -> None:
    _, (subnet,) = vpc_and_subnets(ec2)
    ec2.create_tags(Resources=[subnet], Tags=tag_list(HOSTILE_TAGS))
    raw, resources = collect(REGISTRY["subnets"])
    assert subnet in resources and len(resources) == len(raw) > 1  # with the default subnets
    assert all("AvailableIpAddressCount" in s for s in raw)
    assert not any("AvailableIpAddressCount" in s for s in resources.values())
    assert resources[subnet]["Tags"] == HOSTILE_TAGS
    before = dumps(resources[subnet])
    # Using addresses in the subnet changes the count AWS reports, not the snapshot.
    ec2.create_network_interface(SubnetId=subnet)
    raw_after, after = collect(REGISTRY["subnets"])
    count = {s["SubnetId"]: s["AvailableIpAddressCount"] for s in raw}
    count_after = {s["SubnetId"]: s["AvailableIpAddressCount"] for s in raw_after}
    assert count_after[subnet] < count[subnet]
    assert dumps(after[subnet]) == before


# --- route tables -----------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_route_tables_moto(ec2: Any) -> None:
    vpc, subs = vpc_and_subnets(ec2, 2)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc, TagSpecifications=tag_spec("route-table"))
    rtb_id = rtb["RouteTable"]["RouteTableId"]
    for cidr in ("192.168.0.0/16", "0.0.0.0/0"):
        ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock=cidr, GatewayId=igw)
    for subnet in reversed(subs):
        ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet)
    raw, resources = collect(REGISTRY["route_tables"])
    assert set(resources) == ids_of(raw, "RouteTableId") and rtb_id in resources
    r = resources[rtb_id]
    assert r["Tags"] == HOSTILE_TAGS
    assert [x["DestinationCidrBlock"] for x in r["Routes"]] == [
        "0.0.0.0/0",
        "10.0.0.0/16",
        "192.168.0.0/16",
    ]
    assert [a["SubnetId"] for a in r["Associations"]] == sorted(subs)
    # One route per line, so a diff or `git log -S` shows a whole route.
    lines = dumps(r).decode().splitlines()
    assert sum("0.0.0.0/0" in line and igw in line for line in lines) == 1


def test_route_tables_aws_shapes() -> None:
    r = stubbed(REGISTRY["route_tables"])["rtb-0a1b2c3d4e5f60001"]
    destinations = [
        x.get("DestinationCidrBlock")
        or x.get("DestinationIpv6CidrBlock")
        or x["DestinationPrefixListId"]
        for x in r["Routes"]
    ]
    # IPv4 routes, then IPv6, then prefix lists; each group by destination.
    assert destinations == ["0.0.0.0/0", "10.0.0.0/16", "192.168.0.0/16", "::/0", "pl-63a5400a"]
    # The gateway (edge) association has no subnet: it sorts before the subnet ones.
    assert [a.get("SubnetId") or a["GatewayId"] for a in r["Associations"]] == [
        "igw-0a1b2c3d4e5f60001",
        "subnet-0a1b2c3d4e5f60001",
        "subnet-0a1b2c3d4e5f60002",
    ]


# --- network ACLs -----------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_network_acls_moto_entries_by_direction_then_number(ec2: Any) -> None:
    vpc, (subnet,) = vpc_and_subnets(ec2)
    acl = ec2.create_network_acl(VpcId=vpc, TagSpecifications=tag_spec("network-acl"))
    acl_id = acl["NetworkAcl"]["NetworkAclId"]
    # Numbers whose text order (1000 < 90) differs from their numeric order.
    for egress, number in ((True, 100), (False, 1000), (True, 90), (False, 90), (False, 100)):
        ec2.create_network_acl_entry(
            NetworkAclId=acl_id,
            RuleNumber=number,
            Protocol="6",
            RuleAction="allow",
            Egress=egress,
            CidrBlock=f"10.{number % 256}.0.0/16",
            PortRange={"From": 443, "To": 443},
        )
    raw, resources = collect(REGISTRY["network_acls"])
    assert set(resources) == ids_of(raw, "NetworkAclId") and acl_id in resources
    r = resources[acl_id]
    assert r["Tags"] == HOSTILE_TAGS
    assert [(e["Egress"], e["RuleNumber"]) for e in r["Entries"]] == [
        (False, 90),
        (False, 100),
        (False, 1000),
        (True, 90),
        (True, 100),
    ]
    lines = dumps(r).decode().splitlines()
    assert sum("RuleNumber: 1000" in line and "From: 443" in line for line in lines) == 1


def test_network_acls_aws_shapes() -> None:
    r = stubbed(REGISTRY["network_acls"])["acl-0a1b2c3d4e5f60001"]
    assert [(e["Egress"], e["RuleNumber"]) for e in r["Entries"]] == [
        (False, 90),
        (False, 110),
        (False, 32767),
        (True, 100),
        (True, 32767),
    ]
    assert r["Entries"][0]["IcmpTypeCode"] == {"Code": -1, "Type": 8}
    assert [a["SubnetId"] for a in r["Associations"]] == [
        "subnet-0a1b2c3d4e5f60001",
        "subnet-0a1b2c3d4e5f60002",
    ]


# --- internet gateways ------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_internet_gateways_moto(ec2: Any) -> None:
    vpc, _ = vpc_and_subnets(ec2, 0)
    tagged = ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway"))
    tagged_id = tagged["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=tagged_id, VpcId=vpc)
    detached = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    raw, resources = collect(REGISTRY["internet_gateways"])
    assert {tagged_id, detached} <= set(resources) == ids_of(raw, "InternetGatewayId")
    assert resources[tagged_id]["Tags"] == HOSTILE_TAGS
    assert [a["VpcId"] for a in resources[tagged_id]["Attachments"]] == [vpc]
    assert resources[detached]["Attachments"] == []


# --- NAT gateways -----------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_nat_gateways_moto_leave_out_deleted(ec2: Any) -> None:
    _, (subnet,) = vpc_and_subnets(ec2)
    kept, deleted = (
        ec2.create_nat_gateway(
            SubnetId=subnet,
            AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
            TagSpecifications=tag_spec("natgateway"),
        )["NatGateway"]["NatGatewayId"]
        for _ in range(2)
    )
    ec2.delete_nat_gateway(NatGatewayId=deleted)
    raw, resources = collect(nat_gateways.RESOURCE)
    assert {n["NatGatewayId"]: n["State"] for n in raw}[deleted] == "deleted"
    assert set(resources) == {kept}
    assert resources[kept]["Tags"] == HOSTILE_TAGS


def test_nat_gateways_aws_shapes() -> None:
    resources = stubbed(nat_gateways.RESOURCE)
    assert "nat-0a1b2c3d4e5f60003" not in resources  # State "deleted"
    public = resources["nat-0a1b2c3d4e5f60001"]
    assert public["CreateTime"] == "2024-05-01T12:00:00Z"
    assert [a["PrivateIp"] for a in public["NatGatewayAddresses"]] == ["10.0.1.120", "10.0.1.99"]
    private = resources["nat-0a1b2c3d4e5f60002"]
    assert "AllocationId" not in private["NatGatewayAddresses"][0]
