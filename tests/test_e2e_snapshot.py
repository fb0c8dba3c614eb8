"""End to end: the driftaudit CLI against a moto server over HTTP (``--endpoint-url``),
directly or through the fault-injecting proxy.

Fleets are tiny and seeded with boto3 through the same server. Assertions name the
resources the test created (other types may be added to the registry at any time) and
every file written is checked against its JSON Schema.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.handlers
import pytest
from botocore.config import Config

from driftaudit.canonical import format_of, loads
from driftaudit.cli import main
from driftaudit.collect.aws import read_only_guard
from driftaudit.collect.collectors import REGISTRY
from driftaudit.errors import ReadOnlyViolation
from driftaudit.schemas import document_errors
from tests.support.faultproxy import FaultProxy
from tests.support.motoserver import MotoServer, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's account for any plain credentials
SEEDED = "instances,security_groups,volumes"
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\.(yaml|json)$")

# Tag values EC2 accepts and moto returns intact. Control characters other than tab and
# newline cannot travel in moto's XML at all (NUL is impossible in AWS tags), and XML
# parsing turns "\r\n" into "\n", so those are covered by test_canonical instead. AWS caps
# values at 256 characters; moto does not, so the 10 kB value tests our side only.
HOSTILE_VALUES = {
    "path": "../../etc/passwd",
    "slash": "a/b",
    "yes": "yes",
    "no": "no",
    "tilde": "~",
    "null": "null",
    "float": "1e3",
    "octal": "0o17",
    "date": "2024-01-01",
    "time": "1:30",
    "empty": "",
    "spaces": "  lead and trail  ",
    "tab": "tab\there",
    "multi": "line one\nline two\n",
    "emoji": "🚀 ünïcødé 中文",
    "del": "del\x7f",
    "c1": "next\x85line",
    "linesep": "a\u2028b",
    "bom": "\ufeffbom",
    "dash": "- x",
    "colon": ": x",
    "hash": "# not a comment",
    "xml": "<b>&amp;\"'</b>",
    "big": "x" * 10240,
}
HOSTILE_KEYS = ["../../etc/passwd", "a/b", "yes", "~", "🚀", "- x", "#", "1e3", " pad "]


# --- running the CLI -------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: bytes
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


@pytest.fixture
def run(capsysbinary: pytest.CaptureFixture[bytes]) -> Callable[..., Result]:
    """Run ``driftaudit ARGS`` in-process and return its exit code and output."""

    def _run(*args: str) -> Result:
        capsysbinary.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        captured = capsysbinary.readouterr()
        return Result(code, captured.out, captured.err.decode("utf-8", errors="replace"))

    return _run


def snap(
    run: Callable[..., Result],
    url: str,
    out: Path | None,
    *args: str,
    regions: tuple[str, ...] = ("us-east-1",),
) -> Result:
    argv = ["snapshot", *regions, "--endpoint-url", url, *args]
    if out is not None:
        argv += ["-o", str(out)]
    return run(*argv)


def files(root: Path) -> dict[str, tuple[bytes, int]]:
    """relative path -> (bytes, mtime_ns) of every file under root, but the tool's own
    state (``.driftaudit/``: the run lock when DIR is in no repository)."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != ".driftaudit"
    }


def contents(root: Path) -> dict[str, bytes]:
    return {k: v[0] for k, v in files(root).items()}


def ids(root: Path, account: str, region: str, rtype: str) -> set[str]:
    directory = root / account / region / rtype
    return {p.name.rsplit(".", 1)[0] for p in directory.iterdir()} if directory.is_dir() else set()


def check_tree(root: Path) -> dict[str, Any]:
    """Every file: named <account>/<region>/<type>/<id>.<ext> by its own envelope, valid
    against its schemas. Returns relative path -> document."""
    docs = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or rel.parts[0] == ".driftaudit":  # the run lock
            continue
        assert len(rel.parts) == 4, f"unexpected file {rel}"
        assert FILE_NAME.match(rel.name), rel
        doc = loads(path.read_bytes(), format_of(path.name))
        assert document_errors(doc) == [], (rel, document_errors(doc)[:5])
        stem = rel.name.rsplit(".", 1)[0]
        assert list(rel.parts[:3]) + [stem] == [
            doc["account"],
            doc["region"],
            doc["type"],
            doc["id"],
        ]
        docs[rel.as_posix()] = doc
    return docs


