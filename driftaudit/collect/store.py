"""Snapshot files on disk: ``DIR/<account>/<region>/<type>/<id>.<ext>``.

Writes are atomic (temporary file in the same directory, then rename) and minimal: a file
whose bytes would not change is not touched, so its mtime says when it last changed. Only
the directory of a part that was read successfully is pruned of vanished resources; a
failed part's files are left exactly as they were.

Nothing under DIR is ever followed (DIR itself, given by the user, may be a link). The
part's directory is reached component by component through directory descriptors opened
with ``O_NOFOLLOW``; files are created (``O_EXCL|O_NOFOLLOW``), renamed, compared and
removed relative to it. A tree can come from a pull request: a link committed where the
``volumes`` directory belongs must not make a snapshot write, or prune, wherever it points.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from driftaudit import layout
from driftaudit.canonical import dumps
from driftaudit.collect.collectors.base import Raw
from driftaudit.collect.engine import Part, document
from driftaudit.errors import DriftauditError

#: Temporary files of versions before :data:`layout.TEMP_SUFFIX`; removed like the others.
LEGACY_TEMP_PREFIX = ".tmp-driftaudit-"

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted under a snapshot name must not hang the comparison.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class StoreError(DriftauditError):
    """A part's files could not be written: the path and the reason, in one line."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    #: Symbolic links found where a directory of the layout belongs and replaced by one.
    replaced_links: list[str] = field(default_factory=list)

    def add(self, other: WriteStats) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.replaced_links += other.replaced_links


def safe_component(value: str, what: str) -> str:
    return layout.safe_name(value, what)


def part_names(part: Part) -> tuple[str, str, str]:
    return (
        safe_component(part.account, "account id"),
        safe_component(part.region, "region"),
        safe_component(part.type, "type"),
    )


def part_dir(root: Path, part: Part) -> Path:
    return root.joinpath(*part_names(part))


def is_temp(name: str) -> bool:
    return name.endswith(layout.TEMP_SUFFIX) or name.startswith(LEGACY_TEMP_PREFIX)


def temp_name(name: str) -> str:
    """Where ``name`` is written before it is renamed into place: a dot file ending in
    :data:`layout.TEMP_SUFFIX`, which no snapshot name, pathspec or reader takes."""
    return f".{name[:200]}.{os.getpid()}{layout.TEMP_SUFFIX}"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace one file (a report, a baseline: ``path`` is the user's, links on the way are
    theirs) whole: a temporary file beside it, then a rename."""
    tmp = path.with_name(temp_name(path.name))
    # The name carries our pid: one that exists was left by a killed process with that pid.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, _NEW, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def render_part(part: Part, resources: dict[str, Raw], fmt: str) -> dict[str, bytes]:
    """File name -> canonical bytes, for every resource of one part (pure)."""
    return {
        f"{safe_component(rid, 'resource id')}.{fmt}": dumps(document(part, rid, res), fmt)
        for rid, res in resources.items()
    }


def write_part(root: Path, part: Part, files: dict[str, bytes]) -> WriteStats:
    """Make the part's directory hold exactly ``files``, touching only what differs.

    StoreError (one line naming the path) when it cannot: the part's files are then whole,
    as they were."""
    names = part_names(part)
    shown = root.joinpath(*names)
    try:
        return _write_part(root, names, files)
    except StoreError:
        raise
    except OSError as e:
        raise StoreError(f"cannot write {shown}: {e.strerror or e}") from e


#: Held while a part's directories are opened or made, and while empty ones are pruned:
#: parts are written by several threads at once (job.py), and one part pruning the
#: account or region directory it found empty must not remove it under another part that
#: has just opened it to make its own type directory there. Once a part's type directory
#: is open and made, no other part removes it (they prune only their own, and parents
#: only when empty); the files themselves are written outside the lock.
_TREE = threading.Lock()


def _write_part(root: Path, names: tuple[str, str, str], files: dict[str, bytes]) -> WriteStats:
    stats = WriteStats()
    fds: list[int] = []
    try:
        with _TREE:
            fd = _open_root(root, create=bool(files))
            if fd is None:
                return stats
            fds.append(fd)
            for depth, name in enumerate(names):
                shown = root.joinpath(*names[: depth + 1])
                fd = _open_dir(fd, name, shown, create=bool(files), stats=stats)
                if fd is None:
                    return stats  # nothing there, nothing to write
                fds.append(fd)
        existing = _snapshot_files(fd, names)
        changed = [
            (name, data)
            for name, data in sorted(files.items())
            if not (existing.get(name) == "file" and _same_bytes(fd, name, data))
        ]
        stats.unchanged = len(files) - len(changed)
        if changed:
            _replace_all(fd, changed)
            stats.written = len(changed)
        for name in sorted(existing):
            if name not in files:
                os.unlink(name, dir_fd=fd)  # a link there is removed, never what it points to
                stats.removed += 1
        with _TREE:
            _prune_empty(fds, names)
        return stats
    finally:
        for fd in fds:
            os.close(fd)


def _open_root(root: Path, create: bool) -> int | None:
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if not create:
            return None
    root.mkdir(parents=True, exist_ok=True)
    return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _open_dir(parent: int, name: str, shown: Path, create: bool, stats: WriteStats) -> int | None:
    """The directory ``name`` in ``parent``, never through a link: a link there is replaced
    by a real directory when one is needed (the link goes, what it points to is untouched);
    anything else that is not a directory is refused, since it may be someone's data."""
    try:
        return os.open(name, _DIR, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            return None
    except OSError as e:
        if e.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        if not stat.S_ISLNK(mode):
            raise StoreError(
                f"{shown} is {_kind(mode)} where the layout needs a directory; not written "
                "(driftaudit removes only links there: move it away)"
            ) from e
        if not create:
            return None  # never followed, and nothing to put in its place
        os.unlink(name, dir_fd=parent)
        stats.replaced_links.append(str(shown))
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=parent)
    return os.open(name, _DIR, dir_fd=parent)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _snapshot_files(fd: int, names: tuple[str, str, str]) -> dict[str, str]:
    """Snapshot-named entries of the part's directory -> "file" or "link" (either is
    replaced or removed, a link never followed); left-over temporary files are removed."""
    prefix = "/".join(names)
    out: dict[str, str] = {}
    with os.scandir(fd) as entries:
        for entry in entries:
            if is_temp(entry.name):
                os.unlink(entry.name, dir_fd=fd)  # left by an interrupted run
            elif layout.parse(f"{prefix}/{entry.name}") is None:
                continue  # not a snapshot name: not ours
            elif entry.is_symlink():
                out[entry.name] = "link"
            elif entry.is_file(follow_symlinks=False):
                out[entry.name] = "file"
    return out


