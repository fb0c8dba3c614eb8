"""One writer per snapshot directory, git's index.lock after a killed run, and what the user
is told when a write cannot happen: real processes holding real locks, real git commands
killed by real signals, real unwritable and full filesystems."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import GitError, Repo
from driftaudit.layout import TEMP_SUFFIX
from driftaudit.lock import acquire, lock_path
from tests.support.gitsnap import ACCOUNT, REGION, commit_all, git, init_repo, run
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]

HOLDER = """
import sys, time
from pathlib import Path
from driftaudit.lock import acquire
lock = acquire(Path(sys.argv[1]), "driftaudit snapshot (the first run)")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Any]:
    """Start a process holding DIR's lock for some seconds; killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(directory: Path, seconds: float) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(directory), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def ec2(moto: MotoServer) -> Any:
    return boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)


def snapshot(capsys: Capsys, url: str, out: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["snapshot", REGION, "--endpoint-url", url, "-o", str(out), "--type", "volumes"]
    return run(capsys, *argv, *extra)


def snapshot_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.yaml"))


# --- the run lock ------------------------------------------------------------------------------


def test_a_second_run_waits_a_bounded_time_then_names_the_running_one(
    moto: MotoServer,
    tmp_path: Path,
    capsys: Capsys,
    holder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    first = holder(snaps, 60)
    monkeypatch.setenv("DRIFTAUDIT_LOCK_WAIT", "0.3")
    code, out, err = snapshot(capsys, moto.url, snaps)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert f"pid {first.pid} " in err and "driftaudit snapshot (the first run)" in err
    assert str(snaps / ".driftaudit" / "lock") in err and "waited 0.3 s" in err
    assert snapshot_files(snaps) == []  # nothing written while the other run holds DIR
    # The kernel releases the lock of a killed holder: the next run goes ahead.
    first.send_signal(signal.SIGKILL)
    first.wait()
    code, _, err = snapshot(capsys, moto.url, snaps)
    assert code == 0, err
    assert len(snapshot_files(snaps)) == 1


def test_a_second_run_proceeds_when_the_first_ends_within_the_wait(
    moto: MotoServer, tmp_path: Path, capsys: Capsys, holder: Any
) -> None:
    ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    snaps.mkdir()
    first = holder(snaps, 2)  # the lock of a repository is one for all its directories
    code, _, err = snapshot(capsys, moto.url, snaps, "--commit")
    assert code == 0, err
    assert first.wait(timeout=10) == 0  # it ran to its end: the second run did not break in
    assert len(snapshot_files(snaps)) == 1
    assert f"pid {os.getpid()} " in (repo / ".git" / "driftaudit.lock").read_text()


def test_the_lock_lives_in_the_git_directory_or_in_a_state_directory_git_ignores(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with acquire(plain, "test", wait=0) as held:
        assert held.path == plain / ".driftaudit" / "lock"
        assert held.path.read_text().startswith(f"pid {os.getpid()} on ")
    assert (plain / ".driftaudit" / ".gitignore").read_text() == "*\n"
    repo = init_repo(tmp_path / "repo")
    (repo / "snaps").mkdir()
    assert lock_path(repo / "snaps") == (repo / ".git" / "driftaudit.lock").resolve()
    with acquire(repo / "snaps", "test", wait=0):
        assert not (repo / "snaps" / ".driftaudit").exists()
        assert git(repo, "status", "--porcelain") == ""


def test_a_linked_state_directory_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    (snaps / ".driftaudit").symlink_to(target, target_is_directory=True)
    with pytest.raises(DriftauditError, match="follows no link") as caught:
        acquire(snaps, "test", wait=0)
    assert str(snaps / ".driftaudit") in str(caught.value) and "\n" not in str(caught.value)
    assert list(target.iterdir()) == []


def test_a_bad_lock_wait_is_a_usage_error(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTAUDIT_LOCK_WAIT", "soon")
    # With --commit DIR is locked before any AWS call: the endpoint is never called.
    argv = ["snapshot", REGION, "--endpoint-url", "http://127.0.0.1:9", "-o", str(tmp_path)]
    code, _, err = run(capsys, *argv, "--commit")
    assert (code, err) == (
        1,
        "driftaudit: DRIFTAUDIT_LOCK_WAIT='soon': expected seconds to wait (0 to 86399)\n",
    )


# --- git's index.lock ---------------------------------------------------------------------------

EDITOR = "#!/bin/sh\nsleep {seconds}\nexit 1\n"


def git_commit_holding_the_index(repo: Path, tmp_path: Path, seconds: float) -> subprocess.Popen:
    """A real `git commit -a` that holds .git/index.lock while its editor runs."""
    editor = tmp_path / "editor.sh"
    editor.write_text(EDITOR.format(seconds=seconds))
    editor.chmod(0o755)
    (repo / "README.md").write_text(f"edited {time.time()}\n")
    proc = subprocess.Popen(
        ["git", "commit", "-a"],
        cwd=repo,
        env={**os.environ, "GIT_EDITOR": str(editor)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: killed with its editor
    )
    deadline = time.monotonic() + 10
    while not (repo / ".git" / "index.lock").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    return proc


@pytest.fixture
def committed(moto: MotoServer, tmp_path: Path, capsys: Capsys) -> Path:
    """A repository with a README and one snapshot commit of one volume."""
    ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)
    repo = init_repo(tmp_path / "repo")
    (repo / "README.md").write_text("mine\n")
    commit_all(repo, "the user's own commit")
    code, _, err = snapshot(capsys, moto.url, repo / "snaps", "--commit")
    assert code == 0, err
    ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=9)  # something to commit next
    return repo


def test_an_index_lock_left_by_a_killed_git_is_removed_with_a_warning(
    moto: MotoServer, committed: Path, tmp_path: Path, capsys: Capsys
) -> None:
    repo = committed
    head = git(repo, "rev-parse", "HEAD")
    proc = git_commit_holding_the_index(repo, tmp_path, 60)
    os.killpg(proc.pid, signal.SIGKILL)  # as a cancelled CI job kills the whole group
    proc.wait()
    lock = repo / ".git" / "index.lock"
    assert lock.exists()
    code, _, err = snapshot(capsys, moto.url, repo / "snaps", "--commit")
    assert code == 0, err
    assert f"driftaudit: warning: removed {lock}" in err
    assert "remove the file manually" not in err
    assert not lock.exists()
    assert git(repo, "rev-parse", "HEAD~1") == head  # committed on top
    assert git(repo, "fsck", "--no-dangling", "--no-progress") == ""


def test_an_index_lock_of_a_running_git_is_named_never_removed(
    moto: MotoServer,
    committed: Path,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = committed
    head = git(repo, "rev-parse", "HEAD")
    proc = git_commit_holding_the_index(repo, tmp_path, 60)
    try:
        monkeypatch.setenv("DRIFTAUDIT_LOCK_WAIT", "0.5")
        code, _, err = snapshot(capsys, moto.url, repo / "snaps", "--commit")
        lock = repo / ".git" / "index.lock"
        assert code == 1
        lines = [line for line in err.splitlines() if "index.lock" in line]
        assert len(lines) == 1 and str(lock) in lines[0]
        assert f"pid {proc.pid}: git commit -a" in lines[0]
        assert "remove" not in lines[0]  # never advice that breaks a running git
        assert lock.exists() and git(repo, "rev-parse", "HEAD") == head
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_git_still_finishing_is_waited_for(
    moto: MotoServer, committed: Path, tmp_path: Path, capsys: Capsys
) -> None:
    # What a run killed mid-commit leaves: its git child still at work for a moment.
    repo = committed
    head = git(repo, "rev-parse", "HEAD")
    proc = git_commit_holding_the_index(repo, tmp_path, 2)
    code, _, err = snapshot(capsys, moto.url, repo / "snaps", "--commit")
    assert proc.wait(timeout=10) == 1  # its editor gave up: git ended on its own
    assert code == 0, err
    assert "index.lock" not in err
    assert git(repo, "rev-parse", "HEAD~1") == head
    assert git(repo, "ls-tree", "-r", "--name-only", "HEAD").count("/volumes/vol-") == 2


def test_git_killed_by_a_signal_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = init_repo(tmp_path / "repo")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nkill -TERM $PPID\n")  # git runs it directly: $PPID is git
    editor.chmod(0o755)
    monkeypatch.setenv("GIT_EDITOR", str(editor))
    with pytest.raises(GitError) as caught:
        Repo(repo).git("commit", "--allow-empty")
    assert str(caught.value) == "git commit was killed by signal SIGTERM"


# --- writes that cannot happen ------------------------------------------------------------------


def userns(command: list[str], mount: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a user and mount namespace after the shell ``mount`` (as root of
    the namespace); skips where unprivileged user namespaces are not allowed."""
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no unprivileged user namespace (unshare -Urm) to mount a filesystem")
    script = f'{mount} && exec "$@"' if mount else 'exec "$@"'
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        check=False,
    )


def driftaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "driftaudit", *args]


def test_an_unwritable_output_directory_writes_nothing_and_exits_1(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2(moto).create_volume(AvailabilityZone="us-east-1a", Size=8)
    ro = tmp_path / "ro"
    ro.mkdir()
    argv = ["snapshot", REGION, "--endpoint-url", moto.url, "-o", str(ro / "new")]
    if os.geteuid() != 0:
        ro.chmod(0o555)
        try:
            code, out, err = run(capsys, *argv)
        finally:
            ro.chmod(0o755)
        reason = "Permission denied"
    else:
        # root writes through a chmod: a read-only filesystem instead.
        proc = userns(driftaudit(*argv), f"mount -t tmpfs -o ro tmpfs {ro}")
        code, out, err = proc.returncode, proc.stdout, proc.stderr
        reason = "Read-only file system"
    assert (code, out) == (1, "")
    assert err == f"driftaudit: cannot create the output directory {ro / 'new'}: {reason}\n"
    assert list(ro.iterdir()) == []


def test_a_full_filesystem_is_a_write_failure_and_nothing_written_exits_1(
    moto: MotoServer, tmp_path: Path
) -> None:
    client = ec2(moto)
    for size in range(1, 9):
        client.create_volume(AvailabilityZone="us-east-1a", Size=size)
    full = tmp_path / "full"
    full.mkdir()
    # 16 kB: the lock and its .gitignore fit, eight volume files do not. nat_gateways is an
    # empty part that "succeeds" without writing anything.
    argv = driftaudit(
        "snapshot", REGION, "--endpoint-url", moto.url, "-o", str(full),
        "--type", "volumes,nat_gateways",
    )  # fmt: skip
    check = f"find {full} -name '*{TEMP_SUFFIX}' -o -name '*.yaml'"
    proc = userns(
        ["sh", "-c", f'"$@"; echo "exit $?"; {check}', "sh", *argv],
        f"mount -t tmpfs -o size=16k tmpfs {full}",
    )
    lines = proc.stdout.splitlines()
    assert lines == ["exit 1"], (proc.stdout, proc.stderr)  # no file, no temporary file left
    failed = [line for line in proc.stderr.splitlines() if " volumes: " in line]
    assert len(failed) == 1, proc.stderr
    assert failed[0].startswith(f"driftaudit: {ACCOUNT} {REGION} volumes: could not write (")
    assert "No space left on device" in failed[0] and "could not read" not in proc.stderr
