"""The backfilled snapshots written as git commits, in one ``git fast-import`` process:
thousands of commits in seconds, never a checkout per commit. Each commit is dated (author
and committer) at its snapshot's time and holds the whole snapshot under DIR, as one made
by ``snapshot --commit`` would; the branch is moved only when the whole stream was read
(``--done``), so a run killed meanwhile leaves a repository without commits, which the next
run fills again from the checkpoints."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from driftaudit.backfill.source import Source, message
from driftaudit.backfill.timeline import Snapshot
from driftaudit.gitrepo import GitError, Repo
from driftaudit.times import iso

FALLBACK_IDENTITY = "driftaudit <driftaudit@localhost>"


def identity(repo: Repo) -> str:
    """``Name <email>`` of the commits: git's own (configuration, environment), else
    driftaudit's, as ``snapshot --commit`` does."""
    proc = repo.git("var", "GIT_COMMITTER_IDENT", check=False)
    text = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or ">" not in text:
        return FALLBACK_IDENTITY
    return text[: text.rindex(">") + 1]


def branch(repo: Repo) -> str:
    """The branch HEAD names (``refs/heads/main``): the one the commits go on."""
    ref = repo.out("symbolic-ref", "-q", "HEAD").strip()
    if not ref.startswith("refs/heads/"):
        raise GitError(f"HEAD of {repo.root} names no branch ({ref or 'detached'})")
    return ref


def quote(path: str) -> str:
    """A path as fast-import reads it, C-quoted whatever it holds."""
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def title(snapshot: Snapshot) -> str:
    when = iso(int(snapshot.time.timestamp()))
    if snapshot.initial:
        return f"the state at {when} from AWS Config, {len(snapshot.files)} resources"
    return f"{len(snapshot.files)} change(s) from AWS Config items captured at {when}"


def stream(
    snapshots: Iterable[Snapshot], rel: str, ref: str, who: str, source: Source
) -> Iterable[bytes]:
    """The fast-import stream of every snapshot, as one commit each on ``ref``."""
    prefix = "" if rel in ("", ".") else rel.rstrip("/") + "/"
    for n, snap in enumerate(snapshots, 1):
        stamp = f"{int(snap.time.timestamp())} +0000"  # snapshot times are UTC
        lines = [f"{t} {i}: {action}" for t, i, action in snap.events]
        text = message(source, title(snap), lines).encode("utf-8")
        head = [
            f"commit {ref}",
            f"mark :{n}",
            f"author {who} {stamp}",
            f"committer {who} {stamp}",
            f"data {len(text)}",
        ]
        yield ("\n".join(head) + "\n").encode() + text + b"\n"
        if n > 1:
            yield f"from :{n - 1}\n".encode()
        for path in sorted(snap.files):
            data = snap.files[path]
            where = quote(prefix + path)
            if data is None:
                yield f"D {where}\n".encode()
            else:
                yield f"M 100644 inline {where}\ndata {len(data)}\n".encode() + data + b"\n"
        yield b"\n"
    yield b"done\n"


def write(repo: Repo, rel: str, snapshots: list[Snapshot], source: Source) -> str:
    """Commit every snapshot on HEAD's branch (which has no commit yet); the new HEAD."""
    ref = branch(repo)
    who = identity(repo)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=repo.root,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    try:
        for chunk in stream(snapshots, rel, ref, who, source):
            proc.stdin.write(chunk)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    error = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0:
        last = error.splitlines()[0] if error else f"exit {proc.returncode}"
        raise GitError(f"git fast-import failed: {last}")
    return repo.resolve("HEAD")


def check_out(repo: Repo) -> None:
    """Fill the index and the working tree from HEAD (a new repository's: nothing of the
    user's is in either); a file in the way is named by git and nothing is overwritten."""
    repo.git("read-tree", "-m", "-u", "HEAD")
