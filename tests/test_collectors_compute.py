"""Compute and edge collectors: load balancers, Auto Scaling groups, launch templates, key
pairs, images, snapshots.

In-process moto for behaviour; botocore Stubber (responses checked against the real service
model) for what moto does not do: paging, DescribeTags batching, fields moto never returns.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from driftaudit import canonical, schemas
from driftaudit.collect.collectors import (
    REGISTRY,
    auto_scaling_groups,
    launch_templates,
    load_balancers,
)
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.collect.engine import Part, build_resources, document
from driftaudit.collect.store import render_part
from tests.support.modelfake import example_output

REGION = "us-east-1"
ACCOUNT = "123456789012"
HOSTILE_TAGS = [
    {"Key": "Name", "Value": "../../etc/passwd"},
    {"Key": "enabled", "Value": "yes"},
    {"Key": "notes", "Value": "line one\nline two: {x}"},
]
HOSTILE = {t["Key"]: t["Value"] for t in HOSTILE_TAGS}
WHEN = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # moto otherwise seeds hundreds of public AMIs and their snapshots (slow, and noise for
    # the images/snapshots collectors, since moto ignores OwnerIds on DescribeSnapshots).
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        made: dict[str, Any] = {}

        def clients(service: str) -> Any:
            if service not in made:
                made[service] = boto3.client(service, region_name=REGION)
            return made[service]

        yield clients


def build(rtype: ResourceType, raw: list[Raw]) -> dict[str, Raw]:
    """build_resources, checking on the way that transform leaves its input alone and that
    every resource is schema-valid and can name a file."""
    before = copy.deepcopy(raw)
    resources = build_resources(rtype, raw)
    assert raw == before, "transform modified its input"
    for rid, resource in resources.items():
        assert schemas.errors(rtype.name, resource) == [], rid
        doc = document(Part(ACCOUNT, REGION, rtype.name), rid, resource)
        assert schemas.document_errors(doc) == [], rid
        text = canonical.dumps(resource)
        assert canonical.loads(text) == resource  # hostile tag values round-trip
    render_part(Part(ACCOUNT, REGION, rtype.name), resources, "yaml")  # ids are safe names
    return resources


def all_bytes(resources: dict[str, Raw]) -> bytes:
    return canonical.dumps(resources, "yaml") + canonical.dumps(resources, "json")


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_registered() -> None:
    for module in (load_balancers, auto_scaling_groups, launch_templates):
        assert REGISTRY[module.RESOURCE.name] is module.RESOURCE
    for rtype in REGISTRY.values():
        # Anything a spec drops is documented.
        assert bool(rtype.spec.drop) <= bool(rtype.volatile_doc)


# --- load balancers --------------------------------------------------------------------


def _subnets(ec2: Any) -> list[str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_load_balancers_moto(aws: Any) -> None:
    elbv2, elb = aws("elbv2"), aws("elb")
    subnets = _subnets(aws("ec2"))
    alb = elbv2.create_load_balancer(Name="web", Subnets=subnets, Tags=HOSTILE_TAGS)
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    nlb = elbv2.create_load_balancer(Name="tcp-in", Subnets=subnets, Type="network")
    nlb_arn = nlb["LoadBalancers"][0]["LoadBalancerArn"]
    vpc = aws("ec2").describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    tg = elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc)
    forward = [{"Type": "forward", "TargetGroupArn": tg["TargetGroups"][0]["TargetGroupArn"]}]
    for port in (8080, 80):  # created out of port order
        elbv2.create_listener(
            LoadBalancerArn=alb_arn, Protocol="HTTP", Port=port, DefaultActions=forward
        )
    elb.create_load_balancer(
        LoadBalancerName="legacy-1",
        Listeners=[
            # Instance ports in the opposite order: the sort is by the load balancer's port.
            {"Protocol": "TCP", "LoadBalancerPort": 8443, "InstancePort": 443},
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 9000},
        ],
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{"Key": "tier", "Value": "no"}],
    )

    res = build(load_balancers.RESOURCE, load_balancers.RESOURCE.fetch(aws))

    # ARN ...:loadbalancer/app/web/<hex> names app.web.<hex>.
    alb_id = "app.web." + alb_arn.rsplit("/", 1)[1]
    # AWS writes loadbalancer/net/ for a network load balancer; moto writes app/ for every type.
    nlb_kind, _, nlb_hex = nlb_arn.split(":loadbalancer/")[1].split("/")
    assert nlb_kind in ("net", "app")
    nlb_id = f"{nlb_kind}.tcp-in.{nlb_hex}"
    assert set(res) == {alb_id, nlb_id, "classic.legacy-1"}
    assert {rid: r["Kind"] for rid, r in res.items()} == {
        alb_id: "application",
        nlb_id: "network",
        "classic.legacy-1": "classic",
    }
    assert res[alb_id]["Tags"] == HOSTILE
    assert res[nlb_id]["Tags"] == {}
    assert res["classic.legacy-1"]["Tags"] == {"tier": "no"}
    assert [(x["Port"], x["Protocol"]) for x in res[alb_id]["Listeners"]] == [
        (80, "HTTP"),
        (8080, "HTTP"),
    ]
    assert "LoadBalancerArn" not in keys_anywhere(res[alb_id]["Listeners"])
    assert res[nlb_id]["Listeners"] == []
    classic_ports = [
        d["Listener"]["LoadBalancerPort"] for d in res["classic.legacy-1"]["ListenerDescriptions"]
    ]
    assert classic_ports == [80, 8443]


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_load_balancer_listener_order_does_not_change_bytes(aws: Any) -> None:
    elb = aws("elb")
    elb.create_load_balancer(
        LoadBalancerName="two-ports",
        Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80},
            {"Protocol": "TCP", "LoadBalancerPort": 25, "InstancePort": 25},
        ],
        AvailabilityZones=[f"{REGION}a"],
    )
    raw = load_balancers.RESOURCE.fetch(aws)
    flipped = copy.deepcopy(raw)
    flipped[0]["ListenerDescriptions"].reverse()
    assert raw != flipped
    assert all_bytes(build(load_balancers.RESOURCE, raw)) == all_bytes(
        build(load_balancers.RESOURCE, flipped)
    )


def _elbv2_lb(i: int) -> Raw:
    name = f"lb-{i}"
    return {
        "LoadBalancerArn": (
            f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/{name}/{i:016x}"
        ),
        "LoadBalancerName": name,
        "DNSName": f"{name}-1.{REGION}.elb.amazonaws.com",
        "CreatedTime": WHEN,
        "Scheme": "internet-facing",
        "Type": "application",
        "State": {"Code": "active"},
    }


def test_load_balancers_page_and_batch_tags_by_20() -> None:
    """21 of each kind, over two pages: DescribeTags is called twice per API (20 + 1)."""
    elbv2 = boto3.client("elbv2", region_name=REGION)
    elb = boto3.client("elb", region_name=REGION)
    v2 = [_elbv2_lb(i) for i in range(21)]
    arns = [lb["LoadBalancerArn"] for lb in v2]
    names = [f"old-{i}" for i in range(21)]
    with Stubber(elbv2) as s2, Stubber(elb) as s1:
        s2.add_response("describe_load_balancers", {"LoadBalancers": v2[:15], "NextMarker": "m"})
        s2.add_response("describe_load_balancers", {"LoadBalancers": v2[15:]}, {"Marker": "m"})
        for i, arn in enumerate(arns):
            listener = {
                "ListenerArn": arn.replace(":loadbalancer/", ":listener/") + "/0f",
                "LoadBalancerArn": arn,
                "Port": 443 if i % 2 else 80,
                "Protocol": "HTTPS" if i % 2 else "HTTP",
                "DefaultActions": [{"Type": "fixed-response", "Order": 1}],
            }
            s2.add_response(
                "describe_listeners", {"Listeners": [listener]}, {"LoadBalancerArn": arn}
            )
        for batch in (arns[:20], arns[20:]):
            tags = [{"ResourceArn": a, "Tags": [{"Key": "arn", "Value": a}]} for a in batch]
            s2.add_response("describe_tags", {"TagDescriptions": tags}, {"ResourceArns": batch})
        classic = [
            {"LoadBalancerName": n, "DNSName": f"{n}.elb.amazonaws.com", "CreatedTime": WHEN}
            for n in names
        ]
        s1.add_response(
            "describe_load_balancers",
            {"LoadBalancerDescriptions": classic[:20], "NextMarker": "c"},
        )
        s1.add_response(
            "describe_load_balancers", {"LoadBalancerDescriptions": classic[20:]}, {"Marker": "c"}
        )
        for batch in (names[:20], names[20:]):
            tags = [{"LoadBalancerName": n, "Tags": [{"Key": "name", "Value": n}]} for n in batch]
            s1.add_response(
                "describe_tags", {"TagDescriptions": tags}, {"LoadBalancerNames": batch}
            )

        raw = load_balancers.RESOURCE.fetch({"elbv2": elbv2, "elb": elb}.__getitem__)
        s2.assert_no_pending_responses()
        s1.assert_no_pending_responses()

    res = build(load_balancers.RESOURCE, raw)
    assert len(res) == 42
    for i, arn in enumerate(arns):
        r = res[f"app.lb-{i}.{i:016x}"]
        assert r["Tags"] == {"arn": arn}
        assert r["Listeners"][0]["Port"] == (443 if i % 2 else 80)
    for n in names:
        assert res[f"classic.{n}"]["Tags"] == {"name": n}


def test_load_balancer_id_of_gateway() -> None:
    arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/gwy/inspect/0123abcd"
    raw: Raw = {
        "LoadBalancerArn": arn,
        "LoadBalancerName": "inspect",
        "Type": "gateway",
        # Gateway Load Balancer listeners have neither Port nor Protocol.
        "Listeners": [{"ListenerArn": arn.replace("loadbalancer", "listener") + "/1"}],
    }
    res = build(load_balancers.RESOURCE, [raw])
    assert list(res) == ["gwy.inspect.0123abcd"]
    assert res["gwy.inspect.0123abcd"]["Kind"] == "gateway"


# --- Auto Scaling groups ---------------------------------------------------------------


def _launch_template(
    ec2: Any, name: str = "asg-lt", tags: list[Raw] | None = None, **data: Any
) -> str:
    spec = [{"ResourceType": "launch-template", "Tags": tags}] if tags else []
    lt = ec2.create_launch_template(
        LaunchTemplateName=name,
        TagSpecifications=spec,
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro", **data},
    )
    return str(lt["LaunchTemplate"]["LaunchTemplateId"])


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_auto_scaling_groups_moto(aws: Any) -> None:
    asg = aws("autoscaling")
    subnets = _subnets(aws("ec2"))
    lt = _launch_template(aws("ec2"))
    hostile_names = [
        "../../x y",
        # A name may hold colons: it must not be mistaken for the ARN's own fields.
        "evil:autoScalingGroup:11111111-2222-3333-4444-555555555555:autoScalingGroupName/z",
    ]
    for name in hostile_names:
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": lt},
            MinSize=1,
            MaxSize=3,
            VPCZoneIdentifier=subnets[0],
            # Not alphabetical: AWS applies these in list order, so the order must survive.
            TerminationPolicies=["NewestInstance", "ClosestToNextInstanceHour"],
            Tags=[
                {**HOSTILE_TAGS[0], "PropagateAtLaunch": True},
                {**HOSTILE_TAGS[1], "PropagateAtLaunch": False},
                {**HOSTILE_TAGS[2], "PropagateAtLaunch": True},
            ],
        )
    raw = auto_scaling_groups.RESOURCE.fetch(aws)
    assert all(g["Instances"] for g in raw)  # moto launched MinSize instances
    res = build(auto_scaling_groups.RESOURCE, raw)

    # arn:aws:autoscaling:REGION:ACCOUNT:autoScalingGroup:<UUID>:autoScalingGroupName/<name>
    uuids = {g["AutoScalingGroupARN"].split(":")[6]: g["AutoScalingGroupName"] for g in raw}
    assert set(res) == set(uuids)
    assert "11111111-2222-3333-4444-555555555555" not in res
    for rid, group in res.items():
        assert group["AutoScalingGroupName"] == uuids[rid]
        assert "Instances" not in group
        assert group["Tags"] == HOSTILE
        assert group["TagsPropagateAtLaunch"] == ["Name", "notes"]
        assert group["TerminationPolicies"] == ["NewestInstance", "ClosestToNextInstanceHour"]
        assert "i-" not in all_bytes({rid: group}).decode()


def test_auto_scaling_group_transform_plain_data() -> None:
    arn = (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
        "0f0e0d0c-0b0a-4908-8706-050403020100:autoScalingGroupName/a/b"
    )
    raw = {
        "AutoScalingGroupName": "a/b",
        "AutoScalingGroupARN": arn,
        "MinSize": 0,
        "MaxSize": 0,
        "PredictedCapacity": 7,
        "Tags": [
            {"Key": "z", "Value": "1", "PropagateAtLaunch": True, "ResourceId": "a/b"},
            {"Key": "a", "Value": "2", "PropagateAtLaunch": True, "ResourceId": "a/b"},
        ],
    }
    res = build(auto_scaling_groups.RESOURCE, [raw])
    group = res["0f0e0d0c-0b0a-4908-8706-050403020100"]
    assert group["Tags"] == {"a": "2", "z": "1"}
    assert group["TagsPropagateAtLaunch"] == ["a", "z"]
    assert "PredictedCapacity" not in group
    with pytest.raises(ValueError):
        auto_scaling_groups.id_of({"AutoScalingGroupARN": "arn:aws:autoscaling:::x/../../y"})


def test_auto_scaling_groups_documented_example_two_pages_stubbed() -> None:
    """AWS's own documented DescribeAutoScalingGroups answer (botocore's examples-1.json), in
    two pages, through botocore's Stubber (every response checked against the model)."""
    group = example_output("autoscaling", "DescribeAutoScalingGroups")["AutoScalingGroups"][0]
    other = {
        **copy.deepcopy(group),
        "AutoScalingGroupName": "web: blue/green",
        "AutoScalingGroupARN": group["AutoScalingGroupARN"].replace("12345678-", "87654321-"),
        "Tags": [
            {"Key": "team", "Value": "web", "PropagateAtLaunch": True, "ResourceId": "x"},
            {"Key": "cost", "Value": "42", "PropagateAtLaunch": False, "ResourceType": "group"},
        ],
        "TerminationPolicies": ["OldestLaunchTemplate", "AllocationStrategy"],
    }
    client = boto3.client("autoscaling", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_auto_scaling_groups",
            {"AutoScalingGroups": [group], "NextToken": "page-2"},
            {},
        )
        stub.add_response(
            "describe_auto_scaling_groups", {"AutoScalingGroups": [other]}, {"NextToken": "page-2"}
        )
        raw = auto_scaling_groups.RESOURCE.fetch(lambda service: client)
        stub.assert_no_pending_responses()
    res = build(auto_scaling_groups.RESOURCE, raw)
    assert set(res) == {
        "12345678-1234-1234-1234-123456789012",
        "87654321-1234-1234-1234-123456789012",
    }
    first, second = (
        res["12345678-1234-1234-1234-123456789012"],
        res["87654321-1234-1234-1234-123456789012"],
    )
    assert "Instances" not in first and first["DesiredCapacity"] == 2
    assert first["ServiceLinkedRoleARN"] == group["ServiceLinkedRoleARN"]
    assert first["CreatedTime"] == "2023-03-09T22:15:11.611Z"
    assert second["Tags"] == {"cost": "42", "team": "web"}
    assert second["TagsPropagateAtLaunch"] == ["team"]
    assert second["TerminationPolicies"] == ["OldestLaunchTemplate", "AllocationStrategy"]
    for rid, data in render_part(Part(ACCOUNT, REGION, "auto_scaling_groups"), res, "yaml").items():
        assert schemas.document_errors(canonical.loads(data)) == [], rid


