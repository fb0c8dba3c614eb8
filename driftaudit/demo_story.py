"""The demo's story: a small fleet on the embedded emulator, then ten days of changes to it.

The one thing the story is about: ``10.191.12.13``. An instance holds it (day 3), a /32 SSH
rule is opened for it "for debugging" (day 4), the instance is terminated while the rule
lingers (day 7), so whoever gets the address next may SSH into the admin hosts. Around it:
a world-open SSH rule that appears and is reverted, routine tag and instance churn, and a
quiet day (day 9: nothing changes, and the snapshot records the run all the same).

This module writes to AWS APIs, which driftaudit itself never does: it only ever talks to
the demo's own emulator. :func:`story_clients` refuses any endpoint not on 127.0.0.1 and
first POSTs ``/moto-api/seed``, which anything but a moto server refuses; the same seed
also makes the emulator's ids repeat run to run.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

STORY_IP = "10.191.12.13"
REGION = "us-east-1"
OFFICE = "203.0.113.0/24"
# moto does not check that an AMI exists unless MOTO_ENABLE_AMI_VALIDATION is set.
IMAGE = "ami-0a0b0c0d0e0f01234"
SEED = 20121113


@dataclass
class Fleet:
    """The emulator's clients and what the story created, by the names it gave."""

    ec2: Any
    elbv2: Any
    subnets: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    load_balancer: str = ""

    def tags(self, resource: str, **tags: str) -> None:
        self.ec2.create_tags(
            Resources=[resource], Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )

    def launch(self, name: str, subnet: str, group: str, size: str = "t3.small", **kw: Any) -> str:
        """One instance; ``Owner`` is left out when ``owner=""`` (the baseline wants it)."""
        owner = kw.pop("owner", "platform-team")
        tags = {"Name": name, "env": "prod", **({"Owner": owner} if owner else {})}
        created = self.ec2.run_instances(
            ImageId=IMAGE,
            MinCount=1,
            MaxCount=1,
            InstanceType=size,
            SubnetId=self.subnets[subnet],
            SecurityGroupIds=[self.groups[group]],
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
            **kw,
        )["Instances"][0]["InstanceId"]
        self.instances[name] = created
        return str(created)

    def ingress(self, group: str, port: int, cidr: str, description: str) -> dict[str, Any]:
        return {
            "GroupId": self.groups[group],
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "IpRanges": [{"CidrIp": cidr, "Description": description}],
                }
            ],
        }


