"""Which commit of driftaudit is running: what ``driftaudit --version`` names.

driftaudit is installed from its repository at a pinned commit (it is not on a package
index), so the version number alone does not say which code runs. Three cases:

- a git checkout whose own package this is (an editable install, or ``python -m driftaudit``
  from a clone): its HEAD, read from git when asked, so it follows checkouts and pulls;
- a wheel built from a checkout or from a GitHub archive of one (``pip install
  git+https://…@SHA``, pre-commit, the GitHub Action): the commit ``hatch_build.py`` recorded
  in ``driftaudit/_build.py`` when it built the wheel;
- neither (the package copied by hand): ``unknown``.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from pathlib import Path

UNKNOWN = "unknown"
#: A full commit id: SHA-1, or SHA-256 in repositories that use it.
COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: What would make git read another repository than the one named with -C (set by git
#: hooks, such as pre-commit's, for their own repository).
_REPOSITORY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


def built_from() -> str:
    """The full id of the commit this driftaudit comes from, or ``unknown``."""
    return checkout_commit(Path(__file__).resolve().parent.parent) or recorded_commit() or UNKNOWN


def checkout_commit(root: Path) -> str | None:
    """HEAD of the git work tree whose top directory is ``root``, or None. Only when ``root``
    itself is the top of the work tree: a wheel installed in a virtualenv kept inside some
    other repository must not report that repository's HEAD."""
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return None
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            env=env,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or a hung one
        return None
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) != 2:
        return None  # not a repository, no commit yet, or a checkout git will not read
    top, head = lines
    if Path(top).resolve() != root or not COMMIT.fullmatch(head):
        return None
    return head


def recorded_commit() -> str | None:
    """What the build recorded in ``driftaudit/_build.py`` (absent from a checkout)."""
    try:
        build = importlib.import_module("driftaudit._build")
    except ImportError:
        return None
    commit = getattr(build, "COMMIT", None)
    return commit if isinstance(commit, str) and COMMIT.fullmatch(commit) else None
