"""A shallow clone (``git clone --depth 1``, what CI checkouts do by default) holds only the
newest commits: its oldest one looks like a first snapshot. Every answer about the past
refuses it with one line saying how to fetch the whole history; the working tree against
HEAD, which needs HEAD only, still works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.gitsnap import commit_all, git, init_repo, instance, run, volume, write

Capsys = pytest.CaptureFixture[str]
FETCH = "fetch it with `git fetch --unshallow`"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A depth-1 clone (over file://, so git really makes it shallow) of a repository with
    three daily snapshots."""
    origin = init_repo(tmp_path / "origin")
    for day, size in enumerate((8, 9, 10), 1):
        write(origin / "snaps", "instances", [instance("i-0aaa", itype=f"t3.size{day}")])
        write(origin / "snaps", "volumes", [volume("vol-0aaa", size=size)])
        commit_all(origin, f"day {day}", f"2026-01-0{day}T00:00:00Z")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", "clone")
    shallow = tmp_path / "clone"
    assert git(shallow, "rev-parse", "--is-shallow-repository").strip() == "true"
    return shallow


@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["report", "--format", "html"],
        ["report", "--since", "2 days ago"],
        ["diff", "HEAD~1", "HEAD"],
        ["diff", "--since", "2026-01-02"],
        ["diff", "HEAD"],
        ["history", "ip", "10.0.0.5"],
        ["history", "rule", "--source", "10.0.0.5"],
        ["history", "exposure", "10.0.0.5"],
    ],
    ids=lambda a: "-".join(a).replace(" ", "_"),
)
def test_answers_about_the_past_refuse_a_shallow_clone(
    clone: Path, capsys: Capsys, args: list[str]
) -> None:
    code, out, err = run(capsys, *args, "-C", str(clone / "snaps"))
    assert (code, out) == (1, "")
    assert err.startswith(f"driftaudit: {clone} is a shallow clone: "), err
    assert FETCH in err and "fetch-depth: 0" in err and len(err.splitlines()) == 1


def test_the_working_tree_against_head_works_and_fetching_the_history_fixes_the_rest(
    clone: Path, capsys: Capsys
) -> None:
    snaps = str(clone / "snaps")
    assert run(capsys, "diff", "-C", snaps)[0] == 0
    write(clone / "snaps", "volumes", [volume("vol-0aaa", size=11)])
    code, out, _ = run(capsys, "diff", "-C", snaps)
    assert code == 2 and "Size: 10 -> 11" in out
    git(clone, "fetch", "-q", "--unshallow")
    code, out, _ = run(capsys, "report", "-C", snaps)
    assert code == 0 and "from: HEAD^" in out and "Size: 9 -> 10" in out
    code, out, _ = run(capsys, "diff", "-C", snaps, "--since", "2026-01-01T12:00:00Z")
    assert code == 2 and "t3.size1" in out and "t3.size3" in out
    assert run(capsys, "history", "ip", "10.0.0.5", "-C", snaps)[0] == 0


def test_the_ci_recipes_fetch_the_whole_history() -> None:
    """A CI checkout is shallow by default; the recipes' diff and report need the past."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    github = yaml.safe_load((examples / "github-actions" / "drift.yml").read_text())
    checkout = next(
        s
        for s in github["jobs"]["drift"]["steps"]
        if s.get("uses", "").startswith("actions/checkout")
    )
    assert checkout["with"]["fetch-depth"] == 0
    gitlab = yaml.safe_load((examples / "gitlab-ci.yml").read_text())
    assert gitlab["drift"]["variables"]["GIT_DEPTH"] == 0