@pytest.mark.parametrize(
    "name,resource,rid",
    [
        (
            "load_balancers",
            {"Kind": "application", "LoadBalancerName": "x", "LoadBalancerArn": "arn:nope"},
            "app.x.0",
        ),
        ("auto_scaling_groups", {"AutoScalingGroupARN": "arn:nope", "MinSize": 0}, "x"),
    ],
)
def test_validate_names_an_arn_the_file_name_cannot_come_from(
    name: str, resource: dict[str, Any], rid: str
) -> None:
    """A hand-edited ARN of no known shape is a schema problem on its line, not a crash of
    validate (the type's id_of raises ValueError for it)."""
    from driftaudit.validate import check_bytes

    with pytest.raises(ValueError):
        REGISTRY[name].id_of(resource)
    doc = document(Part(ACCOUNT, REGION, name), rid, {**resource, "Tags": {}})
    problems = [
        str(p)
        for p in check_bytes(canonical.dumps(doc), [ACCOUNT, REGION, name, f"{rid}.yaml"], "f")
    ]
    arn = "LoadBalancerArn" if name == "load_balancers" else "AutoScalingGroupARN"
    assert any(f"$.resource.{arn}: 'arn:nope' does not match" in p for p in problems), problems


# --- launch templates ------------------------------------------------------------------

