"""``snapshot --commit``: commit what a snapshot wrote, with a message that reads as an
audit trail (counts, then the most severe changes), recording parts that failed."""

from __future__ import annotations

from dataclasses import dataclass

from driftaudit.change.rangediff import EMPTY_TREE, Revision, diff
from driftaudit.change.severity import Rules
from driftaudit.collect.job import SnapshotOutcome
from driftaudit.gitrepo import WORKTREE, Repo
from driftaudit.layout import pathspecs
from driftaudit.render.report import commit_message


@dataclass
class CommitResult:
    sha: str | None  # None: nothing changed, nothing committed
    message: str
    changes: int


def commit_snapshot(
    repo: Repo, rel: str, outcome: SnapshotOutcome, rules: Rules | None = None
) -> CommitResult:
    paths = pathspecs(rel)
    has_head = repo.has_commits()
    initial = not has_head or not repo.tree_entries("HEAD", paths)
    old = Revision(repo.resolve("HEAD") if has_head else EMPTY_TREE, "HEAD", "")
    result = diff(repo, rel, old, Revision(WORKTREE, "working tree", ""), rules=rules)
    failed = [f"{p.account}/{p.region}/{p.type} {f.describe()}" for p, f in outcome.failed]
    files = len(repo.tree_entries(WORKTREE, paths)) if initial else outcome.resources
    message = commit_message(result.changes, files, failed, initial)
    # A partial snapshot is committed even when nothing else changed: its failures are
    # on record, so later reports and history know that part was not read then.
    sha = repo.commit_paths(paths, message, allow_empty=bool(failed))
    return CommitResult(sha, message, len(result.changes))
