"""Where ``snapshot -o DIR`` writes, made ready before any AWS call: DIR exists, its git
repository is open (``git init`` with ``--commit``), DIR's lock is held for the whole run,
and the temporary files killed runs left behind are gone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from driftaudit.collect.store import remove_stale_temps
from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import Repo, open_repo
from driftaudit.lock import RunLock, acquire, wait_seconds


@dataclass
class Output:
    directory: Path
    lock: RunLock
    repo: Repo | None  # with --commit
    rel: str  # DIR inside the repository ("." without one)
    stale_removed: int  # temporary files of killed runs

    def recover_index_lock(self) -> str | None:
        """Before committing: git's index.lock left by a killed run is removed (a warning
        line), one a running git holds is waited for (see Repo.recover_index_lock)."""
        if self.repo is None:
            return None
        return self.repo.recover_index_lock(self.lock.acquired, wait_seconds())


def open_output(directory: Path, commit: bool) -> Output:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DriftauditError(
            f"cannot create the output directory {directory}: {e.strerror or e}"
        ) from e
    repo, rel = open_repo(directory, create=True) if commit else (None, ".")
    lock = acquire(directory, f"driftaudit snapshot -o {directory}")
    try:
        stale = remove_stale_temps(directory)
    except OSError as e:
        lock.release()
        raise DriftauditError(
            f"cannot clean {directory} of temporary files: {e.strerror or e}"
        ) from e
    return Output(directory, lock, repo, rel, stale)