SECRET = "#!/bin/sh\nexport DB_PASSWORD=hunter2-very-secret\n"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()
OTHER_SECRET_B64 = base64.b64encode(b"#!/bin/sh\nexport API_TOKEN=tok-123456\n").decode()


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_launch_templates_moto_user_data_never_leaves_fetch(aws: Any) -> None:
    ec2 = aws("ec2")
    with_ud = _launch_template(ec2, "with-ud", HOSTILE_TAGS, UserData=OTHER_SECRET_B64)
    # Version 2 becomes the default: its data is the one recorded.
    ec2.create_launch_template_version(
        LaunchTemplateId=with_ud,
        VersionDescription="v2: bigger",
        LaunchTemplateData={
            "ImageId": "ami-12c6146b",
            "InstanceType": "m5.large",
            "UserData": SECRET_B64,
        },
    )
    ec2.modify_launch_template(LaunchTemplateId=with_ud, DefaultVersion="2")
    without_ud = _launch_template(ec2, "without-ud")

    raw = launch_templates.RESOURCE.fetch(aws)
    assert "UserData" not in keys_anywhere(raw)
    raw_text = json.dumps(raw, default=str)
    for secret in (SECRET_B64, OTHER_SECRET_B64, "hunter2", "tok-123456"):
        assert secret not in raw_text

    res = build(launch_templates.RESOURCE, raw)
    assert set(res) == {with_ud, without_ud}
    blob = all_bytes(res)
    for secret in (SECRET_B64, OTHER_SECRET_B64, "hunter2", "tok-123456"):
        assert secret.encode() not in blob
    assert b"UserData:" not in blob and b'"UserData"' not in blob

    lt = res[with_ud]
    assert lt["Tags"] == HOSTILE
    assert lt["DefaultVersionNumber"] == 2
    version = lt["DefaultVersionData"]
    assert version["VersionNumber"] == 2
    assert version["VersionDescription"] == "v2: bigger"
    assert version["LaunchTemplateData"]["InstanceType"] == "m5.large"
    assert version["LaunchTemplateData"]["UserDataPresent"] is True
    assert res[without_ud]["DefaultVersionData"]["LaunchTemplateData"]["UserDataPresent"] is False


