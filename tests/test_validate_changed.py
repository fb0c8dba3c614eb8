"""``validate --changed REV`` checks only what a pull request or a commit changes, and
``validate -j N`` says the same as one process, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitsnap import commit_all, git, init_repo, run, volume, write

Capsys = pytest.CaptureFixture[str]


def valid_volume(vid: str) -> dict[str, object]:
    return {**volume(vid), "AvailabilityZone": "us-east-1a"}


def snapshot_repo(root: Path, count: int = 3) -> Path:
    repo = init_repo(root / "repo")
    write(repo / "snaps", "volumes", [valid_volume(f"vol-{i:017x}") for i in range(count)])
    (repo / "notes.yaml").write_text("not: a snapshot\n")
    commit_all(repo, "first snapshot")
    return repo


def vol(repo: Path, i: int) -> Path:
    return repo / "snaps" / "123456789012" / "us-east-1" / "volumes" / f"vol-{i:017x}.yaml"


def break_file(path: Path) -> None:
    path.write_text(path.read_text().replace("Size: 8", "Size: eight"))


def test_changed_checks_only_what_changed_since_rev(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = snapshot_repo(tmp_path, 4)
    monkeypatch.chdir(repo)
    # Broken, but committed before REV: a whole-tree validate names it, --changed does not.
    break_file(vol(repo, 0))
    commit_all(repo, "a hand edit")
    base = git(repo, "rev-parse", "HEAD").strip()
    break_file(vol(repo, 1))
    commit_all(repo, "committed after REV")
    break_file(vol(repo, 2))  # changed in the working tree, not staged
    untracked = vol(repo, 9)
    untracked.write_text(vol(repo, 3).read_text())  # new, untracked: its id is not its name
    vol(repo, 3).unlink()  # deleted: nothing to check
    (repo / "notes.yaml").write_text("changed: [but not a snapshot\n")

    code, out, err = run(capsys, "validate", "--changed", base)
    assert code == 1
    named = sorted({line.split(":")[0] for line in out.splitlines()})
    assert named == [
        f"snaps/123456789012/us-east-1/volumes/vol-{i:017x}.yaml" for i in (1, 2, 9)
    ], out
    assert "3 file(s) checked" in err

    code, out, _ = run(capsys, "validate")
    assert code == 1 and f"vol-{0:017x}.yaml" in out  # the whole tree still has it

    # Only the paths named: this one is broken, but not since REV.
    code, out, err = run(capsys, "validate", "--changed", base, str(vol(repo, 0)))
    assert (code, out) == (0, "") and "no snapshot files to check" in err


def test_changed_is_counted_from_where_the_branch_left(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull request's files, even when its target branch moved on meanwhile."""
    repo = snapshot_repo(tmp_path)
    monkeypatch.chdir(repo)
    git(repo, "branch", "-M", "main")
    git(repo, "checkout", "-q", "-b", "pr")
    break_file(vol(repo, 1))
    commit_all(repo, "the pull request")
    git(repo, "checkout", "-q", "main")
    break_file(vol(repo, 2))
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "pr")
    code, out, err = run(capsys, "validate", "--changed", "main")
    assert code == 1
    assert {line.split(":")[0] for line in out.splitlines()} == {
        f"snaps/123456789012/us-east-1/volumes/vol-{1:017x}.yaml"
    }
    assert "1 file(s) checked" in err


def test_changed_names_an_unknown_revision_or_a_missing_repository(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = snapshot_repo(tmp_path)
    monkeypatch.chdir(repo)
    code, out, err = run(capsys, "validate", "--changed", "no-such-rev")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"driftaudit: validate --changed no-such-rev: unknown revision 'no-such-rev' in {repo}"
    ]
    code, _, err = run(capsys, "validate", "--changed", "")
    assert code == 1 and "--changed" in err
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run(capsys, "validate", "--changed", "HEAD")
    assert code == 1 and "is not in a git repository" in err and len(err.splitlines()) == 1


def test_changed_names_a_link_and_never_follows_it(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = snapshot_repo(tmp_path)
    monkeypatch.chdir(repo)
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    vol(repo, 1).unlink()
    vol(repo, 1).symlink_to(secret)
    code, out, _ = run(capsys, "validate", "--changed", "HEAD")
    assert code == 1
    assert out.splitlines() == [
        f"snaps/123456789012/us-east-1/volumes/vol-{1:017x}.yaml:1: is a symbolic link; "
        "not followed (snapshot files never are links)"
    ]


@pytest.mark.e2e  # worker processes
def test_jobs_say_the_same_as_one_process(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftaudit.validate import MIN_PARALLEL

    root = tmp_path / "snaps"
    count = MIN_PARALLEL + 100
    write(root, "volumes", [valid_volume(f"vol-{i:017x}") for i in range(count)])
    for i in range(0, count, 97):
        break_file(vol(tmp_path, i))
    monkeypatch.chdir(tmp_path)
    one = run(capsys, "validate", "-j", "1", "snaps")
    two = run(capsys, "validate", "-j", "2", "snaps")
    assert one == two
    assert one[0] == 1 and len(one[1].splitlines()) == len(range(0, count, 97))
    assert f"{count} file(s) checked" in one[2]
