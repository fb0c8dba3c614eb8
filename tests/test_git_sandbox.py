"""The git sandbox every test runs in (tests/conftest.py): real git, started as the tests
start it (in-process helpers, subprocesses given ``os.environ``), sees no configuration but
the repository's own, no repository above the test's directory, the test identity and no
preset dates."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.gitsnap import IDENTITY, GitSandbox, commit_all, git, init_repo


@pytest.fixture(scope="module")
def module_env() -> dict[str, str]:
    """What a module-scoped fixture (one built before any test's own fixtures) sees."""
    return {k: v for k, v in os.environ.items() if k.startswith("GIT_") or k == "EMAIL"}


@pytest.mark.parametrize("turn", [1, 2])
def test_global_config_is_an_empty_regular_file_no_test_shares(
    turn: int, git_sandbox: GitSandbox, tmp_path: Path
) -> None:
    """Not /dev/null (a test machine or container may not have it as a character device),
    and fresh for each test: what ``git config --global`` writes in turn 1 is gone in 2."""
    config = Path(os.environ["GIT_CONFIG_GLOBAL"])
    assert config == git_sandbox.global_config
    mode = config.stat().st_mode
    assert stat.S_ISREG(mode) and config.stat().st_size == 0
    git(tmp_path, "config", "--global", "sandbox.turn", str(turn))
    assert git(tmp_path, "config", "--global", "--list").splitlines() == [f"sandbox.turn={turn}"]


def test_git_reads_only_the_repository_own_configuration(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    listing = git(repo, "config", "--list", "--show-origin").splitlines()
    assert {line.split("\t")[0] for line in listing} == {"file:.git/config"}


def test_no_repository_above_the_test_directory(tmp_path: Path) -> None:
    ceiling = Path(os.environ["GIT_CEILING_DIRECTORIES"])
    assert ceiling in tmp_path.parents
    proc = subprocess.run(
        ["git", "rev-parse", "--git-dir"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "not a git repository" in proc.stderr


def test_a_subprocess_commits_as_the_test_identity_with_no_preset_date(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "f").write_text("x\n")
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "git add f && git commit -q -m one && env"],
        cwd=repo,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    names = {line.partition("=")[0] for line in proc.stdout.splitlines()}
    assert not names & {"GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE", "GIT_DIR", "EMAIL"}
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        f"{IDENTITY['GIT_AUTHOR_NAME']} <{IDENTITY['GIT_AUTHOR_EMAIL']}>|"
        f"{IDENTITY['GIT_COMMITTER_NAME']} <{IDENTITY['GIT_COMMITTER_EMAIL']}>"
    )


def test_module_scoped_fixtures_run_in_the_sandbox_too(
    module_env: dict[str, str], git_sandbox: GitSandbox
) -> None:
    # Only the global configuration file is the test's own; the rest is the session's.
    assert set(module_env) == set(git_sandbox.env)
    assert {k: v for k, v in module_env.items() if k != "GIT_CONFIG_GLOBAL"} == {
        k: v for k, v in git_sandbox.env.items() if k != "GIT_CONFIG_GLOBAL"
    }
    assert Path(module_env["GIT_CONFIG_GLOBAL"]).stat().st_size == 0


def test_what_the_caller_set_for_git_is_dropped(
    git_sandbox: GitSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A test run from a git hook inherits GIT_DIR and GIT_INDEX_FILE; a shell may set dates
    or EMAIL: none of it reaches the test's git."""
    elsewhere = init_repo(tmp_path / "elsewhere")
    for name, value in {
        "GIT_DIR": str(elsewhere / ".git"),
        "GIT_INDEX_FILE": str(tmp_path / "index"),
        "GIT_AUTHOR_DATE": "2001-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z",
        "EMAIL": "someone@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    git_sandbox.apply(monkeypatch)
    repo = init_repo(tmp_path / "repo")
    (repo / "f").write_text("x\n")
    commit_all(repo, "one")
    assert git(repo, "rev-parse", "--absolute-git-dir").strip() == str(repo / ".git")
    assert not git(repo, "log", "-1", "--format=%aI").startswith("2001")
    assert git(elsewhere, "rev-list", "--all") == ""


def test_without_identity_leaves_git_with_none(
    git_sandbox: GitSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_sandbox.without_identity(monkeypatch)
    repo = init_repo(tmp_path / "repo")
    (repo / "f").write_text("x\n")
    git(repo, "add", "f")
    proc = subprocess.run(
        ["git", "-c", "user.useConfigOnly=true", "commit", "-q", "-m", "one"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "user.email" in proc.stderr, proc.stderr