def test_launch_template_schema_rejects_user_data() -> None:
    resource = {
        "LaunchTemplateId": "lt-0123456789abcdef0",
        "LaunchTemplateName": "x",
        "DefaultVersionNumber": 1,
        "DefaultVersionData": {
            "VersionNumber": 1,
            "LaunchTemplateData": {"UserDataPresent": True, "UserData": SECRET_B64},
        },
        "Tags": {},
    }
    assert schemas.errors("launch_templates", resource) != []


# --- key pairs -------------------------------------------------------------------------

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0kQqPNCyPCHEmW9rSMOqwqMXVbI0O7dXbC3pBPQ0jC test"


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_key_pairs_moto(aws: Any) -> None:
    ec2 = aws("ec2")
    made = ec2.create_key_pair(
        KeyName="deploy",
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": HOSTILE_TAGS}],
    )
    imported = ec2.import_key_pair(KeyName="laptop", PublicKeyMaterial=PUBLIC_KEY.encode())
    res = build(REGISTRY["key_pairs"], REGISTRY["key_pairs"].fetch(aws))
    assert set(res) == {made["KeyPairId"], imported["KeyPairId"]}
    assert res[made["KeyPairId"]]["Tags"] == HOSTILE
    assert res[imported["KeyPairId"]]["KeyName"] == "laptop"
    blob = all_bytes(res)
    assert b"AAAAC3NzaC1lZDI1NTE5" not in blob
    assert made["KeyMaterial"].split("\n")[1].encode() not in blob


