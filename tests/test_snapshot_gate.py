"""``snapshot --commit --fail-on``: the gate on the changes the run's own commit holds.

README's quick start used to run ``snapshot --commit`` then ``diff --fail-on
security_groups``: the working tree against the commit just made, so "no change" every time.
Here, against the moto server, a change made in AWS between two runs trips the gate of the
run that commits it, with diff's semantics (severities, types, driftaudit.yaml), exit 4 when
the run is also partial, and never on a run that changed nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_PARTIAL_CHANGES
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import commit_all, git, init_repo, run
from tests.support.motoserver import MotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
TYPES = "security_groups,volumes"
Capsys = pytest.CaptureFixture[str]


def snapshot(capsys: Capsys, url: str, out: Path, *gate: str) -> tuple[int, str]:
    code, _, err = run(
        capsys,
        "snapshot",
        REGION,
        "-o",
        str(out),
        "--type",
        TYPES,
        "--endpoint-url",
        url,
        "--commit",
        *gate,
    )
    assert "Traceback" not in err
    return code, err


def open_to_world(ec2: Any, group: str, port: int) -> None:
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )  # fmt: skip


@pytest.fixture
def world(moto: MotoServer, tmp_path: Path) -> tuple[Any, str, Path]:
    """(ec2 client, a group of ours, the snapshot repository's DIR)."""
    ec2 = boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)
    group = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    repo = init_repo(tmp_path / "state")
    return ec2, group, repo / "snapshots"


def test_the_gate_fires_on_the_run_that_commits_a_change(
    moto: MotoServer, world: tuple[Any, str, Path], capsys: Capsys
) -> None:
    ec2, group, out = world
    # The first snapshot adds every group: a type gate trips on it.
    code, err = snapshot(capsys, moto.url, out, "--fail-on", "security_groups")
    assert code == EXIT_CHANGES, err
    assert "driftaudit: --fail-on security_groups: " in err
    # Nothing changed since: the gate stays quiet.
    assert snapshot(capsys, moto.url, out, "--fail-on", "security_groups")[0] == EXIT_OK
    open_to_world(ec2, group, 22)
    before = git(out.parent, "rev-parse", "HEAD").strip()
    code, err = snapshot(capsys, moto.url, out, "--fail-on", "critical")
    head = git(out.parent, "rev-parse", "HEAD").strip()
    assert code == EXIT_CHANGES, err
    assert f"1 of the 1 change(s) committed in {head[:12]} match" in err
    assert head != before  # committed first, then gated
    # What the old quick start ran after that commit: the working tree against it, no change.
    assert run(capsys, "diff", "-C", str(out), "--fail-on", "security_groups")[0] == EXIT_OK
    # diff over the run's range agrees with the run's own gate.
    assert run(capsys, "diff", "-C", str(out), "--fail-on", "critical", before, "HEAD")[0] == 2
    # A tag is info: a severity gate above it does not trip, a type gate does.
    ec2.create_tags(Resources=[group], Tags=[{"Key": "Owner", "Value": "web-team"}])
    assert snapshot(capsys, moto.url, out, "--fail-on", "low")[0] == EXIT_OK
    ec2.create_tags(Resources=[group], Tags=[{"Key": "Owner", "Value": "platform"}])
    code, err = snapshot(capsys, moto.url, out, "--fail-on", "volumes", "--fail-on", "info")
    assert code == EXIT_CHANGES and "--fail-on volumes,info: 1 of the 1 change(s)" in err
    # Without --fail-on, the same kind of run exits 0, as before.
    open_to_world(ec2, group, 3389)
    assert snapshot(capsys, moto.url, out)[0] == EXIT_OK


