"""The history index: when each address was held and each rule existed, as intervals of
samples, in ``DIR/.driftaudit/history.sqlite`` (git-ignored).

A sample is a commit of the first-parent chain of HEAD that changes a snapshot file (a merge
is diffed against its first parent, so what it merges in counts at the merge). Intervals are
inclusive ranges of sample numbers ``[from_seq, to_seq]``, ``to_seq`` NULL while still open
at the last sample, so every query is SQL over two small tables.

The index is derived data, never trusted: it is updated incrementally when the commit it was
built at is still on HEAD's first-parent chain (a new commit costs only the files it
changes), and rebuilt from scratch when it is missing, damaged (not SQLite, failed
``quick_check``, wrong schema version, inconsistent) or when history was rewritten.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftaudit import layout
from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import GitError, Repo, open_repo
from driftaudit.history.gitlog import Commit, snapshot_commits, stream_blobs
from driftaudit.history.holders import (
    HOLDER_TYPES,
    Holding,
    alive,
    attached_instance,
    holdings,
    released,
)
from driftaudit.history.rules import span, to_blob
from driftaudit.rule import rules_of

SCHEMA_VERSION = "1"
TRACKED = (*HOLDER_TYPES, "security_groups")
INDEX_DIR = ".driftaudit"
INDEX_FILE = "history.sqlite"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE samples(seq INTEGER PRIMARY KEY, sha TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE resources(
  type TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, rid TEXT NOT NULL,
  path TEXT NOT NULL, alive INTEGER NOT NULL, attached TEXT, facts TEXT,
  PRIMARY KEY (type, account, region, rid)) WITHOUT ROWID;
CREATE TABLE held(
  id INTEGER PRIMARY KEY, type TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,
  rid TEXT NOT NULL, address TEXT NOT NULL, scope TEXT NOT NULL, via TEXT NOT NULL,
  family INTEGER NOT NULL, lo BLOB NOT NULL, hi BLOB NOT NULL, is_range INTEGER NOT NULL,
  from_seq INTEGER NOT NULL, to_seq INTEGER);
CREATE INDEX held_point ON held(family, lo) WHERE is_range = 0;
CREATE INDEX held_range ON held(family, lo, hi) WHERE is_range = 1;
CREATE INDEX held_open ON held(to_seq) WHERE to_seq IS NULL;
CREATE TABLE rules(
  id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
  group_id TEXT NOT NULL, group_name TEXT NOT NULL, direction TEXT NOT NULL,
  protocol TEXT NOT NULL, from_port INTEGER, to_port INTEGER, source_type TEXT NOT NULL,
  source TEXT NOT NULL, description TEXT, rule_id TEXT, family INTEGER, lo BLOB, hi BLOB,
  from_seq INTEGER NOT NULL, to_seq INTEGER);
CREATE INDEX rules_span ON rules(family, lo, hi);
CREATE INDEX rules_group ON rules(group_id);
CREATE INDEX rules_open ON rules(to_seq) WHERE to_seq IS NULL;
CREATE TABLE problems(path TEXT NOT NULL, sha TEXT NOT NULL, message TEXT NOT NULL);
"""

Key = tuple[str, str, str, str]  # (type, account, region, resource id)
#: (Direction, Protocol, FromPort, ToPort, SourceType, Source): what a rule allows.
RuleKey = tuple[str, str, Any, Any, str, str]
HELD_TO, RULE_TO = 13, 17  # position of to_seq in a held / rules row
#: Unreadable files named on stderr by an update (all are counted, and kept in the index).
MAX_SHOWN_PROBLEMS = 20


@dataclass
class UpdateStats:
    mode: str = "none"  # none | incremental | full
    reason: str = ""  # why a full build was needed
    commits: int = 0  # snapshot commits processed
    files: int = 0  # snapshot files read and parsed
    unreadable: int = 0  # of which did not parse (their resource keeps its last state)
    #: "file:line: problem (commit abc123)" of the first unreadable files, for the user.
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "commits": self.commits,
            "files": self.files,
            "unreadable": self.unreadable,
        }


@dataclass
class Index:
    db: sqlite3.Connection
    head: str
    samples: int
    stats: UpdateStats

    def close(self) -> None:
        self.db.close()


@dataclass
class _Res:
    path: str
    alive: bool
    attached: str | None
    #: Kept for what depends on an instance (attached is set): re-checked when it goes.
    facts: list[Holding] | None


# --- paths ------------------------------------------------------------------------------


def _key_of(path: str, rel: str) -> Key | None:
    at = layout.under(path, rel)
    if at is None or at.type not in TRACKED:
        return None
    return (at.type, at.account, at.region, at.id)


