"""Change detection in real git: ``snapshot --commit`` (end to end against the moto server)
and ``diff`` over histories written with driftaudit's own writer and backdated commits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.canonical import loads
from driftaudit.collect.engine import Part
from driftaudit.collect.store import render_part, write_part
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    GitSandbox,
    commit_all,
    file_of,
    git,
    init_repo,
    instance,
    rule,
    run,
    security_group,
    volume,
    write,
)
from tests.support.motoserver import MotoServer

T1, T2, T3 = "2024-01-01T12:00:00+00:00", "2024-01-10T12:00:00+00:00", "2024-01-20T12:00:00+00:00"
HTTPS_VPC = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
SSH_WORLD = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "temp debugging")

Capsys = pytest.CaptureFixture[str]


@dataclass
class History:
    repo: Path
    snaps: Path
    commits: list[str]

    def diff_json(self, capsys: Capsys, *args: str) -> tuple[int, dict[str, Any], str]:
        code, out, err = run(capsys, "diff", "-C", str(self.snaps), "--format", "json", *args)
        return code, (json.loads(out) if out else {}), err


def ids(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["severity"] for c in report["changes"]}


def make_history(root: Path) -> History:
    """Three snapshots ten days apart: an SG opened to the world and an instance resized,
    then a volume tagged."""
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [HTTPS_VPC])])
    write(snaps, "instances", [instance("i-1", groups=["sg-0a"])])
    write(snaps, "volumes", [volume("vol-1")])
    c1 = commit_all(repo, "one", T1)
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [HTTPS_VPC, SSH_WORLD])])
    write(snaps, "instances", [instance("i-1", itype="m5.large", groups=["sg-0a"])])
    c2 = commit_all(repo, "two", T2)
    write(snaps, "volumes", [volume("vol-1", tags={"Owner": "ops"})])
    c3 = commit_all(repo, "three", T3)
    return History(repo, snaps, [c1, c2, c3])


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """One history for the tests that only read it."""
    root = tmp_path_factory.mktemp("history")
    yield make_history(root)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return make_history(tmp_path)


# --- diff -----------------------------------------------------------------------------


def test_default_is_working_tree_against_head(history: History, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "diff", "-C", str(history.snaps))
    assert (code, out.splitlines()[0]) == (0, "driftaudit: no changes")
    write(history.snaps, "instances", [instance("i-1", "m5.large", "stopped", ["sg-0a"])])
    write(history.snaps, "volumes", [volume("vol-1", tags={"Owner": "ops"}), volume("vol-2")])
    index_before = (history.repo / ".git" / "index").read_bytes()
    code, report, _ = history.diff_json(capsys)
    assert code == 2
    assert {c["id"]: c["action"] for c in report["changes"]} == {
        "i-1": "modified",
        "vol-2": "added",
    }
    assert report["to"]["rev"] == "WORKTREE" and report["from"]["rev"] == history.commits[-1]
    # Compared through a temporary index: the user's index and staging are untouched.
    assert (history.repo / ".git" / "index").read_bytes() == index_before
    assert git(history.repo, "diff", "--cached", "--name-only") == ""


def test_working_tree_of_a_repository_without_commits(tmp_path: Path, capsys: Capsys) -> None:
    snaps = init_repo(tmp_path / "snaps")
    write(snaps, "volumes", [volume("vol-1")])
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--format", "json")
    assert code == 2
    assert [(c["id"], c["action"]) for c in json.loads(out)["changes"]] == [("vol-1", "added")]


def test_two_revisions(shared: History, capsys: Capsys) -> None:
    c1, c2, _ = shared.commits
    code, report, _ = shared.diff_json(capsys, c1, c2)
    assert code == 2
    assert ids(report) == {"sg-0a": "critical", "i-1": "low"}
    sg = next(c for c in report["changes"] if c["id"] == "sg-0a")
    assert [d["text"] for d in sg["details"]] == [
        '+ ingress tcp/22 from 0.0.0.0/0 "temp debugging"'
    ]
    # Most severe first.
    assert [c["id"] for c in report["changes"]] == ["sg-0a", "i-1"]
    # Backwards, the world-open rule is removed: medium, not critical.
    _, back, _ = shared.diff_json(capsys, "HEAD~1", "HEAD~2")
    assert ids(back) == {"sg-0a": "medium", "i-1": "low"}


def test_one_revision_is_against_the_working_tree(shared: History, capsys: Capsys) -> None:
    code, report, _ = shared.diff_json(capsys, "HEAD~1")
    assert (code, ids(report)) == (2, {"vol-1": "info"})
    assert report["to"]["rev"] == "WORKTREE"


def test_since_picks_the_snapshot_as_of_then(shared: History, capsys: Capsys) -> None:
    c1, c2, c3 = shared.commits
    code, report, _ = shared.diff_json(capsys, "--since", "2024-01-05")
    assert (code, report["from"]["rev"], report["to"]["rev"]) == (2, c1, c3)
    assert ids(report) == {"sg-0a": "critical", "i-1": "low", "vol-1": "info"}
    _, report, _ = shared.diff_json(capsys, "--since", "2024-01-15T00:00:00Z")
    assert (report["from"]["rev"], ids(report)) == (c2, {"vol-1": "info"})
    code, report, _ = shared.diff_json(capsys, "--since", "2024-02-01")
    assert (code, report["from"]["rev"], report["changes"]) == (0, c3, [])
    # git's relative dates: every snapshot here is from 2024, long before "1 day ago".
    code, report, _ = shared.diff_json(capsys, "--since", "1 day ago")
    assert (code, report["from"]["rev"]) == (0, c3)
    code, out, err = run(
        capsys, "report", "-C", str(shared.snaps), "--since", "10 years ago", "--format", "json"
    )
    assert (code, json.loads(out)["from"]["rev"]) == (0, c1)
    assert "'10 years ago' is before the first snapshot" in err


def test_since_before_the_first_snapshot_means_from_the_first_snapshot(
    shared: History, capsys: Capsys
) -> None:
    c1, _, c3 = shared.commits
    code, report, err = shared.diff_json(capsys, "--since", "2023-12-01")
    assert (code, report["from"]["rev"], report["to"]["rev"]) == (2, c1, c3)
    assert ids(report) == {"sg-0a": "critical", "i-1": "low", "vol-1": "info"}
    # said on stderr, with when the first snapshot is
    assert err.startswith("driftaudit: --since '2023-12-01' is before the first snapshot (")
    assert T1 in err and c1[:12] in err


def test_type_filter(shared: History, capsys: Capsys) -> None:
    c1, _, c3 = shared.commits
    _, report, _ = shared.diff_json(capsys, c1, c3, "--type", "security_groups")
    assert ids(report) == {"sg-0a": "critical"}
    _, report, _ = shared.diff_json(capsys, c1, c3, "--type", "volumes", "--type", "instances")
    assert ids(report) == {"i-1": "low", "vol-1": "info"}
    code, report, _ = shared.diff_json(capsys, "HEAD~1", "HEAD", "--type", "security_groups")
    assert (code, report["changes"]) == (0, [])


@pytest.mark.parametrize(
    "revs,fail_on,expected",
    [
        ((0, 1), (), 2),  # default: any change
        ((1, 2), (), 2),  # even a tag
        ((2, 2), (), 0),
        ((0, 1), ("security_groups",), 2),
        ((1, 2), ("security_groups",), 0),  # only a volume tag changed
        ((0, 1), ("critical",), 2),
        ((1, 2), ("low",), 0),  # info is below low
        ((1, 2), ("info",), 2),
        ((0, 1), ("volumes",), 0),
        ((0, 1), ("volumes", "high"), 2),
        ((1, 2), ("instances", "medium"), 0),
    ],
)
def test_fail_on(
    shared: History, capsys: Capsys, revs: tuple[int, int], fail_on: tuple[str, ...], expected: int
) -> None:
    args = [shared.commits[revs[0]], shared.commits[revs[1]]]
    for value in fail_on:
        args += ["--fail-on", value]
    code, _, err = run(capsys, "diff", "-C", str(shared.snaps), *args)
    assert code == expected, err


@pytest.mark.parametrize(
    "args,message",
    [
        (["HEAD~2", "nosuchrev"], "unknown revision 'nosuchrev'"),
        (["HEAD~2", "HEAD~1", "HEAD"], "at most two revisions"),
        (["HEAD~2", "HEAD", "--fail-on", "severe"], "--fail-on"),
        (["--since", "2024-01-05", "HEAD~2"], "either --since or revisions"),
        (["HEAD~2", "HEAD", "--format", "pdf"], "pdf"),
        (["HEAD~2", "HEAD", "--bogus"], "--bogus"),
    ],
)
def test_errors_exit_1_never_2(
    shared: History, capsys: Capsys, args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "diff", "-C", str(shared.snaps), *args)
    assert code == 1, err
    assert message in err
    assert "Traceback" not in err


def test_not_a_git_repository_is_an_error(tmp_path: Path, capsys: Capsys) -> None:
    plain = tmp_path / "plain"
    write(plain, "volumes", [volume("vol-1")])
    code, _, err = run(capsys, "diff", "-C", str(plain))
    assert code == 1
    assert "not in a git repository" in err


def test_missing_directory_is_an_error_not_an_empty_diff(shared: History, capsys: Capsys) -> None:
    # A typo in a CI gate's -C must not pass as "no changes".
    code, _, err = run(capsys, "diff", "-C", str(shared.repo / "snpas"), "HEAD~2", "HEAD")
    assert code == 1
    assert "snpas" in err and "does not exist" in err


def test_only_the_snapshot_directory_is_compared(tmp_path: Path, capsys: Capsys) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo / "snaps", "volumes", [volume("vol-1")])
    write(repo / "other", "volumes", [volume("vol-8")])
    commit_all(repo, "one")
    write(repo / "other", "volumes", [volume("vol-8", size=100)])
    (repo / "snaps" / "notes.yaml").write_text("not: a snapshot\n")
    code, out, _ = run(capsys, "diff", "-C", str(repo / "snaps"))
    assert (code, out.splitlines()[0]) == (0, "driftaudit: no changes")


def corrupt(path: Path, line: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[line - 1] = text + "\n"
    path.write_text("".join(lines))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_corrupted_file_names_file_and_line_and_the_rest_is_compared(
    tmp_path: Path, capsys: Capsys, fmt: str
) -> None:
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    part = Part(ACCOUNT, REGION, "volumes")
    vols = {"vol-1": volume("vol-1"), "vol-2": volume("vol-2")}
    write_part(snaps, part, render_part(part, vols, fmt))
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [HTTPS_VPC])])
    commit_all(repo, "one", T1)
    broken = snaps / ACCOUNT / REGION / "volumes" / f"vol-1.{fmt}"
    # Line 5 is "  Size: 8" in YAML, '  "resource": {' in JSON.
    corrupt(broken, 5, "  Size: 8: 9" if fmt == "yaml" else '  "resource": {,')
    vols["vol-2"] = volume("vol-2", size=20)
    write_part(snaps, part, {**render_part(part, vols, fmt), broken.name: broken.read_bytes()})
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [HTTPS_VPC, SSH_WORLD])])
    commit_all(repo, "two", T2)

    name = f"snaps/{ACCOUNT}/{REGION}/volumes/vol-1.{fmt}"
    code, out, err = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD")
    assert code == 1
    assert f"{name}:5: does not parse" in err
    assert "sg-0a" in out and "vol-2" in out  # the other resources are still compared
    assert "could not be read" in out and f"{name}:5" in out
    code, report, _ = History(repo, snaps, []).diff_json(capsys, "HEAD~1", "HEAD")
    assert code == 1
    assert ids(report) == {"sg-0a": "critical", "vol-2": "low"}
    assert [u.split(": ")[0] for u in report["unreadable"]] == [f"{name}:5"]
    # Even with a gate the changes would not trip, a broken file is an error, not a pass.
    code, _, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--fail-on", "instances")
    assert code == 1


def test_only_changed_files_are_read(history: History, capsys: Capsys) -> None:
    garbage = file_of(history.snaps, "volumes", "vol-9")
    garbage.write_text("id: vol-9\nresource: a: b\n")
    commit_all(history.repo, "garbage", "2024-01-25T00:00:00+00:00")
    write(history.snaps, "instances", [instance("i-1", "m5.large", "stopped", ["sg-0a"])])
    commit_all(history.repo, "stopped", "2024-01-26T00:00:00+00:00")
    # In range, the garbage is found...
    code, _, err = run(capsys, "diff", "-C", str(history.snaps), "HEAD~2", "HEAD~1")
    assert code == 1 and "vol-9.yaml:2: does not parse" in err
    # ...out of range (unchanged) it is never read.
    code, report, err = history.diff_json(capsys, "HEAD~1", "HEAD")
    assert (code, ids(report), report["unreadable"], err) == (2, {"i-1": "info"}, [], "")
    code, _, err = run(capsys, "diff", "-C", str(history.snaps))
    assert (code, err) == (0, "")


def test_config_at_repository_root_is_used(history: History, capsys: Capsys) -> None:
    (history.repo / "driftaudit.yaml").write_text(
        "severity:\n  overrides:\n    - {kind: tag, path: Owner, severity: high}\n"
    )
    code, report, _ = history.diff_json(capsys, "HEAD~1", "HEAD", "--fail-on", "high")
    assert (code, ids(report)) == (2, {"vol-1": "high"})
    (history.repo / "driftaudit.yaml").write_text("severity:\n  overides: []\n")
    code, _, err = run(capsys, "diff", "-C", str(history.snaps), "HEAD~1", "HEAD")
    assert code == 1
    assert "driftaudit.yaml:2: $.severity.overides" in err


# --- snapshot --commit against the moto server -------------------------------------------


def ec2(moto: MotoServer) -> Any:
    return boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)


def snapshot(capsys: Capsys, endpoint: str, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "snapshot",
        REGION,
        "--endpoint-url",
        endpoint,
        "-o",
        str(out),
        "--commit",
        "--only",
        "security_groups,volumes",
        *extra,
    )


def log(repo: Path, fmt: str, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", f"--format={fmt}", rev).strip()


def test_snapshot_commit_runs_git_init_when_dir_is_in_no_repository(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    client = ec2(moto)
    gid = client.create_security_group(GroupName="internal", Description="x")["GroupId"]
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    (snaps / "report.html").write_text("<p>old report</p>")
    code, _, err = snapshot(capsys, moto.url, snaps)
    assert code == 0, err
    assert (snaps / ".git").is_dir()
    tracked = git(snaps, "ls-files").split()
    assert f"{ACCOUNT}/{REGION}/security_groups/{gid}.yaml" in tracked
    assert all(p.startswith(f"{ACCOUNT}/{REGION}/security_groups/sg-") for p in tracked)
    assert "?? report.html" in git(snaps, "status", "--porcelain").splitlines()
    assert log(snaps, "%s") == f"driftaudit snapshot: initial, {len(tracked)} resources"


def test_snapshot_commit_stages_only_snapshot_files(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)
    repo = init_repo(tmp_path / "repo")
    (repo / "README.md").write_text("mine\n")
    user_commit = commit_all(repo, "user's own commit")
    (repo / "README.md").write_text("mine, edited\n")  # unstaged
    (repo / "notes.txt").write_text("staged\n")
    git(repo, "add", "notes.txt")  # staged
    (repo / "snaps").mkdir()
    (repo / "snaps" / "report.html").write_text("<p>report</p>")
    code, _, err = snapshot(capsys, moto.url, repo / "snaps")
    assert code == 0, err
    assert git(repo, "rev-parse", "HEAD~1").strip() == user_commit
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert committed and all(p.startswith(f"snaps/{ACCOUNT}/{REGION}/") for p in committed)
    assert any("/volumes/vol-" in p for p in committed)
    assert git(repo, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert git(repo, "diff", "--name-only").split() == ["README.md"]
    assert "?? snaps/report.html" in git(repo, "status", "--porcelain").splitlines()
    assert git(repo, "show", "HEAD:README.md") == "mine\n"


def test_ignored_snapshot_files_are_an_error_not_nothing_changed(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2(moto).create_security_group(GroupName="internal", Description="x")
    repo = init_repo(tmp_path / "repo")
    (repo / ".gitignore").write_text("snaps/\n")
    code, _, err = snapshot(capsys, moto.url, repo / "snaps")
    assert code == 1
    assert "is ignored by git" in err and "nothing committed" not in err
    assert git(repo, "rev-list", "--all") == ""


def test_commit_message_counts_then_most_severe_lines_first(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    client = ec2(moto)
    internal = client.create_security_group(GroupName="internal", Description="x")["GroupId"]
    old = client.create_security_group(GroupName="old", Description="x")["GroupId"]
    snaps = tmp_path / "snaps"
    assert snapshot(capsys, moto.url, snaps)[0] == 0
    client.authorize_security_group_ingress(
        GroupId=internal,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    client.create_tags(Resources=[internal], Tags=[{"Key": "Owner", "Value": "alice"}])
    client.delete_security_group(GroupId=old)
    vol = client.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    code, _, err = snapshot(capsys, moto.url, snaps)
    assert code == 0, err
    message = log(snaps, "%B").splitlines()
    assert message[0] == "driftaudit snapshot: 3 change(s) (1 critical, 1 medium, 1 low)"
    assert "security_groups: 1 modified, 1 removed" in message
    assert "volumes: 1 added" in message
    lines = [m for m in message if m.startswith("[")]
    assert lines[0] == f"[critical] {internal} (internal): + ingress tcp/22 from 0.0.0.0/0"
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(m[1 : m.index("]")]) for m in lines]
    assert ranks == sorted(ranks)
    assert f'[info] {internal} (internal): + tag Owner = "alice"' in lines
    assert f"[low] volumes {vol}: added" in lines
    # The deleted group's file is gone from the commit, not left behind.
    tree = git(snaps, "ls-tree", "-r", "--name-only", "HEAD")
    assert old not in tree and vol in tree


def test_nothing_changed_records_the_run_in_an_empty_commit(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    from driftaudit.change.rangediff import RunRecord, recorded_run

    ec2(moto).create_security_group(GroupName="internal", Description="x")
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    assert snapshot(capsys, moto.url, snaps)[0] == 0
    head = git(snaps, "rev-parse", "HEAD").strip()
    code, _, err = snapshot(capsys, moto.url, snaps)
    assert code == 0
    run_commit = git(snaps, "rev-parse", "HEAD").strip()
    assert f"no changes since the last snapshot; run recorded (commit {run_commit[:12]})" in err
    # An empty commit on top: the same tree, a message of driftaudit's own form.
    assert git(snaps, "rev-parse", "HEAD~1").strip() == head
    assert git(snaps, "rev-parse", "HEAD^{tree}") == git(snaps, "rev-parse", f"{head}^{{tree}}")
    message = log(snaps, "%B")
    assert message.splitlines()[0] == "driftaudit snapshot: no changes"
    files = len(git(snaps, "ls-files").split())  # internal, and the default VPC's group
    assert recorded_run(message) == RunRecord(
        (ACCOUNT,), (REGION,), ("security_groups", "volumes"), 2, 0, files, "snaps"
    )
    # git itself reads it as a trailer: it survives push, pull and any git tool.
    trailer = log(snaps, "%(trailers:key=Driftaudit-Run,valueonly)")
    assert trailer == "accounts=123456789012 regions=us-east-1 types=security_groups,volumes" + (
        f" parts=2 failed=0 resources={files} dir=snaps"
    )
    assert git(snaps, "status", "--porcelain") == ""
    # Every run carries its record, the first and those with changes too.
    assert recorded_run(log(snaps, "%B", "HEAD~1")) is not None
    # Pushed and pulled like any commit: the clone holds the same record.
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "push", "-q", str(remote), "HEAD:refs/heads/main")
    git(tmp_path, "clone", "-q", "--branch", "main", str(remote), "clone")
    assert recorded_run(log(tmp_path / "clone", "%B")) == recorded_run(message)
    assert log(tmp_path / "clone", "%H") == run_commit


def test_commit_honours_git_dates(
    moto: MotoServer, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    ec2(moto).create_security_group(GroupName="internal", Description="x")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2024-02-29T10:00:00+00:00")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2024-03-01T08:00:00+00:00")
    snaps = tmp_path / "snaps"
    assert snapshot(capsys, moto.url, snaps)[0] == 0
    assert log(snaps, "%aI %cI") == "2024-02-29T10:00:00+00:00 2024-03-01T08:00:00+00:00"
    # The committer date is the snapshot's time: there was none yet on the author date.
    code, _, err = run(capsys, "diff", "-C", str(snaps), "--since", "2024-03-01T00:00:00Z")
    assert code == 0 and "is before the first snapshot (2024-03-01T08:00:00+00:00)" in err
    code, _, err = run(capsys, "diff", "-C", str(snaps), "--since", "2024-03-01T09:00:00Z")
    assert (code, err) == (0, "")


def test_commit_without_any_git_identity(
    moto: MotoServer,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
    git_sandbox: GitSandbox,
) -> None:
    # A fresh CI machine: no user.name/user.email anywhere.
    git_sandbox.without_identity(monkeypatch)
    ec2(moto).create_security_group(GroupName="internal", Description="x")
    snaps = tmp_path / "snaps"
    code, _, err = snapshot(capsys, moto.url, snaps)
    assert code == 0, err
    assert log(snaps, "%s").startswith("driftaudit snapshot: initial")
    assert log(snaps, "%an <%ae>") == "driftaudit <driftaudit@localhost>"


def test_partial_snapshot_commits_what_succeeded_and_names_the_failed_part(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    client = ec2(moto)
    gid = client.create_security_group(GroupName="internal", Description="x")["GroupId"]
    vol = client.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snaps = tmp_path / "snaps"
    failed = f"Driftaudit-Failed: {ACCOUNT}/{REGION}/volumes access denied in ec2:DescribeVolumes"
    with FaultProxy(moto.url, deny_actions={"DescribeVolumes"}) as proxy:
        # The very first snapshot is partial.
        code, _, err = snapshot(capsys, proxy.url, snaps)
        assert code == 3, err
        assert any(line.startswith(failed) for line in log(snaps, "%B").splitlines())
        assert f"/security_groups/{gid}.yaml" in git(snaps, "ls-files")
        code, out, _ = run(capsys, "report", "-C", str(snaps), "--format", "json")
        assert code == 0
        assert [f.split(" ")[0] for f in json.loads(out)["failed_parts"]] == [
            f"{ACCOUNT}/{REGION}/volumes"
        ]
        # Complete again: the volume appears, nothing failed.
        assert snapshot(capsys, moto.url, snaps)[0] == 0
        assert "Driftaudit-Failed" not in log(snaps, "%B")
        # Partial again, with a change where it succeeded.
        client.create_tags(Resources=[gid], Tags=[{"Key": "Owner", "Value": "alice"}])
        code, _, err = snapshot(capsys, proxy.url, snaps)
        assert code == 3
        assert "volumes" in err
    message = log(snaps, "%B").splitlines()
    assert message[0] == "driftaudit snapshot: 1 change(s) (1 info)"
    assert any(line.startswith(failed) for line in message)
    # The failed part's files are kept as they were, not committed as removed.
    assert f"volumes/{vol}.yaml" in git(snaps, "ls-tree", "-r", "--name-only", "HEAD")
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--format", "json")
    report = json.loads(out)
    assert (code, ids(report)) == (2, {gid: "info"})
    assert len(report["failed_parts"]) == 1 and "volumes" in report["failed_parts"][0]
    _, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~2", "HEAD~1", "--format", "json")
    assert json.loads(out)["failed_parts"] == []
    doc = loads((snaps / ACCOUNT / REGION / "volumes" / f"{vol}.yaml").read_bytes())
    assert doc["id"] == vol
