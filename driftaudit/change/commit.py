"""``snapshot --commit``: commit what a snapshot wrote, with a message that reads as an
audit trail (counts, then the most severe changes), recording parts that failed."""

from __future__ import annotations

from dataclasses import dataclass

from driftaudit.change.differ import Change, severity_rank
from driftaudit.change.rangediff import EMPTY_TREE, FAILED_INTRO, FAILED_TRAILER, Revision, diff
from driftaudit.change.severity import Rules
from driftaudit.collect.job import SnapshotOutcome
from driftaudit.gitrepo import WORKTREE, Repo
from driftaudit.textsafe import one_line


@dataclass
class CommitResult:
    sha: str | None  # None: nothing changed, nothing committed
    message: str
    changes: int


def commit_snapshot(
    repo: Repo, rel: str, outcome: SnapshotOutcome, rules: Rules | None = None
) -> CommitResult:
    has_head = repo.has_commits()
    initial = not has_head or not repo.tree_entries("HEAD", rel)
    old = Revision(repo.resolve("HEAD") if has_head else EMPTY_TREE, "HEAD", "")
    result = diff(repo, rel, old, Revision(WORKTREE, "working tree", ""), rules=rules)
    failed = [f"{p.account}/{p.region}/{p.type} {f.describe()}" for p, f in outcome.failed]
    files = len(repo.tree_entries(WORKTREE, rel)) if initial else outcome.resources
    message = commit_message(result.changes, files, failed, initial)
    # A partial snapshot is committed even when nothing else changed: its failures are
    # on record, so later reports and history know that part was not read then.
    sha = repo.commit_paths(rel, message, allow_empty=bool(failed))
    return CommitResult(sha, message, len(result.changes))


def commit_message(
    changes: list[Change], resources: int, failed: list[str], initial: bool, top: int = 20
) -> str:
    """``git log`` alone reads as an audit trail: counts, then the most severe lines, then
    the failed parts as the final paragraph, which :func:`rangediff.failed_parts` reads back.

    Every piece of resource data is put on its line with :func:`one_line`: a tag value
    holding a line break cannot add a line, let alone a ``Driftaudit-Failed:`` trailer."""
    from driftaudit.render.report import summary

    s = summary(changes)
    if initial:
        head = f"driftaudit snapshot: initial, {resources} resources"
    else:
        counts = ", ".join(f"{n} {sev}" for sev, n in s["by_severity"].items())
        head = (
            f"driftaudit snapshot: {s['total']} change(s) ({counts})"
            if changes
            else ("driftaudit snapshot: no changes")
        )
    lines = [head, ""]
    for t, actions in s["by_type"].items():
        lines.append(f"{t}: " + ", ".join(f"{n} {a}" for a, n in actions.items()))
    if not initial and changes:
        entries = [(d.severity, f"{c.label}: {d.text}") for c in changes for d in c.details] + [
            (c.severity, f"{c.type} {c.label}: {c.action}") for c in changes if not c.details
        ]
        entries.sort(key=lambda e: -severity_rank(e[0]))  # stable: keeps the diff's order
        lines.append("")
        lines.extend(f"[{sev}] {one_line(text)}" for sev, text in entries[:top])
        if len(entries) > top:
            lines.append(f"... and {len(entries) - top} more")
    if failed:
        lines.append("")
        lines.append(FAILED_INTRO)
        lines.extend(f"{FAILED_TRAILER} {one_line(f)}" for f in failed)
    return "\n".join(lines).rstrip() + "\n"