# --- seeding ---------------------------------------------------------------------------


def aws(
    service: str, url: str, region: str = "us-east-1", creds: dict[str, str] | None = None
) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
        **(creds or {}),
    )


@dataclass
class Fleet:
    region: str
    vpc: str = ""
    subnets: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


def seed_fleet(
    url: str, region: str = "us-east-1", n_instances: int = 2, creds: dict[str, str] | None = None
) -> Fleet:
    ec2 = aws("ec2", url, region, creds)
    fleet = Fleet(region)
    fleet.vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    for n, cidr in enumerate(("10.20.1.0/24", "10.20.2.0/24")):
        fleet.subnets.append(
            ec2.create_subnet(
                VpcId=fleet.vpc, CidrBlock=cidr, AvailabilityZone=f"{region}{'ab'[n]}"
            )["Subnet"]["SubnetId"]
        )
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=fleet.vpc)
    db = ec2.create_security_group(GroupName="db", Description="db", VpcId=fleet.vpc)
    fleet.groups = [web["GroupId"], db["GroupId"]]
    ec2.authorize_security_group_ingress(
        GroupId=fleet.groups[0],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "public"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "192.0.2.0/24"}]},
        ],
    )  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=fleet.groups[1],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "UserIdGroupPairs": [{"GroupId": fleet.groups[0]}]},
        ],
    )  # fmt: skip
    if n_instances:
        run = ec2.run_instances(
            ImageId="ami-12c6146b",
            InstanceType="t3.micro",
            MinCount=n_instances,
            MaxCount=n_instances,
            SubnetId=fleet.subnets[0],
            SecurityGroupIds=fleet.groups,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "app"}]}
            ],
        )
        fleet.instances = [i["InstanceId"] for i in run["Instances"]]
    for size in (8, 20):
        vol = ec2.create_volume(AvailabilityZone=f"{region}a", Size=size, VolumeType="gp3")
        fleet.volumes.append(vol["VolumeId"])
    if fleet.instances:
        ec2.attach_volume(
            VolumeId=fleet.volumes[0], InstanceId=fleet.instances[0], Device="/dev/sdf"
        )
    return fleet


