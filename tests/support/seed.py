"""A deterministic fake fleet, created through boto3 on an AWS emulator (moto server).

Used by the snapshot benchmark (S/M/L: 200 to 3,000 instances; the demo tells its own story
in ``demo_story``). Only boto3 and the standard library are imported, so this module loads
without moto installed.

Determinism: every name, tag, CIDR, size and choice comes from ``random.Random`` seeded per
region, and moto's own id generator is seeded first (``POST /moto-api/seed``), so the same
call on a fresh server gives the same ids. Calls that create ids run strictly in order;
only id-free calls (CreateTags, AttachVolume) run on ``workers`` threads. That same POST is
the guard against a wrong endpoint: anything but a moto server refuses it and nothing is
created.
"""

from __future__ import annotations

import base64
import functools
import random
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

TEAMS = ("payments", "search", "platform", "data", "web", "identity", "ml", "infra")
ENVS = ("prod", "staging", "dev")
ROLES = ("api", "worker", "web", "db", "cache", "batch")
INSTANCE_TYPES = ("t3.micro", "t3.small", "m5.large", "c5.xlarge")
#: run_instances creates up to this many instances per call (AWS allows more; moto is slow
#: per call, not per instance).
MAX_BATCH = 50
PLACEHOLDER_AMI = "ami-0a0b0c0d0e0f01234"
USER_DATA = base64.b64encode(b"#!/bin/sh\necho 'driftaudit demo: not a secret'\n").decode()


@dataclass
class _Instance:
    id: str
    az: str
    subnet: str
    name: str
    next_device: int = 0


@dataclass
class _Region:
    """What one region's seeding created, for the later steps and the counts."""

    name: str
    subnets: list[tuple[str, str]] = field(default_factory=list)  # (subnet id, AZ)
    groups: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    instances: list[_Instance] = field(default_factory=list)
    #: Deferred id-free calls: (service, operation, kwargs).
    later: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def _tags(kind: str, **tags: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _moto_seed(endpoint_url: str, seed: int) -> None:
    url = f"{endpoint_url.rstrip('/')}/moto-api/seed?a={int(seed)}"
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - emulator URL
        response.read()


def seed_fleet(
    endpoint_url: str,
    regions: list[str],
    instances: int,
    seed: int = 42,
    workers: int = 4,
) -> dict[str, int]:
    """Create the fleet on the emulator at ``endpoint_url`` and return what was created,
    per resource kind (totals over the regions). Run it on a fresh or reset server for
    repeatable ids."""
    if not regions:
        raise ValueError("seed_fleet needs at least one region")
    _moto_seed(endpoint_url, seed)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=regions[0]
    )
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        # Stock moto renders tags in O(all tags in the region): big creates are slow.
        read_timeout=600,
        max_pool_connections=max(10, workers),
    )
    clients: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in clients:
            clients[service, region] = session.client(
                service, region_name=region, endpoint_url=endpoint_url, config=config
            )
        return clients[service, region]

    done: list[_Region] = []
    for region, count in zip(regions, _split(instances, len(regions)), strict=True):
        rng = random.Random(f"driftaudit-seed/{seed}/{region}")
        state = _Region(region)
        _seed_region(functools.partial(_regional, client, region), rng, state, count)
        done.append(state)

    later = [(client(svc, r.name), op, kw) for r in done for svc, op, kw in r.later]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda job: getattr(job[0], job[1])(**job[2]), later))  # re-raise errors
    total: Counter[str] = Counter({"regions": len(regions)})
    for r in done:
        total.update(r.counts)
    return dict(sorted(total.items()))


def _regional(client: Callable[[str, str], Any], region: str, service: str) -> Any:
    return client(service, region)


