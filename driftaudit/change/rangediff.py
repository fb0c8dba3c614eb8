"""Changes between two snapshots in git: only files whose blob id differs are read and
compared (one ``git diff-tree``, one ``git cat-file --batch``), then classified."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftaudit import layout
from driftaudit.aliases import account_aliases
from driftaudit.baseline.model import Ignore, partition
from driftaudit.canonread import parse_document
from driftaudit.change.collapse import collapse
from driftaudit.change.differ import SEVERITIES, Change, severity_rank
from driftaudit.change.prefixlists import see_through
from driftaudit.change.reads import Reads, sides
from driftaudit.change.severity import Rules, classify
from driftaudit.change.silence import Silenced, silence
from driftaudit.change.undone import undone
from driftaudit.errors import ConfigError
from driftaudit.gitrepo import WORKTREE, Entry, GitError, Repo
from driftaudit.layout import pathspecs, under
from driftaudit.textsafe import one_line
from driftaudit.times import parse_when

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
#: Every ``snapshot --commit`` records its run: the message's final paragraph is this one
#: trailer line alone (see :class:`RunRecord`), so a run that changed nothing is an empty
#: commit and still a sample. git reads it as a trailer: ``git log
#: --format='%(trailers:key=Driftaudit-Run,valueonly)'``.
RUN_TRAILER = "Driftaudit-Run:"
_LIST = r"(?:{0})(?:,(?:{0}))*"
_RUN_LINE = re.compile(
    rf"{RUN_TRAILER} accounts=({_LIST.format(layout.ACCOUNT)})"
    rf" regions=({_LIST.format(layout.REGION)}) types=({_LIST.format(layout.TYPE)})"
    r" parts=(\d{1,9}) failed=(\d{1,9}) resources=(\d{1,12}) dir=(\S.*)"
)


@dataclass(frozen=True)
class RunRecord:
    """What one ``snapshot --commit`` run read, as its commit records it: the accounts,
    regions and types of the run (the regions of every account together), how many
    (account, region, type) parts it had, how many of them failed (named in the
    ``Driftaudit-Failed:`` lines before it), how many resources it read, and the snapshot
    directory it wrote, relative to the repository's root (``.`` for the root; several
    directories may share a repository, and a run is a sample of its own only)."""

    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    types: tuple[str, ...]
    parts: int
    failed: int
    resources: int
    directory: str

    def trailer(self) -> str:
        return (
            f"{RUN_TRAILER} accounts={','.join(self.accounts)} regions={','.join(self.regions)}"
            f" types={','.join(self.types)} parts={self.parts} failed={self.failed}"
            f" resources={self.resources} dir={one_line(self.directory)}"
        )

    def of(self, rel: str) -> bool:
        """Whether this run wrote the snapshot directory ``rel`` (as :func:`open_repo` names
        it)."""
        return self.directory == one_line(rel)


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
    #: Spans of days in the range without a run (see :func:`days_without_run`).
    days_without_run: list[dict[str, Any]] = field(default_factory=list)
    #: account -> the alias shown beside it (:mod:`driftaudit.aliases`).
    aliases: dict[str, str] = field(default_factory=dict)
    #: What driftaudit.yaml's ignore rules silenced, and the rules past their ``until``.
    ignored: Silenced = field(default_factory=Silenced)
    expired: list[Ignore] = field(default_factory=list)
    #: Changes made and undone within the range (see :func:`undone`); filled with ``days``.
    undone: list[dict[str, Any]] = field(default_factory=list)
    #: One-line notes on how the range was read (said on stderr by the commands).
    notes: list[str] = field(default_factory=list)
    #: The driftaudit.yaml read (``--config`` or the repository's), if any.
    config: Path | None = None
    #: Whether a run of DIR is recorded in the range (None: not looked at, the working tree).
    ran: bool | None = None
    #: The work the command's diffs shared (:class:`driftaudit.change.reads.Reads`' stats:
    #: blobs read, documents parsed, pairs compared and reused); not rendered.
    stats: dict[str, int] = field(default_factory=dict)


def diff(
    repo: Repo,
    rel: str,
    old: Revision,
    new: Revision,
    types: tuple[str, ...] = (),
    rules: Rules | None = None,
    ignores: Sequence[Ignore] = (),
    day: dt.date | None = None,
    reads: Reads | None = None,
    failures: bool = True,
) -> DiffResult:
    """The changes between two revisions of DIR, classified, silenced by the ignore rules in
    force on ``day`` (default: the newer revision's day, today for the working tree) and
    collapsed into logical changes (:mod:`driftaudit.change.collapse`). ``reads``: what the
    command's other diffs read and compared (:mod:`driftaudit.change.reads`); ``failures``:
    whether to list the failed parts the range's commits record (one more ``git log``)."""
    rules = rules or Rules()
    reads = reads or Reads(repo, parse_document)
    result = DiffResult(old, new)
    entries = diff_entries(reads, rel, old.rev, new.rev, types)
    docs = reads.documents(
        (blob, where)
        for e in entries
        if not reads.known(e)
        for blob, mode, where in sides(e)
        if blob is not None and readable(mode)
    )
    for entry in entries:
        pair: list[dict[str, Any] | None] = []
        broken = False
        for blob, mode, where in () if reads.known(entry) else sides(entry):
            if blob is None:
                pair.append(None)
            elif not readable(mode):
                # What a link points to or a submodule holds is never read as a resource.
                result.unreadable.append(f"{where}:1: {NOT_FILES[mode]}, not a snapshot file")
                broken = True
            else:
                doc, problem = docs[(blob, where)]
                if problem:
                    result.unreadable.append(problem)
                    broken = True
                pair.append(doc)
        if broken:
            continue
        change = reads.change(entry, (pair[0], pair[1]) if pair else (None, None))
        if change is not None:
            result.changes.append(classify(change, rules))
    # A prefix list's entries are a change to the rules using it: rated again through them.
    for problem in see_through(repo, rel, new.rev, result.changes, rules):
        if problem not in result.unreadable:
            result.unreadable.append(problem)
    if ignores:
        active, result.expired = partition(ignores, day or revision_day(repo, new))
        result.changes, result.ignored = silence(result.changes, active)
    result.changes = collapse(result.changes)
    result.changes.sort(
        key=lambda c: (-severity_rank(c.severity), c.type, c.account, c.region, c.id)
    )
    if failures and new.rev != WORKTREE:
        # From the empty tree (a first snapshot): every commit up to ``new`` counts.
        since = None if old.rev == EMPTY_TREE else old.rev
        result.failed_parts = failed_parts(repo, since, new.rev)
    return result


def readable(mode: str) -> bool:
    """Whether a side of this git mode is read as a snapshot file (links, submodules not)."""
    return mode not in NOT_FILES


def diff_entries(
    reads: Reads, rel: str, old: str, new: str, types: tuple[str, ...] = ()
) -> list[Entry]:
    """The snapshot files of DIR (of ``types``) that differ between two revisions."""
    entries = []
    for e in reads.changed(old, new, rel):
        # Only snapshot files: other YAML/JSON kept beside them (notes, temporary files) is
        # not a resource, whatever the glob matched.
        old_at, new_at = under(e.path, rel), under(e.old_path or e.path, rel)
        location = old_at or new_at
        if location is not None and (not types or location.type in types):
            entries.append(e)
    return pair_format_switches(entries)


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
    if len(paragraphs) > 2 and _run_paragraph(paragraphs[-1]) is not None:
        paragraphs.pop()  # since runs are recorded, the failures come just before the run
    last = paragraphs[-1].split("\n")
    if len(paragraphs) < 2 or len(last) < 2 or last[0] not in FAILED_INTROS:
        return []
    matches = [_FAILED_LINE.fullmatch(line) for line in last[1:]]
    return [m.group(1) for m in matches if m] if all(matches) else []


def recorded_run(message: str) -> RunRecord | None:
    """The run a commit message records, read only in the form driftaudit writes: a
    driftaudit snapshot commit whose final paragraph is one ``Driftaudit-Run:`` line of
    exactly :meth:`RunRecord.trailer`'s form. Every line ``snapshot --commit`` writes from
    data is on a line of its own behind a prefix (``[critical] ``, ``Driftaudit-Failed: ``),
    so no tag value or AWS message can make or end that paragraph. Commits of earlier
    versions record none (they made no commit for a run that changed nothing)."""
    if not message.startswith(MESSAGE_HEAD):
        return None
    paragraphs = message.strip("\n").split("\n\n")
    return _run_paragraph(paragraphs[-1]) if len(paragraphs) >= 2 else None


def _run_paragraph(paragraph: str) -> RunRecord | None:
    found = _RUN_LINE.fullmatch(paragraph)
    if found is None:
        return None
    accounts, regions, types, parts, failed, resources, directory = found.groups()
    return RunRecord(
        tuple(accounts.split(",")),
        tuple(regions.split(",")),
        tuple(types.split(",")),
        int(parts),
        int(failed),
        int(resources),
        directory,
    )


@dataclass(frozen=True)
class RangeCommit:
    """A first-parent commit of a range: its first parent (EMPTY_TREE for a root commit),
    the UTC day of its committer date, whether it changes a snapshot file of DIR against
    that parent, and whether it is a run of DIR (see :func:`range_commits`)."""

    sha: str
    parent: str
    day: dt.date
    changes_files: bool
    run: bool


def range_commits(repo: Repo, rel: str, old: Revision, new: Revision) -> list[RangeCommit]:
    """The first-parent commits of the range, oldest first (the working tree is HEAD's).

    A commit is a run when it changes a snapshot file of DIR (whoever made it: it is a
    sample), records a run of DIR (``Driftaudit-Run:``: an empty commit for a run that
    changed nothing) or records failed parts (how earlier versions committed a partial run
    that changed nothing). Any other commit (notes, baselines, another directory's run) is
    not."""
    if new.rev == WORKTREE:
        if not repo.has_commits():
            return []
        end = repo.resolve("HEAD")
    else:
        end = new.rev
    span = end if old.rev == EMPTY_TREE else f"{old.rev}..{end}"
    # With --first-parent a merge is compared with its first parent, as diff() compares it.
    touched = set(
        repo.out("log", "--first-parent", "--format=%H", span, "--", *pathspecs(rel)).split()
    )
    out = []
    raw = repo.out("log", "--first-parent", "--reverse", "-z", "--format=%H %ct %P%n%B", span)
    for record in raw.split("\0"):
        if not record.strip():
            continue
        header, _, body = record.strip("\n").partition("\n")
        sha, stamp, *parents = header.split()
        record_of_run = recorded_run(body)
        changes_files = sha in touched
        out.append(
            RangeCommit(
                sha,
                parents[0] if parents else EMPTY_TREE,
                dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc).date(),
                changes_files,
                changes_files
                or (record_of_run is not None and record_of_run.of(rel))
                or bool(recorded_failures(body)),
            )
        )
    return out


