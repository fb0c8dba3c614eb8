"""The git side: real git through its plumbing commands, never a checkout.

Snapshots live in a git repository; a commit's committer date is the snapshot's time.
Everything here touches only the snapshot files of the snapshot directory, the paths
:func:`layout.under` accepts: they are listed, filtered and handed to git as literal paths,
never as a pattern git would widen. The user's other staged or unstaged changes are never
committed and the user's index is never rewritten for a diff (a temporary index is used
instead).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from driftaudit.errors import DriftauditError
from driftaudit.layout import pathspecs, under
from driftaudit.lock import git_processes
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
            command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
            raise GitError(self._failure(command, proc))
        return proc

    def _failure(self, command: str, proc: subprocess.CompletedProcess[bytes]) -> str:
        """One line for a failed git command: the signal that killed it, the lock that
        stopped it, or git's last line of explanation."""
        if proc.returncode < 0:
            try:
                name = signal.Signals(-proc.returncode).name
            except ValueError:
                name = f"signal {-proc.returncode}"
            return f"git {command} was killed by signal {name}"
        stderr = proc.stderr.decode("utf-8", "replace")
        locked = _LOCKED.search(stderr)
        if locked:
            # Not git's "remove the file manually": another git command may be running.
            return (
                f"git {command} failed: {locked.group(1)} exists: a git command is running in "
                f"{self.root}, or one was killed while it ran; if `ps` shows no git process "
                "working there, that file is stale and can be removed"
            )
        lines = stderr.strip().splitlines()
        # git's "error:" line says what went wrong; its last line often only that it stopped.
        errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
        said = errors[0] if errors else lines[-1] if lines else proc.returncode
        return f"git {command} failed: {said}"

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
        return self.out("log", "-1", "--format=%cI", rev, "--").strip()  # show: 10x slower

    # --- trees and blobs ------------------------------------------------------------------

    def changed(self, old: str, new: str, rel: str) -> list[Entry]:
        """Snapshot files of ``rel`` that differ between two revisions (new may be
        WORKTREE)."""
        paths = pathspecs(rel)
        if new == WORKTREE:
            with self.worktree_index(rel) as env:
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
        return [e for e in _parse_raw(raw) if under(e.path, rel)]

    def tree_entries(self, rev: str, rel: str) -> dict[str, str]:
        """path -> blob id of every snapshot file of ``rel`` at ``rev`` (or WORKTREE)."""
        paths = pathspecs(rel)
        if rev == WORKTREE:
            with self.worktree_index(rel) as env:
                raw = self.git("ls-files", "-s", "-z", "--", *paths, env=env).stdout
            out = {}
            for rec in raw.split(b"\0"):
                if rec:
                    meta, _, path = rec.partition(b"\t")
                    if under(path.decode("utf-8", "replace"), rel):
                        out[path.decode()] = meta.split()[1].decode()
            return out
        prefixes, listed = _tree_listing(rel)
        raw = self.git("ls-tree", "-r", "-z", rev, "--", *prefixes).stdout
        out = {}
        for rec in raw.split(b"\0"):
            if rec:
                meta, _, name = rec.partition(b"\t")
                file = name.decode("utf-8", "replace")
                if listed(file):
                    out[file] = meta.split()[2].decode()
        return out

    def has_snapshot_files(self, rev: str, rel: str) -> bool:
        """Whether ``rev`` holds any snapshot file of ``rel``: :meth:`tree_entries` without
        listing them all (at 50,000 files the listing costs half a second; the answer is
        usually the first name)."""
        prefixes, listed = _tree_listing(rel)
        proc = subprocess.Popen(
            ["git", "ls-tree", "-r", "-z", "--name-only", rev, "--", *prefixes],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        found, rest = False, b""
        try:
            out = proc.stdout.fileno()
            for chunk in iter(lambda: os.read(out, 65536), b""):
                *names, rest = (rest + chunk).split(b"\0")
                found = any(listed(name.decode("utf-8", "replace")) for name in names)
                if found:
                    break
        finally:
            if found:
                proc.kill()
            _, err = proc.communicate()
        if not found and proc.returncode != 0:
            raise GitError(
                self._failure("ls-tree", subprocess.CompletedProcess([], proc.returncode, b"", err))
            )
        return found

    def worktree_index(self, rel: str) -> _TempIndex:
        return _TempIndex(self, rel)

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

    def snapshot_changes(self, rel: str, env: dict[str, str] | None = None) -> list[str]:
        """The snapshot files of ``rel`` whose working tree differs from the index: changed,
        deleted, or new (unless ignored). Nothing else the pathspec's glob matches (notes,
        baselines, temporary files) is a candidate, and no path beyond a link is taken."""
        paths = pathspecs(rel)
        listed = self.git("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                          *paths, env=env).stdout  # fmt: skip
        self._refuse_links(rel, _one_per_directory(_paths(listed), rel))
        # Only what changed is handed to git: git matches each literal path against every
        # file, so all 10,000 files of a snapshot cost 3 s where the changed ones cost ms.
        raw = self.git("ls-files", "-z", "--modified", "--deleted", "--others",
                       "--exclude-standard", "--", *paths, env=env).stdout  # fmt: skip
        return sorted({p for p in _paths(raw) if under(p, rel)})

    def _refuse_links(self, rel: str, files: Sequence[str]) -> None:
        """GitError when a directory of the layout on the way to a snapshot file is a link:
        git would compare the file through it (and refuse to stage it)."""
        base = 0 if rel in ("", ".") else len(rel.rstrip("/").split("/"))
        seen: set[str] = set()
        for file in files:
            parts = file.split("/")
            for depth in range(base + 1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory in seen:
                    continue
                seen.add(directory)
                if os.path.islink(self.root / directory):
                    raise GitError(
                        f"{self.root / directory} is a symbolic link where a directory of "
                        "snapshot files belongs: not followed (put the directory back)"
                    )

    def stage(self, files: Sequence[str], env: dict[str, str] | None = None) -> None:
        """Record exactly these paths in the index as they are in the working tree: added,
        changed, or removed when gone (literal paths: no pattern, no ignore rule)."""
        if files:
            self.git("update-index", "--add", "--remove", "--replace", "-z", "--stdin",
                     input=_nul(files), env=env)  # fmt: skip

    def commit_paths(self, rel: str, message: str, allow_empty: bool = False) -> str | None:
        """Commit exactly the changes to the snapshot files of ``rel``; None when there are
        none (unless ``allow_empty``: a snapshot whose failures must be on record)."""
        paths = pathspecs(rel)
        # git add skips files a .gitignore matches without a word: "nothing changed" would
        # then hide snapshot files that were never committed.
        raw = self.git(
            "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", *paths
        ).stdout
        ignored = [p for p in _paths(raw) if under(p, rel)]
        if ignored:
            raise GitError(
                f"{ignored[0]} is ignored by git (.gitignore or info/exclude): "
                "snapshot files must be committable"
            )
        self.stage(self.snapshot_changes(rel))
        raw = self.git("diff", "--cached", "--name-only", "--no-renames", "-z", "--", *paths).stdout
        staged = [p for p in _paths(raw) if under(p, rel)]
        if not staged and not allow_empty:
            return None
        with tempfile.TemporaryDirectory(prefix="driftaudit-commit-") as tmp:
            message_file = Path(tmp) / "message"
            message_file.write_bytes(message.encode("utf-8"))
            # --only with the literal paths: what else is staged stays staged, uncommitted;
            # with no path (a partial snapshot that changed nothing) the commit is empty.
            args = ["commit", "-q", "--no-verify", "-F", str(message_file), "--only"]
            args += ["--pathspec-from-file=-", "--pathspec-file-nul"]
            if not staged:
                args.append("--allow-empty")
            self.git(*self._identity(), *args, input=_nul(staged), env=_LITERAL)
        return self.out("rev-parse", "HEAD").strip()

    def git_path(self, name: str) -> Path:
        return self.root / self.out("rev-parse", "--git-path", name).strip()

    def recover_index_lock(self, held_since: float, wait: float) -> str | None:
        """Deal with git's ``index.lock`` before committing, holding driftaudit's own lock for
        this repository (so no other driftaudit run is using it).

        A lock whose git process still runs (a run killed while git worked leaves git
        running) is waited for, up to ``wait`` seconds. A lock older than our own lock with
        no git process working in the repository was left by a killed one: it is removed and
        a warning line returned. Otherwise GitError names the file and what to check."""
        lock = self.git_path("index.lock")
        git_dir = Path(self.out("rev-parse", "--absolute-git-dir").strip())
        deadline = time.monotonic() + wait
        while True:
            try:
                mtime = lock.lstat().st_mtime
            except FileNotFoundError:
                return None
            running = git_processes(self.root, git_dir)
            if running == [] and mtime < held_since:
                lock.unlink(missing_ok=True)
                return (
                    f"driftaudit: warning: removed {lock}: left by a git command that was "
                    "killed (no git process is working in the repository)"
                )
            if running is None or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if running:
            who = "; ".join(f"pid {pid}: {cmd}" for pid, cmd in running[:3])
            raise GitError(
                f"{lock} exists and git is still working in {self.root} ({who}); "
                "run again when it has finished"
            )
        raise GitError(
            f"{lock} exists and driftaudit cannot tell whether a git command still uses it: "
            f"if `ps` shows no git process working in {self.root}, remove it and run again"
        )

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
    """A throw-away index holding the working tree's snapshot files of ``rel``: lets
    plumbing compare the working tree (untracked files included) without touching the
    user's index."""

    def __init__(self, repo: Repo, rel: str) -> None:
        self.repo, self.rel = repo, rel
        self.dir: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> dict[str, str]:
        self.dir = tempfile.TemporaryDirectory(prefix="driftaudit-index-")
        env = {"GIT_INDEX_FILE": str(Path(self.dir.name) / "index")}
        user_index = self.repo.git_path("index")
        if user_index.is_file():
            # A copy keeps the index's stat cache, so the add below re-reads only files whose
            # stat changed (from HEAD's tree it hashes every file: 0.1 s at 10,000). copy2
            # keeps the mtime git's racy-clean check relies on. Either way the add makes
            # every snapshot file match the working tree, and nothing else is compared.
            shutil.copy2(user_index, env["GIT_INDEX_FILE"])
        elif self.repo.has_commits():
            self.repo.git("read-tree", "HEAD", env=env)
        self.repo.stage(self.repo.snapshot_changes(self.rel, env=env), env=env)
        return env

    def __exit__(self, *exc: object) -> None:
        assert self.dir is not None
        self.dir.cleanup()


#: Paths handed to git are paths, not patterns: no glob or magic in a name can widen them.
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
_LOCKED = re.compile(r"Unable to create '([^']*\.lock)': File exists")


def _paths(raw: bytes) -> Iterator[str]:
    for rec in raw.split(b"\0"):
        if rec:
            yield rec.decode("utf-8", "replace")


def _one_per_directory(paths: Iterator[str], rel: str) -> list[str]:
    """One snapshot file of ``rel`` in each directory that holds any: the directories on
    the way to every snapshot file, each path parsed once per directory rather than once
    per file (50,000 files: 0.2 s)."""
    done: set[str] = set()
    out = []
    for path in paths:
        directory = path.rpartition("/")[0]
        if directory not in done and under(path, rel):
            done.add(directory)
            out.append(path)
    return out


def _nul(paths: Sequence[str]) -> bytes:
    return b"".join(p.encode("utf-8") + b"\0" for p in paths)


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


def _tree_listing(rel: str) -> tuple[list[str], Callable[[str], bool]]:
    """What ``git ls-tree`` is asked for the snapshot files of ``rel`` (it knows no pathspec
    magic: the directories before each glob), and the test of each name it lists."""
    paths = pathspecs(rel)
    patterns = [_glob_re(p) for p in paths]

    def listed(file: str) -> bool:
        return any(p.fullmatch(file) for p in patterns) and under(file, rel) is not None

    return sorted({_glob_prefix(p) for p in paths}), listed


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