def _seed_region(
    client: Callable[[str], Any], rng: random.Random, st: _Region, n_instances: int
) -> None:
    ec2 = client("ec2")
    region = st.name
    net = rng.randrange(16, 250)
    vpc = ec2.create_vpc(
        CidrBlock=f"10.{net}.0.0/16",
        TagSpecifications=_tags("vpc", Name=f"main-{region}", team="platform"),
    )["Vpc"]["VpcId"]
    st.counts["vpcs"] += 1

    n_subnets = min(8, 2 + n_instances // 150)
    for i in range(n_subnets):
        az = f"{region}{'abc'[i % 3]}"
        tier = "public" if i == 0 else "private"
        subnet = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=f"10.{net}.{16 * i}.0/20",
            AvailabilityZone=az,
            TagSpecifications=_tags("subnet", Name=f"{tier}-{az}", tier=tier),
        )["Subnet"]["SubnetId"]
        st.subnets.append((subnet, az))
    st.counts["subnets"] += n_subnets

    _seed_edge(ec2, st, vpc)
    _seed_groups(ec2, rng, st, vpc, net, max(1, round(n_instances / 6)))
    _seed_prefix_list(ec2, st)

    key_name = f"{rng.choice(TEAMS)}-{region}"
    ec2.create_key_pair(KeyName=key_name, TagSpecifications=_tags("key-pair", team="platform"))
    st.counts["key_pairs"] += 1

    base_image = _base_image(ec2)
    _seed_instances(ec2, rng, st, n_instances, base_image, key_name)
    _seed_volumes(ec2, rng, st, round(n_instances / 2))
    _seed_addresses(ec2, rng, st, max(1, n_instances // 25))
    _seed_compute(client, rng, st, vpc, n_instances, base_image, key_name)


def _base_image(ec2: Any) -> str:
    """The lowest-id Amazon AMI, or a placeholder when the emulator runs without its built-in
    AMIs (MOTO_EC2_LOAD_DEFAULT_AMIS=false): moto does not check that an AMI exists unless
    MOTO_ENABLE_AMI_VALIDATION is set."""
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    return min((i["ImageId"] for i in images), default=PLACEHOLDER_AMI)


def _seed_edge(ec2: Any, st: _Region, vpc: str) -> None:
    """Internet gateway, a public route table, and a NAT gateway on its own elastic IP."""
    igw = ec2.create_internet_gateway(
        TagSpecifications=_tags("internet-gateway", Name=f"igw-{st.name}")
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=_tags("route-table", Name="public")
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=st.subnets[0][0])
    nat_ip = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", Name="nat"))[
        "AllocationId"
    ]
    ec2.create_nat_gateway(
        SubnetId=st.subnets[0][0],
        AllocationId=nat_ip,
        TagSpecifications=_tags("natgateway", Name=f"nat-{st.name}"),
    )
    st.counts.update({"internet_gateways": 1, "route_tables": 1, "nat_gateways": 1})
    st.counts["elastic_ips"] += 1


def _seed_groups(ec2: Any, rng: random.Random, st: _Region, vpc: str, net: int, n: int) -> None:
    for i in range(n):
        role, env = rng.choice(ROLES), rng.choice(ENVS)
        group = ec2.create_security_group(
            GroupName=f"{role}-{env}-{i:03d}",
            Description=f"{role} servers ({env})",
            VpcId=vpc,
            TagSpecifications=_tags("security-group", Name=f"{role}-{env}", team=rng.choice(TEAMS)),
        )["GroupId"]
        office = f"203.0.113.{rng.randrange(1, 255)}/32"
        perms: list[dict[str, Any]] = [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": office, "Description": "office"}],
            },
        ]
        if rng.random() < 0.4:
            prefix = f"2001:db8:{rng.randrange(1, 0xFFFF):x}::/48"
            perms.append(
                {
                    "IpProtocol": "tcp",
                    "FromPort": 8443,
                    "ToPort": 8443,
                    "Ipv6Ranges": [{"CidrIpv6": prefix}],
                }
            )
        if st.groups and rng.random() < 0.5:
            peer = rng.choice(st.groups)
            perms.append(
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": peer, "Description": "app to db"}],
                }
            )
        if rng.random() < 0.3:
            perms.append(
                {
                    "IpProtocol": "icmp",
                    "FromPort": -1,
                    "ToPort": -1,
                    "IpRanges": [{"CidrIp": f"10.{net}.0.0/16"}],
                }
            )
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=perms)
        st.groups.append(group)
        st.counts["security_group_rules"] += len(perms)
    st.counts["security_groups"] += n