# --- building ----------------------------------------------------------------------------


class _Builder:
    """Applies snapshot commits, in order, to the intervals. State is loaded once (empty for a
    full build) and written back in one transaction with executemany."""

    def __init__(self, db: sqlite3.Connection, rel: str, full: bool) -> None:
        self.db, self.rel, self.full = db, rel, full
        self.stats = UpdateStats()
        self.seq = db.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()[0]
        self.samples: list[tuple[int, str, int]] = []
        self.resources: dict[Key, _Res] = {}
        self.attached_to: dict[tuple[str, str, str], set[Key]] = {}
        self.open_held: dict[Key, dict[Holding, int]] = {}
        self.open_rules: dict[Key, dict[RuleKey, int]] = {}
        self.new_held: dict[int, list[Any]] = {}
        self.new_rules: dict[int, list[Any]] = {}
        self.closed_held: list[tuple[int, int]] = []
        self.closed_rules: list[tuple[int, int]] = []
        self.rule_attrs: dict[int, tuple[str, Any, Any]] = {}  # id -> (group name, descr, id)
        self.rule_attrs_changed: set[int] = set()
        self.dirty_resources: set[Key] = set()
        self.problems: list[tuple[str, str, str]] = []
        self.next_id = 1 + max(
            db.execute("SELECT coalesce(max(id), 0) FROM held").fetchone()[0],
            db.execute("SELECT coalesce(max(id), 0) FROM rules").fetchone()[0],
        )
        if not full:
            self._load()

    def _load(self) -> None:
        for t, a, r, rid, path, is_alive, attached, facts in self.db.execute(
            "SELECT type, account, region, rid, path, alive, attached, facts FROM resources"
        ):
            held = [Holding(*f) for f in json.loads(facts)] if facts else None
            self.resources[(t, a, r, rid)] = _Res(path, bool(is_alive), attached, held)
            if attached:
                self.attached_to.setdefault((a, r, attached), set()).add((t, a, r, rid))
        for hid, t, a, r, rid, address, scope, via in self.db.execute(
            "SELECT id, type, account, region, rid, address, scope, via FROM held "
            "WHERE to_seq IS NULL"
        ):
            self.open_held.setdefault((t, a, r, rid), {})[Holding(address, scope, via)] = hid
        for row in self.db.execute(
            "SELECT id, account, region, group_id, direction, protocol, from_port, to_port, "
            "source_type, source, group_name, description, rule_id FROM rules "
            "WHERE to_seq IS NULL"
        ):
            key: Key = ("security_groups", row[1], row[2], row[3])
            self.open_rules.setdefault(key, {})[tuple(row[4:10])] = row[0]
            self.rule_attrs[row[0]] = (row[10], row[11], row[12])

    # -- one commit ---------------------------------------------------------------------

    def apply(self, commit: Commit, docs: dict[str, dict[str, Any] | str]) -> None:
        """``docs``: path -> parsed document, or a parse error message."""
        self.seq += 1
        seq = self.seq
        self.samples.append((seq, commit.sha, commit.time))
        self.stats.commits += 1
        touched: dict[Key, dict[str, Any] | None] = {}
        paths: dict[Key, str] = {}
        # Deletions first: a file renamed from .yaml to .json in one commit is the same
        # resource, still present.
        for path, blob in commit.changes:
            key = _key_of(path, self.rel)
            if key is None or blob is not None:  # (untracked types were filtered out)
                continue
            res = self.resources.get(key)
            if res is not None and res.path == path:
                touched[key], paths[key] = None, path
        for path, blob in commit.changes:
            key = _key_of(path, self.rel)
            if key is None or blob is None:
                continue
            doc = docs[path]
            if isinstance(doc, str):
                self.problems.append((path, commit.sha, doc))
                self.stats.unreadable += 1
                if len(self.stats.problems) < MAX_SHOWN_PROBLEMS:
                    self.stats.problems.append(f"{doc} (commit {commit.sha[:12]})")
                touched.pop(key, None)
                continue
            touched[key], paths[key] = doc["resource"], path
        dirty: dict[Key, list[Holding] | None] = {}
        for key, resource in touched.items():
            if key[0] == "security_groups":
                self._sync_rules(key, paths[key], resource, seq)
            else:
                dirty[key] = self._update(key, paths[key], resource, dirty)
        for key, facts in dirty.items():
            self._sync_held(key, facts, seq)

    def _update(
        self,
        key: Key,
        path: str,
        resource: dict[str, Any] | None,
        dirty: dict[Key, list[Holding] | None],
    ) -> list[Holding]:
        """Record a holder resource's new state; return what it holds by its own document."""
        rtype, account, region, rid = key
        old = self.resources.pop(key, None)
        self.dirty_resources.add(key)
        if old is not None and old.attached:
            self.attached_to.get((account, region, old.attached), set()).discard(key)
        was_alive = old is not None and old.alive
        facts: list[Holding] = []
        exists = False
        if resource is not None:
            facts = holdings(rtype, resource)
            exists = alive(rtype, resource)
            attached = attached_instance(rtype, resource, account)
            self.resources[key] = _Res(path, exists, attached, facts if attached else None)
            if attached:
                self.attached_to.setdefault((account, region, attached), set()).add(key)
        if rtype == "instances" and exists != was_alive:
            # What is attached to it holds less from this snapshot on (holders.released).
            for dependent in self.attached_to.get((account, region, rid), ()):
                dirty.setdefault(dependent, None)
        return facts

    def _effective(self, key: Key, facts: list[Holding] | None) -> list[Holding]:
        rtype, account, region, _ = key
        res = self.resources.get(key)
        if facts is None:  # re-checked because the instance it is attached to changed
            facts = (res.facts or []) if res else []
        if res is not None and res.attached:
            instance = self.resources.get(("instances", account, region, res.attached))
            if instance is None or not instance.alive:
                return released(rtype, facts)
        return facts

    def _sync_held(self, key: Key, facts: list[Holding] | None, seq: int) -> None:
        now = set(self._effective(key, facts))
        current = self.open_held.setdefault(key, {})
        for holding in [h for h in current if h not in now]:
            self._close(current.pop(holding), seq, self.new_held, HELD_TO, self.closed_held)
        for holding in sorted(now - current.keys()):
            s = span(holding.address)
            if s is None:  # holders.py only returns valid addresses
                continue
            hid = self._id()
            self.new_held[hid] = [
                hid,
                *key,
                holding.address,
                holding.scope,
                holding.via,
                s.family,
                to_blob(s.lo),
                to_blob(s.hi),
                int(s.lo != s.hi or "/" in holding.address),
                seq,
                None,
            ]
            current[holding] = hid
        if not current:
            self.open_held.pop(key, None)

    def _sync_rules(self, key: Key, path: str, resource: dict[str, Any] | None, seq: int) -> None:
        _, account, region, gid = key
        self.dirty_resources.add(key)
        if resource is None:
            self.resources.pop(key, None)
        else:
            self.resources[key] = _Res(path, True, None, None)
        name = str((resource or {}).get("GroupName") or "")
        wanted: dict[RuleKey, tuple[str, Any, Any]] = {}
        # parse_document has checked every rule (layout.document_problem): they all read.
        for rule in rules_of(resource or {}):
            rkey: RuleKey = (
                rule.direction,
                str(rule.raw.get("Protocol")),
                rule.from_port,
                rule.to_port,
                rule.source_type,
                rule.source,
            )
            wanted[rkey] = (name, rule.description, rule.rule_id)
        current = self.open_rules.setdefault(key, {})
        for rkey in [k for k in current if k not in wanted]:
            self._close(current.pop(rkey), seq, self.new_rules, RULE_TO, self.closed_rules)
        for rkey, attrs in wanted.items():
            rid = current.get(rkey)
            if rid is not None:
                # Same rule, new description or id: the window goes on, the label follows.
                if rid in self.new_rules:
                    self.new_rules[rid][4], self.new_rules[rid][11:13] = attrs[0], attrs[1:]
                elif self.rule_attrs.get(rid) != attrs:
                    self.rule_attrs[rid] = attrs
                    self.rule_attrs_changed.add(rid)
                continue
            s = span(rkey[5]) if rkey[4] in ("cidr", "cidr6") else None
            rid = self._id()
            self.new_rules[rid] = [
                rid,
                account,
                region,
                gid,
                name,
                *rkey,
                attrs[1],
                attrs[2],
                s.family if s else None,
                to_blob(s.lo) if s else None,
                to_blob(s.hi) if s else None,
                seq,
                None,
            ]
            current[rkey] = rid
        if not current:
            self.open_rules.pop(key, None)

    def _id(self) -> int:
        self.next_id += 1
        return int(self.next_id) - 1

    @staticmethod
    def _close(
        row_id: int, seq: int, new: dict[int, list[Any]], pos: int, closed: list[tuple[int, int]]
    ) -> None:
        # Last seen at the previous sample: the change happened between the two.
        if row_id in new:
            new[row_id][pos] = seq - 1
        else:
            closed.append((seq - 1, row_id))

    # -- writing --------------------------------------------------------------------------

    def write(self, head: str) -> None:
        db = self.db
        db.executemany("INSERT INTO samples VALUES (?, ?, ?)", self.samples)
        db.executemany(
            "INSERT INTO held VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.new_held.values(),
        )
        db.executemany("UPDATE held SET to_seq = ? WHERE id = ?", self.closed_held)
        db.executemany(
            "INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.new_rules.values(),
        )
        db.executemany("UPDATE rules SET to_seq = ? WHERE id = ?", self.closed_rules)
        db.executemany(
            "UPDATE rules SET group_name = ?, description = ?, rule_id = ? WHERE id = ?",
            [(*self.rule_attrs[i], i) for i in sorted(self.rule_attrs_changed)],
        )
        gone = [k for k in self.dirty_resources if k not in self.resources]
        db.executemany(
            "DELETE FROM resources WHERE type = ? AND account = ? AND region = ? AND rid = ?",
            gone,
        )
        db.executemany(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (*k, r.path, int(r.alive), r.attached, _facts_json(r.facts))
                for k in self.dirty_resources
                if (r := self.resources.get(k)) is not None
            ),
        )
        db.executemany("INSERT INTO problems VALUES (?, ?, ?)", self.problems)
        meta = {
            "schema": SCHEMA_VERSION,
            "rel": self.rel,
            "head": head,
            "samples": str(self.seq),
            "update": json.dumps(self.stats.as_dict(), sort_keys=True),
        }
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())


