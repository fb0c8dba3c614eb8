"""README's IAM policy is what driftaudit calls: a full snapshot of every type in every
region (``--all-regions``, so DescribeRegions too) runs against the moto server through the
loopback proxy, which records each request's ``service:Action`` (the SigV4 signing name is
IAM's prefix for these services: ELB and ELBv2 both sign as ``elasticloadbalancing``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.cli import main
from driftaudit.collect.collectors import iam_policy
from tests.support.faultproxy import FaultProxy
from tests.support.motoserver import MotoServer

REGION = "us-east-1"


def client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION)


def seed_every_kind_of_call(url: str) -> None:
    """The resources whose presence makes the per-resource calls: an ELBv2 load balancer
    (DescribeListeners, elbv2 DescribeTags), a classic one (elb DescribeTags), a launch
    template (DescribeLaunchTemplateVersions) and a prefix list of our own
    (GetManagedPrefixListEntries)."""
    ec2 = client("ec2", url)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{n}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((1, "a"), (2, "b"))
    ]
    client("elbv2", url).create_load_balancer(Name="iam-app", Subnets=subnets)
    client("elb", url).create_load_balancer(
        LoadBalancerName="iam-classic",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}],
        AvailabilityZones=[f"{REGION}a"],
    )
    ec2.create_launch_template(LaunchTemplateName="iam-lt", LaunchTemplateData={})
    ec2.create_managed_prefix_list(PrefixListName="iam-pl", MaxEntries=1, AddressFamily="IPv4")


@pytest.fixture
def snapshot(capsysbinary: pytest.CaptureFixture[bytes]) -> Callable[..., tuple[int, str]]:
    def run(*args: str) -> tuple[int, str]:
        try:
            main(["snapshot", *args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        return code, capsysbinary.readouterr().err.decode("utf-8", "replace")

    return run


def test_a_full_snapshot_calls_exactly_the_policys_actions(
    moto: MotoServer, snapshot: Callable[..., tuple[int, str]], tmp_path: Path
) -> None:
    seed_every_kind_of_call(moto.url)
    with FaultProxy(moto.url) as proxy:
        code, err = snapshot("--all-regions", "--endpoint-url", proxy.url, "-o", str(tmp_path))
    assert code == 0, err
    called = {action for action in proxy.actions if not action.endswith(":")}
    policy = set(iam_policy()["Statement"][0]["Action"])
    # sts:AssumeRole is only called with --role-arn, and is granted on the roles, not in this
    # policy (README says so beside it).
    assert called - policy == set(), "called, but not in README's IAM policy"
    assert policy - called == set(), "in README's IAM policy, but never called"
    assert proxy.actions["ec2:DescribeRegions"] >= 1
    assert len(list(tmp_path.glob("*/*/load_balancers/*"))) == 2