def _same_bytes(fd: int, name: str, data: bytes) -> bool:
    try:
        f = os.open(name, _READ, dir_fd=fd)
    except OSError:
        return False
    try:
        info = os.fstat(f)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        chunks = []
        while chunk := os.read(f, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks) == data
    except OSError:
        return False
    finally:
        os.close(f)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(2)`` from the C library the interpreter is linked with (looked up
    once, on the first flush: no library search at import)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return cast("Callable[[int], int]", ctypes.CDLL(None, use_errno=True).syncfs)
    except (OSError, AttributeError):
        return None


def flush_filesystem(fd: int) -> None:
    """Everything written to the filesystem holding the directory ``fd`` reaches the disk:
    ``syncfs`` where Linux has it (only DIR's filesystem, not every disk of a shared CI
    machine), else ``sync``."""
    syncfs = _syncfs()
    if syncfs is None or syncfs(fd) != 0:
        os.sync()


def _replace_all(fd: int, changed: list[tuple[str, bytes]]) -> None:
    """Atomically replace many files of one directory with one flush to disk.

    Each new content goes to a temporary file beside its target; all are flushed at once
    (:func:`flush_filesystem`: one journal commit, where an fsync per file cost 0.6-0.9 ms
    of kernel time each on ext4 and dominated a 3,000-instance snapshot); then each is
    renamed over its target. Whenever a crash comes, every file is whole: its old content
    or its new one.
    When a write fails (ENOSPC, EIO), every temporary file is removed, the one being written
    included.
    """
    staged: list[tuple[str, str]] = []
    try:
        for name, data in changed:
            tmp = temp_name(name)
            out = os.open(tmp, _NEW, 0o666, dir_fd=fd)
            staged.append((tmp, name))
            with os.fdopen(out, "wb") as f:
                f.write(data)
        flush_filesystem(fd)
        for tmp, name in staged:
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):  # renamed already
                os.unlink(tmp, dir_fd=fd)
        raise


def _prune_empty(fds: list[int], names: tuple[str, str, str]) -> None:
    """Remove the part's directories that are left empty, deepest first, up to (not
    including) the output root; git keeps none. rmdir never follows a link."""
    for depth in range(len(names) - 1, -1, -1):
        try:
            os.rmdir(names[depth], dir_fd=fds[depth])
        except OSError:
            return


def remove_stale_temps(root: Path) -> int:
    """Remove the temporary files killed runs left in DIR's type directories; how many.

    The caller holds DIR's lock, so no live run is writing one. Only the layout's levels
    (account, region, type) are walked, and no link is followed."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return 0
    try:
        return sum(1 for _ in _temps(fd, 0))
    finally:
        os.close(fd)


def _temps(fd: int, level: int) -> Iterator[str]:
    with os.scandir(fd) as entries:
        names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    for name, is_dir in names:
        if level == 3:
            if is_temp(name):
                os.unlink(name, dir_fd=fd)
                yield name
            continue
        if not is_dir or not _layout_dir(level, name):
            continue
        try:
            sub = os.open(name, _DIR, dir_fd=fd)
        except OSError:
            continue  # replaced by a link meanwhile, or gone: nothing of ours to clean
        try:
            yield from _temps(sub, level + 1)
        finally:
            os.close(sub)


def _layout_dir(level: int, name: str) -> bool:
    if level == 0:
        return layout.ACCOUNT_RE.fullmatch(name) is not None
    if level == 1:
        return layout.REGION_RE.fullmatch(name) is not None
    return name in layout.known_types()
