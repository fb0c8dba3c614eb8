"""The history index: when each address was held (and in which VPC, by what), each rule
existed, each instance or interface was in each security group, each prefix list held each
entry, each two VPCs were connected and each network ACL said what, as intervals of samples,
in ``DIR/.driftaudit/history.sqlite`` (git-ignored).

A sample is a commit of the first-parent chain of HEAD that changes a snapshot file (a merge
is diffed against its first parent, so what it merges in counts at the merge) or records a
run of ``snapshot --commit`` for this directory (a run that changed nothing is an empty
commit: the state was seen then, unchanged). Intervals are inclusive ranges of sample numbers
``[from_seq, to_seq]``, ``to_seq`` NULL while still open at the last sample, so every query is
SQL over a few small tables.

Each table is derived from one resource's document at a time (its "owner": the holder, the
group, the list, the ACL) except ``links``, whose owner is the peering connection or transit
gateway that route tables of several VPCs go through. A row's identity columns are what it
says (a change closes the row and opens another); its attribute columns only describe it
(a renamed holder keeps its window; the row shows the latest name).

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftaudit import layout
from driftaudit.collect.collectors import REGISTRY
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
from driftaudit.network import (
    LOCATED_ELSEWHERE,
    acl_entries,
    acl_subnets,
    holding_vpc,
    memberships,
    prefix_entries,
    resource_vpc,
    route_targets,
)
from driftaudit.rule import rules_of

SCHEMA_VERSION = "3"
#: The types read for history; the others are never read. managed_prefix_lists only when
#: the registry has it.
TRACKED = tuple(
    t
    for t in (
        *HOLDER_TYPES,
        "security_groups",
        "route_tables",
        "network_acls",
        "managed_prefix_lists",
    )
    if t in REGISTRY
)
#: Whose VPC an elastic IP is located by (network.holding_vpc).
LOCATING = frozenset({"instances", "network_interfaces"})
INDEX_DIR = ".driftaudit"
INDEX_FILE = "history.sqlite"

Key = tuple[str, str, str, str]  # (type, account, region, resource id)
Row = tuple[Any, ...]
#: Unreadable files named on stderr by an update (all are counted, and kept in the index).
MAX_SHOWN_PROBLEMS = 20

# --- the interval tables ---------------------------------------------------------------------

_INTEGER = frozenset(
    {"id", "from_port", "to_port", "egress", "number", "family", "is_range", "from_seq", "to_seq"}
)


@dataclass(frozen=True)
class Table:
    """One interval table: ``owner`` columns name the document (or link) the rows come from,
    ``identity`` what a row says, ``attrs`` what describes it. ``span``: the identity column
    holding an address or CIDR, stored again as an integer range (``family``, ``lo``, ``hi``)
    so containment is a range query; ``ranges``: also an ``is_range`` column (a delegated
    prefix, not one address)."""

    name: str
    owner: tuple[str, ...]
    identity: tuple[str, ...]
    attrs: tuple[str, ...] = ()
    span: str | None = None
    ranges: bool = False
    #: (name, what it is on): ``("group", "(group_id)")``.
    indexes: tuple[tuple[str, str], ...] = ()

    @property
    def extra(self) -> tuple[str, ...]:
        if self.span is None:
            return ()
        return ("family", "lo", "hi", *(("is_range",) if self.ranges else ()))

    @property
    def columns(self) -> tuple[str, ...]:
        return ("id", *self.owner, *self.identity, *self.attrs, *self.extra, "from_seq", "to_seq")

    @property
    def sql(self) -> str:
        def column(name: str) -> str:
            kind = "INTEGER" if name in _INTEGER else "BLOB" if name in ("lo", "hi") else "TEXT"
            key = " PRIMARY KEY" if name == "id" else " NOT NULL" if name == "from_seq" else ""
            return f"{name} {kind}{key}"

        create = f"CREATE TABLE {self.name}({', '.join(column(c) for c in self.columns)});"
        return "\n".join(
            [
                create,
                f"CREATE INDEX {self.name}_open ON {self.name}(to_seq) WHERE to_seq IS NULL;",
                *(f"CREATE INDEX {self.name}_{n} ON {self.name}{on};" for n, on in self.indexes),
            ]
        )


HELD = Table(
    "held",
    ("type", "account", "region", "rid"),
    ("address", "scope", "via", "kind"),
    ("vpc", "name"),
    span="address",
    ranges=True,
    indexes=(
        ("point", "(family, lo) WHERE is_range = 0"),
        ("range", "(family, lo, hi) WHERE is_range = 1"),
        ("owner", "(rid)"),
    ),
)
RULES = Table(
    "rules",
    ("account", "region", "group_id"),
    ("direction", "protocol", "from_port", "to_port", "source_type", "source"),
    ("group_name", "vpc", "description", "rule_id"),
    span="source",
    indexes=(("span", "(family, lo, hi)"), ("group", "(group_id)"), ("source", "(source)")),
)
#: Each security group's lifetime, with its VPC and last name (a group without rules too).
GROUPS = Table(
    "groups",
    ("account", "region", "group_id"),
    ("vpc",),
    ("name",),
    indexes=(("id", "(group_id)"),),
)
MEMBERS = Table(
    "members",
    ("type", "account", "region", "rid"),
    ("group_id", "via", "subnet", "vpc"),
    ("name",),
    indexes=(("group", "(group_id)"), ("owner", "(rid)")),
)
ENTRIES = Table(
    "entries",
    ("account", "region", "list_id"),
    ("cidr",),
    ("list_name", "description"),
    span="cidr",
    indexes=(("span", "(family, lo, hi)"), ("list", "(list_id)")),
)
LINKS = Table(
    "links", ("through",), ("vpc", "other"), indexes=(("vpc", "(vpc)"), ("through", "(through)"))
)
ACL_SUBNETS = Table(
    "acl_subnets",
    ("account", "region", "acl_id"),
    ("subnet",),
    ("vpc",),
    indexes=(("subnet", "(subnet)"), ("acl", "(acl_id)")),
)
ACL_ENTRIES = Table(
    "acl_entries",
    ("account", "region", "acl_id"),
    ("egress", "number", "action", "protocol", "from_port", "to_port", "cidr"),
    indexes=(("acl", "(acl_id)"),),
)
TABLES = (HELD, RULES, GROUPS, MEMBERS, ENTRIES, LINKS, ACL_SUBNETS, ACL_ENTRIES)

SCHEMA = "\n".join(
    [
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        "CREATE TABLE samples(seq INTEGER PRIMARY KEY, sha TEXT NOT NULL, "
        "time INTEGER NOT NULL, run INTEGER NOT NULL);",
        # The current state of every tracked resource, for incremental updates: what depends
        # on an instance (facts) is re-derived when the instance goes or comes back.
        "CREATE TABLE resources(type TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,"
        " rid TEXT NOT NULL, path TEXT NOT NULL, alive INTEGER NOT NULL, attached TEXT,"
        " vpc TEXT NOT NULL, facts TEXT, PRIMARY KEY (type, account, region, rid)) WITHOUT ROWID;",
        "CREATE TABLE problems(path TEXT NOT NULL, sha TEXT NOT NULL, message TEXT NOT NULL);",
        *(t.sql for t in TABLES),
    ]
)


class _Tracker:
    """The open rows of one table while commits are applied: identity -> row id per owner;
    new rows, closed rows and changed attributes written back in one go. An update reads an
    owner's open rows only when a commit touches that owner (``db`` set): its cost follows
    the change, not the size of the estate."""

    def __init__(self, table: Table, db: sqlite3.Connection | None = None) -> None:
        self.table, self.db = table, db
        self.loaded: set[Row] = set()
        self.open: dict[Row, dict[Row, int]] = {}
        self.attrs: dict[int, Row] = {}
        self.new: dict[int, list[Any]] = {}
        self.closed: list[tuple[int, int]] = []
        self.changed: set[int] = set()
        o, i = len(table.owner), len(table.identity)
        self._ident = slice(1 + o, 1 + o + i)
        self._attrs = slice(1 + o + i, 1 + o + i + len(table.attrs))

    def _load(self, owner: Row) -> None:
        """The owner's open rows, once (every owner table has an index on its last column)."""
        if self.db is None or owner in self.loaded:
            return
        self.loaded.add(owner)
        t = self.table
        columns = ", ".join(("id", *t.identity, *t.attrs))
        match = " AND ".join(f"{c} = ?" for c in reversed(t.owner))
        for row in self.db.execute(
            f"SELECT {columns} FROM {t.name} WHERE {match} AND to_seq IS NULL",  # noqa: S608
            tuple(reversed(owner)),
        ):
            i = len(t.identity)
            self.open.setdefault(owner, {})[tuple(row[1 : 1 + i])] = row[0]
            self.attrs[row[0]] = tuple(row[1 + i :])

    def sync(
        self, owner: Row, wanted: Mapping[Row, Row], seq: int, next_id: Callable[[], int]
    ) -> None:
        """Make the owner's open rows exactly ``wanted`` (identity -> attributes) at ``seq``."""
        self._load(owner)
        current = self.open.setdefault(owner, {})
        for identity in [k for k in current if k not in wanted]:
            row_id = current.pop(identity)
            # Last seen at the previous sample: the change happened between the two.
            if row_id in self.new:
                self.new[row_id][-1] = seq - 1
            else:
                self.closed.append((seq - 1, row_id))
        for identity, attrs in wanted.items():
            known = current.get(identity)
            if known is not None:
                if known in self.new:
                    self.new[known][self._attrs] = attrs
                elif self.attrs.get(known) != attrs:
                    self.attrs[known] = attrs
                    self.changed.add(known)
                continue
            row_id = next_id()
            self.new[row_id] = [row_id, *owner, *identity, *attrs, *self._span(identity), seq, None]
            current[identity] = row_id
        if not current:
            self.open.pop(owner, None)

    def _span(self, identity: Row) -> list[Any]:
        t = self.table
        if t.span is None:
            return []
        value = identity[t.identity.index(t.span)]
        s = span(value) if isinstance(value, str) else None
        if s is None:
            return [None, None, None] + ([0] if t.ranges else [])
        out: list[Any] = [s.family, to_blob(s.lo), to_blob(s.hi)]
        return out + ([int(s.lo != s.hi or "/" in value)] if t.ranges else [])

    def write(self, db: sqlite3.Connection) -> None:
        t = self.table
        marks = ", ".join("?" * len(t.columns))
        db.executemany(f"INSERT INTO {t.name} VALUES ({marks})", self.new.values())  # noqa: S608
        db.executemany(f"UPDATE {t.name} SET to_seq = ? WHERE id = ?", self.closed)  # noqa: S608
        if t.attrs:
            sets = ", ".join(f"{a} = ?" for a in t.attrs)
            db.executemany(
                f"UPDATE {t.name} SET {sets} WHERE id = ?",  # noqa: S608
                [(*self.attrs[i], i) for i in sorted(self.changed)],
            )


