"""LookupEvents answers kept per (account, region, resource, window) under
``DIR/.driftaudit/cloudtrail/`` (git ignores ``.driftaudit``), so asking again costs no call.

Only a window that ended more than :data:`SETTLED` ago is kept: CloudTrail delivers an event
minutes after the call, so a recent window may still grow. Nothing is followed through a
link: the directories are opened with ``O_NOFOLLOW`` relative to each other, files are read
only when regular, and written to a temporary name then renamed. A file that does not read
back as what was asked for is ignored (and replaced by the next answer).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from driftaudit.errors import DriftauditError

#: A window is kept once it ended this long ago (CloudTrail delivers events within about 15
#: minutes of the call).
SETTLED = 60 * 60
NAME = "cloudtrail"
VERSION = 1
#: A cache file larger than this is not read (a busy resource's window: thousands of events).
MAX_BYTES = 64 * 1024 * 1024


class Cache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _dir(self) -> int:
        from driftaudit.lock import state_dir

        state = state_dir(self.directory)
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(NAME, 0o777, dir_fd=state)
            try:
                return os.open(
                    NAME, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=state
                )
            except OSError as e:
                raise DriftauditError(
                    f"{self.directory / '.driftaudit' / NAME} is not a directory (a link or a "
                    "file?): driftaudit keeps its CloudTrail cache there and follows no link; "
                    "move it away"
                ) from e
        finally:
            os.close(state)

    @staticmethod
    def file_name(account: str, region: str, name: str, lo: int, hi: int) -> str:
        digest = hashlib.sha256(f"{account}\0{region}\0{name}\0{lo}\0{hi}".encode()).hexdigest()
        return f"{account}-{region}-{digest[:40]}.json"

    def get(self, account: str, region: str, name: str, lo: int, hi: int) -> list[Any] | None:
        """The raw events kept for the lookup, or None."""
        try:
            fd = self._dir()
        except DriftauditError:
            return None
        try:
            file = os.open(
                self.file_name(account, region, name, lo, hi),
                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                dir_fd=fd,
            )
        except OSError:
            return None
        finally:
            os.close(fd)
        with os.fdopen(file, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
                return None
            try:
                data = json.loads(f.read())
            except ValueError:
                return None
        expected = {"version": VERSION, "account": account, "region": region, "name": name}
        if not isinstance(data, dict) or any(data.get(k) != v for k, v in expected.items()):
            return None
        if (
            data.get("from") != lo
            or data.get("to") != hi
            or not isinstance(data.get("events"), list)
        ):
            return None
        return list(data["events"])

    def put(
        self, account: str, region: str, name: str, lo: int, hi: int, events: list[Any]
    ) -> None:
        """Keep the raw events (JSON-able) of a lookup. A cache that cannot be written is
        not an error: the answer was given, the next run asks again."""
        body = json.dumps(
            {
                "version": VERSION,
                "account": account,
                "region": region,
                "name": name,
                "from": lo,
                "to": hi,
                "events": events,
            },
            sort_keys=True,
        ).encode()
        target = self.file_name(account, region, name, lo, hi)
        temp = f".{target}.{os.getpid()}.tmp"
        try:
            fd = self._dir()
        except DriftauditError:
            return
        try:
            file = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=fd,
            )
            with os.fdopen(file, "wb") as f:
                f.write(body)
            os.replace(temp, target, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=fd)
        finally:
            os.close(fd)
