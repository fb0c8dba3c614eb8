"""Runs have a deadline: a part whose endpoint never answers (the fault proxy holds the
request open, like a firewall dropping packets) fails like any other failed part after
``--part-timeout`` or ``--timeout`` ("timed out after N s", previous files kept, exit 3), the
run does not wait for the thread stuck in its socket, and the answer that thread gets later
is never written. Also ``snapshot -v``: the traceback of a part that failed on a bug."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import ACCOUNT, REGION, git, run
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]
REPO = Path(__file__).resolve().parent.parent
TYPES = ["--type", "volumes,security_groups"]


def volumes(snaps: Path) -> set[str]:
    return {p.stem for p in (snaps / ACCOUNT / REGION / "volumes").glob("*.yaml")}


@pytest.fixture
def before(moto: MotoServer, tmp_path: Path, capsys: Capsys) -> tuple[Path, str, str]:
    """A complete first snapshot (one volume, committed); then a second volume and a new
    group appear in the account, so a later read of either part would change files."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url)
    old = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snaps = tmp_path / "snaps"
    code, _, err = run(
        capsys, "snapshot", REGION, "-o", str(snaps), "--commit", "-q", *TYPES,
        "--endpoint-url", moto.url,
    )  # fmt: skip
    assert code == 0, err
    assert volumes(snaps) == {old}
    new = ec2.create_volume(AvailabilityZone="us-east-1a", Size=9)["VolumeId"]
    group = ec2.create_security_group(GroupName="late", Description="x")["GroupId"]
    return snaps, new, group


def assert_volumes_kept_and_recorded(snaps: Path, new_volume: str, group: str, why: str) -> None:
    """The volumes part failed: its old file kept, the new volume not written, the failure
    on record in the commit; the group part was read and committed."""
    assert new_volume not in volumes(snaps) and len(volumes(snaps)) == 1
    assert (snaps / ACCOUNT / REGION / "security_groups" / f"{group}.yaml").is_file()
    assert git(snaps, "status", "--porcelain", ".") == ""
    message = git(snaps, "log", "-1", "--format=%B")
    assert f"Driftaudit-Failed: {ACCOUNT}/{REGION}/volumes {why}" in message, message


def test_a_stalled_part_times_out_after_its_own_deadline(
    moto: MotoServer, before: tuple[Path, str, str], capsys: Capsys
) -> None:
    snaps, new_volume, group = before
    with FaultProxy(moto.url, stall_actions={"DescribeVolumes"}) as proxy:
        code, _, err = run(
            capsys, "snapshot", REGION, "-o", str(snaps), "--commit", *TYPES,
            "--endpoint-url", proxy.url, "--part-timeout", "3",
        )  # fmt: skip
        assert proxy.counts["stalled"] >= 1
    assert code == 3, err
    why = "timed out after 3 s: the part's deadline (--part-timeout)"
    assert f"{ACCOUNT} {REGION} volumes: could not read ({why}); previous files kept" in err
    assert [line for line in err.splitlines() if "volumes" in line] == [
        f"driftaudit: {ACCOUNT} {REGION} volumes: could not read ({why}); previous files kept"
    ]
    assert_volumes_kept_and_recorded(snaps, new_volume, group, why)
    code, out, _ = run(capsys, "report", "-C", str(snaps), "--format", "text")
    assert code == 0 and f"{ACCOUNT}/{REGION}/volumes {why}" in out


@pytest.mark.e2e
def test_an_answer_after_the_deadline_is_never_written(
    moto: MotoServer, before: tuple[Path, str, str], capsys: Capsys
) -> None:
    snaps, new_volume, group = before
    # The answer comes in pieces over 8 s, each well within the socket timeout: the volumes
    # thread is still reading when the run's deadline (3 s) gives its part up, then gets the
    # whole answer.
    with FaultProxy(moto.url, slow_actions={"DescribeVolumes"}, slow_seconds=8) as proxy:
        code, _, err = run(
            capsys, "snapshot", REGION, "-o", str(snaps), "--commit", *TYPES,
            "--endpoint-url", proxy.url, "--timeout", "3", "--part-timeout", "100",
        )  # fmt: skip
        assert code == 3, err
        assert proxy.late_answered.wait(60), "the slow answer was never sent in full"
        # The abandoned worker reads that answer and builds its resources; wait until it
        # has finished (it is a thread of this process).
        for _ in range(600):
            if not any(t.name == "collect" for t in threading.enumerate()):
                break
            time.sleep(0.05)
        assert not any(t.name == "collect" for t in threading.enumerate())
    assert_volumes_kept_and_recorded(
        snaps, new_volume, group, "timed out after 3 s: the run's deadline (--timeout)"
    )