# --- building ----------------------------------------------------------------------------


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
    #: commit -> the source of its snapshot, for commits ``driftaudit backfill`` wrote
    #: ("aws-config"; driftaudit.backfill.source): answers drawn from them say so.
    sources: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.db.close()


@dataclass
class _Res:
    path: str
    alive: bool
    attached: str | None
    vpc: str
    #: What is re-derived when something else changes: for a holder attached to an instance,
    #: its holdings (with their VPCs), memberships and name; for a route table, its VPC and
    #: the peering connections and transit gateways it routes through.
    facts: dict[str, Any] | None = None


def _key_of(path: str, rel: str) -> Key | None:
    at = layout.under(path, rel)
    if at is None or at.type not in TRACKED:
        return None
    return (at.type, at.account, at.region, at.id)


NO_FACTS: dict[str, Any] = {"held": [], "members": [], "name": ""}


class _Builder:
    """Applies snapshot commits, in order, to the intervals. State is loaded once (empty for a
    full build) and written back in one transaction with executemany."""

    def __init__(self, db: sqlite3.Connection, rel: str, full: bool) -> None:
        self.db, self.rel, self.full = db, rel, full
        self.stats = UpdateStats()
        self.seq = db.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()[0]
        self.samples: list[tuple[int, str, int, int]] = []
        self.tracks = {t.name: _Tracker(t, None if full else db) for t in TABLES}
        self.resources: dict[Key, _Res] = {}
        self.attached_to: dict[tuple[str, str, str], set[Key]] = {}
        #: Instance or interface id -> its VPC: where an elastic IP associated with it is.
        self.where: dict[str, str] = {}
        #: Route table -> (its VPC, what it routes through); and the reverse, per target.
        self.routes: dict[Key, tuple[str, frozenset[str]]] = {}
        self.by_target: dict[str, dict[Key, str]] = {}
        self.dirty_resources: set[Key] = set()
        self.problems: list[tuple[str, str, str]] = []
        self.next_id = 1 + max(
            db.execute(f"SELECT coalesce(max(id), 0) FROM {t.name}").fetchone()[0]  # noqa: S608
            for t in TABLES
        )
        if not full:
            self._load()

    def _load(self) -> None:
        for t, a, r, rid, path, is_alive, attached, vpc, facts in self.db.execute(
            "SELECT type, account, region, rid, path, alive, attached, vpc, facts FROM resources"
        ):
            key = (t, a, r, rid)
            loaded = json.loads(facts) if facts else None
            self.resources[key] = _Res(path, bool(is_alive), attached, vpc, loaded)
            if attached:
                self.attached_to.setdefault((a, r, attached), set()).add(key)
            if t in LOCATING and vpc:
                self.where[rid] = vpc
            if t == "route_tables" and loaded is not None:
                self._route(key, loaded["vpc"], frozenset(loaded["targets"]))

    # -- one commit ---------------------------------------------------------------------

    def apply(self, commit: Commit, docs: dict[str, dict[str, Any] | str]) -> None:
        """``docs``: path -> parsed document, or a parse error message."""
        self.seq += 1
        seq = self.seq
        self.samples.append((seq, commit.sha, commit.time, int(commit.run)))
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
        dirty: dict[Key, dict[str, Any] | None] = {}
        targets: set[str] = set()
        # Elastic IPs last: they are located by the instances and interfaces of this commit.
        for key in sorted(touched, key=lambda k: (k[0] in LOCATED_ELSEWHERE, k)):
            resource, rtype = touched[key], key[0]
            if rtype in HOLDER_TYPES:
                dirty[key] = self._update(key, paths[key], resource, dirty)
                continue
            self._record(key, paths[key], resource)
            if rtype == "security_groups":
                self._sync_rules(key, resource, seq)
            elif rtype == "route_tables":
                targets |= self._route_table(key, resource)
            elif rtype == "managed_prefix_lists":
                self._sync_list(key, resource, seq)
            elif rtype == "network_acls":
                self._sync_acl(key, resource, seq)
        for key, facts in dirty.items():
            self._sync_holder(key, facts, seq)
        for target in sorted(targets):
            self._sync_links(target, seq)

    def _record(self, key: Key, path: str, resource: dict[str, Any] | None) -> None:
        self.dirty_resources.add(key)
        if resource is None:
            self.resources.pop(key, None)
        else:
            self.resources[key] = _Res(path, True, None, resource_vpc(resource))

    def _update(
        self,
        key: Key,
        path: str,
        resource: dict[str, Any] | None,
        dirty: dict[Key, dict[str, Any] | None],
    ) -> dict[str, Any]:
        """Record a holder's new state; return what it holds and is in by its own document."""
        rtype, account, region, rid = key
        old = self.resources.pop(key, None)
        self.dirty_resources.add(key)
        if old is not None and old.attached:
            self.attached_to.get((account, region, old.attached), set()).discard(key)
        was_alive = old is not None and old.alive
        facts = NO_FACTS
        exists = False
        if resource is not None:
            exists = alive(rtype, resource)
            vpc = resource_vpc(resource)
            if rtype in LOCATING and vpc:
                self.where[rid] = vpc
            attached = attached_instance(rtype, resource, account)
            facts = {
                "held": [
                    [*h, holding_vpc(rtype, resource, h.via, self.where)]
                    for h in holdings(rtype, resource)
                ],
                "members": [[m.group, m.via, m.subnet, m.vpc] for m in memberships(rtype, resource)]
                if exists
                else [],
                "name": REGISTRY[rtype].name_of(resource),
            }
            self.resources[key] = _Res(path, exists, attached, vpc, facts if attached else None)
            if attached:
                self.attached_to.setdefault((account, region, attached), set()).add(key)
        if rtype == "instances" and exists != was_alive:
            # What is attached to it holds less from this snapshot on (holders.released).
            for dependent in self.attached_to.get((account, region, rid), ()):
                dirty.setdefault(dependent, None)
        return facts

    def _sync_holder(self, key: Key, facts: dict[str, Any] | None, seq: int) -> None:
        rtype, account, region, _ = key
        res = self.resources.get(key)
        if facts is None:  # re-checked because the instance it is attached to changed
            facts = (res.facts if res else None) or NO_FACTS
        vpcs = {tuple(h[:4]): h[4] for h in facts["held"]}
        held = [Holding(*h[:4]) for h in facts["held"]]
        members = facts["members"]
        if res is not None and res.attached:
            instance = self.resources.get(("instances", account, region, res.attached))
            if instance is None or not instance.alive:
                held, members = released(rtype, held), []
        name = facts["name"]
        self.tracks["held"].sync(
            key, {tuple(h): (vpcs[tuple(h)], name) for h in held}, seq, self._id
        )
        self.tracks["members"].sync(key, {tuple(m): (name,) for m in members}, seq, self._id)

    def _sync_rules(self, key: Key, resource: dict[str, Any] | None, seq: int) -> None:
        _, account, region, gid = key
        name = str((resource or {}).get("GroupName") or "")
        vpc = resource_vpc(resource or {})
        wanted: dict[Row, Row] = {}
        # parse_document has checked every rule (layout.document_problem): they all read.
        for rule in rules_of(resource or {}):
            identity = (
                rule.direction,
                str(rule.raw.get("Protocol")),
                rule.from_port,
                rule.to_port,
                rule.source_type,
                rule.source,
            )
            wanted[identity] = (name, vpc, rule.description, rule.rule_id)
        self.tracks["rules"].sync((account, region, gid), wanted, seq, self._id)
        exists = {(vpc,): (name,)} if resource is not None else {}
        self.tracks["groups"].sync((account, region, gid), exists, seq, self._id)

    def _route(self, key: Key, vpc: str, targets: frozenset[str]) -> None:
        self.routes[key] = (vpc, targets)
        for target in targets:
            self.by_target.setdefault(target, {})[key] = vpc

    def _route_table(self, key: Key, resource: dict[str, Any] | None) -> set[str]:
        """Record a route table's targets; the targets whose links may have changed."""
        old = self.routes.pop(key, None)
        affected = set(old[1]) if old else set()
        for target in affected:
            self.by_target.get(target, {}).pop(key, None)
        if resource is not None:
            vpc, targets = resource_vpc(resource), route_targets(resource)
            self._route(key, vpc, targets)
            self.resources[key].facts = {"vpc": vpc, "targets": sorted(targets)}
            affected |= targets
        return affected

    def _sync_links(self, target: str, seq: int) -> None:
        vpcs = {v for v in self.by_target.get(target, {}).values() if v}
        wanted: dict[Row, Row] = {(a, b): () for a in vpcs for b in vpcs if a != b}
        self.tracks["links"].sync((target,), wanted, seq, self._id)
        if not self.by_target.get(target):
            self.by_target.pop(target, None)

    def _sync_list(self, key: Key, resource: dict[str, Any] | None, seq: int) -> None:
        _, account, region, list_id = key
        name = str((resource or {}).get("PrefixListName") or "")
        wanted = {(cidr,): (name, note) for cidr, note in prefix_entries(resource or {})}
        self.tracks["entries"].sync((account, region, list_id), wanted, seq, self._id)

    def _sync_acl(self, key: Key, resource: dict[str, Any] | None, seq: int) -> None:
        _, account, region, acl = key
        owner = (account, region, acl)
        vpc = resource_vpc(resource or {})
        subnets = {(s,): (vpc,) for s in acl_subnets(resource or {})}
        self.tracks["acl_subnets"].sync(owner, subnets, seq, self._id)
        entries: dict[Row, Row] = {
            (int(e.egress), e.number, e.action, e.protocol, e.lo, e.hi, e.cidr): ()
            for e in acl_entries(resource or {})
        }
        self.tracks["acl_entries"].sync(owner, entries, seq, self._id)

    def _id(self) -> int:
        self.next_id += 1
        return int(self.next_id) - 1

    # -- writing --------------------------------------------------------------------------

    def write(self, head: str) -> None:
        db = self.db
        db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)", self.samples)
        for track in self.tracks.values():
            track.write(db)
        gone = [k for k in self.dirty_resources if k not in self.resources]
        db.executemany(
            "DELETE FROM resources WHERE type = ? AND account = ? AND region = ? AND rid = ?",
            gone,
        )
        db.executemany(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (*k, r.path, int(r.alive), r.attached, r.vpc, _facts_json(r.facts))
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


def _facts_json(facts: dict[str, Any] | None) -> str | None:
    return None if facts is None else json.dumps(facts, sort_keys=True)


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
    # Every snapshot commit is a sample, even one that changed no tracked type, and so is
    # every recorded run: it still shows the tracked resources as they were then, which
    # narrows every boundary.
    commits = snapshot_commits(repo, span, layout.pathspecs(builder.rel), builder.rel)
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
        for table in (t.name for t in TABLES):
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
    needed), open for queries, with the backfilled commits' sources."""
    from driftaudit.backfill.source import backfilled

    index = _open_index(directory)
    repo, rel = open_repo(directory)
    index.sources = backfilled(repo, rel, index.head)
    return index


def _open_index(directory: Path) -> Index:
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