def story_clients(endpoint_url: str) -> Fleet:
    """Clients for the demo's emulator only (see the module docstring)."""
    host = urllib.parse.urlsplit(endpoint_url).hostname
    if host != "127.0.0.1":
        raise ValueError(f"the demo story only runs on the local emulator, not {endpoint_url}")
    request = urllib.request.Request(
        f"{endpoint_url.rstrip('/')}/moto-api/seed?a={SEED}", data=b"", method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        response.read()
    session = boto3.session.Session(
        aws_access_key_id="demo", aws_secret_access_key="demo", region_name=REGION
    )
    return Fleet(
        session.client("ec2", endpoint_url=endpoint_url),
        session.client("elbv2", endpoint_url=endpoint_url),
    )


def _vpc_tags(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def day1(f: Fleet) -> str:
    ec2 = f.ec2
    vpc = ec2.create_vpc(CidrBlock="10.191.0.0/16", TagSpecifications=_vpc_tags("vpc", "main"))
    vpc_id = vpc["Vpc"]["VpcId"]
    for name, cidr, az in (
        ("public-a", "10.191.1.0/24", "us-east-1a"),
        ("public-b", "10.191.2.0/24", "us-east-1b"),
        ("app", "10.191.12.0/24", "us-east-1a"),
        ("data", "10.191.20.0/24", "us-east-1b"),
    ):
        f.subnets[name] = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=az,
            TagSpecifications=_vpc_tags("subnet", name),
        )["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(TagSpecifications=_vpc_tags("internet-gateway", "main"))
    ec2.attach_internet_gateway(
        InternetGatewayId=igw["InternetGateway"]["InternetGatewayId"], VpcId=vpc_id
    )
    for name, description in (
        ("web", "public web servers"),
        ("app", "application servers"),
        ("admin", "SSH to every host"),
        ("db", "databases"),
    ):
        f.groups[name] = ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id,
            TagSpecifications=_vpc_tags("security-group", name),
        )["GroupId"]
    ec2.authorize_security_group_ingress(**f.ingress("web", 443, "0.0.0.0/0", "https"))
    ec2.authorize_security_group_ingress(**f.ingress("admin", 22, OFFICE, "office"))
    for group, source, port in (("app", "web", 8080), ("db", "app", 5432)):
        ec2.authorize_security_group_ingress(
            GroupId=f.groups[group],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "UserIdGroupPairs": [{"GroupId": f.groups[source]}],
                }
            ],
        )
    f.launch("web-1", "public-a", "web")
    f.launch("web-2", "public-b", "web")
    f.launch("app-1", "app", "app", "m5.large")
    f.launch("app-2", "app", "app", "m5.large")
    f.launch("db-1", "data", "db", "r5.large")
    data = ec2.create_volume(
        AvailabilityZone="us-east-1b",
        Size=100,
        VolumeType="gp3",
        TagSpecifications=_vpc_tags("volume", "db-1-data"),
    )["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=f.instances["db-1"], Device="/dev/sdf")
    f.volumes["db-1-data"] = data
    lb = f.elbv2.create_load_balancer(
        Name="web",
        Subnets=[f.subnets["public-a"], f.subnets["public-b"]],
        SecurityGroups=[f.groups["web"]],
        Scheme="internet-facing",
        Type="application",
        Tags=[{"Key": "Owner", "Value": "platform-team"}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = f.elbv2.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc_id)[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    f.elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    f.load_balancer = lb
    return "the fleet: a VPC, 4 subnets, 4 security groups, 5 instances, a load balancer"


def day2(f: Fleet) -> str:
    f.launch("app-3", "app", "app", "m5.large", owner="")
    f.tags(f.instances["web-1"], **{"patch-group": "a"})
    return "routine: app-3 launched (without an Owner tag), web-1 tagged patch-group=a"


def day3(f: Fleet) -> str:
    f.launch("debug-1", "app", "app", "t3.micro", owner="alice", PrivateIpAddress=STORY_IP)
    return f"debug-1 launched in the app subnet, holding {STORY_IP}"


def day4(f: Fleet) -> str:
    f.ec2.authorize_security_group_ingress(
        **f.ingress("admin", 22, f"{STORY_IP}/32", "for debugging")
    )
    return f"admin group: SSH allowed from {STORY_IP}/32 'for debugging'"


def day5(f: Fleet) -> str:
    f.ec2.authorize_security_group_ingress(**f.ingress("web", 22, "0.0.0.0/0", "quick fix"))
    f.tags(f.instances["app-2"], **{"patch-group": "b"})
    return "web group: SSH opened to the world ('quick fix'); app-2 tagged"


def day6(f: Fleet) -> str:
    f.ec2.revoke_security_group_ingress(**f.ingress("web", 22, "0.0.0.0/0", "quick fix"))
    f.ec2.stop_instances(InstanceIds=[f.instances["app-2"]])
    return "web group: the world-open SSH rule reverted; app-2 stopped"


def day7(f: Fleet) -> str:
    f.ec2.terminate_instances(InstanceIds=[f.instances["debug-1"]])
    return f"debug-1 terminated: {STORY_IP} is free, the /32 rule for it lingers"


def day8(f: Fleet) -> str:
    web2 = f.instances["web-2"]
    f.ec2.stop_instances(InstanceIds=[web2])
    f.ec2.modify_instance_attribute(InstanceId=web2, InstanceType={"Value": "t3.large"})
    f.ec2.start_instances(InstanceIds=[web2])
    f.ec2.start_instances(InstanceIds=[f.instances["app-2"]])
    f.ec2.terminate_instances(InstanceIds=[f.instances["app-1"]])
    f.launch("app-4", "app", "app", "m5.large")
    return (
        "routine: web-2 resized t3.small -> t3.large; app-2 started again; app-1 replaced by app-4"
    )


def day9(f: Fleet) -> str:
    return "quiet: nothing changes; the snapshot records the run (an empty commit)"


def day10(f: Fleet) -> str:
    f.tags(f.instances["web-1"], **{"patch-group": "b"})
    f.tags(f.volumes["db-1-data"], backup="daily")
    f.elbv2.add_tags(ResourceArns=[f.load_balancer], Tags=[{"Key": "env", "Value": "prod"}])
    return "routine: web-1 moves to patch-group b, the db volume and the load balancer tagged"


DAYS: tuple[Callable[[Fleet], str], ...] = (
    day1,
    day2,
    day3,
    day4,
    day5,
    day6,
    day7,
    day8,
    day9,
    day10,
)
