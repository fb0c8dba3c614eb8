"""Every reader is safe on hostile files: symbolic links, FIFOs and devices where snapshot
files belong (on disk and committed to git), YAML alias bombs in every YAML the tool reads,
and bad values given on the command line. Commands that could hang or exhaust memory on a
regression run as child processes with a generous timeout, so a regression fails instead of
hanging the suite; none of them is timed."""

from __future__ import annotations

import contextlib
import io
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
    "fifo": "is a FIFO, not a regular file",
    "device": "is a device, not a regular file",
}


@pytest.mark.e2e  # driftaudit child processes
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


@pytest.mark.e2e  # driftaudit child processes
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


@pytest.mark.e2e  # driftaudit child processes
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


@pytest.mark.e2e  # driftaudit child processes
def test_baselines_and_config_found_in_the_repository_are_never_followed(
    repo: Path, tmp_path: Path
) -> None:
    """A baseline or driftaudit.yaml the repository holds as a link is named, not read (its
    target would be quoted in the message); a file the user names is the user's choice."""
    link = repo / "baselines" / "zz-passwd.yaml"
    link.symlink_to("/etc/passwd")
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, f"{link}: is a symbolic link; not followed")
    assert "root:" not in proc.stdout + proc.stderr
    link.unlink()
    (repo / "baselines" / "team").symlink_to("/etc")
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, f"{repo / 'baselines' / 'team'}: is a symbolic link; not followed")
    (repo / "baselines" / "team").unlink()
    os.mkfifo(repo / "baselines" / "zz-fifo.yaml")
    assert_clean_failure(driftaudit(repo, "check", "-C", "snaps"), "zz-fifo.yaml: is not a regular")
    (repo / "baselines" / "zz-fifo.yaml").unlink()
    mine = tmp_path / "mine.yaml"
    mine.write_text(BASELINE, encoding="utf-8")
    (tmp_path / "linked.yaml").symlink_to(mine)
    proc = driftaudit(repo, "check", "-C", "snaps", "--baseline", str(tmp_path / "linked.yaml"))
    assert proc.returncode in (0, 2), proc.stderr
    config = repo / "driftaudit.yaml"
    config.symlink_to("/etc/passwd")
    proc = driftaudit(repo, "diff", "-C", "snaps", "HEAD~1", "HEAD")
    assert_clean_failure(proc, f"{config}: is a symbolic link; not followed")
    assert "root:" not in proc.stdout + proc.stderr
    config.unlink()
    config.symlink_to(mine)  # a link the user names with --config is followed
    proc = driftaudit(repo, "diff", "-C", "snaps", "HEAD~1", "HEAD", "--config", str(config))
    assert_clean_failure(proc, f"{config}:1: $.manage: Additional properties are not allowed")


# --- YAML alias bombs ----------------------------------------------------------------------


def bomb(prefix: str = "") -> str:
    """A "billion laughs" document: 9 levels of 9 aliases, 387 million strings once
    expanded, under a kilobyte as text. ``prefix`` comes first (an envelope, a key)."""
    lines = [prefix + 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.e2e  # driftaudit child processes
def test_an_alias_bomb_in_a_baseline_is_refused(repo: Path) -> None:
    (repo / "baselines" / "zz-bomb.yaml").write_text(bomb("x-"), encoding="utf-8")
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, "baselines/zz-bomb.yaml:LINE: YAML anchors and aliases are not")


@pytest.mark.e2e  # driftaudit child processes
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


@pytest.mark.e2e  # a dozen child processes
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


@pytest.mark.e2e  # driftaudit child processes
@pytest.mark.parametrize("text", ["", "# nothing yet\n", "version: 1\nignore: []\n"])
def test_check_refuses_an_empty_baseline(repo: Path, text: str) -> None:
    (repo / "baselines" / "main.yaml").write_text(text, encoding="utf-8")
    proc = driftaudit(repo, "check", "-C", "snaps")
    assert_clean_failure(proc, f"{repo / 'baselines' / 'main.yaml'}")
    assert proc.stdout == "" and "in sync" not in proc.stderr


