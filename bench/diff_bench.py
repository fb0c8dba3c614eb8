"""Diff benchmark (issue 3): ``driftaudit diff`` end to end vs one whole-snapshot DeepDiff.

    python bench/diff_bench.py                       # 10,000 resources, 1% changed
    python bench/diff_bench.py --size 3000 --baseline-sizes 1000,3000

No AWS and no emulator: a deterministic fleet of raw describe-shaped items (instances,
security groups with their DescribeSecurityGroupRules rules, volumes) goes through the real
collectors' ``transform`` + ``canonical.normalize`` (``snapshot.build_resources``) and
``store.render_part`` / ``store.write_part``, exactly as ``driftaudit snapshot`` writes them,
into ``<tmp>/repo/snapshots``. It is committed; then 1% of the resources change (rules added
and removed, tags changed, instance types and volume sizes changed, resources added and
removed) and is written again with the same writer. Measured in this one run:

* ``driftaudit diff -C DIR`` with the change still uncommitted (working tree vs HEAD), then,
  after committing it, ``driftaudit diff -C DIR HEAD~1 HEAD`` (text) and the same with
  ``--format json``: each a fresh ``python -m driftaudit`` subprocess, so interpreter
  start-up and imports are included. One untimed warm-up, then the median of ``--repeat``.
  The JSON report is checked against the changes made (type, id, action of every resource).
* the baseline: in a separate process, load every file of the old snapshot (a copy taken
  before the change) and of the new one into two dicts ``{path: document}`` (timed: "load"),
  then one ``DeepDiff(old_all, new_all, ignore_order=True)`` (timed: "DeepDiff").

Results: a Markdown table on stdout and in bench/results/diff.md (git-ignored).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from driftaudit.collect.collectors import REGISTRY  # noqa: E402
from driftaudit.collect.engine import Part, build_resources  # noqa: E402
from driftaudit.collect.store import render_part, write_part  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
#: Share of each type in the fleet (instances, security groups, volumes).
MIX = {"instances": 0.4, "security_groups": 0.2, "volumes": 0.4}
#: Share of each kind of change among the changed 1%.
CHANGE_MIX = {
    "rule_added": 0.25,
    "rule_removed": 0.05,
    "tag_changed": 0.25,
    "instance_type": 0.15,
    "volume_size": 0.10,
    "added": 0.10,
    "removed": 0.10,
}
TEAMS = ("payments", "search", "platform", "data", "web", "identity", "ml", "infra")
ENVS = ("prod", "staging", "dev")
ROLES = ("api", "worker", "web", "db", "cache", "batch")
INSTANCE_TYPES = ("t3.micro", "t3.small", "t3.medium", "m5.large", "m6i.xlarge", "c5.xlarge")
PORTS = ((443, 443), (80, 80), (22, 22), (5432, 5432), (6379, 6379), (8080, 8090))
EPOCH = dt.datetime(2025, 1, 6, 9, 0, 0, tzinfo=dt.timezone.utc)
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


# --- a fleet of raw, describe-shaped items ----------------------------------------------


def _hex(rng: random.Random, n: int = 17) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _time(rng: random.Random) -> dt.datetime:
    return EPOCH - dt.timedelta(seconds=rng.randrange(400 * 86400))


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _dns(ip: str, region: str) -> str:
    suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{ip.replace('.', '-')}.{suffix}"


def _tags(rng: random.Random, name: str) -> list[dict[str, str]]:
    return [
        {"Key": "Name", "Value": name},
        {"Key": "env", "Value": rng.choice(ENVS)},
        {"Key": "team", "Value": rng.choice(TEAMS)},
        {"Key": "CostCenter", "Value": f"cc-{rng.randrange(1000, 9999)}"},
    ]


@dataclass
class Region:
    name: str
    vpc: str
    subnets: list[tuple[str, str]]  # (subnet id, AZ)
    groups: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    instances: list[str] = field(default_factory=list)


def new_region(rng: random.Random, name: str) -> Region:
    subnets = [(f"subnet-{_hex(rng)}", f"{name}{az}") for az in "abc"]
    return Region(name, f"vpc-{_hex(rng)}", subnets)


def _perm(proto: str, ports: tuple[int, int] | None, key: str, sources: list[dict]) -> dict:
    perm: dict[str, Any] = {
        "IpProtocol": proto,
        "IpRanges": [],
        "Ipv6Ranges": [],
        "PrefixListIds": [],
        "UserIdGroupPairs": [],
    }
    if ports:
        perm["FromPort"], perm["ToPort"] = ports
    perm[key] = sources
    return perm


def _perm_rules(group_id: str, egress: bool, perm: dict, rng: random.Random) -> list[dict]:
    """DescribeSecurityGroupRules' view of one permission: one rule per source."""
    base = {
        "GroupId": group_id,
        "GroupOwnerId": ACCOUNT,
        "IsEgress": egress,
        "IpProtocol": perm["IpProtocol"],
        "FromPort": perm.get("FromPort", -1),
        "ToPort": perm.get("ToPort", -1),
        "Tags": [],
    }
    sources: list[dict[str, Any]] = [
        {"CidrIpv4": r["CidrIp"], **_desc(r)} for r in perm["IpRanges"]
    ]
    sources += [{"CidrIpv6": r["CidrIpv6"], **_desc(r)} for r in perm["Ipv6Ranges"]]
    sources += [
        {"ReferencedGroupInfo": {"GroupId": p["GroupId"], "UserId": p["UserId"]}}
        for p in perm["UserIdGroupPairs"]
    ]
    return [{"SecurityGroupRuleId": f"sgr-{_hex(rng)}", **base, **src} for src in sources]


