"""The three core collectors: instances, security groups, volumes.

moto (in-process) for what it models; Stubber-validated AWS-shaped pages for what it does
not: DescribeInstances over two pages, GroupOwnerId, cross-account and prefix-list
security-group sources, multi-attach volumes."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from driftaudit.canonical import canonical_json, dumps
from driftaudit.collect.collectors import (
    REGISTRY,
    instances,
    security_groups,
)
from driftaudit.collect.collectors.base import ResourceType
from driftaudit.collect.engine import build_resources
from tests.support.collector_checks import (
    ACCOUNT,
    HOSTILE_TAGS,
    REGION,
    build_checked,
    moto_clients,
    stubbed_fetch,
    tag_list,
    tag_spec,
    two_pages,
)

AMI = "ami-12c6146b"
T = dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
CIDR_10 = {"CidrIp": "10.0.0.0/8"}
CIDR_ANY = {"CidrIp": "0.0.0.0/0"}


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def collect(rtype: ResourceType) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    raw = rtype.fetch(moto_clients)
    return raw, build_checked(rtype, raw)


# --- instances --------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_instances_moto(ec2: Any) -> None:
    groups = [
        ec2.create_security_group(GroupName=name, Description=name)["GroupId"]
        for name in ("web", "db")
    ]
    launched = ec2.run_instances(
        ImageId=AMI,
        MinCount=3,
        MaxCount=3,
        SecurityGroupIds=groups,
        ClientToken="idempotency-token",
        TagSpecifications=tag_spec("instance"),
    )
    terminated, *kept = [i["InstanceId"] for i in launched["Instances"]]
    ec2.terminate_instances(InstanceIds=[terminated])
    raw, resources = collect(instances.RESOURCE)
    # moto, like AWS for about an hour, still lists the terminated instance.
    assert {i["InstanceId"]: i["State"]["Name"] for i in raw}[terminated] == "terminated"
    assert set(resources) == set(kept)
    for iid in kept:
        r = resources[iid]
        assert r["InstanceId"] == iid
        assert r["ReservationId"] == launched["ReservationId"]
        assert r["OwnerId"] == ACCOUNT
        assert r["Tags"] == HOSTILE_TAGS
        assert r["State"] == {"Name": "running"}
        assert "ClientToken" not in r
        assert [g["GroupId"] for g in r["SecurityGroups"]] == sorted(groups)
    assert all(i["ClientToken"] == "idempotency-token" for i in raw)


def instance(iid: str, state: str = "running", **extra: Any) -> dict[str, Any]:
    return {
        "InstanceId": iid,
        "ImageId": "ami-0a1b2c3d4e5f60001",
        "InstanceType": "t3.micro",
        "State": {"Code": {"running": 16, "terminated": 48}[state], "Name": state},
        "LaunchTime": T,
        "ClientToken": f"token-{iid}",
        "PrivateIpAddress": "10.0.1.10",
        "PlatformDetails": "Linux/UNIX",
        **extra,
    }


def reservation(rid: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ReservationId": rid, "OwnerId": ACCOUNT, "Instances": items}


def test_instances_two_pages_aws_shapes() -> None:
    first = instance(
        "i-0a1b2c3d4e5f60001",
        SecurityGroups=[
            {"GroupId": "sg-0bbbbbbbbbbbbbbbb", "GroupName": "web"},
            {"GroupId": "sg-0aaaaaaaaaaaaaaaa", "GroupName": "default"},
        ],
        BlockDeviceMappings=[
            {"DeviceName": "/dev/xvdb", "Ebs": {"VolumeId": "vol-0a1b2c3d4e5f60002"}},
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-0a1b2c3d4e5f60001"}},
        ],
        Tags=tag_list(HOSTILE_TAGS),
    )
    second = [instance("i-0a1b2c3d4e5f60002", "terminated"), instance("i-0a1b2c3d4e5f60003")]
    pages: list[tuple[str, dict[str, Any]]] = [
        ("describe_instances", {"Reservations": [reservation("r-01", [first])], "NextToken": "t2"}),
        ("describe_instances", {"Reservations": [reservation("r-02", second)]}),
    ]
    raw = stubbed_fetch(instances.RESOURCE, pages)
    assert [(i["InstanceId"], i["ReservationId"]) for i in raw] == [
        ("i-0a1b2c3d4e5f60001", "r-01"),
        ("i-0a1b2c3d4e5f60002", "r-02"),
        ("i-0a1b2c3d4e5f60003", "r-02"),
    ]
    resources = build_checked(instances.RESOURCE, raw)
    assert set(resources) == {"i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60003"}
    r = resources["i-0a1b2c3d4e5f60001"]
    assert r["LaunchTime"] == "2024-05-01T12:00:00Z"
    assert r["State"] == {"Name": "running"} and "ClientToken" not in r
    assert [g["GroupId"] for g in r["SecurityGroups"]] == [
        "sg-0aaaaaaaaaaaaaaaa",
        "sg-0bbbbbbbbbbbbbbbb",
    ]
    assert [b["DeviceName"] for b in r["BlockDeviceMappings"]] == ["/dev/xvda", "/dev/xvdb"]
    assert r["Tags"] == HOSTILE_TAGS and resources["i-0a1b2c3d4e5f60003"]["Tags"] == {}


# --- volumes ----------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_volumes_moto(ec2: Any) -> None:
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    tagged = ec2.create_volume(
        Size=8, AvailabilityZone="us-east-1a", TagSpecifications=tag_spec("volume")
    )["VolumeId"]
    free = ec2.create_volume(Size=20, AvailabilityZone="us-east-1a", VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=tagged, InstanceId=iid, Device="/dev/sdf")
    raw, resources = collect(REGISTRY["volumes"])
    assert {tagged, free} < set(resources)  # with the instance's root volume
    assert set(resources) == {v["VolumeId"] for v in raw}
    assert resources[tagged]["Tags"] == HOSTILE_TAGS
    assert [(a["InstanceId"], a["Device"]) for a in resources[tagged]["Attachments"]] == [
        (iid, "/dev/sdf")
    ]
    assert resources[free]["Attachments"] == [] and resources[free]["Tags"] == {}


def test_volumes_multi_attach_two_pages_aws_shapes() -> None:
    def attachment(iid: str) -> dict[str, Any]:
        return {
            "VolumeId": "vol-0a1b2c3d4e5f60001",
            "InstanceId": iid,
            "Device": "/dev/sdf",
            "State": "attached",
            "AttachTime": T,
            "DeleteOnTermination": False,
        }

    shared = {
        "VolumeId": "vol-0a1b2c3d4e5f60001",
        "Size": 100,
        "VolumeType": "io2",
        "Iops": 3000,
        "AvailabilityZone": "us-east-1a",
        "State": "in-use",
        "Encrypted": True,
        "MultiAttachEnabled": True,
        "CreateTime": T,
        "Attachments": [attachment("i-0a1b2c3d4e5f60002"), attachment("i-0a1b2c3d4e5f60001")],
        "Tags": tag_list(HOSTILE_TAGS),
    }
    other = {
        "VolumeId": "vol-0a1b2c3d4e5f60002",
        "Size": 8,
        "VolumeType": "gp3",
        "AvailabilityZone": "us-east-1b",
        "State": "available",
        "CreateTime": T,
        "Attachments": [],
    }
    raw = stubbed_fetch(
        REGISTRY["volumes"], two_pages("describe_volumes", "Volumes", [shared, other])
    )
    resources = build_checked(REGISTRY["volumes"], raw)
    assert set(resources) == {"vol-0a1b2c3d4e5f60001", "vol-0a1b2c3d4e5f60002"}
    r = resources["vol-0a1b2c3d4e5f60001"]
    assert [a["InstanceId"] for a in r["Attachments"]] == [
        "i-0a1b2c3d4e5f60001",
        "i-0a1b2c3d4e5f60002",
    ]
    assert r["Attachments"][0]["AttachTime"] == "2024-05-01T12:00:00Z"


# --- security groups --------------------------------------------------------------------


def rule_source(sgr: dict[str, Any]) -> str:
    """The source an SGR names, written as driftaudit's flat rules write it."""
    if "ReferencedGroupInfo" in sgr:
        return sgr["ReferencedGroupInfo"]["GroupId"]
    return sgr.get("CidrIpv4") or sgr.get("CidrIpv6") or sgr["PrefixListId"]


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_security_groups_moto_every_rule_has_its_own_id(ec2: Any) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    web, db = (
        ec2.create_security_group(
            GroupName=name,
            Description=name,
            VpcId=vpc,
            TagSpecifications=tag_spec("security-group"),
        )["GroupId"]
        for name in ("web", "db")
    )
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "app"}],
                "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
                "UserIdGroupPairs": [{"GroupId": web, "Description": "from web"}],
            },
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [CIDR_10]},
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": db}]},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [CIDR_ANY]},
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": "pl-0123456789abcdef0"}],
            },
        ],
    )
    raw, resources = collect(security_groups.RESOURCE)
    r = resources[db]
    assert r["Tags"] == HOSTILE_TAGS
    assert "IpPermissions" not in r and "SecurityGroupRules" not in r
    (group,) = [g for g in raw if g["GroupId"] == db]
    sgrs = {s["SecurityGroupRuleId"]: s for s in group["SecurityGroupRules"]}
    # One flat rule per SGR, each carrying the id of the SGR that says the same thing.
    assert len(r["Rules"]) == len(sgrs) == 8
    assert sorted(rule["RuleId"] for rule in r["Rules"]) == sorted(sgrs)
    for rule in r["Rules"]:
        sgr = sgrs[rule["RuleId"]]
        assert rule["Direction"] == ("egress" if sgr["IsEgress"] else "ingress")
        assert rule["Protocol"] == sgr["IpProtocol"]
        assert rule["Source"] == rule_source(sgr)
        if sgr["IpProtocol"] != "-1":
            assert (rule["FromPort"], rule["ToPort"]) == (sgr["FromPort"], sgr["ToPort"])
        if "Description" in sgr:  # moto leaves it out of group references' SGRs
            assert rule["Description"] == sgr["Description"]