# --- bad values on the command line and in the state directory -------------------------------


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``driftaudit ARGS`` in this process, run from ``cwd`` (for what cannot hang)."""
    from driftaudit.cli import main

    capture = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(capture[0]), contextlib.redirect_stderr(capture[1]):
            main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(args, code, capture[0].getvalue(), capture[1].getvalue())


def test_a_history_index_that_is_a_directory_is_named(repo: Path) -> None:
    index = repo / "snaps" / ".driftaudit" / "history.sqlite"
    index.mkdir(parents=True)
    (index / "keep").write_text("not ours to delete\n")
    proc = cli(repo, "history", "ip", "10.0.0.5", "-C", "snaps")
    assert_clean_failure(proc, f"{index} is not a file")
    assert (index / "keep").is_file()
    index.rename(repo / "moved")
    index.symlink_to(repo / "moved")  # nor a link SQLite would follow out of DIR
    assert_clean_failure(cli(repo, "history", "ip", "10.0.0.5", "-C", "snaps"), str(index))


@pytest.mark.parametrize(
    "when", ["99999999999999 days ago", "99999999999 years ago", "3000 years ago"]
)
def test_a_time_before_the_year_1_is_a_bad_time(repo: Path, when: str) -> None:
    message = f"cannot read the time {when!r}: it is before the year 1"
    for args in (
        ["diff", "--since", when],
        ["report", "--since", when],
        ["history", "ip", "10.0.0.5", "--at", when],
    ):
        assert_clean_failure(cli(repo, *args, "-C", "snaps"), message)


def test_the_demo_names_a_directory_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x\n")
    for target in ("/proc/driftaudit-nope", str(tmp_path / "a-file" / "demo")):
        proc = cli(tmp_path, "demo", target)
        assert_clean_failure(proc, f"{target}: cannot create the demo directory")


@pytest.mark.parametrize(
    "command",
    [["report"], ["baseline", "init"], ["history", "ip", "10.0.0.5"], ["check"]],
    ids=["report", "baseline-init", "history", "check"],
)
def test_an_output_file_that_cannot_be_written_is_named(repo: Path, command: list[str]) -> None:
    """Tests may run as root, which writes through permission bits: a path under a file
    (ENOTDIR) and /proc (no new files there) give honest errors for anyone."""
    (repo / "a-file").write_text("x\n")
    for target in (repo / "a-file" / "out.txt", Path("/proc/driftaudit-out.txt")):
        proc = cli(repo, *command, "-C", "snaps", "-o", str(target))
        assert proc.returncode == 1 and proc.stdout == "", proc.stderr
        # (history first says what it did to its index)
        last = proc.stderr.splitlines()[-1]
        assert last.startswith(f"driftaudit: -o {target}: cannot write: "), proc.stderr
        assert "internal error" not in proc.stderr


@pytest.mark.parametrize(
    "option,value",
    [
        ("--email-to", "secops@example.com\r\nBcc: attacker@example.net"),
        ("--email-to", "secops@example.com\nSubject: forged"),
        ("--email-from", "driftaudit@example.com\u2028Bcc: attacker@example.net"),
    ],
)
def test_a_line_break_in_a_mail_address_is_refused(repo: Path, option: str, value: str) -> None:
    args = ["report", "-C", "snaps", "--always", "--smtp-port", "1", option, value]
    if option != "--email-to":
        args += ["--email-to", "secops@example.com"]
    proc = cli(repo, *args)
    assert_clean_failure(proc, f"driftaudit: {option} {value!r}: a mail address cannot hold")
    assert len(proc.stderr.splitlines()) == 1  # refused before any SMTP connection


@pytest.mark.parametrize(
    "url",
    ["not-a-url", "http://", "http://127.0.0.1:99999", "ftp://127.0.0.1", "http://a b:80"],
)
def test_a_bad_endpoint_url_is_one_line(tmp_path: Path, url: str) -> None:
    proc = cli(tmp_path, "snapshot", REGION, "--endpoint-url", url, "-o", "out")
    assert_clean_failure(proc, f"driftaudit: --endpoint-url {url!r}: not a valid URL")
    assert len(proc.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()
