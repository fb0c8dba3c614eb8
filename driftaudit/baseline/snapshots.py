"""The current snapshot files of a directory, read from disk (the working tree as it is:
``check`` runs before or without a commit too)."""

from __future__ import annotations

import re
from pathlib import Path

from driftaudit.baseline.findings import Snapshot
from driftaudit.change.rangediff import parse_document
from driftaudit.collect.store import TEMP_PREFIX
from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import GitError, Repo

SUFFIXES = (".yaml", ".json")


def repository_root(directory: Path) -> Path | None:
    """The root of the git repository holding ``directory``; None outside one (or no git)."""
    try:
        proc = Repo(directory).git("rev-parse", "--show-toplevel", check=False)
    except GitError:
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip()).resolve()


# <account>/<region>/<type>/: anything else under DIR (baselines/, reports, notes) is not ours.
LAYOUT = re.compile(r"[0-9]{12}/[a-z]{2}(-[a-z]+)+-[0-9]{1,2}/[a-z_]+/[^./][^/]*")


def snapshot_files(directory: Path) -> list[Path]:
    """DIR/<account>/<region>/<type>/<id>.<yaml|json>, nothing else."""
    return sorted(
        p
        for p in directory.glob("*/*/*/*")
        if p.suffix in SUFFIXES
        and not p.name.startswith(TEMP_PREFIX)
        and LAYOUT.fullmatch(p.relative_to(directory).as_posix())
        and p.is_file()
    )


def read_snapshots(directory: Path, base: Path) -> tuple[list[Snapshot], list[str]]:
    """Every snapshot document under ``directory`` (paths relative to ``base``), and
    ``file:line: problem`` for those that do not parse."""
    if not directory.is_dir():
        raise DriftauditError(f"{directory} does not exist or is not a directory")
    snaps: list[Snapshot] = []
    problems: list[str] = []
    for path in snapshot_files(directory):
        rel = path.resolve().relative_to(base).as_posix()
        data = path.read_bytes()
        doc, problem = parse_document(data, rel)
        if problem:
            problems.append(problem)
            continue
        assert doc is not None
        snaps.append(Snapshot(rel, doc, data.decode("utf-8", errors="replace")))
    return snaps, problems
