"""What ``snapshot --commit`` stages and what the working-tree ``diff`` compares: exactly the
snapshot files of the layout, in real git, whatever else lies in the directory (baselines,
notes, temporary files of killed runs, links committed by a pull request)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit import layout
from driftaudit.layout import TEMP_SUFFIX
from tests.support.gitsnap import ACCOUNT, REGION, commit_all, git, init_repo, run
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]


def ec2(moto: MotoServer) -> Any:
    return boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)


def snapshot(capsys: Capsys, url: str, out: str, types: str) -> tuple[int, str, str]:
    return run(
        capsys, "snapshot", REGION, "--endpoint-url", url, "-o", out, "--commit", "--type", types
    )


def lstat_tree(root: Path) -> dict[str, tuple[int, int, bytes | str | None]]:
    out: dict[str, tuple[int, int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            content: bytes | str | None = None
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            out[str(path.relative_to(root))] = (info.st_mode, info.st_mtime_ns, content)
    return out


def test_output_at_the_repository_root_commits_only_snapshot_files(
    moto: MotoServer, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `-o .` as the CI recipes run it: the glob */*/*/*.yaml also matches a team's baseline
    # and a note three directories deep; neither is a snapshot file.
    vol = ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    repo = init_repo(tmp_path / "repo")
    (repo / "README.md").write_text("mine\n")
    commit_all(repo, "the user's own commit")
    volumes = repo / ACCOUNT / REGION / "volumes"
    volumes.mkdir(parents=True)
    others = {
        "baselines/team/prod/sgs.yaml": "version: 1\n",
        "notes/a/b/n.yaml": "note: 1\n",
        f"{ACCOUNT}/{REGION}/volumes/Not an id.yaml": "x: 1\n",
    }
    for rel, text in others.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    # Left by killed runs: the current temporary name and the one earlier versions used.
    temps = [volumes / f".{vol}.yaml.4242{TEMP_SUFFIX}", volumes / ".tmp-driftaudit-7-vol-1.yaml"]
    for path in temps:
        path.write_text("account: '1234\n")
    monkeypatch.chdir(repo)
    code, _, err = snapshot(capsys, moto.url, ".", "security_groups,volumes")
    assert code == 0, err
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").split("\n")
    committed = [p for p in committed if p]
    assert f"{ACCOUNT}/{REGION}/volumes/{vol}.yaml" in committed
    assert all(layout.under(p, ".") for p in committed), committed
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(line for line in status if line.startswith("??")) == sorted(
        f'?? "{p}"' if " " in p else f"?? {p}" for p in others
    )
    assert not any(os.path.lexists(p) for p in temps)  # stale ones removed at the start
    for command in ("diff", "report"):
        code, _, err = run(capsys, command, "-C", ".")
        assert (code, err) == (0, ""), command


def test_a_committed_link_where_a_type_directory_belongs_is_replaced_not_followed(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    vol = ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    repo = init_repo(tmp_path / "repo")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "vol-0aaaaaaaaaaaaaaaa.yaml").write_text("someone else's file\n")
    (target / "keep.txt").write_text("keep\n")
    link = repo / "snaps" / ACCOUNT / REGION / "volumes"
    link.parent.mkdir(parents=True)
    link.symlink_to(target, target_is_directory=True)
    commit_all(repo, "a pull request adds a link")
    before = lstat_tree(target)
    code, _, err = snapshot(capsys, moto.url, str(repo / "snaps"), "volumes")
    assert code == 0, err
    assert lstat_tree(target) == before  # nothing written there, nothing pruned there
    warnings = [line for line in err.splitlines() if "symbolic link" in line]
    assert len(warnings) == 1 and str(link) in warnings[0] and "warning" in warnings[0]
    tree = git(repo, "ls-tree", "-r", "HEAD").splitlines()
    assert [line.split("\t")[1] for line in tree] == [
        f"snaps/{ACCOUNT}/{REGION}/volumes/{vol}.yaml"
    ]
    assert not any(line.startswith("120000") for line in tree)  # the link is gone from git too
    assert git(repo, "status", "--porcelain") == ""


def test_a_file_where_a_type_directory_belongs_fails_that_part_as_a_write(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    client = ec2(moto)
    client.create_volume(AvailabilityZone="us-east-1a", Size=8)
    client.create_security_group(GroupName="internal", Description="x")
    snaps = tmp_path / "snaps"
    blocker = snaps / ACCOUNT / REGION / "volumes"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("someone's notes\n")
    code, _, err = snapshot(capsys, str(moto.url), str(snaps), "security_groups,volumes")
    assert code == 3, err  # partial: the groups were written and committed
    failed = [line for line in err.splitlines() if " volumes: " in line]
    assert len(failed) == 1
    assert failed[0].startswith(f"driftaudit: {ACCOUNT} {REGION} volumes: could not write (")
    assert f"{blocker} is a file where the layout needs a directory" in failed[0]
    assert "could not read" not in err
    assert blocker.read_text() == "someone's notes\n"
    assert "volumes" not in git(snaps, "ls-tree", "-r", "--name-only", "HEAD")


def test_the_working_tree_diff_exits_0_only_when_it_printed_no_error(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    vol = ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snaps = tmp_path / "snaps"
    code, _, err = snapshot(capsys, moto.url, str(snaps), "volumes")
    assert code == 0, err
    volumes = snaps / ACCOUNT / REGION / "volumes"
    # Beside the snapshot: a note, a baseline (one staged by the user), a temp file.
    (snaps / "notes" / "a" / "b").mkdir(parents=True)
    (snaps / "notes" / "a" / "b" / "n.yaml").write_text("not: [a snapshot\n")
    (snaps / "baselines" / "team" / "prod").mkdir(parents=True)
    (snaps / "baselines" / "team" / "prod" / "sgs.yaml").write_text("version: 1\n")
    git(snaps, "add", "baselines")
    (volumes / f".{vol}.yaml.99{TEMP_SUFFIX}").write_text("half a fi")
    code, out, err = run(capsys, "diff", "-C", str(snaps))
    assert (code, err) == (0, ""), err
    assert "No changes" in out
    # A link in place of the committed directory: never followed, never taken for "removed".
    moved = tmp_path / "moved"
    volumes.rename(moved)
    volumes.symlink_to(moved, target_is_directory=True)
    code, out, err = run(capsys, "diff", "-C", str(snaps))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "is a symbolic link where a directory" in err
    assert str(volumes) in err


@pytest.mark.parametrize("rel", [".", "snapshots"])
def test_has_snapshot_files_finds_one_among_many_and_none_among_others(
    tmp_path: Path, rel: str
) -> None:
    """Whether a revision holds a snapshot (what makes a commit the first snapshot's): the
    answer tree_entries gives, read without listing the whole tree; files the glob matches
    that are no snapshot file (a note, an unknown type, another directory) do not count."""
    from driftaudit.gitrepo import Repo

    repo = init_repo(tmp_path / "r")
    base = repo if rel == "." else repo / rel
    notes = [
        f"{ACCOUNT}/{REGION}/notes/readme.yaml",
        f"{ACCOUNT}/{REGION}/volumes/.tmp{TEMP_SUFFIX}",
        "baselines/a/b/c.yaml",
    ]
    if rel != ".":
        notes.append(f"elsewhere/{ACCOUNT}/{REGION}/volumes/vol-1.yaml")
    for name in notes:
        path = (repo if name.startswith("elsewhere") else base) / name.removeprefix("elsewhere/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x: 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notes only")
    git_repo = Repo(repo)
    assert git_repo.tree_entries("HEAD", rel) == {}
    assert git_repo.has_snapshot_files("HEAD", rel) is False
    # Many files, the snapshot ones last in git's order: found all the same.
    for n in range(3000):
        path = base / f"{ACCOUNT}/{REGION}/volumes/vol-{n:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x: 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    assert len(git_repo.tree_entries("HEAD", rel)) == 3000
    assert git_repo.has_snapshot_files("HEAD", rel) is True
    assert git_repo.has_snapshot_files("HEAD~1", rel) is False