def test_parts_not_started_by_the_run_deadline_fail_too(
    moto: MotoServer, before: tuple[Path, str, str], capsys: Capsys
) -> None:
    snaps, _, _ = before
    keys = snaps / ACCOUNT / REGION / "key_pairs"
    # One worker: it is stuck on volumes when the run ends; key_pairs never starts.
    with FaultProxy(moto.url, stall_actions={"DescribeVolumes"}) as proxy:
        code, _, err = run(
            capsys, "snapshot", REGION, "-o", str(snaps), "--type", "volumes,key_pairs",
            "--workers", "1", "--timeout", "3", "--endpoint-url", proxy.url,
        )  # fmt: skip
    assert code == 1, err  # nothing could be read
    why = "timed out after 3 s: the run's deadline (--timeout)"
    assert f"volumes: could not read ({why}); previous files kept" in err
    assert f"key_pairs: could not read ({why}; not started before it)" in err
    assert len(volumes(snaps)) == 1 and not keys.exists()


@pytest.mark.e2e
def test_a_blackholed_run_exits_without_waiting_for_its_stuck_thread(
    moto: MotoServer, before: tuple[Path, str, str], tmp_path: Path
) -> None:
    """As a real process: the volumes answer trickles in over 60 s, each piece within the
    socket timeout, so its thread is still reading long after the run's deadline (6 s); the
    process must end at the deadline anyway (the 50 s limit below only guards against a
    hang), with the part failed and its old files kept."""
    snaps, new_volume, group = before
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with FaultProxy(moto.url, slow_actions={"DescribeVolumes"}, slow_seconds=60) as proxy:
        proc = subprocess.run(
            [sys.executable, "-m", "driftaudit", "snapshot", REGION, "-o", str(snaps),
             "--commit", *TYPES, "--endpoint-url", proxy.url, "--timeout", "6",
             "--part-timeout", "100"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=50, check=False,
        )  # fmt: skip
        assert proxy.actions["ec2:DescribeVolumes"] >= 1 and not proxy.late_answered.is_set()
    assert proc.returncode == 3, proc.stderr
    why = "timed out after 6 s: the run's deadline (--timeout)"
    assert f"volumes: could not read ({why}); previous files kept" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_volumes_kept_and_recorded(snaps, new_volume, group, why)


def test_stalled_set_up_call_ends_at_the_run_deadline(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    # 4 s: time enough to create the session and send the call even on a loaded machine.
    with FaultProxy(moto.url, stall_actions={"GetCallerIdentity"}) as proxy:
        code, out, err = run(
            capsys, "snapshot", REGION, "-o", str(tmp_path / "snaps"), "--timeout", "4",
            "--endpoint-url", proxy.url,
        )  # fmt: skip
        assert proxy.counts["stalled"] >= 1
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "the run's deadline (--timeout)" in err and "GetCallerIdentity" in err


# --- snapshot -v --------------------------------------------------------------------------------


def _drop_volume_ids(body: bytes) -> bytes:
    """A DescribeVolumes answer whose items lack the VolumeId the collector requires."""
    return re.sub(rb"<volumeId>[^<]*</volumeId>", b"", body)


def test_verbose_prints_the_traceback_of_a_part_that_failed_on_a_bug(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url)
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    args = ["snapshot", REGION, "-o", str(tmp_path / "snaps"), *TYPES]
    with FaultProxy(moto.url, rewrite={"DescribeVolumes": _drop_volume_ids}) as proxy:
        code, _, quiet = run(capsys, *args, "--endpoint-url", proxy.url)
        assert code == 3
        assert "internal error: KeyError" in quiet and "Traceback" not in quiet
        code, _, verbose = run(capsys, *args, "--endpoint-url", proxy.url, "-v")
    assert code == 3
    assert f"driftaudit: {ACCOUNT}/{REGION}/volumes: internal error; traceback:" in verbose
    assert "Traceback (most recent call last):" in verbose
    assert "KeyError: 'VolumeId'" in verbose.split("traceback:", 1)[1]
    # Named AWS errors are not bugs: no traceback for them, even with -v.
    with FaultProxy(moto.url, deny_actions={"DescribeVolumes"}) as proxy:
        code, _, denied = run(capsys, *args, "--endpoint-url", proxy.url, "-v")
    assert code == 3 and "access denied" in denied and "Traceback" not in denied
