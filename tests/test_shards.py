"""``snapshot --shard K/N``: N jobs, each reading its own (account, region) pairs, together
write exactly what one run writes; shards commit in separate clones at once (the lock is
per repository) and their commits rebase onto each other without conflicts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftaudit.collect.shards import Shard, ShardSpecError, parse_shard, shard_of
from tests.support.gitsnap import git, run
from tests.support.motoserver import MotoServer

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
Capsys = pytest.CaptureFixture[str]


def pairs(accounts: int = 40) -> list[tuple[str, str]]:
    regions = [*REGIONS, "sa-east-1", "global"]
    return [(f"{1000000 + a:012d}", r) for a in range(accounts) for r in regions]


def test_every_pair_is_in_exactly_one_shard() -> None:
    for count in range(1, 9):
        shards = [Shard(k, count) for k in range(1, count + 1)]
        for account, region in pairs():
            assert sum(s.holds(account, region) for s in shards) == 1
    sizes = [sum(Shard(k, 4).holds(*p) for p in pairs()) for k in range(1, 5)]
    assert sum(sizes) == len(pairs()) and min(sizes) > len(pairs()) // 8, sizes


def test_a_pairs_shard_is_the_same_in_every_process() -> None:
    """Not Python's hash(), which is salted per process."""
    code = (
        "from driftaudit.collect.shards import shard_of;"
        f"print([shard_of(a, r, 7) for a, r in {pairs(5)!r}])"
    )
    seen = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        seen.add(out.stdout)
    assert len(seen) == 1
    assert seen.pop().strip() == repr([shard_of(a, r, 7) for a, r in pairs(5)])


def test_adding_pairs_moves_no_other_pair() -> None:
    before = {p: shard_of(*p, 5) for p in pairs(10)}
    after = {p: shard_of(*p, 5) for p in pairs(30)}
    assert all(after[p] == k for p, k in before.items())


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/0", "", "1/3/2", "-1/3"])
def test_a_shard_that_is_not_k_of_n_is_refused(text: str, capsys: Capsys) -> None:
    with pytest.raises(ShardSpecError):
        parse_shard(text)
    code, out, err = run(capsys, "snapshot", "us-east-1", "--shard", text)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "--shard" in err
    assert parse_shard("2/8") == Shard(2, 8)


def snapshot(*args: str, cwd: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "driftaudit", "snapshot", *REGIONS, *args, "-q"]
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts and p.parts[len(root.parts)].isdigit()
    }


@pytest.mark.e2e
def test_shards_in_separate_clones_write_what_one_run_writes(
    moto: MotoServer, tmp_path: Path
) -> None:
    import boto3

    for region in REGIONS:  # something of our own besides the default VPC's resources
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=moto.url)
        ec2.create_security_group(GroupName=f"web-{region}", Description="web")
    whole = tmp_path / "whole"
    one = snapshot("--endpoint-url", moto.url, "-o", str(whole), cwd=tmp_path)
    assert one.wait(120) == 0, one.communicate()[1]

    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / "README.md").write_text("snapshots\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-q", "-m", "start")
    git(seed, "push", "-q", "origin", "HEAD:main")

    count = 3
    clones = []
    for k in range(1, count + 1):
        clone = tmp_path / f"shard{k}"
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        clones.append(clone)
    # All at once: each clone has its own lock, so none waits for another.
    jobs = [
        snapshot(
            "--endpoint-url", moto.url, "-o", "snaps", "--commit", "--shard", f"{k}/{count}", cwd=c
        )
        for k, c in enumerate(clones, 1)
    ]
    for job in jobs:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err
        assert "another driftaudit run" not in err

    written = []
    for clone in clones:
        changed = git(clone, "show", "--name-only", "--format=", "HEAD").split()
        written.append(
            {tuple(path.split("/")[1:3]) for path in changed if path.startswith("snaps/")}
        )
        # The recipes' loop: push, and on a race rebase onto what the others pushed.
        for _ in range(count + 1):
            pushed = subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=clone)
            if pushed.returncode == 0:
                break
            git(clone, "pull", "-q", "--rebase", "origin", "main")
        else:
            pytest.fail(f"{clone.name} could not push")
    # Disjoint subtrees: no (account, region) was written by two shards.
    for i, a in enumerate(written):
        for b in written[i + 1 :]:
            assert not a & b
    assert all(written), "each shard held at least one pair"

    merged = tmp_path / "merged"
    git(tmp_path, "clone", "-q", str(origin), str(merged))
    assert files_under(merged / "snaps") == files_under(whole)
    assert len(git(merged, "log", "--format=%H").split()) == count + 1
