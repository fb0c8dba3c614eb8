"""tests.support.seed against the moto server: what it creates, that it repeats, and that it
creates nothing on an endpoint that is not an emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support.loopback import LoopbackHandler, LoopbackServer
from tests.support.motoserver import MotoServer
from tests.support.seed import seed_fleet

REGIONS = ["us-east-1", "eu-west-1"]


def _client(server: MotoServer, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=server.url)


def _instances(server: MotoServer, region: str) -> list[dict[str, Any]]:
    pages = _client(server, "ec2", region).get_paginator("describe_instances").paginate()
    return [i for p in pages for r in p["Reservations"] for i in r["Instances"]]


def _fleet(server: MotoServer) -> dict[str, Any]:
    """Ids and names of what was seeded, per region, in a comparable form."""
    out: dict[str, Any] = {}
    for region in REGIONS:
        ec2 = _client(server, "ec2", region)
        out[region] = {
            "instances": sorted(
                (i["InstanceId"], {t["Key"]: t["Value"] for t in i["Tags"]}["Name"])
                for i in _instances(server, region)
            ),
            "volumes": sorted(v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]),
            # Each VPC's "default" group is made by moto itself, with an id that does not
            # always follow /moto-api/seed (it depends on when the region's backend started).
            "groups": sorted(
                (g["GroupId"], g["GroupName"])
                for g in ec2.describe_security_groups()["SecurityGroups"]
                if g["GroupName"] != "default"
            ),
        }
    return out


def test_seeded_fleet_matches_the_counts(moto: MotoServer) -> None:
    counts = seed_fleet(moto.url, REGIONS, 7, seed=3)
    assert counts["instances"] == 7
    assert counts["regions"] == 2

    per_region = [_instances(moto, r) for r in REGIONS]
    assert [len(i) for i in per_region] == [4, 3]  # the remainder goes to the first region
    for instance in per_region[0] + per_region[1]:
        assert {"Name", "env", "team"} <= {t["Key"] for t in instance["Tags"]}

    volumes = [v for r in REGIONS for v in _client(moto, "ec2", r).describe_volumes()["Volumes"]]
    assert len(volumes) == counts["volumes"]
    assert counts["volumes"] >= counts["instances"]  # a root volume each, plus data volumes

    ec2 = _client(moto, "ec2", "us-east-1")
    sources = [
        cidr["CidrIp"]
        for g in ec2.describe_security_groups(Filters=[{"Name": "tag-key", "Values": ["team"]}])[
            "SecurityGroups"
        ]
        for perm in g["IpPermissions"]
        for cidr in perm.get("IpRanges", [])
    ]
    assert "0.0.0.0/0" in sources
    assert any(s.endswith("/32") for s in sources)

    elbv2 = _client(moto, "elbv2", "us-east-1")
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(balancers) == 1
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancers[0]["LoadBalancerArn"])
    assert len(listeners["Listeners"]) == 1
    groups = _client(moto, "autoscaling", "us-east-1").describe_auto_scaling_groups()
    assert [g["MinSize"] for g in groups["AutoScalingGroups"]] == [0]
    assert len(ec2.describe_launch_templates()["LaunchTemplates"]) == 1
    assert len(ec2.describe_images(Owners=["self"])["Images"]) == 1
    snapshots = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert sorted(s["Description"][:13] for s in snapshots) == ["Created by Cr", "nightly"]
    assert counts["snapshots"] == len(REGIONS) * len(snapshots)  # the regions are alike
    assert len(ec2.describe_key_pairs()["KeyPairs"]) == 1
    assert len(ec2.describe_nat_gateways()["NatGateways"]) == 1


def test_same_seed_same_fleet_other_seed_other_names(moto: MotoServer) -> None:
    seed_fleet(moto.url, REGIONS, 6, seed=11)
    first = _fleet(moto)
    moto.reset()
    seed_fleet(moto.url, REGIONS, 6, seed=11)
    assert _fleet(moto) == first
    moto.reset()
    seed_fleet(moto.url, REGIONS, 6, seed=12)
    assert _fleet(moto) != first


class _NotAnEmulator(LoopbackHandler):
    seen: list[str] = []

    def do_POST(self) -> None:
        self.seen.append(self.path)
        self.send(404, {}, b"")


@pytest.fixture
def not_an_emulator() -> Iterator[str]:
    _NotAnEmulator.seen = []
    with LoopbackServer(_NotAnEmulator) as server:
        yield server.url


def test_an_endpoint_without_the_moto_api_gets_no_create_call(not_an_emulator: str) -> None:
    with pytest.raises(OSError):
        seed_fleet(not_an_emulator, REGIONS, 2)
    assert _NotAnEmulator.seen == ["/moto-api/seed?a=42"]
