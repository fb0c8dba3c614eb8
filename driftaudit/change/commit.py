"""``snapshot --commit``: commit what a snapshot wrote, with a message that reads as an
audit trail (counts, then the most severe changes), recording parts that failed and the run
itself (a run that changed nothing is an empty commit: every run is a sample)."""

from __future__ import annotations

from dataclasses import dataclass

from driftaudit.change.differ import Change, severity_rank
from driftaudit.change.rangediff import (
    EMPTY_TREE,
    FAILED_INTRO,
    FAILED_TRAILER,
    Revision,
    RunRecord,
    diff,
)
from driftaudit.change.severity import Rules
from driftaudit.collect.job import SnapshotOutcome
from driftaudit.gitrepo import WORKTREE, Repo
from driftaudit.textsafe import one_line

#: The paragraph naming the default VPCs a run left out (``--skip-default-vpcs``).
LEFT_OUT_INTRO = "Left out (--skip-default-vpcs): default VPCs with nothing of ours in them:"


@dataclass
class CommitResult:
    sha: str
    message: str
    changes: int
    #: Nothing under DIR changed: the commit is empty and only records the run.
    run_only: bool = False


def run_record(outcome: SnapshotOutcome, rel: str) -> RunRecord:
    return RunRecord(
        tuple(outcome.accounts),
        tuple(outcome.regions),
        tuple(outcome.types),
        len(outcome.succeeded) + len(outcome.failed),
        len(outcome.failed),
        outcome.resources,
        rel,
    )


def commit_snapshot(
    repo: Repo, rel: str, outcome: SnapshotOutcome, rules: Rules | None = None
) -> CommitResult:
    has_head = repo.has_commits()
    initial = not has_head or not repo.has_snapshot_files("HEAD", rel)
    old = Revision(repo.resolve("HEAD") if has_head else EMPTY_TREE, "HEAD", "")
    result = diff(repo, rel, old, Revision(WORKTREE, "working tree", ""), rules=rules)
    failed = [f"{p.account}/{p.region}/{p.type} {f.describe()}" for p, f in outcome.failed]
    files = len(repo.tree_entries(WORKTREE, rel)) if initial else outcome.resources
    message = commit_message(
        result.changes, files, failed, initial, run_record(outcome, rel), left_out=outcome.left_out
    )
    # Committed even when nothing changed (an empty commit): the run is on record, so
    # history knows the state was seen then, and a day without a commit is a day the job
    # did not run; a partial run's failures say which parts were not read.
    before = repo.resolve("HEAD") if has_head else None
    sha = repo.commit_paths(rel, message, allow_empty=True)
    assert sha is not None  # allow_empty: always a commit
    trees = repo.out("rev-parse", f"{before}^{{tree}}", f"{sha}^{{tree}}").split() if before else []
    run_only = len(trees) == 2 and trees[0] == trees[1]
    return CommitResult(sha, message, len(result.changes), run_only)


def commit_message(
    changes: list[Change],
    resources: int,
    failed: list[str],
    initial: bool,
    run: RunRecord,
    top: int = 20,
    left_out: list[str] | None = None,
) -> str:
    """``git log`` alone reads as an audit trail: counts, then the most severe lines, then
    the failed parts, which :func:`rangediff.failed_parts` reads back, then the run record
    (one ``Driftaudit-Run:`` trailer) as the final paragraph, which
    :func:`rangediff.recorded_run` reads back.

    Every piece of resource data is put on its line with :func:`one_line` and behind a
    prefix: a tag value holding a line break cannot add a line, let alone a
    ``Driftaudit-Failed:`` or ``Driftaudit-Run:`` trailer."""
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
        # Every part, the derived ones too (collapse.py folds them for reading): the audit
        # trail names each resource that changed.
        parts = [p for c in changes for p in c.parts()]
        entries = [(d.severity, f"{c.label}: {d.text}") for c in parts for d in c.details] + [
            (c.severity, f"{c.type} {c.label}: {c.action}") for c in parts if not c.details
        ]
        entries.sort(key=lambda e: -severity_rank(e[0]))  # stable: keeps the diff's order
        lines.append("")
        lines.extend(f"[{sev}] {one_line(text)}" for sev, text in entries[:top])
        if len(entries) > top:
            lines.append(f"... and {len(entries) - top} more")
    if left_out:
        # Read whole and decided, not "could not read": their files are gone on purpose.
        lines += ["", LEFT_OUT_INTRO]
        lines.extend(f"  {one_line(v)}" for v in left_out)
    if failed:
        lines.append("")
        lines.append(FAILED_INTRO)
        lines.extend(f"{FAILED_TRAILER} {one_line(f)}" for f in failed)
    lines += ["", run.trailer()]
    return "\n".join(lines).rstrip() + "\n"