def test_key_pairs_never_ask_for_public_key() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    pair = {"KeyPairId": "key-0abc", "KeyName": "k", "KeyFingerprint": "ab:cd", "CreateTime": WHEN}
    with Stubber(ec2) as stub:
        stub.add_response("describe_key_pairs", {"KeyPairs": [pair]}, {})  # no IncludePublicKey
        raw = REGISTRY["key_pairs"].fetch(lambda _: ec2)
        stub.assert_no_pending_responses()
    assert list(build(REGISTRY["key_pairs"], raw)) == ["key-0abc"]


# --- images ----------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_images_moto(aws: Any) -> None:
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    iid = instance["Instances"][0]["InstanceId"]
    tagged = ec2.create_image(
        InstanceId=iid,
        Name="golden-1",
        TagSpecifications=[{"ResourceType": "image", "Tags": HOSTILE_TAGS}],
    )["ImageId"]
    plain = ec2.create_image(InstanceId=iid, Name="golden-2")["ImageId"]
    res = build(REGISTRY["images"], REGISTRY["images"].fetch(aws))
    assert set(res) == {tagged, plain}
    assert res[tagged]["Tags"] == HOSTILE
    assert res[plain]["Tags"] == {}
    assert {r["OwnerId"] for r in res.values()} == {ACCOUNT}