OWNER = "111122223333"
OTHER = "444455556666"
SG = "sg-0aaaaaaaaaaaaaaaa"
SG_SAME = "sg-0bbbbbbbbbbbbbbbb"
SG_OTHER = "sg-0cccccccccccccccc"
PL = "pl-0123456789abcdef0"

GROUP = {
    "GroupId": SG,
    "GroupName": "web",
    "Description": "web tier",
    "OwnerId": OWNER,
    "VpcId": "vpc-0a1b2c3d4e5f60001",
    "SecurityGroupArn": f"arn:aws:ec2:us-east-1:{OWNER}:security-group/{SG}",
    "IpPermissions": [
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [
                {"CidrIp": "10.0.0.0/8", "Description": "office"},
                {"CidrIp": "192.168.1.0/24"},
            ],
            "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32", "Description": "office v6"}],
            "PrefixListIds": [{"PrefixListId": PL, "Description": "corp"}],
            "UserIdGroupPairs": [
                {"GroupId": SG_SAME, "UserId": OWNER, "Description": "bastion"},
                {
                    "GroupId": SG_OTHER,
                    "UserId": OTHER,
                    "VpcId": "vpc-0ffffffffffffffff",
                    "VpcPeeringConnectionId": "pcx-0a1b2c3d4e5f60001",
                    "PeeringStatus": "active",
                },
            ],
        },
        # The same CIDR on another port: a different rule with a different id.
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [CIDR_10]},
        # ICMP echo request, every code.
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ping"}]},
        # All traffic from the group itself: no ports in DescribeSecurityGroups.
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": SG, "UserId": OWNER}]},
    ],
    "IpPermissionsEgress": [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        # The same source and ports as an ingress rule, the other direction.
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [CIDR_10]},
    ],
    "Tags": tag_list(HOSTILE_TAGS),
}  # fmt: skip


