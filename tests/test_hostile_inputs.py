"""Every reader is safe on hostile files: symbolic links, FIFOs and devices where snapshot
files belong (on disk and committed to git), YAML alias bombs in every YAML the tool reads,
and bad values given on the command line. Commands that could hang or exhaust memory on a
regression run as child processes with a generous timeout, so a regression fails instead of
hanging the suite; none of them is timed."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    file_of,
    init_repo,
    instance,
    rule,
    security_group,
    volume,
    write,
)

BASELINE = """\
manage: {security_groups: exclusive}
security_groups:
  - id: sg-0aaa
    ingress:
      - {protocol: tcp, ports: 22, from: [10.0.0.0/8]}
resources:
  - {type: instances, id: i-0aaa, instance_type: t3.micro}
"""


def driftaudit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``driftaudit ARGS`` as a child process (see the module docstring)."""
    return subprocess.run(
        [sys.executable, "-m", "driftaudit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 1, each fragment on stderr or stdout (``LINE`` stands for any line number), no
    internal error, no traceback."""
    both = proc.stdout + proc.stderr
    assert proc.returncode == 1, both
    assert "internal error" not in both and "Traceback" not in both, both
    for fragment in fragments:
        pattern = re.escape(fragment).replace("LINE", "[0-9]+")
        assert re.search(pattern, both), both


def fleet(snaps: Path, size: int = 8) -> None:
    write(
        snaps,
        "security_groups",
        [security_group("sg-0aaa", "web", [rule("ingress", "tcp", "10.0.0.0/8", (22, 22))])],
    )
    write(snaps, "instances", [instance("i-0aaa", groups=["sg-0aaa"])])
    write(snaps, "volumes", [volume("vol-0aaa", size=size)])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A snapshot repository: two snapshot commits in snaps/, a baseline in baselines/."""
    root = init_repo(tmp_path / "repo")
    (root / "baselines").mkdir()
    (root / "baselines" / "main.yaml").write_text(BASELINE, encoding="utf-8")
    fleet(root / "snaps")
    commit_all(root, "one", "2026-01-01T00:00:00Z")
    fleet(root / "snaps", size=9)
    commit_all(root, "two", "2026-01-02T00:00:00Z")
    return root


# --- links, FIFOs and devices where snapshot files belong --------------------------------------


def special(kind: str, path: Path) -> None:
    """Put a hostile entry at ``path``: a link to /etc/passwd, a link loop, a FIFO, or a real
    character device (the kernel's zero device: reading it never ends)."""
    if kind == "link":
        path.symlink_to("/etc/passwd")
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        try:
            os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))
        except PermissionError:
            pytest.skip("creating a device node needs CAP_MKNOD")


KINDS = {
    "link": "is a symbolic link",
    "loop": "is a symbolic link",
    "fifo": "is not a regular file",
    "device": "is not a regular file",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_check_and_baseline_init_name_links_fifos_and_devices(repo: Path, kind: str) -> None:
    volume_file = file_of(repo / "snaps", "volumes", "vol-0aaa")
    volume_file.unlink()
    special(kind, volume_file)
    rel = f"snaps/{ACCOUNT}/{REGION}/volumes/vol-0aaa.yaml"
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, f"{rel}:1: {KINDS[kind]}")
    assert "root:" not in proc.stdout + proc.stderr and proc.stdout == ""
    proc = driftaudit(repo, "baseline", "init", "-C", "snaps")
    assert_clean_failure(proc, f"{ACCOUNT}/{REGION}/volumes/vol-0aaa.yaml:1: {KINDS[kind]}")
    assert "root:" not in proc.stdout + proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("kind", ["link", "loop", "fifo"])
def test_check_names_a_link_or_fifo_where_a_type_directory_belongs(
    repo: Path, tmp_path: Path, kind: str
) -> None:
    volumes = file_of(repo / "snaps", "volumes", "vol-0aaa").parent
    elsewhere = tmp_path / "elsewhere"
    volumes.rename(elsewhere)
    if kind == "link":
        volumes.symlink_to(elsewhere)
    else:
        special(kind, volumes)
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, f"snaps/{ACCOUNT}/{REGION}/volumes:1: ")


