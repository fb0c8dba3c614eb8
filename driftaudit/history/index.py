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
from typing import Any, NamedTuple, cast

from driftaudit import layout
from driftaudit.collect.collectors import REGISTRY
from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import GitError, Repo, open_repo
from driftaudit.history import extract, facts
from driftaudit.history.gitlog import Change, Commit, walk
from driftaudit.history.holders import HOLDER_TYPES, Holding, released
from driftaudit.history.rules import span, to_blob
from driftaudit.network import LOCATED_ELSEWHERE

SCHEMA_VERSION = "4"
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
#: Beside the index: the file's fingerprint when driftaudit last checked or wrote it whole.
CHECKED_SUFFIX = ".checked"

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
        """The table, with the index an update needs (on its last owner column)."""

        def column(name: str) -> str:
            kind = "INTEGER" if name in _INTEGER else "BLOB" if name in ("lo", "hi") else "TEXT"
            key = " PRIMARY KEY" if name == "id" else " NOT NULL" if name == "from_seq" else ""
            return f"{name} {kind}{key}"

        create = f"CREATE TABLE {self.name}({', '.join(column(c) for c in self.columns)});"
        return "\n".join([create, *self._indexes(lambda on: on == f"({self.owner[-1]})")])

    @property
    def owner_index(self) -> str:
        """The index on the last owner column (every table has one)."""
        return next(f"{self.name}_{n}" for n, on in self.indexes if on == f"({self.owner[-1]})")

    @property
    def query_sql(self) -> str:
        """The indexes only queries use: a full build makes them at the end, in one sort
        each, rather than keeping them up to date row by row."""
        return "\n".join(
            [
                f"CREATE INDEX {self.name}_open ON {self.name}(to_seq) WHERE to_seq IS NULL;",
                *self._indexes(lambda on: on != f"({self.owner[-1]})"),
            ]
        )

    def _indexes(self, which: Callable[[str], bool]) -> list[str]:
        return [
            f"CREATE INDEX {self.name}_{n} ON {self.name}{on};"
            for n, on in self.indexes
            if which(on)
        ]


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
        # The current state of every tracked resource, read back only for the resources a
        # commit touches: whether an instance is alive, what an attached holder holds by its
        # own document (facts, re-applied when its instance goes or comes back), the path
        # (a file renamed from .yaml to .json is the same resource) and the sample its
        # document last changed at (seen).
        "CREATE TABLE resources(type TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,"
        " rid TEXT NOT NULL, path TEXT NOT NULL, alive INTEGER NOT NULL, attached TEXT,"
        " vpc TEXT NOT NULL, facts TEXT, seen INTEGER NOT NULL,"
        " PRIMARY KEY (type, account, region, rid)) WITHOUT ROWID;",
        "CREATE INDEX resources_attached ON resources(attached, account, region)"
        " WHERE attached IS NOT NULL;",
        # Instance or interface id -> the last VPC it was seen in: where an elastic IP
        # associated with it is (network.holding_vpc).
        "CREATE TABLE located(rid TEXT PRIMARY KEY, vpc TEXT NOT NULL) WITHOUT ROWID;",
        # What each route table routes through (peering connections, transit gateways).
        "CREATE TABLE routes(account TEXT NOT NULL, region TEXT NOT NULL, rid TEXT NOT NULL,"
        " target TEXT NOT NULL, vpc TEXT NOT NULL);",
        "CREATE INDEX routes_table ON routes(rid);",
        "CREATE INDEX routes_target ON routes(target);",
        "CREATE TABLE problems(path TEXT NOT NULL, sha TEXT NOT NULL, message TEXT NOT NULL);",
        *(t.sql for t in TABLES),
    ]
)
QUERY_INDEXES = "\n".join(t.query_sql for t in TABLES)
#: One commit's changes, spilled to SQLite's temporary storage rather than held in memory
#: (a full build's first commit lists every file), read back by phase. A key added twice
#: (x.json and x.yaml) keeps the later in path order.
_SCRATCH = """
CREATE TEMP TABLE IF NOT EXISTS added(type TEXT, account TEXT, region TEXT, rid TEXT,
    path TEXT, blob TEXT, mode TEXT, phase INTEGER, PRIMARY KEY (type, account, region, rid));
CREATE TEMP TABLE IF NOT EXISTS removed(path TEXT PRIMARY KEY, type TEXT, account TEXT,
    region TEXT, rid TEXT, phase INTEGER);
CREATE TEMP TABLE IF NOT EXISTS flipped(account TEXT, region TEXT, rid TEXT);
DELETE FROM added;
DELETE FROM removed;
DELETE FROM flipped;
"""
#: Parameters per ``IN (...)`` lookup.
_CHUNK = 500
#: SQLite's page cache while a full build writes a new index (KB).
BUILD_CACHE_KB = 32 * 1024