def sgr(n: int, egress: bool, protocol: str, ports: tuple[int, int], **source: Any) -> Any:
    return {
        "SecurityGroupRuleId": f"sgr-{n:017x}",
        "GroupId": SG,
        "GroupOwnerId": OWNER,
        "IsEgress": egress,
        "IpProtocol": protocol,
        "FromPort": ports[0],
        "ToPort": ports[1],
        **source,
    }


# DescribeSecurityGroupRules: one rule per source; all-traffic rules say -1/-1 for ports.
SGRS = [
    sgr(1, False, "tcp", (22, 22), CidrIpv4="10.0.0.0/8", Description="office",
        Tags=[{"Key": "ticket", "Value": "SEC-42"}]),
    sgr(2, False, "tcp", (22, 22), CidrIpv4="192.168.1.0/24"),
    sgr(3, False, "tcp", (22, 22), CidrIpv6="2001:db8::/32", Description="office v6"),
    sgr(4, False, "tcp", (22, 22), PrefixListId=PL, Description="corp"),
    sgr(5, False, "tcp", (22, 22), ReferencedGroupInfo={"GroupId": SG_SAME, "UserId": OWNER},
        Description="bastion"),
    sgr(6, False, "tcp", (22, 22), ReferencedGroupInfo={
        "GroupId": SG_OTHER, "UserId": OTHER, "VpcId": "vpc-0ffffffffffffffff",
        "VpcPeeringConnectionId": "pcx-0a1b2c3d4e5f60001", "PeeringStatus": "active"}),
    sgr(7, False, "tcp", (443, 443), CidrIpv4="10.0.0.0/8"),
    sgr(8, False, "icmp", (8, -1), CidrIpv4="0.0.0.0/0", Description="ping"),
    sgr(9, False, "-1", (-1, -1), ReferencedGroupInfo={"GroupId": SG, "UserId": OWNER}),
    sgr(10, True, "-1", (-1, -1), CidrIpv4="0.0.0.0/0"),
    sgr(11, True, "-1", (-1, -1), CidrIpv6="::/0"),
    sgr(12, True, "tcp", (22, 22), CidrIpv4="10.0.0.0/8"),
]  # fmt: skip