def test_a_committed_symlink_is_named_never_parsed(repo: Path) -> None:
    """git stores a link as a blob holding its target (mode 120000): diff and report name
    it instead of reading '/etc/passwd' as a document."""
    volume_file = file_of(repo / "snaps", "volumes", "vol-0aaa")
    volume_file.unlink()
    volume_file.symlink_to("/etc/passwd")
    rel = f"snaps/{ACCOUNT}/{REGION}/volumes/vol-0aaa.yaml"
    problem = f"{rel}:1: is a symbolic link (git mode 120000), not a snapshot file"
    assert_clean_failure(driftaudit(repo, "diff", "-C", "snaps"), problem)  # working tree
    commit_all(repo, "a link", "2026-01-03T00:00:00Z")
    for args in (["diff", "HEAD~1", "HEAD"], ["report"], ["report", "--format", "json"]):
        proc = driftaudit(repo, *args, "-C", "snaps")
        assert_clean_failure(proc, problem)
        assert "root:" not in proc.stdout + proc.stderr


# --- YAML alias bombs ----------------------------------------------------------------------


def bomb(prefix: str = "") -> str:
    """A "billion laughs" document: 9 levels of 9 aliases, 387 million strings once
    expanded, under a kilobyte as text. ``prefix`` comes first (an envelope, a key)."""
    lines = [prefix + 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_baseline_is_refused(repo: Path) -> None:
    (repo / "baselines" / "zz-bomb.yaml").write_text(bomb("x-"), encoding="utf-8")
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, "baselines/zz-bomb.yaml:LINE: YAML anchors and aliases are not")


def test_an_alias_bomb_in_the_config_is_refused(repo: Path) -> None:
    bombed = repo / "driftaudit.yaml"
    bombed.write_text(bomb(), encoding="utf-8")
    message = "driftaudit.yaml:LINE: YAML anchors and aliases are not accepted"
    # Found at the repository root, or given with --config.
    for args in (["diff", "HEAD~1", "HEAD"], ["report"]):
        assert_clean_failure(driftaudit(repo, *args, "-C", "snaps"), message)
    bombed.rename(repo / "severity.yaml")
    proc = driftaudit(repo, "diff", "-C", "snaps", "--config", "severity.yaml")
    assert_clean_failure(proc, "severity.yaml:LINE: YAML anchors and aliases are not accepted")


def test_an_alias_bomb_in_a_snapshot_file_is_refused(repo: Path) -> None:
    target = file_of(repo / "snaps", "volumes", "vol-0aaa")
    envelope = f'account: "{ACCOUNT}"\nid: vol-0aaa\nregion: {REGION}\ntype: volumes\n'
    target.write_text(envelope + bomb("resource: {VolumeId: vol-0aaa}\n"), encoding="utf-8")
    rel = f"snaps/{ACCOUNT}/{REGION}/volumes/vol-0aaa.yaml"
    message = f"{rel}:LINE: YAML anchors and aliases are not accepted"
    assert_clean_failure(driftaudit(repo, "validate", "snaps"), message)
    assert_clean_failure(driftaudit(repo, "diff", "-C", "snaps"), message)
    assert_clean_failure(driftaudit(repo, "check", "-C", "snaps"), message)
    assert_clean_failure(
        driftaudit(repo, "baseline", "init", "-C", "snaps"), "vol-0aaa.yaml:LINE: YAML anchors"
    )
    commit_all(repo, "a bomb", "2026-01-03T00:00:00Z")
    assert_clean_failure(driftaudit(repo, "diff", "-C", "snaps", "HEAD~1", "HEAD"), message)
    assert_clean_failure(driftaudit(repo, "report", "-C", "snaps"), message)
    for query in (["ip", "10.0.0.5"], ["rule", "--source", "10.0.0.5"]):
        proc = driftaudit(repo, "history", *query, "-C", "snaps")
        assert proc.returncode in (0, 1), proc.stderr
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


# --- baselines that promise nothing --------------------------------------------------------


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "version: 1\nignore: []\n"])
def test_check_refuses_an_empty_baseline(repo: Path, text: str) -> None:
    (repo / "baselines" / "main.yaml").write_text(text, encoding="utf-8")
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, f"{repo / 'baselines' / 'main.yaml'}")
    assert proc.stdout == "" and "in sync" not in proc.stderr