def _seed_prefix_list(ec2: Any, st: _Region) -> None:
    """The office's addresses as a managed prefix list, behind SSH on the first group."""
    office = ec2.create_managed_prefix_list(
        PrefixListName="office",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "203.0.113.0/24", "Description": "office"}],
        TagSpecifications=_tags("prefix-list", team="infra"),
    )["PrefixList"]["PrefixListId"]
    perm = {
        "IpProtocol": "tcp",
        "FromPort": 22,
        "ToPort": 22,
        "PrefixListIds": [{"PrefixListId": office}],
    }
    ec2.authorize_security_group_ingress(GroupId=st.groups[0], IpPermissions=[perm])
    st.counts.update({"managed_prefix_lists": 1, "security_group_rules": 1})


def _seed_instances(
    ec2: Any, rng: random.Random, st: _Region, n: int, image: str, key_name: str
) -> None:
    # Small fleets get one call per instance (varied tags), big ones batches of shared
    # type/subnet/groups, like an auto-scaled service.
    cap = max(1, min(MAX_BATCH, n // 4))
    while len(st.instances) < n:
        size = min(n - len(st.instances), rng.randint(max(1, cap // 2), cap))
        subnet, az = rng.choice(st.subnets)
        role, env, team = rng.choice(ROLES), rng.choice(ENVS), rng.choice(TEAMS)
        groups = rng.sample(st.groups, k=min(len(st.groups), rng.choice((1, 1, 2))))
        created = ec2.run_instances(
            ImageId=image,
            MinCount=size,
            MaxCount=size,
            InstanceType=rng.choice(INSTANCE_TYPES),
            KeyName=key_name,
            SubnetId=subnet,
            SecurityGroupIds=groups,
            TagSpecifications=_tags("instance", env=env, team=team, role=role),
        )["Instances"]
        for inst in sorted(created, key=lambda i: i["AmiLaunchIndex"]):
            name = f"{role}-{env}-{len(st.instances):04d}"
            st.instances.append(_Instance(inst["InstanceId"], az, subnet, name))
            # A unique Name per instance: one tag call each, id-free, so it can run later.
            st.later.append(
                (
                    "ec2",
                    "create_tags",
                    {"Resources": [inst["InstanceId"]], "Tags": [{"Key": "Name", "Value": name}]},
                )
            )
            if rng.random() < 0.1:
                eni = ec2.create_network_interface(
                    SubnetId=subnet,
                    Groups=groups,
                    Description=f"second interface of {name}",
                    TagSpecifications=_tags("network-interface", Name=f"{name}-eth1"),
                )["NetworkInterface"]["NetworkInterfaceId"]
                ec2.attach_network_interface(
                    NetworkInterfaceId=eni, InstanceId=inst["InstanceId"], DeviceIndex=1
                )
                st.counts["extra_network_interfaces"] += 1
    st.counts["instances"] += n
    # The emulator (like AWS) gives every instance an EBS root volume.
    st.counts["volumes"] += n


def _seed_volumes(ec2: Any, rng: random.Random, st: _Region, n: int) -> None:
    """Extra data volumes, about half attached (the attach call is deferred: id-free)."""
    for i in range(n):
        target = rng.choice(st.instances) if st.instances and rng.random() < 0.5 else None
        az = target.az if target else rng.choice(st.subnets)[1]
        kind = rng.choice(("gp3", "gp3", "gp2", "io1"))
        extra = {"Iops": 1000} if kind == "io1" else {}
        volume = ec2.create_volume(
            AvailabilityZone=az,
            Size=rng.choice((8, 20, 50, 100, 500)),
            VolumeType=kind,
            TagSpecifications=_tags("volume", Name=f"data-{i:04d}", team=rng.choice(TEAMS)),
            **extra,
        )["VolumeId"]
        st.volumes.append(volume)
        if target is not None and target.next_device < 10:
            device = f"/dev/sd{'fghijklmno'[target.next_device]}"
            target.next_device += 1
            st.later.append(
                (
                    "ec2",
                    "attach_volume",
                    {"VolumeId": volume, "InstanceId": target.id, "Device": device},
                )
            )
            st.counts["attached_volumes"] += 1
    st.counts["volumes"] += n


def _seed_addresses(ec2: Any, rng: random.Random, st: _Region, n: int) -> None:
    for i in range(n):
        allocation = ec2.allocate_address(
            Domain="vpc", TagSpecifications=_tags("elastic-ip", Name=f"eip-{i:03d}")
        )["AllocationId"]
        if st.instances and rng.random() < 0.5:
            ec2.associate_address(AllocationId=allocation, InstanceId=rng.choice(st.instances).id)
    st.counts["elastic_ips"] += n


def _seed_compute(
    client: Callable[[str], Any],
    rng: random.Random,
    st: _Region,
    vpc: str,
    n_instances: int,
    image: str,
    key_name: str,
) -> None:
    """Load balancers with listeners, launch templates each with an empty auto-scaling
    group, one image and one snapshot."""
    ec2, elbv2, autoscaling = client("ec2"), client("elbv2"), client("autoscaling")
    two_azs = [st.subnets[0][0], st.subnets[1][0]]
    for i in range(max(1, n_instances // 200)):
        role, env = rng.choice(ROLES), rng.choice(ENVS)
        lb = elbv2.create_load_balancer(
            Name=f"{role}-{env}-{i:02d}",
            Subnets=two_azs,
            SecurityGroups=[rng.choice(st.groups)],
            Scheme="internet-facing",
            Type="application",
            Tags=[{"Key": "team", "Value": rng.choice(TEAMS)}, {"Key": "env", "Value": env}],
        )["LoadBalancers"][0]["LoadBalancerArn"]
        target_group = elbv2.create_target_group(
            Name=f"{role}-{env}-{i:02d}-tg", Protocol="HTTP", Port=8080, VpcId=vpc
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
        )
        st.counts["load_balancers"] += 1
        st.counts["listeners"] += 1

    for i in range(max(1, n_instances // 300)):
        role, env, team = rng.choice(ROLES), rng.choice(ENVS), rng.choice(TEAMS)
        template = ec2.create_launch_template(
            LaunchTemplateName=f"{role}-{env}-{i:02d}",
            LaunchTemplateData={
                "ImageId": image,
                "InstanceType": rng.choice(INSTANCE_TYPES),
                "KeyName": key_name,
                "SecurityGroupIds": [rng.choice(st.groups)],
                "UserData": USER_DATA,
            },
            TagSpecifications=_tags("launch-template", team=team),
        )["LaunchTemplate"]["LaunchTemplateId"]
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"{role}-{env}-{i:02d}",
            LaunchTemplate={"LaunchTemplateId": template, "Version": "$Default"},
            MinSize=0,
            MaxSize=2,
            DesiredCapacity=0,
            VPCZoneIdentifier=",".join(two_azs),
            Tags=[
                {"Key": "team", "Value": team, "PropagateAtLaunch": True},
                {"Key": "service", "Value": role, "PropagateAtLaunch": False},
            ],
        )
        st.counts["launch_templates"] += 1
        st.counts["auto_scaling_groups"] += 1

    first = st.instances[0] if st.instances else None
    if first is not None:
        ec2.create_image(InstanceId=first.id, Name=f"{first.name}-golden", Description="golden")
        st.counts["images"] += 1
        # CreateImage snapshots the instance's EBS volumes: here only its root volume (the data
        # volume attachments are made later).
        st.counts["snapshots"] += 1
    if st.volumes:
        ec2.create_snapshot(
            VolumeId=st.volumes[0],
            Description="nightly",
            TagSpecifications=_tags("snapshot", Name="nightly"),
        )
        st.counts["snapshots"] += 1
