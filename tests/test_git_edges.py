"""Edges of change detection: times git would misread, a partial snapshot with nothing else
changed, a format switch (yaml -> json) of the same resources."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from driftaudit.collect.engine import Part
from driftaudit.collect.store import render_part, write_part
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    git,
    init_repo,
    instance,
    run,
    write,
)
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    write(repo / "snaps", "instances", [instance("i-1")])
    commit_all(repo, "one", "2024-01-01T12:00:00+00:00")
    write(repo / "snaps", "instances", [instance("i-1", itype="m5.large")])
    commit_all(repo, "two", "2024-01-05T12:00:00+00:00")
    return repo / "snaps"


# ("100 years ago" is a time: before the first snapshot, it means from the first snapshot.)
@pytest.mark.parametrize("when", ["garbage", "next fortnight of blue"])
def test_a_time_git_cannot_read_is_an_error_not_now(snaps: Path, capsys: Capsys, when: str) -> None:
    code, out, err = run(capsys, "diff", "-C", str(snaps), "--since", when)
    assert code == 1
    assert out == ""
    assert when in err and "Traceback" not in err


def test_since_reads_iso_and_relative_times(snaps: Path, capsys: Capsys) -> None:
    code, out, _ = run(
        capsys, "diff", "-C", str(snaps), "--since", "2024-01-02", "--format", "json"
    )
    assert code == 2
    assert [c["id"] for c in json.loads(out)["changes"]] == ["i-1"]
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--since", "1 day ago", "--format", "json")
    assert (code, json.loads(out)["changes"]) == (0, [])


def test_switching_yaml_to_json_is_no_change(snaps: Path, capsys: Capsys) -> None:
    part = Part(ACCOUNT, REGION, "instances")
    yaml_file = snaps / ACCOUNT / REGION / "instances" / "i-1.yaml"
    from driftaudit.canonical import loads

    resource = loads(yaml_file.read_bytes())["resource"]
    write_part(snaps, part, render_part(part, {"i-1": resource}, "json"))
    assert not yaml_file.exists()
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--format", "json")
    assert (code, json.loads(out)["changes"]) == (0, [])
    # ...while a real change made together with the switch is still seen.
    resource["InstanceType"] = "c5.xlarge"
    write_part(snaps, part, render_part(part, {"i-1": resource}, "json"))
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--format", "json")
    changes = json.loads(out)["changes"]
    assert code == 2
    assert [(c["action"], [d["path"] for d in c["details"]]) for c in changes] == [
        ("modified", ["InstanceType"])
    ]


def test_a_partial_snapshot_with_nothing_changed_is_still_on_record(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url)
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    out = tmp_path / "snaps"
    args = ["snapshot", REGION, "-o", str(out), "--commit", "-q", "--only", "volumes,key_pairs"]
    assert run(capsys, *args, "--endpoint-url", moto.url)[0] == 0
    with FaultProxy(moto.url, deny_actions={"DescribeKeyPairs"}) as proxy:
        code, _, err = run(capsys, *args, "--endpoint-url", proxy.url)
    assert code == 3, err
    messages = git(out, "log", "--format=%B%x00").split("\0")
    assert len([m for m in messages if m.strip()]) == 2
    assert "Driftaudit-Failed: " in messages[0] and "key_pairs" in messages[0]
    code, report, _ = run(capsys, "report", "-C", str(out), "--format", "json")
    assert code == 0
    assert ["key_pairs" in f for f in json.loads(report)["failed_parts"]] == [True]