def flat(n: int, direction: str, protocol: str, kind: str, source: str, **rest: Any) -> Any:
    rule = {"Direction": direction, "Protocol": protocol, "SourceType": kind, "Source": source}
    return {**rule, **rest, "RuleId": f"sgr-{n:017x}"}


# What the group means, one rule per line; written from AWS's semantics, not from the code.
EXPECTED_RULES = [
    # Rule tags (DescribeSecurityGroupRules) are kept, as a mapping like every Tags.
    flat(1, "ingress", "tcp", "cidr", "10.0.0.0/8", FromPort=22, ToPort=22, Description="office",
         Tags={"ticket": "SEC-42"}),
    flat(2, "ingress", "tcp", "cidr", "192.168.1.0/24", FromPort=22, ToPort=22),
    flat(3, "ingress", "tcp", "cidr6", "2001:db8::/32", FromPort=22, ToPort=22,
         Description="office v6"),
    flat(4, "ingress", "tcp", "prefix_list", PL, FromPort=22, ToPort=22, Description="corp"),
    flat(5, "ingress", "tcp", "group", SG_SAME, FromPort=22, ToPort=22, Description="bastion"),
    # A reference across a VPC peering keeps which peering it goes through.
    flat(6, "ingress", "tcp", "group", f"{OTHER}/{SG_OTHER}", FromPort=22, ToPort=22,
         VpcId="vpc-0ffffffffffffffff", VpcPeeringConnectionId="pcx-0a1b2c3d4e5f60001",
         PeeringStatus="active"),
    flat(7, "ingress", "tcp", "cidr", "10.0.0.0/8", FromPort=443, ToPort=443),
    flat(8, "ingress", "icmp", "cidr", "0.0.0.0/0", FromPort=8, ToPort=-1, Description="ping"),
    flat(9, "ingress", "-1", "group", SG),
    flat(10, "egress", "-1", "cidr", "0.0.0.0/0"),
    flat(11, "egress", "-1", "cidr6", "::/0"),
    flat(12, "egress", "tcp", "cidr", "10.0.0.0/8", FromPort=22, ToPort=22),
]  # fmt: skip


