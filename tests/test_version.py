"""``driftaudit --version`` names the commit it was built from: read from git at run time in
a checkout (an editable install), recorded at build time by hatch_build.py in a wheel built
from a checkout (``pip install git+…@SHA``) or from a ``git archive`` tarball (what a GitHub
Action's ``uses: OWNER/driftaudit@SHA`` downloads), ``unknown`` otherwise.

The wheels are built and installed as pip does for ``git+https://…@SHA``, from a repository
holding this working tree's source: ``--no-index`` (nothing is fetched: tests run offline),
``--no-deps`` (the test environment already has the dependencies; only the package's own
files are checked) and ``--no-build-isolation`` (the build uses the test environment's
hatchling, from the ``test`` extra, instead of fetching one into an isolated environment)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from driftaudit import __version__
from driftaudit.provenance import checkout_commit, recorded_commit
from tests.support.gitsnap import commit_all, git, init_repo, run

REPO = Path(__file__).resolve().parent.parent
#: What a build of the package reads: the project file, its build hook, the package, the
#: files force-included into the wheel, and the two files of the archive case.
SOURCE = [
    "pyproject.toml",
    "hatch_build.py",
    "README.md",
    ".gitattributes",
    ".git_archival.txt",
    "driftaudit",
    "schemas",
    "baselines",
]
VERSION = re.compile(rf"^driftaudit {re.escape(__version__)} \(commit (\S+)\)\n\Z")
Capsys = pytest.CaptureFixture[str]


def source_repo(path: Path) -> tuple[Path, str]:
    """A git repository holding this working tree's source, committed: (path, commit)."""
    init_repo(path)
    for name in SOURCE:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, path / name)
    return path, commit_all(path, "driftaudit source")


def pip_install(source: str, target: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        + ["--no-build-isolation", "--target", str(target), source],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def installed_version(site: Path, cwd: Path) -> str:
    """The commit ``driftaudit --version`` gives when driftaudit is imported from ``site``
    (checked: not from this checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    where = subprocess.run(
        [sys.executable, "-c", "import driftaudit; print(driftaudit.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(site), where
    proc = subprocess.run(
        [sys.executable, "-m", "driftaudit", "--version"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found = VERSION.match(proc.stdout)
    assert found, proc.stdout
    return found.group(1)


# --- a checkout: read at run time ---------------------------------------------------------------


def test_this_checkout_reports_its_head(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "--version")
    head = git(REPO, "rev-parse", "HEAD").strip()
    assert code == 0 and out == f"driftaudit {__version__} (commit {head})\n"


def test_a_checkout_is_read_when_asked_and_only_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = init_repo(tmp_path / "driftaudit")
    (root / "pyproject.toml").write_text("[project]\nname = 'driftaudit'\n")
    first = commit_all(root, "one")
    assert checkout_commit(root) == first
    (root / "README.md").write_text("more\n")
    second = commit_all(root, "two")
    assert checkout_commit(root) == second != first  # follows the checkout, never cached
    # A package directory inside another repository (a virtualenv kept in one) is not that
    # repository's: no commit rather than the wrong one.
    inner = root / ".venv" / "site-packages"
    inner.mkdir(parents=True)
    (inner / "pyproject.toml").write_text("")
    (inner / ".git").write_text("")
    assert checkout_commit(inner) is None
    # A git hook's GIT_DIR names the hook's repository, not driftaudit's.
    other = init_repo(tmp_path / "other")
    (other / "x").write_text("x\n")
    commit_all(other, "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert checkout_commit(root) == second
    # No commit yet, or no pyproject.toml: nothing.
    empty = init_repo(tmp_path / "empty")
    (empty / "pyproject.toml").write_text("")
    assert checkout_commit(empty) is None
    assert checkout_commit(tmp_path) is None


def test_this_checkout_records_nothing() -> None:
    """Editable installs and clones carry no recorded commit: the build hook writes into the
    wheel or sdist only, never into the source tree."""
    assert not (REPO / "driftaudit" / "_build.py").exists()
    assert recorded_commit() is None


# --- built packages: recorded at build time ----------------------------------------------------


@pytest.mark.e2e
def test_a_wheel_built_from_a_git_checkout_reports_that_commit(tmp_path: Path) -> None:
    src, sha = source_repo(tmp_path / "src")
    site = tmp_path / "site"
    # As ``pip install "git+https://github.com/OWNER/driftaudit@SHA"``: pip clones, checks the
    # commit out and builds the wheel in the clone.
    pip_install(f"git+file://{src}@{sha}", site)
    assert (site / "driftaudit" / "_build.py").is_file()
    assert installed_version(site, tmp_path) == sha
    # The source repository moves on; the installed package still names what it was built from.
    (src / "README.md").write_text("changed\n")
    assert commit_all(src, "later") != sha
    assert installed_version(site, tmp_path) == sha
    # The same package without its record (copied by hand): unknown, never a guess.
    (site / "driftaudit" / "_build.py").unlink()
    assert installed_version(site, tmp_path) == "unknown"


@pytest.mark.e2e
def test_a_wheel_built_from_a_git_archive_reports_its_commit(tmp_path: Path) -> None:
    """GitHub serves a repository at a commit (a workflow's ``uses: OWNER/driftaudit@SHA``, or
    ``…/archive/SHA.tar.gz``) as ``git archive`` makes it: no .git, but ``export-subst``
    writes the commit into .git_archival.txt."""
    src, sha = source_repo(tmp_path / "src")
    tree = tmp_path / "archive"
    tree.mkdir()
    tar = subprocess.run(["git", "archive", sha], cwd=src, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=tar.stdout, check=True)
    assert not (tree / ".git").exists()
    assert (tree / ".git_archival.txt").read_text() == f"node: {sha}\n"
    site = tmp_path / "site"
    pip_install(str(tree), site)
    assert installed_version(site, tmp_path) == sha
    # The file as a checkout holds it (not filled in): a build records nothing from it.
    assert (src / ".git_archival.txt").read_text() == "node: $Format:%H$\n"
