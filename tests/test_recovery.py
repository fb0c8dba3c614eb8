"""What killed runs leave behind is cleaned by the next one: temporary snapshot files in
every part's directory (not only the parts the new run writes) and history index builds of
processes that are gone (never one whose process still runs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import boto3
import pytest

from driftaudit.history.index import INDEX_DIR, INDEX_FILE
from driftaudit.layout import TEMP_SUFFIX
from tests.support.gitsnap import ACCOUNT, REGION, commit_all, init_repo, run, volume, write
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]


def test_a_run_removes_what_killed_runs_left_in_every_part(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    client = boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)
    vol = client.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snaps = tmp_path / "snaps"
    # A part this run does not collect (instances), one in another region, and the part it
    # writes: a killed run may have left a temporary file in any of them.
    stale = [
        snaps / ACCOUNT / REGION / "instances" / f".i-0abc.yaml.4242{TEMP_SUFFIX}",
        snaps / ACCOUNT / "eu-west-1" / "volumes" / f".vol-9.json.4242{TEMP_SUFFIX}",
        snaps / ACCOUNT / REGION / "volumes" / f".{vol}.yaml.4242{TEMP_SUFFIX}",
    ]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a fi")
    argv = ["snapshot", REGION, "--endpoint-url", moto.url, "-o", str(snaps), "--commit"]
    code, _, err = run(capsys, *argv, "--type", "volumes")
    assert code == 0, err
    assert [p for p in stale if os.path.lexists(p)] == []
    assert (snaps / ACCOUNT / REGION / "volumes" / f"{vol}.yaml").is_file()


def test_history_removes_index_builds_left_by_dead_processes_only(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo / "snaps", "volumes", [volume("vol-1")])
    commit_all(repo, "snapshot")
    store = repo / "snaps" / INDEX_DIR
    store.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid names a process that is gone
    alive = subprocess.Popen(["sleep", "60"])  # another build at work, as far as we know
    try:
        left = store / f"{INDEX_FILE}.tmp-{dead.pid}"
        working = store / f"{INDEX_FILE}.tmp-{alive.pid}"
        for path in (left, working):
            path.write_bytes(b"SQLite format 3\0 half built")
        code, _, err = run(capsys, "history", "ip", "10.0.0.1", "-C", str(repo / "snaps"))
        assert code == 0, err
        assert not left.exists()
        assert working.read_bytes() == b"SQLite format 3\0 half built"
    finally:
        alive.kill()
        alive.wait()
