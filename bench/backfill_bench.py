"""Backfill benchmark (issue 13): ``driftaudit backfill`` of 3,000 resources over 90 days from
the loopback AWS Config fake, every call 50 ms late, against reading the same history the
plain way: one resource after another, one call per week of the period (the ⌈days/7⌉ calls
GetResourceConfigHistory's seven-day limit costs per resource).

    python bench/backfill_bench.py                                # 3,000 resources, 90 days
    python bench/backfill_bench.py --resources 300 --days 30 --workers 8

The fleet, in the fake's timeline (tests/support/configfake.py) and, for what is still there,
on a moto server (the snapshot of now that backfill takes): half the resources are security
groups created long before the period (200 days), a fifth of which changed once within it
(their state before is read further back, --lookback 365); the other half were created and
deleted within the period (Config lists them with their deletion time). A loopback proxy
(tests/support/faultproxy.py) adds ``--latency`` to every call, the snapshot's EC2 calls too.

Measured in one run: the backfill as a subprocess (wall time; calls counted by the fake), and
the sequential baseline: a sample of ``--sample`` resources read the plain way with raw boto3
through the same proxy, timed, its time per call applied to the plain way's call count for
every resource. The history written is checked (commits, the changed groups' two states).
Results: Markdown on stdout and in bench/results/backfill.md (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.configfake import ConfigFake, config_item, deleted_item  # noqa: E402
from tests.support.faultproxy import FaultProxy  # noqa: E402
from tests.support.motoserver import start_moto_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SG = "AWS::EC2::SecurityGroup"
DAY = dt.timedelta(days=1)
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def group_configuration(group: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    from tests.support.configfake import configuration_from_describe

    configuration = configuration_from_describe("security_groups", group)
    if description is not None:
        configuration["description"] = description
    return configuration


def build(
    fake: ConfigFake, moto_url: str, resources: int, days: int, now: dt.datetime, seed: int
) -> dict[str, int]:
    """The timeline: ``resources`` groups, half old (some changed in the period), half born
    and deleted within it. Returns what was made."""
    import boto3

    rng = random.Random(seed)
    ec2 = boto3.client("ec2", endpoint_url=moto_url, region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    old = resources // 2
    for n in range(old):
        ec2.create_security_group(GroupName=f"old-{n:05d}", Description="bench", VpcId=vpc)
    groups = [
        g
        for page in ec2.get_paginator("describe_security_groups").paginate()
        for g in page["SecurityGroups"]
        if g["GroupName"].startswith("old-")
    ]
    changed = 0
    born = now - 200 * DAY
    for g in groups:
        gid = g["GroupId"]
        if rng.random() < 0.2:
            when = now - rng.uniform(1, days - 1) * DAY
            fake.add(
                config_item(
                    SG, gid, born, group_configuration(g, "before"), status="ResourceDiscovered"
                )
            )
            fake.add(config_item(SG, gid, when, group_configuration(g)))
            changed += 1
        else:
            fake.add(
                config_item(SG, gid, born, group_configuration(g), status="ResourceDiscovered")
            )
    for n in range(resources - old):
        gid = f"sg-{0xB000000000000000 + n:017x}"
        created = now - rng.uniform(2, days - 1) * DAY
        gone = created + rng.uniform(0.5, (now - created) / DAY - 0.5) * DAY
        configuration = {
            "groupId": gid,
            "groupName": f"new-{n:05d}",
            "description": "bench",
            "vpcId": vpc,
            "ownerId": "123456789012",
            "ipPermissions": [],
            "ipPermissionsEgress": [],
            "tags": [],
        }
        fake.add(config_item(SG, gid, created, configuration, status="ResourceDiscovered"))
        fake.add(deleted_item(SG, gid, gone))
    return {"old": old, "changed": changed, "born_and_deleted": resources - old}


def plain_way(url: str, ids: list[str], days: int, now: dt.datetime) -> tuple[int, float]:
    """Read ``ids`` one after another, one call per week of the period, every page
    followed (raw boto3): (calls, seconds)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "config",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 10}),
    )
    calls = 0
    start = time.perf_counter()
    for gid in ids:
        later = now
        while later > now - days * DAY:
            earlier = max(later - 7 * DAY, now - days * DAY)
            token = None
            while True:
                params: dict[str, Any] = {
                    "resourceType": SG,
                    "resourceId": gid,
                    "earlierTime": earlier,
                    "laterTime": later,
                    "limit": 100,
                }
                if token:
                    params["nextToken"] = token
                page = client.get_resource_config_history(**params)
                calls += 1
                token = page.get("nextToken")
                if not token:
                    break
            later = earlier
    return calls, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=3000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--sample", type=int, default=40, help="resources read the plain way")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    os.environ.update(ENV)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    weeks = -(-args.days // 7)
    with start_moto_server() as moto, ConfigFake(upstream=moto.url) as fake:
        fake.recorder(started=now - 400 * DAY)
        made = build(fake, moto.url, args.resources, args.days, now, args.seed)
        with FaultProxy(fake.url, latency=args.latency) as proxy:
            out = Path(tempfile.mkdtemp(prefix="driftaudit-backfill-bench-")) / "history"
            started = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "driftaudit",
                    "backfill",
                    "us-east-1",
                    "-o",
                    str(out),
                    "--since",
                    f"{args.days} days ago",
                    "--lookback",
                    "365",
                    "--endpoint-url",
                    proxy.url,
                    "--workers",
                    str(args.workers),
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            wall = time.perf_counter() - started
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            calls = fake.calls["GetResourceConfigHistory"]
            listing = fake.calls["ListDiscoveredResources"]
            ids = sorted({rid for (_, rid) in fake.state().items})
            sample = random.Random(args.seed).sample(ids, min(args.sample, len(ids)))
            sample_calls, sample_seconds = plain_way(proxy.url, sample, args.days, now)
        assert fake.errors == [], fake.errors
    commits = int(
        subprocess.run(
            ["git", "rev-list", "--count", "HEAD"],
            cwd=out,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    resources = len(ids)
    sequential_calls = resources * weeks
    per_call = sample_seconds / sample_calls
    sequential_wall = sequential_calls * per_call
    rows = [
        ("driftaudit backfill", f"{calls:,}", f"{wall:,.1f} s", f"{wall / sequential_wall:.3f}x"),
        (
            f"plain way, sequential (⌈{args.days}/7⌉ = {weeks} calls per resource; "
            f"{per_call * 1000:.1f} ms a call, timed on {len(sample)} resources)",
            f"{sequential_calls:,}",
            f"{sequential_wall:,.1f} s (estimated)",
            "1.000x",
        ),
    ]
    lines = [
        f"Backfill of {resources:,} resources over {args.days} days, +{args.latency * 1000:.0f} ms "
        f"a call, --workers {args.workers} ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs)",
        "",
        "| reader | GetResourceConfigHistory calls | wall | vs plain |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        f"Timeline: {made['old']:,} groups created 200 days ago ({made['changed']:,} changed once "
        f"in the period), {made['born_and_deleted']:,} created and deleted within it; "
        f"{listing} ListDiscoveredResources calls; {commits:,} commits written; "
        f"calls per resource {calls / resources:.2f} against {weeks}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backfill.md").write_text(text, encoding="utf-8")
    (RESULTS / "backfill.json").write_text(
        json.dumps(
            {
                "resources": resources,
                "days": args.days,
                "latency": args.latency,
                "workers": args.workers,
                "calls": calls,
                "wall": wall,
                "sequential_calls": sequential_calls,
                "sequential_wall": sequential_wall,
                "per_call": per_call,
                "commits": commits,
                **made,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
