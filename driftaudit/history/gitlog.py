"""The snapshot history as git holds it, read in one pass: one ``git log --raw`` over the
first-parent chain for the changed files, one ``git log`` of the chain's messages for the
runs recorded without a change, one ``git cat-file --batch`` for the files' contents. Never a
checkout per commit."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from driftaudit.gitrepo import GitError, Repo

NULL_SHA = "0" * 40


@dataclass
class Commit:
    sha: str
    time: int  # committer date, seconds since the epoch: the snapshot's time
    #: (path, new blob id or None when the file was deleted), as diffed against the first
    #: parent (a merge counts the changes it brings in at the merge).
    changes: list[tuple[str, str | None]] = field(default_factory=list)
    #: path -> git mode of a new entry that is not a regular file (120000 a symbolic link,
    #: 160000 a submodule): never read as a document.
    special: dict[str, str] = field(default_factory=dict)
    #: The commit records a run of ``snapshot --commit`` for this directory (a run that
    #: changed nothing is an empty commit): the state was seen then, unchanged.
    run: bool = False


def snapshot_commits(repo: Repo, span: str, paths: Sequence[str], rel: str) -> list[Commit]:
    """The samples of ``span`` (``HEAD`` or ``OLD..HEAD``), oldest first: the commits of the
    first-parent chain that change a file under ``paths``, or record a run of the snapshot
    directory ``rel`` (``Driftaudit-Run:``, or the failed parts of a partial run, read only in
    the form ``snapshot --commit`` writes them: see driftaudit.change.rangediff)."""
    changing = {c.sha: c for c in _changing(repo, span, paths)}
    raw = repo.git("log", "--first-parent", "--reverse", "-z", "--format=%H %ct%n%B", span).stdout
    commits = []
    for record in raw.split(b"\0"):
        header, _, body = record.strip(b"\n").partition(b"\n")
        if not header:
            continue
        sha, ctime = header.decode().split()
        commit = changing.get(sha)
        run = b"Driftaudit-" in body and _records_run(body.decode("utf-8", "replace"), rel)
        if commit is None and not run:
            continue
        commit = commit or Commit(sha, int(ctime))
        commit.run = run
        commits.append(commit)
    return commits


def _records_run(message: str, rel: str) -> bool:
    # Imported only for messages that may record a run: queries stay quick to start.
    from driftaudit.change.rangediff import recorded_failures, recorded_run

    record = recorded_run(message)
    return (record is not None and record.of(rel)) or bool(recorded_failures(message))


def _changing(repo: Repo, span: str, paths: Sequence[str]) -> list[Commit]:
    """Commits of ``span`` along the first-parent chain that change a file under ``paths``,
    with those changes, oldest first."""
    raw = repo.git(
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
    ).stdout
    commits = []
    for chunk in raw.split(b"\x01")[1:]:
        header, _, rest = chunk.partition(b"\0")
        sha, ctime = header.decode().split()
        commit = Commit(sha, int(ctime))
        fields = rest.lstrip(b"\n").split(b"\0")
        for i in range(0, len(fields) - 1, 2):
            meta = fields[i].split()
            if not meta:
                continue
            new, path = meta[3].decode(), fields[i + 1].decode()
            commit.changes.append((path, None if new == NULL_SHA else new))
            mode = meta[1].decode()
            if new != NULL_SHA and not mode.startswith("100"):
                commit.special[path] = mode
        commits.append(commit)
    return commits


def stream_blobs(repo: Repo, blob_ids: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(blob id, content) in the order asked, through one ``git cat-file --batch`` whose
    output is read as it comes (a year of history does not sit in memory at once)."""
    if not blob_ids:
        return
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=repo.root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def feed() -> None:
        # A thread, so git never blocks writing output we are not yet reading.
        try:
            stdin.write(("\n".join(blob_ids) + "\n").encode())
        except BrokenPipeError:
            pass
        finally:
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = False
    try:
        for blob in blob_ids:
            header = proc.stdout.readline().split()
            if len(header) < 3 or header[1] == b"missing":
                raise GitError(f"blob {blob} is missing from the repository")
            data = proc.stdout.read(int(header[2]) + 1)[:-1]
            yield blob, data
        done = True
    finally:
        if not done:
            proc.kill()
        proc.stdout.close()
        writer.join()
        proc.wait()
