"""One writer per snapshot directory: ``snapshot -o DIR`` holds an exclusive ``flock`` for
its whole run (writing and committing).

The lock file is ``driftaudit.lock`` in the git directory of the repository holding DIR
(one lock per repository: two snapshot directories of one repository share git's index),
or ``DIR/.driftaudit/lock`` when DIR is in none. It holds the holder's pid, host and start
time, for the message a second run prints when it gives up waiting. The kernel releases a
``flock`` when its holder dies, however it dies: a killed run never leaves the lock held.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import socket
import subprocess
import time
from pathlib import Path

from driftaudit.errors import ConfigError, DriftauditError

#: How long a second run waits for the first by default (seconds).
DEFAULT_WAIT = 60.0
WAIT_ENV = "DRIFTAUDIT_LOCK_WAIT"
STATE_DIR = ".driftaudit"  # also where the history index lives (history/index.py)


class Busy(DriftauditError):
    """Another driftaudit run holds the lock for the same directory."""


def wait_seconds() -> float:
    value = os.environ.get(WAIT_ENV, "").strip()
    if not value:
        return DEFAULT_WAIT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise ConfigError(f"{WAIT_ENV}={value!r}: expected seconds to wait (0 to 86399)")
    return seconds


class RunLock:
    """The held lock: ``path`` and the time it was acquired (``time.time()``)."""

    def __init__(self, fd: int, path: Path, acquired: float) -> None:
        self.fd, self.path, self.acquired = fd, path, acquired

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(directory: Path, what: str, wait: float | None = None) -> RunLock:
    """Hold the lock for ``directory`` (which exists), waiting up to ``wait`` seconds
    (default: :func:`wait_seconds`) for another run; Busy naming that run when it does not
    end in time."""
    wait = wait_seconds() if wait is None else wait
    path, fd = _open(directory)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"another driftaudit run is writing {directory}: {_holder(fd)} "
                        f"(lock {path}); waited {wait:g} s ({WAIT_ENV} sets how long)"
                    ) from None
                time.sleep(0.1)
        acquired = time.time()
        stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        record = f"pid {os.getpid()} on {socket.gethostname()} since {stamp}: {what}\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode("utf-8", "replace"), 0)
    except BaseException:
        os.close(fd)
        raise
    return RunLock(fd, path, acquired)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0] if text else "holder unknown"


def lock_path(directory: Path) -> Path:
    """Where the lock for ``directory`` lives (see the module's docstring)."""
    git_dir = _git_path(directory, "driftaudit.lock")
    return git_dir if git_dir is not None else directory / STATE_DIR / "lock"


def _git_path(directory: Path, name: str) -> Path | None:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--git-path", name],
            cwd=directory,
            capture_output=True,
            check=False,
        )
    except OSError:
        return None  # no git: no repository either
    if proc.returncode != 0:
        return None
    # Relative to DIR as the kernel sees it (git works in the physical directory).
    return (directory / proc.stdout.decode("utf-8", "surrogateescape").strip()).resolve()


def _open(directory: Path) -> tuple[Path, int]:
    """Open (creating) the lock file, never through a link."""
    path = lock_path(directory)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        if path.parent != directory / STATE_DIR:
            return path, os.open(path, flags, 0o644)
        state = _state_dir(directory)
        try:
            return path, os.open("lock", flags, 0o644, dir_fd=state)
        finally:
            os.close(state)
    except DriftauditError:
        raise
    except OSError as e:
        raise DriftauditError(f"cannot create the lock file {path}: {e.strerror or e}") from e


def state_dir(directory: Path) -> int:
    """``DIR/.driftaudit`` opened (made, with its .gitignore, when missing) without following
    a link: a directory file descriptor the caller closes. The run lock and the CloudTrail
    cache (driftaudit/attribution/cache.py) live there."""
    return _state_dir(directory)


def _state_dir(directory: Path) -> int:
    """``DIR/.driftaudit`` (made, with a .gitignore of everything, when missing), opened
    without following a link: it is inside DIR, which a pull request may have shaped."""
    root = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(STATE_DIR, 0o777, dir_fd=root)
        try:
            state = os.open(
                STATE_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root
            )
        except OSError as e:
            raise DriftauditError(
                f"{directory / STATE_DIR} is not a directory (a link or a file?): driftaudit "
                "keeps its lock there and follows no link; move it away"
            ) from e
        try:
            ignore = os.open(
                ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=state
            )
        except FileExistsError:
            pass
        else:
            # Derived data: git ignores the whole directory, this file included.
            with os.fdopen(ignore, "w", encoding="utf-8") as f:
                f.write("*\n")
        return state
    finally:
        os.close(root)


# --- git processes -------------------------------------------------------------------------


def git_processes(*roots: Path) -> list[tuple[int, str]] | None:
    """(pid, command line) of running git processes working in one of ``roots`` (their
    current directory is inside it), or None where that cannot be known (no /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    wanted = [str(r.resolve()) for r in roots]
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            program = os.path.basename(argv[0].decode("utf-8", "replace"))
            if program != "git" and not program.startswith("git-"):
                continue
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue  # gone, or another user's (which cannot write our repository either)
        if any(cwd == w or cwd.startswith(w + os.sep) for w in wanted):
            words = [a.decode("utf-8", "replace") for a in argv if a]
            found.append((int(entry.name), " ".join(words)[:80]))
    return found