def test_the_gate_reads_severities_from_driftaudit_yaml(
    moto: MotoServer, world: tuple[Any, str, Path], capsys: Capsys
) -> None:
    ec2, group, out = world
    assert snapshot(capsys, moto.url, out)[0] == EXIT_OK
    (out.parent / "driftaudit.yaml").write_text(
        "severity:\n  overrides:\n"
        '    - {type: security_groups, kind: rule, path: "* tcp/22 *", severity: low}\n'
    )
    open_to_world(ec2, group, 22)
    code, err = snapshot(capsys, moto.url, out, "--fail-on", "high")
    assert code == EXIT_OK, err  # rated low by the repository's rules, as diff rates it


def test_a_partial_run_that_trips_the_gate_exits_4(
    moto: MotoServer, world: tuple[Any, str, Path], capsys: Capsys
) -> None:
    ec2, group, out = world
    assert snapshot(capsys, moto.url, out)[0] == EXIT_OK
    open_to_world(ec2, group, 22)
    with FaultProxy(moto.url, deny_actions={"ec2:DescribeVolumes"}) as proxy:
        code, err = snapshot(capsys, proxy.url, out, "--fail-on", "critical")
        assert code == EXIT_PARTIAL_CHANGES, err
        assert "volumes: could not read" in err and "--fail-on critical: 1 of the 1" in err
        # Partial, nothing new for the gate: 3 as ever.
        assert snapshot(capsys, proxy.url, out, "--fail-on", "critical,volumes")[0] == EXIT_PARTIAL
    # A part that could not be read is never a change (a type gate on it stays quiet): its
    # files are still committed.
    files = git(out.parent, "ls-tree", "-r", "--name-only", "HEAD", "snapshots").split()
    assert any(f"/{REGION}/volumes/vol-" in f for f in files)


def test_a_run_that_commits_nothing_new_never_trips_it(
    moto: MotoServer, world: tuple[Any, str, Path], capsys: Capsys
) -> None:
    _, _, out = world
    assert snapshot(capsys, moto.url, out)[0] == EXIT_OK
    for gate in ("info", "security_groups,volumes"):
        assert snapshot(capsys, moto.url, out, "--fail-on", gate)[0] == EXIT_OK


def test_the_gate_works_in_a_shallow_clone(
    moto: MotoServer, world: tuple[Any, str, Path], capsys: Capsys, tmp_path: Path
) -> None:
    """A CI checkout is shallow by default: the gate reads only the commit it made and its
    parent, the clone's tip (diff over revisions would refuse the clone)."""
    ec2, group, out = world
    assert snapshot(capsys, moto.url, out)[0] == EXIT_OK
    (out.parent / "README.md").write_text("state\n")
    commit_all(out.parent, "notes")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{out.parent}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    open_to_world(ec2, group, 22)
    code, err = snapshot(capsys, moto.url, clone / "snapshots", "--fail-on", "critical")
    assert code == EXIT_CHANGES, err


def test_a_committed_file_it_cannot_read_fails_closed(
    moto: MotoServer, world: tuple[Any, str, Path], capsys: Capsys
) -> None:
    ec2, group, out = world
    assert snapshot(capsys, moto.url, out)[0] == EXIT_OK
    path = out / ACCOUNT / REGION / "security_groups" / f"{group}.yaml"
    path.write_text("resource: [unclosed\n")  # a hand edit, committed
    commit_all(out.parent, "hand edit")
    open_to_world(ec2, group, 22)
    code, err = snapshot(capsys, moto.url, out, "--fail-on", "volumes")
    assert code == EXIT_ERROR, err
    assert f"security_groups/{group}.yaml:" in err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--fail-on", "security_groups"], "--fail-on needs --commit"),
        (["--commit", "--fail-on", "critcal"], "did you mean 'critical'?"),
        (["--commit", "--fail-on", ""], "empty value"),
    ],
)
def test_gate_usage_errors(args: list[str], message: str, capsys: Capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "snapshot", REGION, "-o", str(tmp_path / "out"), *args)
    assert code == EXIT_ERROR and message in err
    assert not (tmp_path / "out").exists()  # refused before any AWS call or write
