"""The git side: real git through its plumbing commands, never a checkout.

Snapshots live in a git repository; a commit's committer date is the snapshot's time.
Everything here touches only paths under the snapshot directory: the user's other staged or
unstaged changes are never committed and the user's index is never rewritten for a diff
(a temporary index is used instead).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from driftaudit.errors import DriftauditError
from driftaudit.times import parse_when

WORKTREE = "WORKTREE"  # the working tree, as a pseudo-revision


class GitError(DriftauditError):
    """git is missing, the directory is not a repository, a revision does not exist..."""


@dataclass(frozen=True)
class Entry:
    """One changed snapshot file between two trees (blob ids; ``None`` = absent)."""

    path: str  # relative to the repository root, '/'-separated
    old: str | None
    new: str | None
    old_path: str | None = None  # where the old blob lived, when not at ``path``
    #: git's file modes ("100644"; "120000" a symbolic link, "160000" a submodule; "" absent).
    old_mode: str = ""
    new_mode: str = ""


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root

    # --- plumbing ---------------------------------------------------------------------

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=input,
                capture_output=True,
                env={**os.environ, **(env or {})},
            )
        except FileNotFoundError as e:
            raise GitError(
                "git is not installed (it is needed for --commit, diff and history)"
            ) from e
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
            raise GitError(f"git {command} failed: {message[-1] if message else proc.returncode}")
        return proc

    def out(self, *args: str, **kwargs: object) -> str:
        return self.git(*args, **kwargs).stdout.decode("utf-8", "replace")  # type: ignore[arg-type]

    # --- revisions ----------------------------------------------------------------------

    def has_commits(self) -> bool:
        return self.git("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).returncode == 0

    def is_shallow(self) -> bool:
        proc = self.git("rev-parse", "--is-shallow-repository", check=False)
        return proc.returncode == 0 and proc.stdout.strip() == b"true"

    def require_full_history(self, what: str) -> None:
        """GitError unless the whole history is here: in a shallow clone the oldest fetched
        commits look like first snapshots, and every answer about the past would be wrong."""
        if self.is_shallow():
            raise GitError(
                f"{self.root} is a shallow clone: {what} needs the whole history; fetch it "
                "with `git fetch --unshallow` (GitHub Actions: actions/checkout with "
                "fetch-depth: 0; GitLab CI: GIT_DEPTH: 0)"
            )

    def resolve(self, rev: str) -> str:
        """A full commit id, or a clear error naming the revision."""
        if rev.startswith("-"):
            raise GitError(f"unknown revision {rev!r}")
        proc = self.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
        if proc.returncode != 0:
            raise GitError(f"unknown revision {rev!r} in {self.root}")
        return proc.stdout.decode().strip()

    def as_of(self, when: str, paths: Sequence[str]) -> str:
        """The last commit touching ``pathspec`` at or before ``when`` ("7 days ago", ISO)."""
        if not self.has_commits():
            raise GitError(f"{self.root} has no snapshot commits yet")
        # The same reader as `history --at`: git's own would take a typo for "now".
        epoch = int(parse_when(when).timestamp())
        sha = ""
        if epoch > 0:  # git reads "@0" and earlier as no limit
            sha = self.out("rev-list", "-1", f"--before=@{epoch}", "HEAD", "--", *paths).strip()
        if not sha:
            first = self.out("log", "--reverse", "--format=%cI", "HEAD", "--", *paths).split()
            since = f"; the first snapshot is from {first[0]}" if first else ""
            raise GitError(f"no snapshot as of {when!r}{since}")
        return sha

    def commit_time(self, rev: str) -> str:
        return self.out("show", "-s", "--format=%cI", rev).strip()

    # --- trees and blobs ------------------------------------------------------------------

    def changed(self, old: str, new: str, paths: Sequence[str]) -> list[Entry]:
        """Files under ``pathspec`` that differ between two revisions (new may be WORKTREE)."""
        if new == WORKTREE:
            with self.worktree_index(paths) as env:
                raw = self.git(
                    "diff-index",
                    "--cached",
                    "-r",
                    "-z",
                    "--no-renames",
                    old,
                    "--",
                    *paths,
                    env=env,
                ).stdout
        else:
            raw = self.git("diff-tree", "-r", "-z", "--no-renames", old, new, "--", *paths).stdout
        return list(_parse_raw(raw))

    def tree_entries(self, rev: str, paths: Sequence[str]) -> dict[str, str]:
        """path -> blob id of every file under ``pathspec`` at ``rev`` (or WORKTREE)."""
        if rev == WORKTREE:
            with self.worktree_index(paths) as env:
                raw = self.git("ls-files", "-s", "-z", "--", *paths, env=env).stdout
            out = {}
            for rec in raw.split(b"\0"):
                if rec:
                    meta, _, path = rec.partition(b"\t")
                    out[path.decode()] = meta.split()[1].decode()
            return out
        # ls-tree knows no pathspec magic: list the directories, then match the globs here.
        prefixes = sorted({_glob_prefix(p) for p in paths})
        patterns = [_glob_re(p) for p in paths]
        raw = self.git("ls-tree", "-r", "-z", rev, "--", *prefixes).stdout
        out = {}
        for rec in raw.split(b"\0"):
            if rec:
                meta, _, name = rec.partition(b"\t")
                file = name.decode()
                if any(p.fullmatch(file) for p in patterns):
                    out[file] = meta.split()[2].decode()
        return out

    def worktree_index(self, paths: Sequence[str]) -> _TempIndex:
        return _TempIndex(self, paths)

    def read_blobs(self, blob_ids: Sequence[str]) -> dict[str, bytes]:
        """Contents of many blobs through one ``git cat-file --batch`` process."""
        unique = sorted(set(blob_ids))
        if not unique:
            return {}
        data = self.git("cat-file", "--batch", input=("\n".join(unique) + "\n").encode()).stdout
        out: dict[str, bytes] = {}
        pos = 0
        for blob in unique:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            if len(header) < 3 or header[1] == b"missing":
                raise GitError(f"blob {blob} is missing from the repository")
            size = int(header[2])
            out[blob] = data[end + 1 : end + 1 + size]
            pos = end + 1 + size + 1
        return out

    # --- committing -------------------------------------------------------------------

    def commit_paths(
        self, paths: Sequence[str], message: str, allow_empty: bool = False
    ) -> str | None:
        """Commit exactly the changes under ``pathspec``; None when there are none (unless
        ``allow_empty``: a snapshot whose failures must be on record)."""
        self.add(paths)
        # git add skips files a .gitignore matches without a word: "nothing changed" would
        # then hide snapshot files that were never committed.
        ignored = self.out("ls-files", "--others", "--ignored", "--exclude-standard", "--", *paths)
        if ignored:
            raise GitError(
                f"{ignored.splitlines()[0]} is ignored by git (.gitignore or info/exclude): "
                "snapshot files must be committable"
            )
        staged = self.git("diff", "--cached", "--quiet", "--", *paths, check=False)
        if staged.returncode == 0 and not allow_empty:
            return None
        empty = ["--allow-empty"] if staged.returncode == 0 else []
        args = ["commit", "-q", "--no-verify", *empty, "-F", "-", "--only", "--", *paths]
        self.git(*self._identity(), *args, input=message.encode("utf-8"))
        return self.out("rev-parse", "HEAD").strip()

    def add(self, paths: Sequence[str], env: dict[str, str] | None = None) -> None:
        """``git add -A`` of the snapshot files; a directory with none yet is not an error."""
        proc = self.git("add", "-A", "--", *paths, env=env, check=False)
        if proc.returncode != 0 and b"did not match any files" not in proc.stderr:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git add failed: {lines[-1] if lines else proc.returncode}")

    def _identity(self) -> list[str]:
        """Fall back to a driftaudit identity only where git has none configured."""
        have = self.git("config", "user.email", check=False).stdout.strip()
        if have or os.environ.get("GIT_COMMITTER_EMAIL") or os.environ.get("EMAIL"):
            return []
        return ["-c", "user.name=driftaudit", "-c", "user.email=driftaudit@localhost"]

    def log_messages(
        self, old: str | None, new: str, paths: Sequence[str]
    ) -> Iterator[tuple[str, str]]:
        """(commit, full message) for commits in old..new (all up to new if old is None)
        touching pathspec."""
        span = f"{old}..{new}" if old else new
        limit = ["--", *paths] if paths else []
        raw = self.out("log", "-z", "--format=%H%n%B", span, *limit)
        for rec in raw.split("\0"):
            if rec.strip():
                sha, _, body = rec.strip("\n").partition("\n")
                yield sha, body


class _TempIndex:
    """A throw-away index holding the working tree under pathspec: lets plumbing
    compare the working tree (untracked files included) without touching the user's index."""

    def __init__(self, repo: Repo, paths: Sequence[str]) -> None:
        self.repo, self.paths = repo, paths
        self.dir: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> dict[str, str]:
        self.dir = tempfile.TemporaryDirectory(prefix="driftaudit-index-")
        env = {"GIT_INDEX_FILE": str(Path(self.dir.name) / "index")}
        user_index = self.repo.root / self.repo.out("rev-parse", "--git-path", "index").strip()
        if user_index.is_file():
            # A copy keeps the index's stat cache, so the add below re-reads only files whose
            # stat changed (from HEAD's tree it hashes every file: 0.1 s at 10,000). copy2
            # keeps the mtime git's racy-clean check relies on. Either way the add makes
            # every entry under pathspec match the working tree, and nothing else is compared.
            shutil.copy2(user_index, env["GIT_INDEX_FILE"])
        elif self.repo.has_commits():
            self.repo.git("read-tree", "HEAD", env=env)
        self.repo.add(self.paths, env=env)
        return env

    def __exit__(self, *exc: object) -> None:
        assert self.dir is not None
        self.dir.cleanup()