def sg_pages(group: dict[str, Any], rules: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [
        ("describe_security_groups", {"SecurityGroups": [group]}),
        # Rules over two pages, in no particular order.
        ("describe_security_group_rules",
         {"SecurityGroupRules": rules[::-2], "NextToken": "page-2-token"}),
        ("describe_security_group_rules", {"SecurityGroupRules": rules[-2::-2]}),
    ]  # fmt: skip


def test_security_group_flattening_aws_shapes() -> None:
    raw = stubbed_fetch(security_groups.RESOURCE, sg_pages(GROUP, SGRS))
    assert len(raw) == 1 and len(raw[0]["SecurityGroupRules"]) == len(SGRS)
    resources = build_checked(security_groups.RESOURCE, raw)
    r = resources[SG]
    assert r["Tags"] == HOSTILE_TAGS
    assert sorted(map(canonical_json, r["Rules"])) == sorted(map(canonical_json, EXPECTED_RULES))
    # Each rule is one line of YAML: its id, source and ports together.
    lines = dumps(r).decode().splitlines()
    for rule in EXPECTED_RULES:
        (line,) = [x for x in lines if rule["RuleId"] in x]
        assert rule["Source"] in line and f"Direction: {rule['Direction']}" in line


def test_security_group_without_group_owner_id_in_rules() -> None:
    # GroupOwnerId is optional in the DescribeSecurityGroupRules model (moto leaves it out):
    # a same-account reference must still match its rule, a cross-account one stay prefixed.
    rules = [{k: v for k, v in s.items() if k != "GroupOwnerId"} for s in SGRS]
    raw = stubbed_fetch(security_groups.RESOURCE, sg_pages(GROUP, rules))
    r = build_checked(security_groups.RESOURCE, raw)[SG]
    assert sorted(map(canonical_json, r["Rules"])) == sorted(map(canonical_json, EXPECTED_RULES))


def test_security_group_rule_without_sgr_has_no_id() -> None:
    # A rule that DescribeSecurityGroupRules did not list keeps no (wrong) id.
    missing = SGRS[6]  # tcp 443 from 10.0.0.0/8: same CIDR as two listed rules
    raw = stubbed_fetch(
        security_groups.RESOURCE, sg_pages(GROUP, [s for s in SGRS if s is not missing])
    )
    rules = build_resources(security_groups.RESOURCE, raw)[SG]["Rules"]
    (rule,) = [x for x in rules if x.get("FromPort") == 443]
    assert "RuleId" not in rule
    assert sum("RuleId" in x for x in rules) == len(SGRS) - 1


@pytest.mark.parametrize(
    ("rtype", "item"),
    [
        (security_groups.RESOURCE, {**GROUP, "SecurityGroupRules": SGRS}),
        (instances.RESOURCE, {**instance("i-0a1b2c3d4e5f60001"), "ReservationId": "r-01"}),
        (instances.RESOURCE, instance("i-0a1b2c3d4e5f60002", "terminated")),
        (REGISTRY["volumes"], {"VolumeId": "vol-0a1b2c3d4e5f60001", "Size": 8, "Tags": []}),
    ],
    ids=["security_groups", "instances", "instances-terminated", "volumes"],
)
def test_transform_is_pure(rtype: ResourceType, item: dict[str, Any]) -> None:
    before = copy.deepcopy(item)
    rtype.transform(item)
    build_resources(rtype, [item])
    assert item == before
