"""Checkpoints: each resource's items, kept on disk as soon as they are read, so a backfill
that is interrupted (killed, out of time, throttled beyond its retries) continues where it
stopped when run again: resources already read are not asked again.

``DIR/.driftaudit/backfill/`` (git ignores ``.driftaudit``) holds ``run.json``, what the
backfill was asked (its ``--since`` as given and as resolved, its end, regions, types and
lookback: a run asking something else does not reuse them), and ``items/ACCOUNT/REGION/
KEY.json``, one file per resource (KEY a hash of Config's resource type and id: ids may be
ARNs), written whole (a temporary file, then a rename). Once the backfill is committed the
directory is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftaudit.errors import DriftauditError
from driftaudit.lock import STATE_DIR

SUBDIR = "backfill"
RUN_FILE = "run.json"


class CheckpointError(DriftauditError):
    """The checkpoints cannot be kept or belong to another backfill."""


@dataclass(frozen=True)
class Saved:
    """One resource's history as a checkpoint holds it."""

    account: str
    region: str
    resource_type: str
    resource_id: str
    items: list[dict[str, Any]]
    calls: int
    not_discovered: bool = False


class Checkpoints:
    def __init__(self, directory: Path) -> None:
        self.root = directory / STATE_DIR / SUBDIR

    # --- the run ---------------------------------------------------------------------------

    def begin(self, run: dict[str, Any]) -> dict[str, Any] | None:
        """Start keeping checkpoints for ``run``. When some are kept already, for the same
        question (``run``'s ``since_text``, regions, types, accounts, lookback), the earlier
        run as recorded (its resolved times are the ones to use); for another question,
        CheckpointError naming both."""
        self._make()
        path = self.root / RUN_FILE
        if path.is_file() and not path.is_symlink():
            try:
                earlier = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise CheckpointError(f"{path} cannot be read ({e}); remove {self.root}") from e
            same = ("since_text", "regions", "types", "accounts", "lookback_days")
            if isinstance(earlier, dict) and all(earlier.get(k) == run.get(k) for k in same):
                return earlier
            raise CheckpointError(
                f"{self.root} holds an unfinished backfill of another question "
                f"(--since {earlier.get('since_text')!r}, regions "
                f"{','.join(earlier.get('regions') or [])}); run that again to finish it, "
                f"or remove {self.root} to start this one"
            )
        _write(path, run)
        return None

    def finish(self) -> None:
        """The backfill is committed: its checkpoints are no longer needed."""
        shutil.rmtree(self.root, ignore_errors=True)

    # --- resources -------------------------------------------------------------------------

    def _path(self, account: str, region: str, resource_type: str, resource_id: str) -> Path:
        key = hashlib.sha256(f"{resource_type}\0{resource_id}".encode()).hexdigest()[:40]
        return self.root / "items" / account / region / f"{key}.json"

    def load(self, account: str, region: str, resource_type: str, resource_id: str) -> Saved | None:
        path = self._path(account, region, resource_type, resource_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # a damaged checkpoint is read again from AWS
        if not isinstance(data, dict) or data.get("resource_id") != resource_id:
            return None
        return Saved(
            account,
            region,
            str(data["resource_type"]),
            resource_id,
            list(data.get("items") or []),
            int(data.get("calls") or 0),
            bool(data.get("not_discovered")),
        )

    def save(self, saved: Saved) -> None:
        path = self._path(saved.account, saved.region, saved.resource_type, saved.resource_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CheckpointError(f"cannot keep checkpoints in {path.parent}: {e}") from e
        _write(
            path,
            {
                "resource_type": saved.resource_type,
                "resource_id": saved.resource_id,
                "items": saved.items,
                "calls": saved.calls,
                "not_discovered": saved.not_discovered,
            },
        )

    def _make(self) -> None:
        state = self.root.parent
        for path in (state, self.root):
            if path.is_symlink():
                raise CheckpointError(f"{path} is a symbolic link: driftaudit follows none")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            ignore = state / ".gitignore"
            if not ignore.is_file():
                # Derived data: git ignores the whole directory, this file included.
                ignore.write_text("*\n", encoding="utf-8")
        except OSError as e:
            raise CheckpointError(f"cannot keep checkpoints in {self.root}: {e}") from e


def _write(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise CheckpointError(f"cannot write the checkpoint {path}: {e}") from e