def _facts_json(facts: list[Holding] | None) -> str | None:
    return None if facts is None else json.dumps([list(f) for f in facts])


def _documents(
    repo: Repo, commits: list[Commit], stats: UpdateStats
) -> Iterator[tuple[Commit, dict[str, dict[str, Any] | str]]]:
    """Each commit with its changed files parsed, the blobs streamed in commit order."""
    wanted = [
        blob
        for c in commits
        for path, blob in c.changes
        if blob is not None and path not in c.special
    ]
    blobs = stream_blobs(repo, wanted)
    for commit in commits:
        docs: dict[str, dict[str, Any] | str] = {}
        for path, blob in commit.changes:
            if blob is None:
                continue
            if path in commit.special:
                # A link's blob is its target's name: never parsed as a document.
                what = "a symbolic link" if commit.special[path] == "120000" else "a submodule"
                docs[path] = f"{path}:1: is {what} in git (mode {commit.special[path]}), not a file"
                continue
            _, data = next(blobs)
            stats.files += 1
            doc, problem = layout.parse_document(data, path)
            docs[path] = doc if doc is not None else str(problem)
        yield commit, docs


def _process(repo: Repo, builder: _Builder, span: str, head: str) -> None:
    # Every snapshot commit is a sample, even one that changed no tracked type: it still
    # shows the tracked resources as they were then, which narrows every boundary.
    commits = snapshot_commits(repo, span, layout.pathspecs(builder.rel))
    for commit in commits:
        commit.changes = [(p, b) for p, b in commit.changes if _key_of(p, builder.rel)]
    for commit, docs in _documents(repo, commits, builder.stats):
        builder.apply(commit, docs)
    builder.write(head)


