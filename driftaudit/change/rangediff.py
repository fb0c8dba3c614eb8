"""Changes between two snapshots in git: only files whose blob id differs are read and
compared (one ``git diff-tree``, one ``git cat-file --batch``), then classified."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftaudit import layout
from driftaudit.change.differ import SEVERITIES, Change, compare, severity_rank
from driftaudit.change.severity import Rules, classify
from driftaudit.errors import ConfigError
from driftaudit.gitrepo import WORKTREE, Entry, Repo
from driftaudit.layout import parse_document, pathspecs, under

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
#: How ``snapshot --commit`` records failed parts (change/commit.py): a message starting with
#: MESSAGE_HEAD whose final paragraph is FAILED_INTRO, then one FAILED_TRAILER line per part.
MESSAGE_HEAD = "driftaudit snapshot: "
FAILED_INTRO = "Parts that could not be read or written (their previous files are kept):"
#: What earlier versions wrote as the intro; still read back.
FAILED_INTROS = (
    FAILED_INTRO,
    "Parts that could not be read (their previous files are kept):",
)
FAILED_TRAILER = "Driftaudit-Failed:"
#: git file modes that are not files: git stores a symbolic link as a blob holding its
#: target (mode 120000), and a submodule as a commit id (mode 160000).
NOT_FILES = {"120000": "is a symbolic link (git mode 120000)", "160000": "is a submodule"}
_FAILED_LINE = re.compile(
    rf"{FAILED_TRAILER} ((?:{layout.ACCOUNT})/(?:{layout.REGION})/(?:{layout.TYPE}) \S.*)"
)


@dataclass
class Revision:
    rev: str  # commit id, EMPTY_TREE, or WORKTREE
    label: str  # what the user asked for ("HEAD", "7 days ago", "working tree")
    time: str  # committer date (ISO), "" for the working tree / empty tree


@dataclass
class DiffResult:
    old: Revision
    new: Revision
    changes: list[Change] = field(default_factory=list)
    #: "file:line: problem" for snapshot files that no longer parse (the rest is compared).
    unreadable: list[str] = field(default_factory=list)
    #: Parts that failed in snapshots of the range ("account/region/type: reason").
    failed_parts: list[str] = field(default_factory=list)
    #: Changes per UTC day of the range's commits (see :func:`daily`); filled on request.
    days: list[dict[str, Any]] = field(default_factory=list)


def diff(
    repo: Repo,
    rel: str,
    old: Revision,
    new: Revision,
    types: tuple[str, ...] = (),
    rules: Rules | None = None,
) -> DiffResult:
    rules = rules or Rules()
    result = DiffResult(old, new)
    entries = []
    for e in repo.changed(old.rev, new.rev, rel):
        # Only snapshot files: other YAML/JSON kept beside them (notes, temporary files) is
        # not a resource, whatever the glob matched.
        old_at, new_at = under(e.path, rel), under(e.old_path or e.path, rel)
        location = old_at or new_at
        if location is not None and (not types or location.type in types):
            entries.append(e)
    entries = pair_format_switches(entries)
    sides = [
        side
        for e in entries
        for side in ((e.old, e.old_mode, e.old_path or e.path), (e.new, e.new_mode, e.path))
    ]
    blobs = repo.read_blobs([b for b, mode, _ in sides if b and mode not in NOT_FILES])
    for entry in entries:
        docs: list[dict[str, Any] | None] = []
        broken = False
        for blob, mode, where in (
            (entry.old, entry.old_mode, entry.old_path or entry.path),
            (entry.new, entry.new_mode, entry.path),
        ):
            if blob is None:
                docs.append(None)
                continue
            if mode in NOT_FILES:
                # What a link points to or a submodule holds is never read as a resource.
                result.unreadable.append(f"{where}:1: {NOT_FILES[mode]}, not a snapshot file")
                broken = True
                docs.append(None)
                continue
            doc, problem = parse_document(blobs[blob], where)
            if problem:
                result.unreadable.append(problem)
                broken = True
            docs.append(doc)
        if broken:
            continue
        change = compare(docs[0], docs[1], entry.path)
        if change is not None:
            result.changes.append(classify(change, rules))
    result.changes.sort(
        key=lambda c: (-severity_rank(c.severity), c.type, c.account, c.region, c.id)
    )
    if new.rev != WORKTREE:
        # From the empty tree (a first snapshot): every commit up to ``new`` counts.
        since = None if old.rev == EMPTY_TREE else old.rev
        result.failed_parts = failed_parts(repo, since, new.rev)
    return result


def pair_format_switches(entries: list[Entry]) -> list[Entry]:
    """A resource whose file went from .yaml to .json (``-f json``) is the same resource:
    pair the removed and the added file so content decides, not the extension."""
    removed = {e.path.rsplit(".", 1)[0]: e for e in entries if e.new is None}
    added = {e.path.rsplit(".", 1)[0]: e for e in entries if e.old is None}
    both = removed.keys() & added.keys()
    out = [e for e in entries if e.path.rsplit(".", 1)[0] not in both]
    out += [
        Entry(
            added[stem].path,
            removed[stem].old,
            added[stem].new,
            removed[stem].path,
            removed[stem].old_mode,
            added[stem].new_mode,
        )
        for stem in sorted(both)
    ]
    return out


def failed_parts(repo: Repo, old: str | None, new: str) -> list[str]:
    """Failures recorded by ``snapshot --commit`` in the commits of the range."""
    found: list[str] = []
    # No path limit: a partial snapshot that changed nothing else is an empty commit, which
    # touches no path but still records its failures.
    for _sha, body in repo.log_messages(old, new, ()):
        for item in recorded_failures(body):
            if item not in found:
                found.append(item)
    return found


def recorded_failures(message: str) -> list[str]:
    """The failed parts a commit message records, read only in the form driftaudit writes:
    a driftaudit snapshot commit whose final paragraph is the intro line followed by nothing
    but ``Driftaudit-Failed: ACCOUNT/REGION/TYPE reason`` lines. Anything else (another
    commit, such lines elsewhere, a paragraph with one line that is not ours) records none:
    what data or a person wrote cannot pass for a failure driftaudit saw."""
    if not message.startswith(MESSAGE_HEAD):
        return []
    paragraphs = message.strip("\n").split("\n\n")
    last = paragraphs[-1].split("\n")
    if len(paragraphs) < 2 or len(last) < 2 or last[0] not in FAILED_INTROS:
        return []
    matches = [_FAILED_LINE.fullmatch(line) for line in last[1:]]
    return [m.group(1) for m in matches if m] if all(matches) else []


def daily(
    repo: Repo,
    rel: str,
    old: Revision,
    new: Revision,
    types: tuple[str, ...] = (),
    rules: Rules | None = None,
) -> list[dict[str, Any]]:
    """Changes per UTC day of the committer date, for every first-parent commit of the range
    compared with its first parent; days without a commit count zero. A rule added one day
    and removed the next counts on both days although the period's diff shows neither: the
    chart shows what happened, the diff where it ended. The working tree has no date and is
    left out."""
    if new.rev == WORKTREE:
        if not repo.has_commits():
            return []
        end = repo.resolve("HEAD")
    else:
        end = new.rev
    span = end if old.rev == EMPTY_TREE else f"{old.rev}..{end}"
    counts: dict[dt.date, Counter[str]] = {}
    for line in repo.out(
        "log", "--first-parent", "--reverse", "--format=%H %ct %P", span
    ).splitlines():
        sha, stamp, *parents = line.split()
        parent = parents[0] if parents else EMPTY_TREE
        result = diff(repo, rel, Revision(parent, "", ""), Revision(sha, "", ""), types, rules)
        day = dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc).date()
        counts.setdefault(day, Counter()).update(c.severity for c in result.changes)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    out = []
    for n in range((last - first).days + 1):
        day = first + dt.timedelta(days=n)
        found = counts.get(day, Counter())
        out.append(
            {
                "date": day.isoformat(),
                "total": sum(found.values()),
                "by_severity": {s: found[s] for s in reversed(SEVERITIES) if found[s]},
            }
        )
    return out


def resolve_range(
    repo: Repo,
    rel: str,
    rev_a: str | None,
    rev_b: str | None,
    since: str | None,
    default_last_commit: bool = False,
) -> tuple[Revision, Revision]:
    """The two snapshots to compare, as ``git diff`` would pick them. Only the working tree
    against HEAD works in a shallow clone: everything else reads past commits (a revision,
    a time, the last commit's parent, the failed parts recorded in the range)."""
    paths = pathspecs(rel)
    if since or rev_a or rev_b or default_last_commit:
        repo.require_full_history("a diff or report over revisions")
    if since:
        if rev_a or rev_b:
            from driftaudit.gitrepo import GitError

            raise GitError("give either --since or revisions, not both")
        then = repo.as_of(since, paths)
        head = repo.resolve("HEAD")
        return (
            Revision(then, since, repo.commit_time(then)),
            Revision(head, "HEAD", repo.commit_time(head)),
        )
    if rev_a and rev_b:
        a, b = repo.resolve(rev_a), repo.resolve(rev_b)
        return Revision(a, rev_a, repo.commit_time(a)), Revision(b, rev_b, repo.commit_time(b))
    if rev_a:
        a = repo.resolve(rev_a)
        return Revision(a, rev_a, repo.commit_time(a)), Revision(WORKTREE, "working tree", "")
    if default_last_commit:
        head = repo.resolve("HEAD")
        parents = repo.out("rev-list", "--parents", "-n", "1", head).split()[1:]
        base = (
            Revision(parents[0], "HEAD^", repo.commit_time(parents[0]))
            if parents
            else Revision(EMPTY_TREE, "(nothing)", "")
        )
        return base, Revision(head, "HEAD", repo.commit_time(head))
    if repo.has_commits():
        head = repo.resolve("HEAD")
        return Revision(head, "HEAD", repo.commit_time(head)), Revision(
            WORKTREE, "working tree", ""
        )
    return Revision(EMPTY_TREE, "(nothing)", ""), Revision(WORKTREE, "working tree", "")


def diff_directory(
    directory: Path,
    revisions: tuple[str | None, str | None],
    since: str | None,
    types: tuple[str, ...] = (),
    config: Path | None = None,
    default_last_commit: bool = False,
    per_day: bool = False,
) -> DiffResult:
    """Open the repository holding ``directory``, pick the range, compare, classify (and,
    with ``per_day``, count the changes of each day for the report's chart)."""
    from driftaudit.change.severity import load_rules
    from driftaudit.gitrepo import open_repo

    repo, rel = open_repo(directory)
    found = repo.root / "driftaudit.yaml"
    if config is None and found.is_symlink():
        # The repository's content (a pull request's, maybe): never followed, as a link to
        # /etc/passwd would be quoted in the message. --config FILE is the user's choice.
        raise ConfigError(f"{found}: is a symbolic link; not followed (pass --config to use it)")
    if config is None and found.is_file():
        config = found
    rules = load_rules(config)
    old, new = resolve_range(repo, rel, revisions[0], revisions[1], since, default_last_commit)
    result = diff(repo, rel, old, new, types, rules)
    if per_day:
        result.days = daily(repo, rel, old, new, types, rules)
    return result