def _parse_raw(raw: bytes) -> Iterator[Entry]:
    """Parse ``git diff-tree/diff-index -r -z`` raw output."""
    fields = raw.split(b"\0")
    i = 0
    null = "0" * 40
    while i + 1 < len(fields) and fields[i]:
        meta = fields[i].decode().split()
        path = fields[i + 1].decode()
        old, new = meta[2], meta[3]
        old_mode, new_mode = meta[0].lstrip(":"), meta[1]
        yield Entry(
            path,
            None if old == null else old,
            None if new == null else new,
            old_mode="" if old == null else old_mode,
            new_mode="" if new == null else new_mode,
        )
        i += 2


def _glob_prefix(pathspec: str) -> str:
    """The literal directory a ``:(glob)`` pathspec starts with ("." for the root)."""
    pattern = pathspec.removeprefix(":(glob)")
    literal = []
    for part in pattern.split("/"):
        if any(c in part for c in "*?["):
            break
        literal.append(part)
    return "/".join(literal) or "."


def _glob_re(pathspec: str) -> re.Pattern[str]:
    """git's ``:(glob)`` semantics: ``*`` and ``?`` never match a ``/``."""
    pattern = pathspec.removeprefix(":(glob)")
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out)


def open_repo(directory: Path, create: bool = False) -> tuple[Repo, str]:
    """The repository holding ``directory`` and the directory's path inside it.

    With ``create``, a directory in no repository gets ``git init``.
    """
    directory = directory.resolve()
    # Not the parent's repository instead: a mistyped -C would diff nothing and pass a gate.
    if not directory.is_dir():
        raise GitError(f"{directory} does not exist or is not a directory")
    probe = Repo(directory)
    proc = probe.git("rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        if not create:
            raise GitError(f"{directory} is not in a git repository (snapshot with --commit first)")
        Repo(directory).git("init", "-q")
        return Repo(directory), "."
    root = Path(proc.stdout.decode().strip()).resolve()
    rel = directory.relative_to(root).as_posix()
    return Repo(root), rel or "."