# --- opening, checking, updating ------------------------------------------------------------


class _Damaged(Exception):
    pass


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    db.execute("PRAGMA journal_mode = DELETE")
    return db


def _check(db: sqlite3.Connection, rel: str) -> dict[str, str]:
    """The index's meta when it can be trusted; _Damaged saying why when not."""
    try:
        result = db.execute("PRAGMA quick_check").fetchone()
        if not result or result[0] != "ok":
            raise _Damaged(f"damaged index ({result[0] if result else 'no answer'})")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema") != SCHEMA_VERSION:
            raise _Damaged(f"index schema {meta.get('schema')!r}, expected {SCHEMA_VERSION}")
        if meta.get("rel") != rel:
            raise _Damaged("index built for another directory")
        count, top = db.execute("SELECT count(*), coalesce(max(seq), 0) FROM samples").fetchone()
        if str(count) != meta.get("samples") or count != top or len(meta.get("head", "")) < 40:
            raise _Damaged("inconsistent index (sample count)")
        for table in ("held", "rules"):
            bad = db.execute(
                f"SELECT count(*) FROM {table} WHERE from_seq < 1 OR from_seq > ? "  # noqa: S608
                "OR to_seq < from_seq OR to_seq >= ?",
                (count, count),
            ).fetchone()[0]
            if bad:
                raise _Damaged(f"inconsistent index ({bad} bad intervals in {table})")
    except sqlite3.DatabaseError as e:
        raise _Damaged(f"damaged index ({e})") from e
    return meta


