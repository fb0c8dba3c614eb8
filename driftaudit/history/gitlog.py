"""The snapshot history as git holds it, read in one pass and as it comes: one
``git log --raw`` over the first-parent chain for the changed files, one ``git log`` of the
chain's messages for the runs recorded without a change, and ``git cat-file --batch`` for the
files' contents. Never a checkout per commit, and never the whole log in memory: a full
build's first commit lists every file of the estate.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from driftaudit.gitrepo import GitError, Repo

NULL_SHA = "0" * 40
_CHUNK = 1 << 20


@dataclass
class Commit:
    sha: str
    time: int  # committer date, seconds since the epoch: the snapshot's time
    #: The commit records a run of ``snapshot --commit`` for this directory (a run that
    #: changed nothing is an empty commit): the state was seen then, unchanged.
    run: bool = False


@dataclass(frozen=True)
class Change:
    """One file a commit changes, as diffed against its first parent (a merge counts the
    changes it brings in at the merge)."""

    path: str
    blob: str | None  # None: the file was deleted
    #: git's mode of the new entry: "100644"; "120000" a symbolic link, "160000" a
    #: submodule (never read as a document).
    mode: str

    @property
    def special(self) -> bool:
        return self.blob is not None and not self.mode.startswith("100")


def walk(
    repo: Repo, span: str, paths: Sequence[str], rel: str
) -> Iterator[tuple[Commit, Iterator[Change]]]:
    """The samples of ``span`` (``HEAD`` or ``OLD..HEAD``), oldest first, each with its
    changes under ``paths``: the commits of the first-parent chain that change such a file or
    record a run of the snapshot directory ``rel`` (``Driftaudit-Run:``, or the failed parts
    of a partial run, read only in the form ``snapshot --commit`` writes them: see
    driftaudit.change.rangediff). Each commit's changes are read from git as they are
    iterated, so they must be consumed before the next commit is asked for."""
    raw = _Records(
        repo,
        "log",
        "--first-parent",
        "--reverse",
        # With --first-parent, -m diffs a merge against its first parent only.
        "-m",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
        "--format=%x01%H %ct",
        span,
        "--",
        *paths,
    )
    messages = _Records(
        repo, "log", "--first-parent", "--reverse", "-z", "--format=%x01%H %ct%n%B", span
    )
    with raw, messages:
        changing = raw.header()
        for record in messages.messages():
            header, _, body = record.partition("\n")
            sha, ctime = header.split()
            run = "Driftaudit-" in body and _records_run(body, rel)
            if changing is not None and changing[0] == sha:
                yield Commit(sha, int(ctime), run), raw.changes()
                changing = raw.header()
            elif run:
                yield Commit(sha, int(ctime), run), iter(())
        if changing is not None:
            raise GitError(f"git log listed commit {changing[0]} out of order")


def _records_run(message: str, rel: str) -> bool:
    # Imported only for messages that may record a run: queries stay quick to start.
    from driftaudit.change.rangediff import recorded_failures, recorded_run

    record = recorded_run(message)
    return (record is not None and record.of(rel)) or bool(recorded_failures(message))


class _Records:
    """The NUL-separated fields of a ``git log -z`` read as they come; git's errors named
    when it is done."""

    def __init__(self, repo: Repo, *args: str) -> None:
        self.repo, self.args = repo, args
        # Closed by __exit__: the records are read between __init__ and it.
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                ["git", *args], cwd=repo.root, stdout=subprocess.PIPE, stderr=self.stderr
            )
        except FileNotFoundError as e:
            self.stderr.close()
            raise GitError("git is not installed (it is needed for history)") from e
        self.fields = self._fields()
        self.pending: str | None = None

    def __enter__(self) -> _Records:
        return self

    def __exit__(self, *exc: object) -> None:
        failed = exc[0] is None and self._finish() != 0
        self.proc.stdout.close()  # type: ignore[union-attr]
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.seek(0)
        stderr = self.stderr.read()
        self.stderr.close()
        if failed:
            command = subprocess.CompletedProcess(self.args, self.proc.returncode, b"", stderr)
            raise GitError(self.repo._failure(self.args[0], command))

    def _finish(self) -> int:
        for _ in self.fields:  # what is left, so git can exit
            pass
        return self.proc.wait()

    def _fields(self) -> Iterator[str]:
        stdout = self.proc.stdout
        assert stdout is not None
        rest = b""
        while chunk := stdout.read(_CHUNK):
            parts = (rest + chunk).split(b"\0")
            rest = parts.pop()
            for part in parts:
                yield part.decode("utf-8", "surrogateescape")
        if rest:
            yield rest.decode("utf-8", "surrogateescape")

    def _next(self) -> str | None:
        if self.pending is not None:
            field, self.pending = self.pending, None
            return field
        return next(self.fields, None)

    def messages(self) -> Iterator[str]:
        """``%x01``-headed records holding NULs of their own never (commit messages)."""
        for field in self.fields:
            field = field.strip("\n")
            if field.startswith("\x01"):
                yield field[1:]

    def header(self) -> tuple[str, int] | None:
        """The next commit of a ``--raw`` log: (sha, time), or None at the end."""
        while (field := self._next()) is not None:
            field = field.lstrip("\n")
            if field.startswith("\x01"):
                sha, ctime = field[1:].split()
                return sha, int(ctime)
        return None

    def changes(self) -> Iterator[Change]:
        """The ``--raw`` entries of the current commit, up to the next header."""
        while (field := self._next()) is not None:
            meta = field.lstrip("\n")
            if meta.startswith("\x01"):
                self.pending = meta
                return
            parts = meta.split()
            if not parts:
                continue
            path = self._next()
            if path is None:
                return
            new = parts[3]
            yield Change(path, None if new == NULL_SHA else new, parts[1])


class BlobReader:
    """Blob contents through one long-lived ``git cat-file --batch``, asked in small groups
    so that neither side's pipe ever fills while the other waits."""

    GROUP = 256  # ids of 41 bytes: well under a pipe's 64 KB

    def __init__(self, repo_root: str) -> None:
        self.proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo_root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def read(self, blob_ids: Sequence[str]) -> list[bytes]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        out: list[bytes] = []
        for i in range(0, len(blob_ids), self.GROUP):
            group = blob_ids[i : i + self.GROUP]
            stdin.write(("\n".join(group) + "\n").encode())
            stdin.flush()
            for blob in group:
                header = stdout.readline().split()
                if len(header) < 3 or header[1] == b"missing":
                    raise GitError(f"blob {blob} is missing from the repository")
                out.append(stdout.read(int(header[2]) + 1)[:-1])
        return out

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.proc.wait()