def _phase(rtype: str) -> int:
    """The order a commit's files are applied in: instances first (what is attached to them
    holds according to them), elastic IPs last (located by the instances and interfaces of
    the same commit)."""
    return 1 if rtype == "instances" else 3 if rtype in LOCATED_ELSEWHERE else 2


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


class _Tracker:
    """The open rows of one table for the owners a group of files touches: loaded from the
    index for those owners only, synced to what the files now say, written back and
    forgotten. Memory follows the group, never the estate."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.open: dict[Row, dict[Row, int]] = {}
        self.attrs: dict[int, Row] = {}
        self.new: dict[int, list[Any]] = {}
        self.closed: list[tuple[int, int]] = []
        self.changed: set[int] = set()
        o, i = len(table.owner), len(table.identity)
        self._ident = slice(1 + o, 1 + o + i)
        self._attrs = slice(1 + o + i, 1 + o + i + len(table.attrs))

    def load(self, db: sqlite3.Connection, owners: Iterable[Row]) -> None:
        """The open rows of ``owners`` (every table has an index on its last owner column)."""
        t = self.table
        wanted = {o for o in owners if o not in self.open}
        for owner in wanted:
            self.open[owner] = {}
        last = t.owner[-1]
        columns = ", ".join(("id", *t.owner, *t.identity, *t.attrs))
        o, i = len(t.owner), len(t.identity)
        for chunk in _chunks(sorted({w[-1] for w in wanted})):
            marks = ",".join("?" * len(chunk))
            # INDEXED BY: left to itself, SQLite prefers the partial index of open rows, and
            # reads every open row of the estate.
            for row in db.execute(
                f"SELECT {columns} FROM {t.name} INDEXED BY {t.owner_index} "  # noqa: S608
                f"WHERE {last} IN ({marks}) AND to_seq IS NULL",
                chunk,
            ):
                owner = tuple(row[1 : 1 + o])
                if owner in wanted:
                    self.open[owner][tuple(row[1 + o : 1 + o + i])] = row[0]
                    self.attrs[row[0]] = tuple(row[1 + o + i :])

    def sync(
        self, owner: Row, wanted: Mapping[Row, Row], seq: int, next_id: Callable[[], int]
    ) -> None:
        """Make the owner's open rows exactly ``wanted`` (identity -> attributes) at ``seq``.
        The owner's rows must have been loaded if it has any: a resource the index holds no
        state for has none."""
        current = self.open.setdefault(owner, {})
        for identity in [k for k in current if k not in wanted]:
            row_id = current.pop(identity)
            if row_id in self.new:  # opened at this very sample: it never was
                del self.new[row_id]
            else:
                # Last seen at the previous sample: the change happened between the two.
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

    def flush(self, db: sqlite3.Connection) -> None:
        """Write what changed and forget the owners."""
        t = self.table
        marks = ", ".join("?" * len(t.columns))
        db.executemany(f"INSERT INTO {t.name} VALUES ({marks})", self.new.values())  # noqa: S608
        db.executemany(f"UPDATE {t.name} SET to_seq = ? WHERE id = ?", self.closed)  # noqa: S608
        if t.attrs and self.changed:
            sets = ", ".join(f"{a} = ?" for a in t.attrs)
            db.executemany(
                f"UPDATE {t.name} SET {sets} WHERE id = ?",  # noqa: S608
                [(*self.attrs[i], i) for i in sorted(self.changed)],
            )
        self.open.clear()
        self.attrs.clear()
        self.new.clear()
        self.closed.clear()
        self.changed.clear()


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


class _Stored(NamedTuple):
    """A resource's row in ``resources``."""

    path: str
    alive: bool
    attached: str | None
    facts: dict[str, Any] | None
    seen: int


def _key_of(path: str, rel: str) -> Key | None:
    at = layout.under(path, rel)
    if at is None or at.type not in TRACKED:
        return None
    return (at.type, at.account, at.region, at.id)