def _extends(repo: Repo, old: str, head: str) -> bool:
    """Whether ``old`` is on HEAD's first-parent chain (so only old..HEAD is new)."""
    proc = repo.git(
        "rev-list", "--first-parent", "--topo-order", "--parents", head, f"^{old}", check=False
    )
    lines = proc.stdout.decode().split() if proc.returncode == 0 else []
    if not lines:
        return False
    last = proc.stdout.decode().strip().splitlines()[-1].split()
    return len(last) > 1 and last[1] == old


def _ensure_dir(directory: Path) -> Path:
    store = directory / INDEX_DIR
    if store.is_symlink():
        # As for the run lock (driftaudit/lock.py): the index is never written through a link.
        raise DriftauditError(
            f"{store} is a symbolic link: driftaudit keeps its history index only in a real "
            "directory there (remove the link; the index is rebuilt)"
        )
    try:
        store.mkdir(exist_ok=True)
        ignore = store / ".gitignore"
        if not ignore.is_file():
            # Derived data: git ignores the whole directory, this file included.
            ignore.write_text("*\n", encoding="utf-8")
    except OSError as e:
        raise DriftauditError(f"cannot keep the history index in {store}: {e}") from e
    return store / INDEX_FILE


def _remove_dead_builds(path: Path) -> None:
    """A build killed before its rename leaves ``history.sqlite.tmp-PID`` behind: remove
    those whose process is gone (one whose process lives is another build at work)."""
    for tmp in path.parent.glob(f"{path.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _rebuild(repo: Repo, rel: str, path: Path, head: str, reason: str) -> UpdateStats:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp, isolation_level=None)
    try:
        # A throw-away file renamed into place when complete: no journal, no fsync per step.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.executescript(SCHEMA)
        db.execute("BEGIN")
        builder = _Builder(db, rel, full=True)
        builder.stats.mode, builder.stats.reason = "full", reason
        _process(repo, builder, head, head)
        db.execute("COMMIT")
    except BaseException:
        db.close()
        tmp.unlink(missing_ok=True)
        raise
    db.close()
    # A journal left by a crashed update of the old file must not be replayed into this one.
    for suffix in ("-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    return builder.stats


def open_index(directory: Path) -> Index:
    """The up-to-date index of the snapshot directory ``directory`` (updated or rebuilt as
    needed), open for queries."""
    repo, rel = open_repo(directory)
    if not repo.has_commits():
        raise GitError(f"{directory} has no snapshot commits yet (snapshot with --commit first)")
    repo.require_full_history("history")
    head = repo.resolve("HEAD")
    path = _ensure_dir(directory.resolve())
    try:
        mode: int | None = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        # Not ours to delete (driftaudit only ever makes a file there), and SQLite would
        # follow a link out of DIR.
        raise DriftauditError(
            f"{path} is not a file (the history index is one): move it away and run again"
        )
    _remove_dead_builds(path)
    reason = "no index yet"
    if path.exists():
        db = None
        try:
            db = _connect(path)
            db.execute("BEGIN IMMEDIATE")  # one updater at a time; readers wait for it
            meta = _check(db, rel)
            if meta["head"] == head:
                return _reading(db, head, UpdateStats())
            if _extends(repo, meta["head"], head):
                builder = _Builder(db, rel, full=False)
                builder.stats.mode = "incremental"
                _process(repo, builder, f"{meta['head']}..{head}", head)
                return _reading(db, head, builder.stats)
            reason = "history rewritten (the indexed commit is not on HEAD's first-parent chain)"
        except _Damaged as e:
            reason = str(e)
        except sqlite3.DatabaseError as e:
            reason = f"damaged index ({e})"
        except BaseException:
            if db is not None:
                db.close()
            raise
        if db is not None:
            db.close()  # rolls back whatever was begun
    stats = _rebuild(repo, rel, path, head, reason)
    return _reading(_connect(path), head, stats)


def _reading(db: sqlite3.Connection, head: str, stats: UpdateStats) -> Index:
    """End the update and keep one read transaction for the queries, so a concurrent
    update never shows them half of its changes."""
    if db.in_transaction:
        db.execute("COMMIT")
    db.execute("BEGIN")
    return Index(db, head, _samples(db), stats)


def _samples(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()[0])


def rows(db: sqlite3.Connection, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    return db.execute(sql, tuple(args)).fetchall()
