"""``snapshot --commit`` killed with SIGKILL at varied moments, again and again: after each
kill every snapshot file is whole, nothing but snapshot files is committed, the repository
is sound, and the next run (not killed) succeeds, commits and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import boto3
import pytest

from driftaudit import layout
from driftaudit.layout import TEMP_SUFFIX
from tests.support.gitsnap import REGION, git, init_repo
from tests.support.motoserver import MotoServer

KILLS = 30


def start(url: str, snaps: Path, log: Path) -> subprocess.Popen[bytes]:
    argv = ["snapshot", REGION, "--endpoint-url", url, "-o", str(snaps), "--commit"]
    return subprocess.Popen(
        [sys.executable, "-m", "driftaudit", *argv, "--type", "volumes,security_groups"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,  # a group of its own, for killpg
    )


def temp_files(snaps: Path) -> list[Path]:
    return [p for p in snaps.rglob(f"*{TEMP_SUFFIX}")]


def wait_for(proc: subprocess.Popen[bytes], seen: object) -> bool:
    """Poll until ``seen()`` or the child ends; whether the moment came while it ran."""
    while proc.poll() is None:
        if seen():  # type: ignore[operator]
            return True
        time.sleep(0.001)
    return False


def assert_sound(repo: Path, snaps: Path) -> None:
    """Every snapshot file parses; HEAD holds snapshot files only; git fsck is clean."""
    for found in layout.scan(snaps):
        assert found.problem is None, (found.rel, found.problem)
        doc, problem = layout.parse_document(layout.read_regular(found.path), found.rel)
        assert problem is None and doc is not None, problem
    if git(repo, "rev-list", "--all"):
        for path in git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines():
            assert layout.under(path, "snaps"), f"committed a non-snapshot file: {path}"
    git(repo, "fsck", "--no-dangling", "--no-progress")  # asserts exit 0


@pytest.mark.e2e
def test_kills_at_varied_moments_never_break_the_snapshot_or_the_repository(
    moto: MotoServer, tmp_path: Path
) -> None:
    client = boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)
    vols = [client.create_volume(AvailabilityZone="us-east-1a", Size=s)["VolumeId"] for s in (8, 9)]
    client.create_security_group(GroupName="app", Description="x")
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    lock = repo / ".git" / "index.lock"
    logs = tmp_path / "logs"
    logs.mkdir()

    def change(n: int) -> None:  # something new for the next run to write and commit
        client.create_tags(Resources=[vols[n % 2]], Tags=[{"Key": "Step", "Value": str(n)}])

    first = time.monotonic()
    assert start(moto.url, snaps, logs / "first").wait() == 0
    change(0)
    began = time.monotonic()
    assert start(moto.url, snaps, logs / "second").wait() == 0
    # The span of one run, to spread fixed delays over (the first also ran git init).
    span = min(time.monotonic() - began, time.monotonic() - first)
    moments: Counter[str] = Counter()
    step = 0
    while sum(moments.values()) < KILLS:
        step += 1
        assert step <= 3 * KILLS, f"too few kills landed: {moments}"
        change(2 * step)
        head = git(repo, "rev-parse", "HEAD")
        child = start(moto.url, snaps, logs / f"killed-{step}")
        how = ("delay", "writing", "git")[step % 3]
        if how == "delay":
            time.sleep(span * ((step * 7) % 10) / 10)  # 0 .. 0.9 of a run, in varied order
            landed = child.poll() is None
        elif how == "writing":
            landed = wait_for(child, lambda: temp_files(snaps) or lock.exists())
        else:
            landed = wait_for(child, lock.exists)
        if landed:
            if step % 2:
                os.kill(child.pid, signal.SIGKILL)  # its git, if one runs, goes on alone
            else:
                os.killpg(child.pid, signal.SIGKILL)  # git with it: index.lock stays behind
            moments[how] += 1
        child.wait()
        assert_sound(repo, snaps)
        change(2 * step + 1)
        log = logs / f"after-{step}"
        code = start(moto.url, snaps, log).wait()
        assert code == 0, log.read_text()
        assert git(repo, "rev-parse", "HEAD") != head, log.read_text()
        assert temp_files(snaps) == [] and not lock.exists()
        assert git(repo, "status", "--porcelain") == ""
        assert_sound(repo, snaps)
    print(f"kills: {dict(moments)} in {step} steps")