def test_images_own_and_disabled_last_launched_dropped() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    image = {
        "ImageId": "ami-0123456789abcdef0",
        "Name": "golden",
        "State": "disabled",
        "OwnerId": ACCOUNT,
        "CreationDate": "2024-05-01T12:00:00.000Z",
        "LastLaunchedTime": "2024-05-02T08:00:00Z",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvdb"}, {"DeviceName": "/dev/xvda"}],
    }
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_images",
            {"Images": [image], "NextToken": "t"},
            {"Owners": ["self"], "IncludeDisabled": True},
        )
        stub.add_response(
            "describe_images",
            {"Images": [{**image, "ImageId": "ami-0fedcba9876543210"}]},
            {"Owners": ["self"], "IncludeDisabled": True, "NextToken": "t"},
        )
        raw = REGISTRY["images"].fetch(lambda _: ec2)
        stub.assert_no_pending_responses()
    res = build(REGISTRY["images"], raw)
    assert set(res) == {"ami-0123456789abcdef0", "ami-0fedcba9876543210"}
    for r in res.values():
        assert "LastLaunchedTime" not in r
        assert [b["DeviceName"] for b in r["BlockDeviceMappings"]] == ["/dev/xvda", "/dev/xvdb"]
    assert b"2024-05-02T08" not in all_bytes(res)


# --- snapshots -------------------------------------------------------------------------


@pytest.mark.e2e  # moto in-process: about a second of CPU
def test_snapshots_moto(aws: Any) -> None:
    ec2 = aws("ec2")
    vol = ec2.create_volume(Size=2, AvailabilityZone=f"{REGION}a")["VolumeId"]
    tagged = ec2.create_snapshot(
        VolumeId=vol,
        Description="nightly",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": HOSTILE_TAGS}],
    )["SnapshotId"]
    plain = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    raw = REGISTRY["snapshots"].fetch(aws)
    assert all("Progress" in s for s in raw)
    res = build(REGISTRY["snapshots"], raw)
    assert set(res) == {tagged, plain}
    assert res[tagged]["Tags"] == HOSTILE
    assert res[tagged]["VolumeSize"] == 2
    assert all("Progress" not in r for r in res.values())


def test_snapshots_only_own_paged_progress_dropped() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)

    def snap(n: int, progress: str) -> Raw:
        return {
            "SnapshotId": f"snap-{n:017x}",
            "VolumeId": "vol-0123456789abcdef0",
            "VolumeSize": 8,
            "State": "pending",
            "Progress": progress,
            "StartTime": WHEN,
            "OwnerId": ACCOUNT,
        }

    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_snapshots",
            {"Snapshots": [snap(1, "42%")], "NextToken": "t"},
            {"OwnerIds": ["self"]},
        )
        stub.add_response(
            "describe_snapshots",
            {"Snapshots": [snap(2, "7%")]},
            {"OwnerIds": ["self"], "NextToken": "t"},
        )
        raw = REGISTRY["snapshots"].fetch(lambda _: ec2)
        stub.assert_no_pending_responses()
    first = build(REGISTRY["snapshots"], raw)
    assert set(first) == {f"snap-{1:017x}", f"snap-{2:017x}"}
    # The same snapshots further along give the same bytes.
    later = [{**s, "Progress": "99%"} for s in raw]
    assert all_bytes(first) == all_bytes(build(REGISTRY["snapshots"], later))