def assert_seeded(root: Path, fleet: Fleet, account: str = ACCOUNT) -> None:
    region = fleet.region
    assert ids(root, account, region, "instances") == set(fleet.instances)
    assert ids(root, account, region, "volumes") >= set(fleet.volumes)
    assert ids(root, account, region, "security_groups") >= set(fleet.groups)


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every (service, operation) asked of any botocore session created from now on (a
    before-call hook installed with botocore's built-in handlers). boto3's default session,
    used for seeding, may predate it: tests clear the list before the run they check."""
    calls: list[tuple[str, str]] = []

    def hook(model: Any, **_: Any) -> None:
        calls.append((model.service_model.service_name, model.name))

    old = botocore.handlers.BUILTIN_HANDLERS
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [*old, ("before-call", hook)])
    yield calls


def assert_read_only(calls: list[tuple[str, str]], allow_assume_role: bool = False) -> None:
    assert calls, "the hook saw the run"
    for service, operation in calls:
        if allow_assume_role and (service, operation) == ("sts", "AssumeRole"):
            continue
        assert operation.startswith(("Describe", "List", "Get")), (service, operation)
    assert ("ec2", "DescribeInstanceAttribute") not in calls
    assert ("ec2", "GetLaunchTemplateData") not in calls


# --- determinism and change --------------------------------------------------------------


def test_two_runs_give_identical_bytes_and_the_second_writes_nothing(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, api_calls: list[Any]
) -> None:
    fleet = seed_fleet(moto.url, n_instances=3)
    out = tmp_path / "snap"
    api_calls.clear()
    first = snap(run, moto.url, out)
    assert first.code == 0, first.err
    assert_seeded(out, fleet)
    docs = check_tree(out)
    assert {d["type"] for d in docs.values()} >= {"instances", "security_groups", "volumes"}
    assert_read_only(api_calls)
    assert {("ec2", "DescribeInstances"), ("ec2", "DescribeVolumes")} <= set(api_calls)
    before = files(out)

    second = snap(run, moto.url, out)
    assert second.code == 0, second.err
    assert files(out) == before  # same bytes and same mtime_ns: nothing rewritten
    assert f"; 0 written, {len(before)} unchanged, 0 removed;" in second.err
    assert f"{len(before)} written, 0 unchanged" in first.err

    # The attached volume records its instance; the rule of db names web's group.
    attached = docs[f"{ACCOUNT}/us-east-1/volumes/{fleet.volumes[0]}.yaml"]["resource"]
    assert [a["InstanceId"] for a in attached["Attachments"]] == [fleet.instances[0]]
    db = docs[f"{ACCOUNT}/us-east-1/security_groups/{fleet.groups[1]}.yaml"]["resource"]
    assert {"group"} == {r["SourceType"] for r in db["Rules"] if r["Direction"] == "ingress"}


def test_deleted_resources_disappear_and_new_ones_appear(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    fleet = seed_fleet(moto.url)
    out = tmp_path / "snap"
    assert snap(run, moto.url, out, "--only", SEEDED).code == 0
    ec2 = aws("ec2", moto.url)
    ec2.terminate_instances(InstanceIds=[fleet.instances[1]])
    ec2.delete_volume(VolumeId=fleet.volumes[1])
    new_volume = ec2.create_volume(AvailabilityZone="us-east-1b", Size=1)["VolumeId"]
    ec2.revoke_security_group_ingress(
        GroupId=fleet.groups[0],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "192.0.2.0/24"}]},
        ],
    )  # fmt: skip
    before = files(out)

    result = snap(run, moto.url, out, "--only", SEEDED)
    assert result.code == 0, result.err
    assert ids(out, ACCOUNT, "us-east-1", "instances") == {fleet.instances[0]}
    volumes = ids(out, ACCOUNT, "us-east-1", "volumes")
    assert fleet.volumes[1] not in volumes
    assert {fleet.volumes[0], new_volume} <= volumes
    after = files(out)
    web = f"{ACCOUNT}/us-east-1/security_groups/{fleet.groups[0]}.yaml"
    assert after[web] != before[web]
    assert b"192.0.2.0/24" in before[web][0] and b"192.0.2.0/24" not in after[web][0]
    db = f"{ACCOUNT}/us-east-1/security_groups/{fleet.groups[1]}.yaml"
    assert after[db] == before[db]
    check_tree(out)


# --- hostile tags ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_hostile_tags_stay_in_files_named_by_ids_and_round_trip(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, fmt: str
) -> None:
    fleet = seed_fleet(moto.url, n_instances=1)
    tags = {**HOSTILE_VALUES, **{k: k for k in HOSTILE_KEYS}}
    ec2 = aws("ec2", moto.url)
    targets = [fleet.instances[0], fleet.volumes[1], fleet.groups[0]]
    ec2.create_tags(Resources=targets, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    jail = tmp_path / "jail"
    out = jail / "out"
    out.mkdir(parents=True)

    result = snap(run, moto.url, out, "--only", SEEDED, "-f", fmt)
    assert result.code == 0, result.err
    assert [p.name for p in jail.iterdir()] == ["out"]  # nothing written beside DIR
    assert not [p for p in tmp_path.rglob("*") if p.name in ("passwd", "b", "etc")]
    docs = check_tree(out)  # every file is <account>/<region>/<type>/<id>.<ext>
    for rtype, rid in zip(("instances", "volumes", "security_groups"), targets, strict=True):
        resource = docs[f"{ACCOUNT}/us-east-1/{rtype}/{rid}.{fmt}"]["resource"]
        expected = dict(tags, Name="app") if rtype == "instances" else tags
        assert resource["Tags"] == expected


# --- faults through the proxy --------------------------------------------------------------


def test_throttling_gives_the_same_bytes_as_a_clean_run(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    fleet = seed_fleet(moto.url)
    clean = snap(run, moto.url, tmp_path / "clean")
    assert clean.code == 0, clean.err
    with FaultProxy(moto.url, throttle_rate=0.3, seed=3) as proxy:
        throttled = snap(run, proxy.url, tmp_path / "throttled")
    assert throttled.code == 0, throttled.err
    assert proxy.counts["throttled"] > 0
    assert contents(tmp_path / "throttled") == contents(tmp_path / "clean")
    assert_seeded(tmp_path / "throttled", fleet)


def test_connection_resets_still_give_a_complete_snapshot(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    seed_fleet(moto.url)
    clean = snap(run, moto.url, tmp_path / "clean")
    assert clean.code == 0, clean.err
    with FaultProxy(moto.url, reset_rate=0.2, seed=5) as proxy:
        result = snap(run, proxy.url, tmp_path / "reset")
    assert result.code == 0, result.err
    assert proxy.counts["reset"] > 0
    assert contents(tmp_path / "reset") == contents(tmp_path / "clean")


def test_access_denied_keeps_the_previous_files_of_that_part_only(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    fleet = seed_fleet(moto.url)
    out = tmp_path / "snap"
    assert snap(run, moto.url, out, "--only", SEEDED).code == 0
    volumes_dir = f"{ACCOUNT}/us-east-1/volumes/"
    before = files(out)
    # AWS changes: the volumes part would change, and so would the instances part.
    ec2 = aws("ec2", moto.url)
    ec2.delete_volume(VolumeId=fleet.volumes[1])
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=2)
    ec2.create_tags(Resources=[fleet.instances[0]], Tags=[{"Key": "Name", "Value": "renamed"}])

    with FaultProxy(moto.url, deny_actions=["ec2:DescribeVolumes"]) as proxy:
        result = snap(run, proxy.url, out, "--only", SEEDED, "-q")
    assert result.code == 3
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert "us-east-1" in line and "volumes" in line and "ec2:DescribeVolumes" in line
    assert "Traceback" not in result.err
    assert proxy.counts["denied"] == 1  # an access error is not retried
    after = files(out)
    assert {k: v for k, v in after.items() if k.startswith(volumes_dir)} == {
        k: v for k, v in before.items() if k.startswith(volumes_dir)
    }
    instance = loads(after[f"{ACCOUNT}/us-east-1/instances/{fleet.instances[0]}.yaml"][0])
    assert instance["resource"]["Tags"]["Name"] == "renamed"


def test_every_part_denied_exits_1_and_writes_nothing(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    seed_fleet(moto.url)
    out = tmp_path / "snap"
    with FaultProxy(moto.url, deny_actions=["ec2:*"]) as proxy:
        result = snap(run, proxy.url, out, "--only", SEEDED, "-q")
    assert result.code == 1
    assert len(result.err_lines) == 3, result.err  # one line per (region, type) part
    assert all("access denied" in line for line in result.err_lines)
    assert "Traceback" not in result.err
    assert files(out) == {}


def test_everything_denied_including_sts_exits_1_with_one_line(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    with FaultProxy(moto.url, deny_actions=["*"]) as proxy:
        result = snap(run, proxy.url, tmp_path / "snap")
    assert result.code == 1
    assert len(result.err_lines) == 1, result.err
    assert "sts:GetCallerIdentity" in result.err and "AccessDenied" in result.err
    assert not (tmp_path / "snap").exists()


# --- read-only -------------------------------------------------------------------------


def test_read_only_guard_refuses_writes_and_user_data(moto: MotoServer) -> None:
    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call", read_only_guard)
    ec2 = session.client("ec2", endpoint_url=moto.url)
    assert ec2.describe_instances()["Reservations"] == []  # reads pass
    with pytest.raises(ReadOnlyViolation, match="ec2:RunInstances"):
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    with pytest.raises(ReadOnlyViolation, match="ec2:CreateTags"):
        ec2.create_tags(Resources=["vpc-1"], Tags=[{"Key": "a", "Value": "b"}])
    seeded = seed_fleet(moto.url, n_instances=1)  # an unguarded client
    with pytest.raises(ReadOnlyViolation, match="DescribeInstanceAttribute"):
        ec2.describe_instance_attribute(InstanceId=seeded.instances[0], Attribute="userData")
    sts = session.client("sts", endpoint_url=moto.url)
    with pytest.raises(ReadOnlyViolation, match="sts:DecodeAuthorizationMessage"):
        sts.decode_authorization_message(EncodedMessage="message")
    # Credential exchanges pass: boto3's chain calls this one for OIDC (GitLab CI, EKS).
    sts.assume_role_with_web_identity(
        RoleArn="arn:aws:iam::111111111111:role/a",
        RoleSessionName="xx",
        WebIdentityToken="token",
    )
    # Nothing the guard refused reached the server.
    assert len(aws("ec2", moto.url).describe_instances()["Reservations"]) == 1


# --- regions, formats, accounts, output modes -------------------------------------------


def test_two_regions_seeded_differently(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    east = seed_fleet(moto.url, "us-east-1", n_instances=2)
    west = seed_fleet(moto.url, "eu-west-1", n_instances=0)
    out = tmp_path / "snap"
    result = snap(run, moto.url, out, "--only", SEEDED, regions=("eu-west-1", "us-east-1"))
    assert result.code == 0, result.err
    assert "2 region(s)" in result.err
    assert_seeded(out, east)
    assert_seeded(out, west)
    assert not ids(out, ACCOUNT, "us-east-1", "volumes") & set(west.volumes)
    assert not ids(out, ACCOUNT, "eu-west-1", "volumes") & set(east.volumes)
    for doc in check_tree(out).values():
        assert doc["region"] in ("us-east-1", "eu-west-1")


def test_json_then_yaml_switches_every_file(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    fleet = seed_fleet(moto.url)
    out = tmp_path / "snap"
    assert snap(run, moto.url, out, "--only", SEEDED, "-f", "json").code == 0
    as_json = check_tree(out)
    assert as_json and all(k.endswith(".json") for k in as_json)
    assert_seeded(out, fleet)
    result = snap(run, moto.url, out, "--only", SEEDED, "-f", "yaml")
    assert result.code == 0, result.err
    as_yaml = check_tree(out)
    assert sorted(as_yaml) == sorted(k.removesuffix(".json") + ".yaml" for k in as_json)
    assert [as_yaml[k.removesuffix(".json") + ".yaml"] for k in sorted(as_json)] == [
        as_json[k] for k in sorted(as_json)
    ]


def test_only_collects_the_named_types(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, api_calls: list[Any]
) -> None:
    fleet = seed_fleet(moto.url)
    out = tmp_path / "snap"
    api_calls.clear()
    result = snap(run, moto.url, out, "--only", "volumes")
    assert result.code == 0, result.err
    assert {op for _, op in api_calls} == {"GetCallerIdentity", "DescribeVolumes"}
    assert [p.name for p in (out / ACCOUNT / "us-east-1").iterdir()] == ["volumes"]
    # Every volume the server has: the two created and the instances' root volumes.
    every = {v["VolumeId"] for v in aws("ec2", moto.url).describe_volumes()["Volumes"]}
    assert ids(out, ACCOUNT, "us-east-1", "volumes") == every > set(fleet.volumes)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_stdout_mode_is_one_document(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, fmt: str
) -> None:
    fleet = seed_fleet(moto.url)
    result = snap(run, moto.url, None, "--only", SEEDED, "-f", fmt)
    assert result.code == 0, result.err
    doc = loads(result.out, fmt)
    assert list(doc) == [ACCOUNT] and list(doc[ACCOUNT]) == ["us-east-1"]
    region = doc[ACCOUNT]["us-east-1"]
    assert set(region) == {"instances", "security_groups", "volumes"}
    assert set(region["instances"]) == set(fleet.instances)
    # The same resources as the files of a -o run.
    out = tmp_path / "snap"
    assert snap(run, moto.url, out, "--only", SEEDED, "-f", fmt).code == 0
    for rel, file_doc in check_tree(out).items():
        assert region[file_doc["type"]][file_doc["id"]] == file_doc["resource"], rel


def test_two_roles_give_two_account_directories(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, api_calls: list[Any]
) -> None:
    fleets = {}
    for account, n in (("111111111111", 1), ("222222222222", 2)):
        # moto maps the credentials AssumeRole hands out to the role's account.
        sts = aws("sts", moto.url)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/a", RoleSessionName="seed")
        creds = c["Credentials"]
        creds_kw = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        fleets[account] = seed_fleet(moto.url, n_instances=n, creds=creds_kw)
    api_calls.clear()
    out = tmp_path / "snap"
    result = snap(
        run,
        moto.url,
        out,
        "--only",
        SEEDED,
        "--role-arn",
        "arn:aws:iam::111111111111:role/a",
        "--role-arn",
        "arn:aws:iam::222222222222:role/a",
    )
    assert result.code == 0, result.err
    assert "2 account(s)" in result.err
    assert sorted(p.name for p in out.iterdir()) == [".driftaudit", "111111111111", "222222222222"]
    for account, fleet in fleets.items():
        assert_seeded(out, fleet, account)
    a, b = (ids(out, acct, "us-east-1", "volumes") for acct in ("111111111111", "222222222222"))
    assert not a & b
    assert all(d["account"] in fleets for d in check_tree(out).values())
    assert_read_only(api_calls, allow_assume_role=True)
    assert api_calls.count(("sts", "AssumeRole")) == 2


def test_all_regions(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, api_calls: list[Any]
) -> None:
    only = "key_pairs" if "key_pairs" in REGISTRY else "volumes"
    placed = {"us-east-1", "ap-southeast-2", "sa-east-1"}
    for region in placed:
        if only == "key_pairs":
            aws("ec2", moto.url, region).create_key_pair(KeyName=f"key-{region}")
        else:
            aws("ec2", moto.url, region).create_volume(AvailabilityZone=f"{region}a", Size=1)
    enabled = aws("ec2", moto.url).describe_regions()["Regions"]
    out = tmp_path / "snap"
    api_calls.clear()
    result = snap(run, moto.url, out, "--only", only, "--all-regions", regions=())
    assert result.code == 0, result.err
    assert f"{len(enabled)} region(s)" in result.err
    assert {p.name for p in (out / ACCOUNT).iterdir()} == placed  # empty parts leave no dir
    assert ("ec2", "DescribeRegions") in api_calls
    assert_read_only(api_calls)
    check_tree(out)


def test_real_subprocess_matches_the_in_process_run(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path
) -> None:
    seed_fleet(moto.url)
    in_process = tmp_path / "in-process"
    assert snap(run, moto.url, in_process, "--only", SEEDED).code == 0
    out = tmp_path / "subprocess"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "driftaudit", "snapshot", "us-east-1", "--only", SEEDED,
         "--endpoint-url", moto.url, "-o", str(out)],
        cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""
    stderr = proc.stderr.decode().splitlines()
    assert len(stderr) == 1 and stderr[0].startswith("driftaudit: 1 account(s), 1 region(s)")
    assert contents(out) == contents(in_process)


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["us-east-1", "--only", "instances,nope"], "'nope' is not a resource type"),
        (["useast1"], "'useast1' is not an AWS region name"),
        (["us-east-1/../x"], "is not an AWS region name"),
        (["us-east-1\n"], "is not an AWS region name"),
        (["us-east-1", "--profile", "nope"], "profile 'nope' not found"),
        (["us-east-1", "--role-arn", "arn:aws:iam::12:role/x"], "not an IAM role ARN"),
    ],
    ids=[
        "unknown-type",
        "bad-region",
        "path-region",
        "newline-region",
        "unknown-profile",
        "bad-role",
    ],
)
def test_bad_input_exits_1_with_one_clear_line(
    moto: MotoServer, run: Callable[..., Result], tmp_path: Path, args: list[str], says: str
) -> None:
    result = run("snapshot", "--endpoint-url", moto.url, "-o", str(tmp_path / "out"), *args)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert len([line for line in result.err_lines if says in line]) == 1, result.err
    assert not (tmp_path / "out").exists()


def test_unreachable_endpoint_exits_1_with_one_line(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # connection errors are retried with backoff
    url = f"http://127.0.0.1:{free_port()}"
    result = run("snapshot", "us-east-1", "--endpoint-url", url, "-o", str(tmp_path / "out"))
    assert result.code == 1
    assert len(result.err_lines) == 1, result.err
    assert "sts:GetCallerIdentity failed" in result.err and "127.0.0.1" in result.err
    assert not (tmp_path / "out").exists()
