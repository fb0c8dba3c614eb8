"""The current snapshot files of a directory, read from disk (the working tree as it is:
``check`` runs before or without a commit too)."""

from __future__ import annotations

from pathlib import Path

from driftaudit import layout
from driftaudit.baseline.findings import Snapshot
from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import GitError, Repo


def repository_root(directory: Path) -> Path | None:
    """The root of the git repository holding ``directory``; None outside one (or no git)."""
    try:
        proc = Repo(directory).git("rev-parse", "--show-toplevel", check=False)
    except GitError:
        return None
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip()).resolve()


def read_snapshots(directory: Path, base: Path) -> tuple[list[Snapshot], list[str]]:
    """Every snapshot document under ``directory`` (paths relative to ``base``), and
    ``file:line: problem`` for those that cannot be read or do not parse. Only regular files
    at the layout's places are read (:func:`driftaudit.layout.scan`): a symbolic link, FIFO or
    device there is a problem, never followed."""
    if not directory.is_dir():
        raise DriftauditError(f"{directory} does not exist or is not a directory")
    snaps: list[Snapshot] = []
    problems: list[str] = []
    top = directory.resolve()
    for found in layout.scan(directory):
        rel = _display(top / found.rel, base)
        if found.problem is not None:
            problems.append(f"{rel}:1: {found.problem}")
            continue
        try:
            data = layout.read_regular(found.path)
        except layout.NotReadable as e:
            problems.append(f"{rel}:1: {e}")
            continue
        doc, problem = layout.parse_document(data, rel)
        if problem:
            problems.append(problem)
            continue
        assert doc is not None
        snaps.append(Snapshot(rel, doc, data.decode("utf-8", errors="replace")))
    return snaps, problems


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()