def period_days(repo: Repo, old: Revision, commits: list[RangeCommit]) -> list[dt.date]:
    """The UTC days a range covers: from the day after its old snapshot (so that days
    without a run right after it show) or its first commit's day, whichever is earlier, to
    its last commit's day. None without a commit in the range."""
    if not commits:
        return []
    first, last = min(c.day for c in commits), max(c.day for c in commits)
    if old.rev not in (EMPTY_TREE, WORKTREE):
        if old.time:  # the committer date resolve_range read
            then = dt.datetime.fromisoformat(old.time).astimezone(dt.timezone.utc)
        else:
            then = _commit_time(repo, old.rev)
        first = min(first, then.date() + dt.timedelta(1))
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def daily(
    repo: Repo,
    rel: str,
    old: Revision,
    new: Revision,
    types: tuple[str, ...] = (),
    rules: Rules | None = None,
) -> list[dict[str, Any]]:
    """Changes and runs per UTC day (see :func:`period`)."""
    return period(repo, rel, old, new, types, rules)[0]


def period(
    repo: Repo,
    rel: str,
    old: Revision,
    new: Revision,
    types: tuple[str, ...] = (),
    rules: Rules | None = None,
    ignores: Sequence[Ignore] = (),
    final: Sequence[Change] = (),
    reads: Reads | None = None,
    commits: list[RangeCommit] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Changes and runs per UTC day of the committer date (see :func:`period_days`), for
    every first-parent commit of the range compared with its first parent (logical changes,
    ignore rules in force on that day), and the changes made and undone within the range
    (:func:`undone`, against ``final``: the range's own diff). ``runs`` 0 is a day no
    snapshot was recorded (nothing is known of it); ``runs`` 1 or more with ``total`` 0 a
    quiet day. A rule added one day and removed the next counts on both days although the
    period's diff shows neither: the chart shows what happened, the diff where it ended, and
    the undone list what the diff no longer shows. The working tree has no date and is left
    out. ``reads`` (shared with the range's diff) and ``commits`` (:func:`range_commits`)
    save reading and comparing again what the command already did."""
    if commits is None:
        commits = range_commits(repo, rel, old, new)
    counts: dict[dt.date, Counter[str]] = {}
    runs: Counter[dt.date] = Counter(c.day for c in commits if c.run)
    seen: list[tuple[RangeCommit, list[Change]]] = []
    for c in commits:
        found = counts.setdefault(c.day, Counter())
        if c.changes_files:  # a run record or another commit changes nothing to count
            result = diff(
                repo,
                rel,
                Revision(c.parent, "", ""),
                Revision(c.sha, "", ""),
                types,
                rules,
                ignores,
                c.day,
                reads,
                failures=False,  # the range's own diff lists them
            )
            found.update(change.severity for change in result.changes)
            seen.append((c, result.changes))
    out = []
    for day in period_days(repo, old, commits):
        found = counts.get(day, Counter())
        out.append(
            {
                "date": day.isoformat(),
                "total": sum(found.values()),
                "by_severity": {s: found[s] for s in reversed(SEVERITIES) if found[s]},
                "runs": runs[day],
            }
        )
    return out, undone([(c.day, c.sha, changes) for c, changes in seen], final)


def days_without_run(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The days of ``days`` (as :func:`daily` or :func:`run_days` give them) with no run,
    consecutive ones joined: ``{"from": date, "to": date, "days": n}``."""
    spans: list[dict[str, Any]] = []
    for d in days:
        if d["runs"]:
            continue
        day = dt.date.fromisoformat(d["date"])
        if spans and dt.date.fromisoformat(spans[-1]["to"]) + dt.timedelta(1) == day:
            spans[-1]["to"] = d["date"]
            spans[-1]["days"] += 1
        else:
            spans.append({"from": d["date"], "to": d["date"], "days": 1})
    return spans


def run_days(repo: Repo, rel: str, old: Revision, new: Revision) -> list[dict[str, Any]]:
    """Runs per UTC day of the range, as :func:`daily` counts them, without comparing any
    commit (two ``git log``): what text reports need to name the days without a run."""
    commits = range_commits(repo, rel, old, new)
    runs = Counter(c.day for c in commits if c.run)
    return [{"date": d.isoformat(), "runs": runs[d]} for d in period_days(repo, old, commits)]


def resolve_range(
    repo: Repo,
    rel: str,
    rev_a: str | None,
    rev_b: str | None,
    since: str | None,
    default_last_commit: bool = False,
    notes: list[str] | None = None,
) -> tuple[Revision, Revision]:
    """The two snapshots to compare, as ``git diff`` would pick them. Only the working tree
    against HEAD works in a shallow clone: everything else reads past commits (a revision,
    a time, the last snapshot commit's parent, the failed parts recorded in the range).

    ``--since`` earlier than the first snapshot means from the first snapshot (a line in
    ``notes`` says so), and ``default_last_commit`` (``report``'s default) what the last
    snapshot commit changed (:func:`last_snapshot_commit`)."""
    paths = pathspecs(rel)
    if since or rev_a or rev_b or default_last_commit:
        repo.require_full_history("a diff or report over revisions")
    if since:
        if rev_a or rev_b:
            raise GitError("give either --since or revisions, not both")
        then = _since(repo, since, paths, notes)
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
        last = last_snapshot_commit(repo, rel)
        label = "HEAD" if last == repo.resolve("HEAD") else last[:12]
        parents = repo.out("rev-list", "--parents", "-n", "1", last).split()[1:]
        base = (
            Revision(parents[0], f"{label}^", repo.commit_time(parents[0]))
            if parents
            else Revision(EMPTY_TREE, "(nothing)", "")
        )
        return base, Revision(last, label, repo.commit_time(last))
    if repo.has_commits():
        head = repo.resolve("HEAD")
        return Revision(head, "HEAD", repo.commit_time(head)), Revision(
            WORKTREE, "working tree", ""
        )
    return Revision(EMPTY_TREE, "(nothing)", ""), Revision(WORKTREE, "working tree", "")


def _since(repo: Repo, since: str, paths: Sequence[str], notes: list[str] | None) -> str:
    """The snapshot as of ``since``; the first snapshot when ``since`` is earlier (a weekly
    report on a repository started three days ago covers those three days)."""
    try:
        return repo.as_of(since, paths)
    except GitError:
        if not repo.has_commits():
            raise
        first = repo.out("rev-list", "--reverse", "HEAD", "--", *paths).split()
        if not first or parse_when(since) >= _commit_time(repo, first[0]):
            raise
    if notes is not None:
        notes.append(
            f"--since {one_line(since)!r} is before the first snapshot "
            f"({repo.commit_time(first[0])}): comparing from the first snapshot, "
            f"commit {first[0][:12]}"
        )
    return first[0]


def _commit_time(repo: Repo, rev: str) -> dt.datetime:
    # git log, not git show (which takes 20-50 ms more on a large repository).
    stamp = int(repo.out("log", "-1", "--format=%ct", rev, "--").strip())
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc)


def revision_day(repo: Repo, rev: Revision) -> dt.date:
    """The UTC day of a revision's snapshot (its committer date); today for the working
    tree, which is what the files are now."""
    if rev.rev in (WORKTREE, EMPTY_TREE):
        return dt.datetime.now(dt.timezone.utc).date()
    return _commit_time(repo, rev.rev).date()


def is_run(sha: str, body: str, rel: str, touched: set[str]) -> bool:
    """:func:`range_commits`' test: a commit that changes a snapshot file of DIR (``touched``),
    or records a run of DIR or failed parts."""
    found = recorded_run(body)
    return sha in touched or (found is not None and found.of(rel)) or bool(recorded_failures(body))


def last_snapshot_commit(repo: Repo, rel: str) -> str:
    """The last first-parent commit of HEAD that is a run of DIR (:func:`is_run`): what a
    report without a range shows. Baseline edits, notes and another directory's runs after
    it are skipped."""
    if not repo.has_commits():
        raise GitError(f"{repo.root} has no commits yet (snapshot with --commit first)")
    touched = repo.out("rev-list", "--first-parent", "-1", "HEAD", "--", *pathspecs(rel)).strip()
    span = f"{touched}..HEAD" if touched else "HEAD"
    raw = repo.out("log", "--first-parent", "-z", "--format=%H%n%B", span)
    for record in raw.split("\0"):  # newest first
        sha, _, body = record.strip("\n").partition("\n")
        if sha and is_run(sha, body, rel, set()):
            return sha
    if not touched:
        raise GitError(f"no snapshot commit of {rel} in {repo.root} (snapshot with --commit first)")
    return touched


def diff_directory(
    directory: Path,
    revisions: tuple[str | None, str | None],
    since: str | None,
    types: tuple[str, ...] = (),
    config: Path | None = None,
    default_last_commit: bool = False,
    per_day: bool = False,
) -> DiffResult:
    """Open the repository holding ``directory``, pick the range, compare, classify, silence
    what driftaudit.yaml ignores, collapse (and, with ``per_day``, count the changes of each
    day for the report's chart and list those undone within the range)."""
    from driftaudit.gitrepo import open_repo

    repo, rel = open_repo(directory)
    path = repository_config(repo, config)
    rules = repository_rules(repo, config)
    ignores = repository_ignores(repo, path)
    notes: list[str] = []
    old, new = resolve_range(
        repo, rel, revisions[0], revisions[1], since, default_last_commit, notes
    )
    reads = Reads(repo, parse_document)
    commits = range_commits(repo, rel, old, new) if per_day else []
    if per_day:
        # The range's diff and each commit's share what they read and compare: announced
        # first, so that a document or a change is kept until its last use, then dropped.
        for a, b in [(old.rev, new.rev), *((c.parent, c.sha) for c in commits if c.changes_files)]:
            reads.expect(diff_entries(reads, rel, a, b, types), readable)
    result = diff(repo, rel, old, new, types, rules, ignores, reads=reads)
    result.notes, result.config = notes, path
    # Days without a run are named by every format (cheap: two git log); the changes of each
    # day only for the chart and the undone list (one diff per commit).
    if per_day:
        result.days, result.undone = period(
            repo, rel, old, new, types, rules, ignores, result.changes, reads, commits
        )
    result.stats = dict(reads.stats)
    runs = result.days if per_day else run_days(repo, rel, old, new)
    result.days_without_run = days_without_run(runs)
    if new.rev != WORKTREE:
        result.ran = any(d["runs"] for d in runs)
    result.aliases = account_aliases(repo, rel, new.rev, path)
    return result


def repository_ignores(repo: Repo, path: Path | None) -> list[Ignore]:
    """The ignore rules of the config file ``path`` (none without one: then neither the
    config reader nor its schema checks are imported)."""
    if path is None:
        return []
    from driftaudit.baseline.load import config_ignores

    return config_ignores(path, repo.root)


def repository_rules(repo: Repo, config: Path | None) -> Rules:
    """The severity rules of :func:`repository_config`, else the built-in ones."""
    from driftaudit.change.severity import load_rules

    return load_rules(repository_config(repo, config))


def repository_config(repo: Repo, config: Path | None) -> Path | None:
    """``config`` (``--config FILE``), else ``driftaudit.yaml`` at the repository's root
    when there is one."""
    return config_file(repo.root, config)


def config_file(root: Path | None, config: Path | None) -> Path | None:
    """``config`` (``--config FILE``), else ``driftaudit.yaml`` in ``root`` (the
    repository's root) when there is one."""
    if config is not None or root is None:
        return config
    found = root / "driftaudit.yaml"
    if found.is_symlink():
        # The repository's content (a pull request's, maybe): never followed, as a link to
        # /etc/passwd would be quoted in the message. --config FILE is the user's choice.
        raise ConfigError(f"{found}: is a symbolic link; not followed (pass --config to use it)")
    return found if found.is_file() else None


def commit_changes(directory: Path, sha: str, config: Path | None = None) -> DiffResult:
    """What one commit changed in the snapshot files of ``directory``: the commit against its
    first parent (the empty tree for a root commit), classified as ``diff`` classifies. It
    reads the commit and its parent only, so it works in a shallow clone when the commit was
    made on top of its tip (``snapshot --commit --fail-on`` in a CI checkout). The ignore
    rules of driftaudit.yaml apply, as they do to ``diff``."""
    from driftaudit.baseline.load import config_ignores
    from driftaudit.gitrepo import open_repo

    repo, rel = open_repo(directory)
    rules = repository_rules(repo, config)
    ignores = config_ignores(repository_config(repo, config), repo.root)
    parents = repo.out("rev-list", "--parents", "-n", "1", sha).split()[1:]
    old = Revision(parents[0], f"{sha}^", "") if parents else Revision(EMPTY_TREE, "(nothing)", "")
    return diff(repo, rel, old, Revision(sha, sha, ""), rules=rules, ignores=ignores)