NO_FACTS: dict[str, Any] = {"held": [], "members": [], "name": ""}


class _Located(Mapping[str, str]):
    """``located`` as the ``where`` of network.holding_vpc, read as it is asked."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getitem__(self, rid: str) -> str:
        found = self.db.execute("SELECT vpc FROM located WHERE rid = ?", (rid,)).fetchone()
        if found is None:
            raise KeyError(rid)
        return str(found[0])

    def __iter__(self) -> Iterator[str]:
        return (str(r) for (r,) in self.db.execute("SELECT rid FROM located"))

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM located").fetchone()[0])


class _Builder:
    """Applies snapshot commits, in order, to the index, a group of files at a time: each
    commit's changes wait in SQLite, each group's documents are read (in worker processes
    on a large build), reduced to facts, and applied against the state the index holds for
    the resources they touch. Nothing of the estate is held in memory."""

    def __init__(self, db: sqlite3.Connection, rel: str, extractor: extract.Extractor) -> None:
        self.db, self.rel, self.extractor = db, rel, extractor
        self.stats = UpdateStats()
        self.seq = db.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()[0]
        self.tracks = {t.name: _Tracker(t) for t in TABLES}
        self.next_id = 1 + max(
            db.execute(f"SELECT coalesce(max(id), 0) FROM {t.name}").fetchone()[0]  # noqa: S608
            for t in TABLES
        )
        self.where = _Located(db)
        # Per commit: keys whose new file did not parse (their resource keeps its state, and
        # a deletion of their other file does not remove it), route targets to re-link.
        self.unreadable: set[Key] = set()
        self.targets: set[str] = set()

    def _id(self) -> int:
        self.next_id += 1
        return int(self.next_id) - 1

    # -- one commit ---------------------------------------------------------------------

    def apply(self, commit: Commit, changes: Iterable[Change]) -> None:
        self.seq += 1
        self.stats.commits += 1
        for statement in _SCRATCH.strip().split(";"):
            if statement.strip():
                self.db.execute(statement)
        self._spill(changes)
        self.unreadable.clear()
        self.targets.clear()
        for phase in (1, 2, 3):
            self._additions(commit, phase)
            self._removals(phase)
        self._dependents()
        for target in sorted(self.targets):
            self._sync_links(target)
        self._flush()
        self.db.execute(
            "INSERT INTO samples VALUES (?, ?, ?, ?)",
            (self.seq, commit.sha, commit.time, int(commit.run)),
        )

    def _spill(self, changes: Iterable[Change]) -> None:
        added: list[tuple[Any, ...]] = []
        removed: list[tuple[Any, ...]] = []
        for change in changes:
            key = _key_of(change.path, self.rel)
            if key is None:
                continue
            if change.blob is None:
                removed.append((change.path, *key, _phase(key[0])))
            else:
                added.append((*key, change.path, change.blob, change.mode, _phase(key[0])))
            if len(added) + len(removed) >= 5000:
                self._spilled(added, removed)
        self._spilled(added, removed)

    def _spilled(self, added: list[tuple[Any, ...]], removed: list[tuple[Any, ...]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO added VALUES (?,?,?,?,?,?,?,?)", added)
        self.db.executemany("INSERT OR REPLACE INTO removed VALUES (?,?,?,?,?,?)", removed)
        added.clear()
        removed.clear()

    def _additions(self, commit: Commit, phase: int) -> None:
        count = self.db.execute("SELECT count(*) FROM added WHERE phase < 3").fetchone()[0]
        self.extractor.parallel(count)
        cursor = self.db.execute(
            "SELECT type, account, region, rid, path, blob, mode FROM added WHERE phase = ?"
            " ORDER BY rowid",
            (phase,),
        )
        items = (extract.Item(*row) for row in cursor)
        # Elastic IPs are located through the index's state: read here, not in a worker.
        where = self.where if phase == 3 else None
        for batch, results in self.extractor.groups(items, where):
            self._apply_group(commit, batch, results)

    def _apply_group(
        self, commit: Commit, batch: list[extract.Item], results: list[extract.Result]
    ) -> None:
        stored = self._stored([item.key for item in batch])
        good: list[tuple[Key, str, facts.Facts]] = []
        for item, result in zip(batch, results, strict=True):
            self.stats.files += int(not item.special)
            if isinstance(result, str):
                self._unreadable(item.key, item.path, commit, result)
            else:
                good.append((item.key, item.path, result))
        # Only a resource the index already holds can have open rows.
        self._load([k for k, _, _ in good if k in stored])
        located: list[tuple[str, str]] = []
        flipped: list[Key] = []
        holders: list[tuple[Key, str | None, dict[str, Any]]] = []
        rows: list[tuple[Any, ...]] = []
        for key, path, result in good:
            rtype, account, region, rid = key
            owner = (account, region, rid)
            old = stored.get(key)
            if isinstance(result, facts.HolderFacts):
                if rtype in LOCATING and result.vpc:
                    located.append((rid, result.vpc))
                if rtype == "instances" and result.exists != (old is not None and old.alive):
                    flipped.append(key)
                keep = result.facts if result.attached else None
                row = (path, int(result.exists), result.attached, result.vpc, _facts_json(keep))
                rows.append((*key, *row, self.seq))
                holders.append((key, result.attached, result.facts))
                continue
            vpc = getattr(result, "vpc", "")
            rows.append((*key, path, 1, None, vpc, None, self.seq))
            if isinstance(result, facts.GroupFacts):
                self._sync("rules", owner, result.rules)
                self._sync("groups", owner, {(result.vpc,): (result.name,)})
            elif isinstance(result, facts.RouteFacts):
                self._route_table(key, result)
            elif isinstance(result, facts.ListFacts):
                self._sync("entries", owner, result.entries)
            elif isinstance(result, facts.AclFacts):
                self._sync_acl(owner, result)
        self._store(rows)
        self.db.executemany("INSERT OR REPLACE INTO located VALUES (?, ?)", located)
        self._flipped(flipped)
        self._sync_holders(holders)
        self._flush()

    def _unreadable(self, key: Key, path: str, commit: Commit, problem: str) -> None:
        self.db.execute("INSERT INTO problems VALUES (?, ?, ?)", (path, commit.sha, problem))
        self.stats.unreadable += 1
        if len(self.stats.problems) < MAX_SHOWN_PROBLEMS:
            self.stats.problems.append(f"{problem} (commit {commit.sha[:12]})")
        self.unreadable.add(key)

    def _removals(self, phase: int) -> None:
        cursor = self.db.execute(
            "SELECT path, type, account, region, rid FROM removed WHERE phase = ?", (phase,)
        )
        while batch := cursor.fetchmany(extract.GROUP):
            keys = [cast(Key, tuple(row[1:])) for row in batch]
            stored = self._stored(keys)
            gone = [
                key
                for (path, *_), key in zip(batch, keys, strict=True)
                if key not in self.unreadable and (s := stored.get(key)) and s.path == path
            ]
            if not gone:
                continue
            self._load(gone)
            self.db.executemany(
                "DELETE FROM resources WHERE type = ? AND account = ? AND region = ? AND rid = ?",
                gone,
            )
            holders: list[tuple[Key, str | None, dict[str, Any]]] = []
            self._flipped([k for k in gone if k[0] == "instances" and stored[k].alive])
            for key in gone:
                rtype, account, region, rid = key
                owner = (account, region, rid)
                if rtype in HOLDER_TYPES:
                    holders.append((key, None, NO_FACTS))
                elif rtype == "security_groups":
                    self._sync("rules", owner, {})
                    self._sync("groups", owner, {})
                elif rtype == "route_tables":
                    self._route_table(key, None)
                elif rtype == "managed_prefix_lists":
                    self._sync("entries", owner, {})
                elif rtype == "network_acls":
                    self._sync_acl(owner, None)
            self._sync_holders(holders)
            self._flush()

    def _dependents(self) -> None:
        """Holders attached to an instance that came or went in this commit, their own files
        unchanged: what they hold is re-applied from their stored facts."""
        cursor = self.db.execute(
            "SELECT DISTINCT r.type, r.account, r.region, r.rid, r.attached, r.facts"
            " FROM flipped f JOIN resources r ON r.attached = f.rid AND r.account = f.account"
            " AND r.region = f.region WHERE r.seen < ?",
            (self.seq,),
        )
        while batch := cursor.fetchmany(extract.GROUP):
            holders = [
                (cast(Key, tuple(row[:4])), row[4], json.loads(row[5]) if row[5] else NO_FACTS)
                for row in batch
            ]
            self._load([k for k, _, _ in holders])
            self._sync_holders(holders)
            self._flush()

    # -- state ----------------------------------------------------------------------------

    def _stored(self, keys: list[Key]) -> dict[Key, _Stored]:
        out: dict[Key, _Stored] = {}
        wanted = set(keys)
        by_type: dict[str, list[str]] = {}
        for rtype, _, _, rid in wanted:
            by_type.setdefault(rtype, []).append(rid)
        for rtype, rids in by_type.items():
            for chunk in _chunks(sorted(set(rids))):
                marks = ",".join("?" * len(chunk))
                for a, r, rid, path, is_alive, attached, facts_json, seen in self.db.execute(
                    "SELECT account, region, rid, path, alive, attached, facts, seen"
                    f" FROM resources WHERE type = ? AND rid IN ({marks})",  # noqa: S608
                    (rtype, *chunk),
                ):
                    key = (rtype, a, r, rid)
                    if key in wanted:
                        loaded = json.loads(facts_json) if facts_json else None
                        out[key] = _Stored(path, bool(is_alive), attached, loaded, seen)
        return out

    def _store(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )

    def _flipped(self, keys: list[Key]) -> None:
        """Instances that came or went in this commit (see _dependents)."""
        self.db.executemany("INSERT INTO flipped VALUES (?, ?, ?)", [k[1:] for k in keys])

    def _load(self, keys: list[Key]) -> None:
        """The open rows of what ``keys`` own, before they are synced."""
        holders = [k for k in keys if k[0] in HOLDER_TYPES]
        if holders:
            self.tracks["held"].load(self.db, holders)
            self.tracks["members"].load(self.db, holders)
        kinds = {t for t, _, _, _ in keys}
        for rtype, names in (
            ("security_groups", ("rules", "groups")),
            ("managed_prefix_lists", ("entries",)),
            ("network_acls", ("acl_subnets", "acl_entries")),
        ):
            if rtype in kinds:
                owners = [(a, r, rid) for t, a, r, rid in keys if t == rtype]
                for name in names:
                    self.tracks[name].load(self.db, owners)

    def _flush(self) -> None:
        for track in self.tracks.values():
            track.flush(self.db)

    def _sync(self, table: str, owner: Row, wanted: Mapping[Row, Row]) -> None:
        self.tracks[table].sync(owner, wanted, self.seq, self._id)

    # -- holders ------------------------------------------------------------------------

    def _sync_holders(self, holders: list[tuple[Key, str | None, dict[str, Any]]]) -> None:
        """Sync each holder's rows to its facts, released when the instance it is attached
        to is terminated or absent (holders.released)."""
        instances = self._stored(
            [("instances", k[1], k[2], attached) for k, attached, _ in holders if attached]
        )
        for key, attached, found in holders:
            rtype, account, region, _ = key
            vpcs = {tuple(h[:4]): h[4] for h in found["held"]}
            held = [Holding(*h[:4]) for h in found["held"]]
            members = found["members"]
            if attached:
                instance = instances.get(("instances", account, region, attached))
                if instance is None or not instance.alive:
                    held, members = released(rtype, held), []
            name = found["name"]
            self._sync("held", key, {tuple(h): (vpcs[tuple(h)], name) for h in held})
            self._sync("members", key, {tuple(m): (name,) for m in members})

    # -- networks -----------------------------------------------------------------------

    def _route_table(self, key: Key, found: facts.RouteFacts | None) -> None:
        """Record a route table's targets; the targets whose links may have changed are
        re-linked at the end of the commit."""
        _, account, region, rid = key
        for (target,) in self.db.execute(
            "SELECT target FROM routes WHERE rid = ? AND account = ? AND region = ?",
            (rid, account, region),
        ).fetchall():
            self.targets.add(target)
        self.db.execute(
            "DELETE FROM routes WHERE rid = ? AND account = ? AND region = ?",
            (rid, account, region),
        )
        if found is not None:
            self.db.executemany(
                "INSERT INTO routes VALUES (?, ?, ?, ?, ?)",
                [(account, region, rid, t, found.vpc) for t in sorted(found.targets)],
            )
            self.targets |= found.targets

    def _sync_links(self, target: str) -> None:
        vpcs = {
            v for (v,) in self.db.execute("SELECT vpc FROM routes WHERE target = ?", (target,)) if v
        }
        wanted: dict[Row, Row] = {(a, b): () for a in vpcs for b in vpcs if a != b}
        self.tracks["links"].load(self.db, [(target,)])
        self._sync("links", (target,), wanted)

    def _sync_acl(self, owner: Row, found: facts.AclFacts | None) -> None:
        vpc = found.vpc if found else ""
        self._sync("acl_subnets", owner, {(s,): (vpc,) for s in (found.subnets if found else [])})
        self._sync("acl_entries", owner, {e: () for e in (found.entries if found else [])})

    # -- writing --------------------------------------------------------------------------

    def finish(self, head: str) -> None:
        meta = {
            "schema": SCHEMA_VERSION,
            "rel": self.rel,
            "head": head,
            "samples": str(self.seq),
            "update": json.dumps(self.stats.as_dict(), sort_keys=True),
        }
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())


def _facts_json(found: dict[str, Any] | None) -> str | None:
    return None if found is None else json.dumps(found, sort_keys=True)


def _process(
    repo: Repo, db: sqlite3.Connection, rel: str, span: str, head: str, mode: str
) -> UpdateStats:
    extractor = extract.Extractor(str(repo.root))
    try:
        builder = _Builder(db, rel, extractor)
        builder.stats.mode = mode
        # Every snapshot commit is a sample, even one that changed no tracked type, and so
        # is every recorded run: it still shows the tracked resources as they were then,
        # which narrows every boundary.
        for commit, changes in walk(repo, span, layout.pathspecs(rel), rel):
            builder.apply(commit, changes)
        builder.finish(head)
    finally:
        extractor.close()
    return builder.stats


# --- opening, checking, updating ------------------------------------------------------------


class _Damaged(Exception):
    pass


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    db.execute("PRAGMA journal_mode = DELETE")
    return db


def _check(db: sqlite3.Connection, rel: str, thorough: bool) -> dict[str, str]:
    """The index's meta when it can be trusted; _Damaged saying why when not. ``thorough``:
    also every page (``quick_check``) and every interval, which reads the whole file."""
    try:
        result = db.execute("PRAGMA quick_check").fetchone() if thorough else ("ok",)
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
        for table in (t.name for t in TABLES if thorough):
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


def _fingerprint(path: Path) -> str:
    """What changes whenever anything writes the file: device, inode, size, and times to the
    nanosecond (the change time cannot be set back)."""
    st = path.stat()
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}\n"


def _checked_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKED_SUFFIX)


def _unchanged_since_checked(path: Path) -> bool:
    """Whether the file is as the last run of driftaudit left it, having checked or
    written it: then the whole-file checks need not be made again."""
    try:
        return layout.read_regular(_checked_path(path), 4096).decode() == _fingerprint(path)
    except (layout.NotReadable, OSError, UnicodeDecodeError):
        return False


def _mark_checked(path: Path) -> None:
    """Record the file as checked or written by this run (never through a link; a torn or
    missing record only costs the next run a whole-file check)."""
    try:
        fd = os.open(
            _checked_path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644
        )
        with os.fdopen(fd, "w") as out:
            out.write(_fingerprint(path))
    except OSError:
        pass


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
        db.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KB}")
        db.executescript(SCHEMA)
        db.execute("BEGIN")
        stats = _process(repo, db, rel, head, head, "full")
        stats.reason = reason
        for statement in QUERY_INDEXES.split("\n"):
            db.execute(statement)
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
    return stats


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
            # The whole file is checked when something other than driftaudit may have
            # written it since (its cost grows with the index, not with the change).
            meta = _check(db, rel, thorough=not _unchanged_since_checked(path))
            if meta["head"] == head:
                return _reading(db, path, head, UpdateStats())
            if _extends(repo, meta["head"], head):
                stats = _process(repo, db, rel, f"{meta['head']}..{head}", head, "incremental")
                return _reading(db, path, head, stats)
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
    return _reading(_connect(path), path, head, stats)


def _reading(db: sqlite3.Connection, path: Path, head: str, stats: UpdateStats) -> Index:
    """End the update (the file as checked and written now recorded) and keep one read
    transaction for the queries, so a concurrent update never shows them half of its
    changes."""
    if db.in_transaction:
        db.execute("COMMIT")
    _mark_checked(path)
    db.execute("BEGIN")
    return Index(db, head, _samples(db), stats)


def _samples(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()[0])


def rows(db: sqlite3.Connection, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    return db.execute(sql, tuple(args)).fetchall()