def _desc(source: dict[str, Any]) -> dict[str, str]:
    return {"Description": source["Description"]} if source.get("Description") else {}


def _rules_of(group: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    return [
        rule
        for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress"))
        for perm in group[key]
        for rule in _perm_rules(group["GroupId"], egress, perm, rng)
    ]


def raw_group(rng: random.Random, region: Region, i: int) -> dict[str, Any]:
    gid = f"sg-{_hex(rng)}"
    name = f"{rng.choice(TEAMS)}-{rng.choice(ROLES)}-{i}"
    ingress = []
    for _ in range(rng.randrange(1, 5)):
        ports = rng.choice(PORTS)
        cidrs = [
            {"CidrIp": f"10.{rng.randrange(256)}.0.0/16", "Description": rng.choice(["", "vpn"])}
            for _ in range(rng.randrange(1, 4))
        ]
        ingress.append(_perm("tcp", ports, "IpRanges", cidrs))
    if region.groups and rng.random() < 0.5:
        peer = rng.choice(region.groups)[0]
        ingress.append(
            _perm("tcp", (443, 443), "UserIdGroupPairs", [{"GroupId": peer, "UserId": ACCOUNT}])
        )
    egress = [_perm("-1", None, "IpRanges", [{"CidrIp": "0.0.0.0/0"}])]
    group = {
        "Description": f"{name} managed by terraform",
        "GroupName": name,
        "IpPermissions": ingress,
        "OwnerId": ACCOUNT,
        "GroupId": gid,
        "IpPermissionsEgress": egress,
        "Tags": _tags(rng, name),
        "VpcId": region.vpc,
        "SecurityGroupArn": f"arn:aws:ec2:{region.name}:{ACCOUNT}:security-group/{gid}",
    }
    group["SecurityGroupRules"] = _rules_of(group, rng)
    region.groups.append((gid, name))
    return group


def raw_instance(rng: random.Random, region: Region, i: int) -> dict[str, Any]:
    iid = f"i-{_hex(rng)}"
    subnet, az = rng.choice(region.subnets)
    ip = _ip(rng)
    launched = _time(rng)
    groups = [{"GroupName": n, "GroupId": g} for g, n in rng.sample(region.groups, 2)]
    name = f"{rng.choice(TEAMS)}-{rng.choice(ROLES)}-{i}"
    eni = f"eni-{_hex(rng)}"
    devices = ["/dev/xvda"] + (["/dev/sdf"] if rng.random() < 0.4 else [])
    region.instances.append(iid)
    return {
        "AmiLaunchIndex": 0,
        "ImageId": f"ami-{_hex(rng)}",
        "InstanceId": iid,
        "InstanceType": rng.choice(INSTANCE_TYPES),
        "KeyName": f"deploy-{rng.choice(ENVS)}",
        "LaunchTime": launched,
        "Monitoring": {"State": "disabled"},
        "Placement": {"AvailabilityZone": az, "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": _dns(ip, region.name),
        "PrivateIpAddress": ip,
        "ProductCodes": [],
        "PublicDnsName": "",
        "State": {"Code": 16, "Name": "running"},
        "StateTransitionReason": "",
        "SubnetId": subnet,
        "VpcId": region.vpc,
        "Architecture": "x86_64",
        "BlockDeviceMappings": [
            {
                "DeviceName": d,
                "Ebs": {
                    "AttachTime": launched,
                    "DeleteOnTermination": d == "/dev/xvda",
                    "Status": "attached",
                    "VolumeId": f"vol-{_hex(rng)}",
                },
            }
            for d in devices
        ],
        "ClientToken": f"terraform-{_hex(rng, 26)}",
        "EbsOptimized": True,
        "EnaSupport": True,
        "Hypervisor": "xen",
        "IamInstanceProfile": {
            "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}",
            "Id": f"AIPA{_hex(rng, 17).upper()}",
        },
        "NetworkInterfaces": [
            {
                "Attachment": {
                    "AttachTime": launched,
                    "AttachmentId": f"eni-attach-{_hex(rng)}",
                    "DeleteOnTermination": True,
                    "DeviceIndex": 0,
                    "Status": "attached",
                    "NetworkCardIndex": 0,
                },
                "Description": "",
                "Groups": groups,
                "Ipv6Addresses": [],
                "MacAddress": ":".join(_hex(rng, 2) for _ in range(6)),
                "NetworkInterfaceId": eni,
                "OwnerId": ACCOUNT,
                "PrivateDnsName": _dns(ip, region.name),
                "PrivateIpAddress": ip,
                "PrivateIpAddresses": [
                    {
                        "Primary": True,
                        "PrivateDnsName": _dns(ip, region.name),
                        "PrivateIpAddress": ip,
                    }
                ],
                "SourceDestCheck": True,
                "Status": "in-use",
                "SubnetId": subnet,
                "VpcId": region.vpc,
                "InterfaceType": "interface",
            }
        ],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": groups,
        "SourceDestCheck": True,
        "Tags": _tags(rng, name),
        "VirtualizationType": "hvm",
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False},
        "MetadataOptions": {
            "State": "applied",
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2,
            "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled",
            "InstanceMetadataTags": "disabled",
        },
        "EnclaveOptions": {"Enabled": False},
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "UsageOperationUpdateTime": launched,
        "PrivateDnsNameOptions": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "MaintenanceOptions": {"AutoRecovery": "default"},
        "CurrentInstanceBootMode": "legacy-bios",
        "ReservationId": f"r-{_hex(rng)}",
        "OwnerId": ACCOUNT,
    }


def raw_volume(rng: random.Random, region: Region, i: int) -> dict[str, Any]:
    vid = f"vol-{_hex(rng)}"
    _, az = rng.choice(region.subnets)
    created = _time(rng)
    encrypted = rng.random() < 0.7
    volume: dict[str, Any] = {
        "Attachments": [],
        "AvailabilityZone": az,
        "CreateTime": created,
        "Encrypted": encrypted,
        "Size": rng.choice((8, 20, 50, 100, 500)),
        "SnapshotId": f"snap-{_hex(rng)}" if rng.random() < 0.5 else "",
        "State": "available",
        "VolumeId": vid,
        "Iops": 3000,
        "Tags": _tags(rng, f"data-{i}"),
        "VolumeType": "gp3",
        "MultiAttachEnabled": False,
        "Throughput": 125,
    }
    if encrypted:
        volume["KmsKeyId"] = f"arn:aws:kms:{region.name}:{ACCOUNT}:key/{_hex(rng, 32)}"
    if region.instances and rng.random() < 0.8:
        volume["State"] = "in-use"
        volume["Attachments"] = [
            {
                "AttachTime": created,
                "Device": "/dev/sdf",
                "InstanceId": rng.choice(region.instances),
                "State": "attached",
                "VolumeId": vid,
                "DeleteOnTermination": False,
            }
        ]
    return volume


MAKERS = {"security_groups": raw_group, "instances": raw_instance, "volumes": raw_volume}
ID_KEY = {"instances": "InstanceId", "security_groups": "GroupId", "volumes": "VolumeId"}
#: (region, type) -> resource id -> raw item
Fleet = dict[tuple[str, str], dict[str, dict[str, Any]]]


def make_fleet(size: int, seed: int = 3) -> tuple[Fleet, dict[str, Region]]:
    rng = random.Random(seed)
    regions = {name: new_region(rng, name) for name in REGIONS}
    fleet: Fleet = {}
    counter = 0
    # Groups first: instances reference them, volumes reference instances.
    for rtype in ("security_groups", "instances", "volumes"):
        total = round(size * MIX[rtype])
        for k in range(total):
            region = regions[REGIONS[k % len(REGIONS)]]
            counter += 1
            raw = MAKERS[rtype](rng, region, counter)
            fleet.setdefault((region.name, rtype), {})[raw[ID_KEY[rtype]]] = raw
    return fleet, regions


# --- 1% of it changed -------------------------------------------------------------------


def change_fleet(
    fleet: Fleet, regions: dict[str, Region], rate: float, seed: int = 7
) -> tuple[Fleet, dict[tuple[str, str], str]]:
    """A changed copy of the fleet, and (type, id) -> action of every resource changed."""
    rng = random.Random(seed)
    new: Fleet = {key: dict(items) for key, items in fleet.items()}
    pool = [(region, rtype, rid) for (region, rtype), items in fleet.items() for rid in items]
    rng.shuffle(pool)
    total = max(len(CHANGE_MIX), round(sum(len(v) for v in fleet.values()) * rate))
    expected: dict[tuple[str, str], str] = {}

    def take(types: tuple[str, ...]) -> tuple[str, str, str, dict[str, Any]]:
        for i, (region, rtype, rid) in enumerate(pool):
            if rtype in types:
                del pool[i]
                raw = copy.deepcopy(fleet[(region, rtype)][rid])
                new[(region, rtype)][rid] = raw
                return region, rtype, rid, raw
        raise RuntimeError(f"no resource of {types} left to change")

    counter = 10**6
    for kind, share in CHANGE_MIX.items():
        for n in range(max(1, round(total * share))):
            if kind == "rule_added":
                _, rtype, rid, raw = take(("security_groups",))
                # One in five opens SSH to the world (critical); the rest are internal.
                cidr = "0.0.0.0/0" if n % 5 == 0 else f"10.191.{n % 256}.13/32"
                perm = _perm("tcp", (22, 22), "IpRanges", [{"CidrIp": cidr, "Description": "temp"}])
                raw["IpPermissions"].append(perm)
                # The group's other rules keep their sgr- ids; only the new one gets one.
                raw["SecurityGroupRules"] += _perm_rules(rid, False, perm, rng)
            elif kind == "rule_removed":
                _, rtype, rid, raw = take(("security_groups",))
                gone = raw["IpPermissions"].pop(0)
                gone_keys = {
                    (r["FromPort"], r.get("CidrIpv4")) for r in _perm_rules(rid, False, gone, rng)
                }
                raw["SecurityGroupRules"] = [
                    r
                    for r in raw["SecurityGroupRules"]
                    if r["IsEgress"] or (r["FromPort"], r.get("CidrIpv4")) not in gone_keys
                ]
            elif kind == "tag_changed":
                _, rtype, rid, raw = take(("instances", "volumes", "security_groups"))
                for tag in raw["Tags"]:
                    if tag["Key"] == "CostCenter":
                        tag["Value"] = f"cc-{rng.randrange(10000, 99999)}"
                if n % 2:
                    raw["Tags"].append({"Key": "reviewed", "Value": "2025-01-06"})
            elif kind == "instance_type":
                _, rtype, rid, raw = take(("instances",))
                raw["InstanceType"] = rng.choice(
                    [t for t in INSTANCE_TYPES if t != raw["InstanceType"]]
                )
            elif kind == "volume_size":
                _, rtype, rid, raw = take(("volumes",))
                raw["Size"] = raw["Size"] * 2
            elif kind == "removed":
                region, rtype, rid, _ = take(("instances", "volumes", "security_groups"))
                del new[(region, rtype)][rid]
                expected[(rtype, rid)] = "removed"
                continue
            else:  # added
                rtype = ("instances", "volumes")[n % 2]
                region = REGIONS[n % len(REGIONS)]
                counter += 1
                raw = MAKERS[rtype](rng, regions[region], counter)
                rid = raw[ID_KEY[rtype]]
                new[(region, rtype)][rid] = raw
                expected[(rtype, rid)] = "added"
                continue
            expected[(rtype, rid)] = "modified"
    return new, expected


# --- snapshot files and git --------------------------------------------------------------


def write_snapshot(directory: Path, fleet: Fleet, fmt: str) -> int:
    """Write every part as ``driftaudit snapshot`` does (minimal writes); files written."""
    written = 0
    for (region, rtype), items in sorted(fleet.items()):
        part = Part(ACCOUNT, region, rtype)
        resources = build_resources(REGISTRY[rtype], list(items.values()))
        written += write_part(directory, part, render_part(part, resources, fmt)).written
    return written


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    proc = subprocess.run(
        [*GIT, *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def commit_all(repo: Path, message: str, date: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Timing:
    wall: float  # median wall seconds
    fastest: float  # fastest wall seconds
    cpu: float  # median user+sys CPU seconds of the process and its children (git)


def driftaudit_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(args: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "driftaudit", *args]
    proc = subprocess.run(cmd, env=driftaudit_env(), capture_output=True, text=True)
    if proc.returncode != 2:  # 2 = changes found, the expected answer here
        raise SystemExit(f"{' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
    return proc


def run_cli(args: list[str], repeat: int) -> tuple[Timing, subprocess.CompletedProcess[str]]:
    """Times of ``python -m driftaudit ARGS`` after one warm-up, and the last run's output.

    CPU time is reported beside wall time: on a busy machine wall time also measures the
    neighbours, CPU time much less so.
    """
    proc = run_once(args)
    walls, cpus = [], []
    for _ in range(max(1, repeat)):
        cpu, start = _children_cpu(), time.perf_counter()
        proc = run_once(args)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return Timing(statistics.median(walls), min(walls), statistics.median(cpus)), proc


def check_report(report: dict[str, Any], expected: dict[tuple[str, str], str], what: str) -> None:
    """The JSON report names exactly the resources changed, each with its action."""
    got = {(c["type"], c["id"]): c["action"] for c in report["changes"]}
    if got != expected:
        missing = sorted(set(expected.items()) - set(got.items()))[:5]
        extra = sorted(set(got.items()) - set(expected.items()))[:5]
        raise SystemExit(f"{what}: report differs from the change made: {missing=} {extra=}")
    critical = [c for c in report["changes"] if c["severity"] == "critical"]
    if not critical:
        raise SystemExit(f"{what}: no critical change although SSH was opened to the world")


def load_all(directory: Path) -> dict[str, Any]:
    from driftaudit.canonical import format_of, loads

    return {
        p.relative_to(directory).as_posix(): loads(p.read_bytes(), format_of(p.name))
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def baseline_child(old: Path, new: Path) -> None:
    """The whole-document baseline, in its own process (memory, timeout): JSON on stdout."""
    from deepdiff import DeepDiff

    wall0, cpu0 = time.perf_counter(), time.process_time()
    old_all, new_all = load_all(old), load_all(new)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    result = DeepDiff(old_all, new_all, ignore_order=True)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "files": [len(old_all), len(new_all)],
                "load": wall1 - wall0,
                "load_cpu": cpu1 - cpu0,
                "deepdiff": wall2 - wall1,
                "deepdiff_cpu": cpu2 - cpu1,
                "peak_mb": peak_kb / 1024,
                "reports": sorted(result.keys()),
                "items": sum(len(v) for v in result.values()),
            }
        )
    )


def run_baseline(old: Path, new: Path, timeout: float) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--baseline-child", str(old), str(new)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(proc.stdout)


@dataclass
class Case:
    size: int
    files_old: int
    files_changed: int
    diff: dict[str, Timing] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None


WORKTREE_FORM = "diff -C DIR (working tree vs HEAD)"
REVS_FORM = "diff -C DIR HEAD~1 HEAD"
JSON_FORM = "diff -C DIR HEAD~1 HEAD --format json"


def run_case(size: int, work: Path, args: argparse.Namespace) -> Case:
    repo = work / f"repo-{size}"
    snap = repo / "snapshots"
    snap.mkdir(parents=True)
    git(repo, "init", "-q")
    fleet, regions = make_fleet(size)
    files_old = write_snapshot(snap, fleet, args.file_format)
    commit_all(repo, "snapshot 1", "2025-01-06T09:00:00Z")
    old_copy = work / f"old-{size}"
    shutil.copytree(snap, old_copy)

    changed, expected = change_fleet(fleet, regions, args.rate)
    write_snapshot(snap, changed, args.file_format)
    case = Case(size, files_old, len(expected))
    print(f"[{size}] {files_old} files, {len(expected)} resources changed", file=sys.stderr)

    # The working-tree form first: the change is on disk, not yet committed.
    timing, _ = run_cli(["diff", "-C", str(snap)], args.repeat)
    case.diff[WORKTREE_FORM] = timing
    proc = run_once(["diff", "-C", str(snap), "--format", "json"])
    check_report(json.loads(proc.stdout), expected, "working tree")
    commit_all(repo, "snapshot 2", "2025-01-07T09:00:00Z")
    timing, _ = run_cli(["diff", "-C", str(snap), "HEAD~1", "HEAD"], args.repeat)
    case.diff[REVS_FORM] = timing
    timing, proc = run_cli(
        ["diff", "-C", str(snap), "HEAD~1", "HEAD", "--format", "json"], args.repeat
    )
    case.diff[JSON_FORM] = timing
    check_report(json.loads(proc.stdout), expected, "HEAD~1 HEAD")

    if size in args.baseline_sizes:
        print(f"[{size}] whole-snapshot DeepDiff...", file=sys.stderr)
        case.baseline = run_baseline(old_copy, snap, args.timeout)
    return case


# --- report ------------------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"


def _x(num: float | None, den: float | None) -> str:
    return f"{num / den:.0f}x" if num and den else "-"


def startup(repeat: int) -> float:
    """Interpreter start-up alone (``python -c pass``): the floor of any CLI run."""
    times = []
    for _ in range(max(3, repeat)):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def markdown(cases: list[Case], args: argparse.Namespace, floor: float, load: str) -> str:
    import deepdiff

    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    lines = [
        "# driftaudit diff vs whole-snapshot DeepDiff",
        "",
        f"Python {platform.python_version()}, {git_version.strip()}, deepdiff "
        f"{deepdiff.__version__}, {os.cpu_count()} CPUs, {platform.machine()}, load average "
        f"before the run {load}; snapshot files: {args.file_format}; {args.rate:.0%} of "
        f"resources changed. CLI: a fresh `python -m driftaudit` per run (start-up and imports "
        f"included), median of {args.repeat} runs after one warm-up, fastest in brackets, "
        f"CPU = user+sys of driftaudit and its git processes. `python -c pass` alone: "
        f"{_s(floor)}.",
        "",
    ]
    main = next((c for c in cases if c.size == args.size), None)
    if main is not None:
        lines += [
            f"## {main.size:,} resources, {main.files_changed} changed",
            "",
            "| measurement | wall | CPU |",
            "|---|---:|---:|",
        ]
        for name, t in main.diff.items():
            lines.append(f"| `driftaudit {name}` | {_s(t.wall)} ({_s(t.fastest)}) | {_s(t.cpu)} |")
        b = main.baseline
        if b:
            files = f"{sum(b['files']):,} files"
            lines += [
                f"| baseline: load both snapshots ({files}) | {_s(b['load'])} "
                f"| {_s(b['load_cpu'])} |",
                f"| baseline: one `DeepDiff(old, new, ignore_order=True)` "
                f"(peak RSS {b['peak_mb']:.0f} MB) | {_s(b['deepdiff'])} "
                f"| {_s(b['deepdiff_cpu'])} |",
            ]
        lines.append("")
    lines += [
        f"## Ratio (against `driftaudit {REVS_FORM}`)",
        "",
        "| resources | changed | diff wall | diff CPU | load | DeepDiff | DeepDiff / diff "
        "| (load + DeepDiff) / diff | DeepDiff / diff, CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        d = c.diff[REVS_FORM]
        b = c.baseline
        if b is None:
            why = f"> {args.timeout:.0f} s (timeout)" if c.size in args.baseline_sizes else "-"
            lines.append(
                f"| {c.size:,} | {c.files_changed} | {_s(d.wall)} | {_s(d.cpu)} | - | {why} "
                "| - | - | - |"
            )
            continue
        lines.append(
            f"| {c.size:,} | {c.files_changed} | {_s(d.wall)} | {_s(d.cpu)} | {_s(b['load'])} "
            f"| {_s(b['deepdiff'])} | {_x(b['deepdiff'], d.wall)} "
            f"| {_x(b['deepdiff'] + b['load'], d.wall)} | {_x(b['deepdiff_cpu'], d.cpu)} |"
        )
    lines += [
        "",
        "Target (issue 3): `driftaudit diff` under 1 s and at least 20x faster than the "
        "whole-document DeepDiff. The baseline loads the two snapshot directories into "
        "`{path: document}` dicts (PyYAML's C loader, as driftaudit reads them) and compares "
        "them with one `DeepDiff(..., ignore_order=True)`; driftaudit asks git which blob ids "
        "differ, reads only those files and runs DeepDiff per changed resource (and only on "
        "fields other than rules and tags, when those differ).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="resources in the main case")
    parser.add_argument(
        "--baseline-sizes",
        default=None,
        help="comma-separated sizes at which to run the DeepDiff baseline (default: --size); "
        "sizes other than --size get a fleet of their own, with the CLI measured too",
    )
    parser.add_argument("--rate", type=float, default=0.01, help="share of resources changed")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each CLI form")
    parser.add_argument("--timeout", type=float, default=1800, help="baseline timeout, s")
    parser.add_argument("--file-format", choices=("yaml", "json"), default="yaml")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--baseline-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        baseline_child(*args.baseline_child)
        return
    args.baseline_sizes = (
        [int(s) for s in args.baseline_sizes.split(",")] if args.baseline_sizes else [args.size]
    )
    sizes = sorted({*args.baseline_sizes, args.size})
    if sizes[0] < 100:
        parser.error("sizes start at 100 (1% of them must cover every kind of change)")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="driftaudit-diffbench-"))
    try:
        floor = startup(args.repeat)
        cases = [run_case(s, work, args) for s in sizes]
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = markdown(cases, args, floor, load)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "diff.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
