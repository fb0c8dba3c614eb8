"""The three history questions, answered from the index.

Snapshots are samples: nothing is known between two of them. Every boundary is therefore the
pair of snapshot times it lies between (``last_without`` / ``first_with`` for a start,
``last_with`` / ``first_without`` for an end) with the commit of the later one, never an
invented instant. ``last_without`` null: present since the first snapshot (perhaps earlier);
``first_without`` null: still present in the last snapshot.

The network model (driftaudit.network) enters every answer: a private address is ours for a
rule only while a resource in the rule's VPC, or a VPC connected to it at that sample, holds
it; a rule lets an address in directly (its CIDR), through a prefix list (an entry covering
it, at that sample) or through a group reference (a member of the group holding it); and a
rule reaches the members of its group, through the network ACLs of their subnets.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, NamedTuple

from driftaudit.errors import DriftauditError
from driftaudit.history.holders import KIND
from driftaudit.history.index import Index, rows
from driftaudit.history.intervals import Interval, intersect, overlaps, subtract, union
from driftaudit.history.reach import Member, Reach
from driftaudit.history.rules import Span, canonical_address, span, stored_rule, to_blob
from driftaudit.network import AclVerdict, counts_for, public
from driftaudit.rule import Rule, network_of
from driftaudit.times import iso

Row = tuple[Any, ...]
#: Targets listed per rule window (the JSON says how many more there were).
MAX_TARGETS = 20
#: Targets are named in answers of at most this many rule windows: a broad question ("every
#: rule letting 10.191.12.13 in, on any port") gets thousands, each reaching its members,
#: and is narrowed first (--port, --group, --vpc...).
MAX_TARGETED = 100


class BadQuery(DriftauditError):
    """An address, source or time the history cannot be asked about."""


@dataclass(frozen=True)
class Filters:
    """``--account``, ``--region``, ``--vpc``: None for any."""

    account: str | None = None
    region: str | None = None
    vpc: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "region": self.region, "vpc": self.vpc}

    def keeps(self, account: str, region: str, vpc: str) -> bool:
        return (
            (self.account is None or account == self.account)
            and (self.region is None or region == self.region)
            and (self.vpc is None or vpc == self.vpc)
        )


# --- the samples ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    seq: int
    sha: str
    time: int


class Timeline:
    """Sample number -> (commit, time), read from the index as needed."""

    def __init__(self, index: Index) -> None:
        self.db, self.last = index.db, index.samples
        self.sources = index.sources
        self.cache: dict[int, Sample] = {}
        self.starts: dict[int, dict[str, Any]] = {}
        self.ends: dict[int, dict[str, Any]] = {}

    def load(self, seqs: Iterable[int]) -> None:
        wanted = sorted({s for s in seqs if 1 <= s <= self.last and s not in self.cache})
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for seq, sha, time in rows(
                self.db,
                f"SELECT seq, sha, time FROM samples WHERE seq IN ({marks})",  # noqa: S608
                chunk,
            ):
                self.cache[seq] = Sample(seq, sha, time)

    def load_bounds(self, intervals: Iterable[Interval]) -> None:
        self.load(s for a, b in intervals for s in (a - 1, a, b, b + 1))

    def get(self, seq: int) -> Sample | None:
        if seq not in self.cache:
            self.load([seq])
        return self.cache.get(seq)

    def at(self, when: dt.datetime) -> Sample:
        """The snapshot in effect at ``when``: the last one taken at or before it."""
        epoch = int(when.timestamp())
        found = rows(
            self.db,
            "SELECT seq, sha, time FROM samples WHERE time <= ? ORDER BY seq DESC LIMIT 1",
            [epoch],
        )
        if not found:
            first = self.get(1)
            since = f"; the first snapshot is from {iso(first.time)}" if first else ""
            raise BadQuery(f"no snapshot at or before {iso(epoch)}{since}")
        sample = Sample(*found[0])
        self.cache[sample.seq] = sample
        return sample

    def usual_interval(self) -> int | None:
        """The median time between two consecutive samples (runs, when every run is
        recorded), in seconds; None with fewer than three samples."""
        times = [t for (t,) in rows(self.db, "SELECT time FROM samples ORDER BY seq")]
        gaps = [b - a for a, b in pairwise(times) if b > a]
        return int(statistics.median(gaps)) if len(gaps) >= 2 else None

    def start(self, seq: int) -> dict[str, Any]:
        # One dict per sample, shared by every window starting there (answers are only read).
        if seq not in self.starts:
            before, first = self.get(seq - 1), self.get(seq)
            assert first is not None
            self.starts[seq] = {
                "last_without": iso(before.time) if before else None,
                "first_with": iso(first.time),
                "commit": first.sha,
                **self._source(first.sha),
            }
        return self.starts[seq]

    def end(self, seq: int | None) -> dict[str, Any]:
        """The end of an interval ending at ``seq`` (None or the last sample: still so)."""
        if seq is None or seq >= self.last:
            seq = self.last
        if seq not in self.ends:
            last = self.get(seq)
            after = self.get(seq + 1) if seq < self.last else None
            assert last is not None
            self.ends[seq] = {
                "last_with": iso(last.time),
                "first_without": iso(after.time) if after else None,
                "commit": after.sha if after else None,
                **self._source((after or last).sha),
            }
        return self.ends[seq]

    def _source(self, sha: str) -> dict[str, str]:
        """``{"source": "aws-config"}`` for a boundary drawn from a backfilled snapshot
        (the later of its two: the one that shows the change), else nothing."""
        source = self.sources.get(sha)
        return {"source": source} if source else {}

    def window(self, a: int, b: int) -> dict[str, Any]:
        return {"start": self.start(a), "end": self.end(b)}


def index_info(index: Index, timeline: Timeline) -> dict[str, Any]:
    first, last = timeline.get(1), timeline.get(index.samples)
    runs = rows(index.db, "SELECT count(*) FROM samples WHERE run = 1")[0][0]
    return {
        "head": index.head,
        "snapshots": index.samples,
        "runs": int(runs),
        "first": iso(first.time) if first else None,
        "last": iso(last.time) if last else None,
        "update": index.stats.as_dict(),
    }


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} day{'s' * (days != 1)}"] * bool(days)
    parts += [f"{hours} hour{'s' * (hours != 1)}"] * bool(hours)
    return " ".join(parts) or f"{max(1, rest // 60)} minute(s)"


def stale(sample: Sample, when: dt.datetime, usual: int | None) -> str | None:
    """A warning when the snapshot in effect at ``when`` is older than one and a half times
    the usual interval between samples: the job may not have run since."""
    age = int(when.timestamp()) - sample.time
    if usual is None or usual <= 0 or age <= usual * 1.5:
        return None
    return (
        f"the snapshot in effect at {iso(int(when.timestamp()))} is from {iso(sample.time)}, "
        f"{_duration(age)} earlier, while snapshots are usually {_duration(usual)} apart: "
        "nothing is known of the time since (did the job run?)"
    )


def _sample(timeline: Timeline, sample: Sample, when: dt.datetime) -> dict[str, Any]:
    after = timeline.get(sample.seq + 1)
    return {
        "time": iso(sample.time),
        "commit": sample.sha,
        "next": iso(after.time) if after else None,
        "warning": stale(sample, when, timeline.usual_interval()),
    }


def parse_address(text: str) -> tuple[str, Span]:
    address = canonical_address(text)
    found = span(address) if address else None
    if address is None or found is None:
        raise BadQuery(f"bad address {text!r}: expected an IPv4 or IPv6 address")
    return address, found


def parse_source(text: str) -> Span | str:
    """A CIDR or address (matched by containment), or a group / prefix-list id (exactly)."""
    found = span(text)
    if found is not None:
        return found
    value = text.strip()
    if value.startswith(("sg-", "pl-")) or "/sg-" in value:
        return value
    raise BadQuery(
        f"bad source {text!r}: expected an address, a CIDR, a group id (sg-...) "
        "or a prefix list id (pl-...)"
    )


# --- holders -------------------------------------------------------------------------------------

HELD_COLUMNS = "type, account, region, rid, address, scope, via, kind, vpc, name, from_seq, to_seq"


class Held(NamedTuple):
    type: str
    account: str
    region: str
    rid: str
    address: str
    scope: str
    via: str
    kind: str
    vpc: str
    name: str
    a: int
    b: int  # the last sample included (the last sample of all while still open)

    def label(self) -> str:
        """``instance i-0a1b (web-1)``: how answers name the holder."""
        name = f" ({self.name})" if self.name else ""
        return f"{KIND.get(self.type, self.type)} {self.rid}{name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.rid,
            "name": self.name,
            "account": self.account,
            "region": self.region,
            "vpc": self.vpc or None,
            "address": self.address,
            "scope": self.scope,
            "kind": self.kind,
            "via": self.via or None,
        }


def _held_rows(index: Index, where: Span) -> list[Held]:
    lo, hi = to_blob(where.lo), to_blob(where.hi)
    found = rows(
        index.db,
        f"SELECT {HELD_COLUMNS} FROM held WHERE is_range = 0 AND family = ? AND lo = ? "
        "UNION ALL "
        f"SELECT {HELD_COLUMNS} FROM held WHERE is_range = 1 AND family = ? AND lo <= ? "
        "AND hi >= ? ORDER BY from_seq, type, rid, scope",
        [where.family, lo, where.family, lo, hi],
    )
    return [Held._make((*r[:11], r[11] if r[11] is not None else index.samples)) for r in found]


class Links:
    """When each two VPCs were connected (the ``links`` table), read as needed."""

    def __init__(self, index: Index) -> None:
        self.db, self.last = index.db, index.samples
        self.cache: dict[str, dict[str, list[Interval]]] = {}

    def of(self, vpc: str) -> dict[str, list[Interval]]:
        if vpc not in self.cache:
            found: dict[str, list[Interval]] = {}
            for other, a, b in rows(
                self.db, "SELECT other, from_seq, to_seq FROM links WHERE vpc = ?", [vpc]
            ):
                found.setdefault(other, []).append((a, b if b is not None else self.last))
            self.cache[vpc] = {k: union(v) for k, v in found.items()}
        return self.cache[vpc]

    def through(self, vpc: str) -> list[str]:
        """The peering connections and transit gateways ``vpc`` ever linked through."""
        return [
            t for (t,) in rows(self.db, "SELECT DISTINCT through FROM links WHERE vpc = ?", [vpc])
        ]


def ours_for(held: Held, rule_vpc: str, is_public: bool, links: Links) -> list[Interval]:
    """The samples during which ``held`` makes its address ours for a rule of a group in
    ``rule_vpc`` (driftaudit.network.counts_for, with the connection as it was then)."""
    whole = [(held.a, held.b)]
    if counts_for(is_public, held.vpc, rule_vpc, False):
        return whole
    return intersect(whole, links.of(rule_vpc).get(held.vpc, []))


def _holder(timeline: Timeline, held: Held, a: int, b: int) -> dict[str, Any]:
    return {**held.as_dict(), **timeline.window(a, b)}


def ip_history(
    index: Index,
    address_text: str,
    at: dt.datetime | None = None,
    filters: Filters = Filters(),
) -> dict[str, Any]:
    """Which of our resources held the address: all windows, or those at ``at``. With a
    VPC filter, the holders that make it ours in that VPC: held there or, while connected,
    in a VPC connected to it (any holder of a public address)."""
    address, where = parse_address(address_text)
    timeline = Timeline(index)
    sample = timeline.at(at) if at is not None else None
    links = Links(index)
    is_public = public(address)
    pieces: list[tuple[Held, int, int]] = []
    for held in _held_rows(index, where):
        if not Filters(filters.account, filters.region).keeps(held.account, held.region, ""):
            continue
        spans = [(held.a, held.b)]
        if filters.vpc is not None:
            spans = ours_for(held, filters.vpc, is_public, links)
        if sample is not None:
            spans = [(a, b) for a, b in spans if a <= sample.seq <= b]
        pieces += [(held, a, b) for a, b in spans]
    timeline.load_bounds((a, b) for _, a, b in pieces)
    out: dict[str, Any] = {
        "command": "ip",
        "query": {"address": address, "at": iso(int(at.timestamp())) if at else None}
        | filters.as_dict(),
        "index": index_info(index, timeline),
        "private": not is_public,
        "networks": sorted({h.vpc for h, _, _ in pieces if h.vpc}),
        "holders": [_holder(timeline, h, a, b) for h, a, b in pieces],
    }
    if sample is not None and at is not None:
        out["sample"] = _sample(timeline, sample, at)
    return out


# --- rules ---------------------------------------------------------------------------------------

RULE_COLUMNS = (
    "r.account, r.region, r.group_id, r.group_name, r.vpc, r.direction, r.protocol, "
    "r.from_port, r.to_port, r.source_type, r.source, r.description, r.rule_id, "
    "r.from_seq, r.to_seq"
)


class RuleRow(NamedTuple):
    account: str
    region: str
    group: str
    group_name: str
    vpc: str
    direction: str
    protocol: str
    from_port: int | None
    to_port: int | None
    source_type: str
    source: str
    description: str | None
    rule_id: str | None
    a: int
    b: int

    @property
    def rule(self) -> Rule:
        return stored_rule(
            self.direction,
            self.protocol,
            self.from_port,
            self.to_port,
            self.source_type,
            self.source,
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Direction": self.direction,
            "Protocol": self.protocol,
            "SourceType": self.source_type,
            "Source": self.source,
        }
        for key, value in (
            ("FromPort", self.from_port),
            ("ToPort", self.to_port),
            ("Description", self.description),
        ):
            if value is not None:
                out[key] = value
        if self.rule_id:
            out["RuleId"] = self.rule_id
        return out

    def group_dict(self) -> dict[str, Any]:
        return {
            "id": self.group,
            "name": self.group_name,
            "account": self.account,
            "region": self.region,
            "vpc": self.vpc or None,
        }

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.account,
            self.region,
            self.group,
            self.direction,
            self.protocol,
            self.from_port if self.from_port is not None else -2,
            self.to_port if self.to_port is not None else -2,
            self.source,
        )


def _rule_rows(index: Index, sql: str, args: Iterable[Any]) -> list[tuple[RuleRow, Row]]:
    """(rule, the rest of the row) for ``SELECT {RULE_COLUMNS}, ... FROM rules r ...``."""
    out = []
    for r in rows(index.db, sql, args):
        rule = RuleRow._make((*r[:14], r[14] if r[14] is not None else index.samples))
        out.append((rule, tuple(r[15:])))
    return out


@dataclass
class Match:
    """A rule letting a source in during ``spans``: directly (its CIDR), through a prefix
    list entry, or through a group one of whose members held the address."""

    rule: RuleRow
    spans: list[Interval]
    #: The matching CIDR's prefix length (rule or list entry); None for a group reference.
    prefix: int | None = None
    via: dict[str, Any] | None = None
    #: Exposure: when the entry (prefix list) started and ended, for opened_by / closed_by.
    entry: tuple[int, int] | None = None
    via_text: str = ""
    #: Exposure only: the part of spans during which the address was not ours, and of that
    #: the part the network ACLs stopped for every target.
    exposed: list[Interval] = field(default_factory=list)
    stopped: list[Interval] = field(default_factory=list)

    @property
    def world(self) -> bool:
        return self.prefix == 0


def _where(filters: Filters, direction: str | None) -> tuple[list[str], list[Any]]:
    where, args = ["1 = 1"], []
    if direction and direction != "any":
        where.append("r.direction = ?")
        args.append(direction)
    for column, value in (
        ("r.account", filters.account),
        ("r.region", filters.region),
        ("r.vpc", filters.vpc),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    return where, args


def _direct(index: Index, wanted: Span, where: list[str], args: list[Any]) -> list[Match]:
    """Rules whose own CIDR covers all of ``wanted``."""
    sql = (
        f"SELECT {RULE_COLUMNS} FROM rules r WHERE {' AND '.join(where)} "  # noqa: S608
        "AND r.source_type IN ('cidr', 'cidr6') AND r.family = ? AND r.lo <= ? AND r.hi >= ?"
    )
    found = _rule_rows(index, sql, [*args, wanted.family, to_blob(wanted.lo), to_blob(wanted.hi)])
    return [Match(rule, [(rule.a, rule.b)], prefix_length(rule.source)) for rule, _ in found]


def prefix_length(cidr: str) -> int | None:
    """The prefix length of a stored CIDR (``10.191.12.0/24``: 24), cheaply: answers rank
    thousands of rules by it."""
    head, slash, length = cidr.partition("/")
    if slash and length.isdigit():
        return int(length)
    net = network_of(cidr)
    return net.prefixlen if net else None


def _through_lists(index: Index, wanted: Span, where: list[str], args: list[Any]) -> list[Match]:
    """Rules whose prefix list had an entry covering all of ``wanted``: while both were."""
    sql = (
        f"SELECT {RULE_COLUMNS}, e.list_name, e.cidr, e.description, e.from_seq, e.to_seq "  # noqa: S608
        f"FROM rules r JOIN entries e ON e.list_id = r.source WHERE {' AND '.join(where)} "
        "AND r.source_type = 'prefix_list' AND e.family = ? AND e.lo <= ? AND e.hi >= ?"
    )
    found = _rule_rows(index, sql, [*args, wanted.family, to_blob(wanted.lo), to_blob(wanted.hi)])
    by_entry: dict[tuple[RuleRow, str], tuple[Row, list[Interval]]] = {}
    for rule, (name, cidr, note, a, b) in found:
        b = b if b is not None else index.samples
        # The same list snapshotted in several accounts (AWS-managed, shared): one entry.
        key = (rule, cidr)
        known = by_entry.setdefault(key, ((name, cidr, note), []))
        known[1].append((a, b))
    out = []
    for (rule, cidr), ((name, _, note), entry_spans) in by_entry.items():
        spans = intersect([(rule.a, rule.b)], entry_spans)
        if not spans:
            continue
        net = network_of(cidr)
        label = f" ({name})" if name else ""
        via = {
            "kind": "prefix_list",
            "list": rule.source,
            "name": name,
            "entry": cidr,
            "description": note or None,
        }
        entry = union(entry_spans)
        out.append(
            Match(
                rule,
                spans,
                net.prefixlen if net else None,
                via,
                (entry[0][0], entry[-1][1]),
                f"via prefix list {rule.source}{label} entry {cidr}",
            )
        )
    return out


def _through_groups(
    index: Index, where_span: Span, where: list[str], args: list[Any]
) -> list[Match]:
    """Rules whose source is a security group while a member of it (an instance or
    interface in it, through the interface holding the address) held the address: the
    rule's window, the membership's and the holding's, intersected."""
    held = [
        h
        for h in _held_rows(index, where_span)
        if h.type in ("instances", "network_interfaces") and h.scope != "public"
    ]
    if not held:
        return []
    members: dict[tuple[str, str, str, str], list[tuple[str, str, int, int]]] = {}
    rids = sorted({h.rid for h in held})
    marks = ",".join("?" * len(rids))
    for t, a, r, rid, group, via, start, stop in rows(
        index.db,
        "SELECT type, account, region, rid, group_id, via, from_seq, to_seq FROM members "  # noqa: S608
        f"WHERE rid IN ({marks})",
        rids,
    ):
        members.setdefault((t, a, r, rid), []).append(
            (group, via, start, stop if stop is not None else index.samples)
        )
    # (group id, holding) -> the samples the holding's resource was in the group.
    inside: dict[tuple[str, Held], list[Interval]] = {}
    for h in held:
        for group, via, start, stop in members.get((h.type, h.account, h.region, h.rid), []):
            # An instance is in a group through an interface; its interfaces' addresses only.
            if via and h.type == "instances" and via != h.via:
                continue
            spans = intersect([(h.a, h.b)], [(start, stop)])
            if spans:
                inside.setdefault((group, h), []).extend(spans)
    # An instance's interface holds what the instance holds through it: named once, by the
    # instance, for as long as the instance holds it.
    for (g, h), spans in list(inside.items()):
        if h.type != "network_interfaces":
            continue
        covered = [
            s
            for (g2, i), x in inside.items()
            if g2 == g and i.type == "instances" and i.via == h.rid
            for s in x
        ]
        rest = subtract(union(spans), union(covered))
        if rest:
            inside[(g, h)] = rest
        else:
            del inside[(g, h)]
    if not inside:
        return []
    sources: dict[str, set[str]] = {}
    for group, h in inside:
        sources.setdefault(group, set()).add(group)
        sources.setdefault(f"{h.account}/{group}", set()).add(group)
    names = group_names(index, {g for g, _ in inside})
    marks = ",".join("?" * len(sources))
    sql = (
        f"SELECT {RULE_COLUMNS} FROM rules r WHERE {' AND '.join(where)} "  # noqa: S608
        f"AND r.source_type = 'group' AND r.source IN ({marks})"
    )
    out = []
    for rule, _ in _rule_rows(index, sql, [*args, *sorted(sources)]):
        group = rule.source.rpartition("/")[2]
        for (g, h), spans in sorted(inside.items(), key=lambda kv: (kv[0][0], kv[0][1].a)):
            if g != group or (rule.source != g and rule.source != f"{h.account}/{g}"):
                continue
            both = intersect([(rule.a, rule.b)], spans)
            if not both:
                continue
            name = names.get(g, "")
            via = {"kind": "group", "group": {"id": g, "name": name}, "holder": h.as_dict()}
            label = f" ({name})" if name else ""
            text = f"via group {rule.source}{label}: held by {h.label()}"
            out.append(Match(rule, both, None, via, None, text))
    return out


def group_names(index: Index, groups: Iterable[str]) -> dict[str, str]:
    """The last name each security group had."""
    wanted = sorted(set(groups))
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for group, name in rows(
            index.db,
            f"SELECT group_id, name FROM groups WHERE group_id IN ({marks}) "  # noqa: S608
            "ORDER BY id",
            chunk,
        ):
            out[group] = name
    return out


def _port_ok(rule: RuleRow, port: int | None) -> bool:
    """Whether the stored rule lets ``port`` in, tcp or udp (Rule.allows)."""
    return port is None or rule.rule.allows(port)


# --- who could be reached: members of the group, through their subnets' network ACLs ------------


def _targets(
    timeline: Timeline,
    reach: Reach,
    match: Match,
    spans: list[Interval],
    at_end: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """The first MAX_TARGETS targets of a rule during ``spans`` (``at_end``: those that
    were members at the last of its samples), and how many more members it had then."""
    pieces = reach.pieces(match.rule.group, match.rule.rule, spans)
    pieces.sort(key=lambda p: (p[1], p[0].type, p[0].rid, p[2]))
    if at_end and spans:
        last = max(b for _, b in spans)
        listed = [p for p in pieces if p[2] == last]
        shown = listed[:MAX_TARGETS]
        # Other members during the window, and members beyond the first MAX_TARGETS.
        return _target_dicts(timeline, shown), len({p[0] for p in pieces} - {p[0] for p in shown})
    shown = pieces[:MAX_TARGETS]
    return _target_dicts(timeline, shown), len(pieces) - len(shown)


def _target_dicts(
    timeline: Timeline, shown: list[tuple[Member, int, int, AclVerdict | None]]
) -> list[dict[str, Any]]:
    timeline.load_bounds((a, b) for _, a, b, _ in shown)
    return [
        {
            "type": m.type,
            "id": m.rid,
            "name": m.name,
            "account": m.account,
            "region": m.region,
            "vpc": m.vpc or None,
            "subnet": m.subnet or None,
            "via": m.via or None,
            **timeline.window(a, b),
            "acl": verdict.as_dict() if verdict is not None else None,
        }
        for m, a, b, verdict in shown
    ]


def _rule_window(
    timeline: Timeline,
    reach: Reach,
    match: Match,
    a: int,
    b: int,
    during: list[Interval] | None = None,
    listed: bool = True,
) -> dict[str, Any]:
    """A rule from ``a`` to ``b``, with its targets: the members of its group ``during``
    those samples (an exposure), or when not given the members at ``b``, the last sample
    of the window (a rule answer: a rule open for a year reached hundreds over time; the
    count of the others is given). ``listed`` False: targets not looked up (null count)."""
    more: int | None
    targets: list[dict[str, Any]]
    if not listed:
        targets, more = [], None
    elif during is None:
        targets, more = _targets(timeline, reach, match, [(a, b)], at_end=True)
    else:
        targets, more = _targets(timeline, reach, match, during)
    return {
        "group": match.rule.group_dict(),
        "rule": match.rule.as_dict(),
        **timeline.window(a, b),
        "via": match.via,
        "targets": targets,
        "more_targets": more,
    }


def rule_history(
    index: Index,
    group: str | None = None,
    source: str | None = None,
    port: int | None = None,
    direction: str = "ingress",
    at: dt.datetime | None = None,
    filters: Filters = Filters(),
) -> dict[str, Any]:
    """Every rule (of ``group``; letting all of ``source`` in; on ``port``) with its
    windows. An address or CIDR source matches rules covering it directly, through a prefix
    list entry, or (an address) through a group one of whose members held it."""
    where, args = _where(filters, direction)
    if group:
        where.append("(r.group_id = ? OR r.group_name = ?)")
        args += [group, group]
    timeline = Timeline(index)
    sample = timeline.at(at) if at is not None else None
    wanted = parse_source(source) if source else None
    address: Span | None = None
    if isinstance(wanted, Span):
        matches = _direct(index, wanted, where, args)
        matches += _through_lists(index, wanted, where, args)
        if wanted.lo == wanted.hi:
            address = wanted
            matches += _through_groups(index, wanted, where, args)
    else:
        sql = f"SELECT {RULE_COLUMNS} FROM rules r WHERE {' AND '.join(where)}"  # noqa: S608
        extra = []
        if wanted is not None:
            sql += " AND r.source = ?"
            extra = [wanted]
        matches = [Match(r, [(r.a, r.b)]) for r, _ in _rule_rows(index, sql, [*args, *extra])]
    matches = [m for m in matches if _port_ok(m.rule, port)]
    pieces = [(m, a, b) for m in matches for a, b in m.spans]
    if sample is not None:
        pieces = [(m, a, b) for m, a, b in pieces if a <= sample.seq <= b]
    pieces.sort(key=lambda p: (p[0].rule.sort_key(), p[1], p[0].via_text))
    reach = Reach(index, address, port)
    listed = len(pieces) <= MAX_TARGETED
    if listed:
        reach.load(m.rule.group for m, _, _ in pieces)
    timeline.load_bounds((a, b) for _, a, b in pieces)
    out: dict[str, Any] = {
        "command": "rule",
        "query": {
            "group": group,
            "source": source,
            "port": port,
            "direction": direction,
            "at": iso(int(at.timestamp())) if at else None,
        }
        | filters.as_dict(),
        "index": index_info(index, timeline),
        "rules": [_rule_window(timeline, reach, m, a, b, listed=listed) for m, a, b in pieces],
    }
    if sample is not None and at is not None:
        out["sample"] = _sample(timeline, sample, at)
    return out


# --- exposure ------------------------------------------------------------------------------------


def describe_rule(rule: dict[str, Any]) -> str:
    """``ingress tcp/443 from 10.191.12.0/24``: the rule's text as diff and check write it
    (Rule.text), without its description (the text output adds that quoted)."""
    return Rule.from_dict(rule).text(description=False)


def _describe(match: Match) -> str:
    return f"{match.rule.group} {match.rule.rule.text(description=False)}"


def _causes(
    matches: list[Match],
    held: list[Held],
    links: Links,
    is_public: bool,
    a: int,
    b: int,
    last: int,
) -> tuple[list[str], list[str]]:
    """What opened the window at ``a`` and closed it after ``b``."""
    opened: list[str] = []
    closed: list[str] = []
    for m in matches:
        # A holder in another VPC counts from when the two are connected.
        for h in held:
            if not h.vpc or not m.rule.vpc or h.vpc == m.rule.vpc:
                continue
            for c, d in links.of(m.rule.vpc).get(h.vpc, []):
                where = f"{m.rule.vpc} and {h.vpc}, where {h.label()} holds it"
                if d == a - 1 and h.a <= a <= h.b:
                    opened.append(f"no longer connected: {where}")
                if c == b + 1 and h.a <= b + 1 <= h.b:
                    closed.append(f"connected: {where}")
        if m.rule.a == a and a > 1:
            opened.append(f"rule added: {_describe(m)}")
        if m.rule.b == b and b < last:
            closed.append(f"rule removed: {_describe(m)}")
        if m.entry and m.via:
            note = f"prefix list {m.rule.source} entry {m.via['entry']}"
            if m.entry[0] == a and a > 1 and m.rule.a != a:
                opened.append(f"entry added: {note}")
            if m.entry[1] == b and b < last and m.rule.b != b:
                closed.append(f"entry removed: {note}")
        if overlaps(m.stopped, a - 1, a - 1):
            opened.append(f"network ACLs no longer stop it: {_describe(m)}")
        if overlaps(m.stopped, b + 1, b + 1):
            closed.append(f"network ACLs stop it from then on: {_describe(m)}")
    # Only holders that made the address ours for one of the window's rules (its network).
    counted = [h for h in held if any(ours_for(h, m.rule.vpc, is_public, links) for m in matches)]
    opened += [f"released by {h.label()}" for h in counted if h.b == a - 1]
    closed += [f"taken by {h.label()}" for h in counted if h.a == b + 1]
    return list(dict.fromkeys(opened)), list(dict.fromkeys(closed))


def _rank(matches: list[Match]) -> list[Match]:
    """Specific sources first (a /32 before a /24 before a world rule), then by group."""
    return sorted(matches, key=lambda m: (-(m.prefix or 0), m.rule.sort_key()))


def exposure(
    index: Index,
    address_text: str,
    port: int | None = None,
    at: dt.datetime | None = None,
    filters: Filters = Filters(),
    world: bool = True,
) -> dict[str, Any]:
    """Windows during which an ingress rule allowed the address (on ``port``) while none of
    our resources held it in the rule's network, and the network ACLs of the group's
    members did not stop it for every one of them. Windows with a more specific source come
    first; ``world`` False leaves rules open to the world (0.0.0.0/0, ::/0) out."""
    address, where_span = parse_address(address_text)
    timeline = Timeline(index)
    last = index.samples
    sample = timeline.at(at) if at is not None else None
    where, args = _where(filters, "ingress")
    matches = _direct(index, where_span, where, args) + _through_lists(
        index, where_span, where, args
    )
    matches = [m for m in matches if _port_ok(m.rule, port) and (world or not m.world)]
    held = _held_rows(index, where_span)
    links = Links(index)
    is_public = public(address)
    reach = Reach(index, where_span, port)
    reach.load(m.rule.group for m in matches)
    for m in matches:
        ours = union(s for h in held for s in ours_for(h, m.rule.vpc, is_public, links))
        exposed = subtract(union(m.spans), ours)
        m.stopped = intersect(exposed, reach.stopped(m.rule.group, m.rule.rule, exposed))
        m.exposed = subtract(exposed, m.stopped)
    spans = union(s for m in matches for s in m.exposed)
    blocked = subtract(union(s for m in matches for s in m.stopped), spans)
    if sample is not None:
        spans = [(a, b) for a, b in spans if a <= sample.seq <= b]
        blocked = [(a, b) for a, b in blocked if a <= sample.seq <= b]
    timeline.load_bounds(spans + blocked)
    open_rules = {
        (a, b): _rank([m for m in matches if overlaps(m.exposed, a, b)]) for a, b in spans
    }
    stopped_rules = {
        (a, b): _rank([m for m in matches if overlaps(m.stopped, a, b)]) for a, b in blocked
    }
    listed = sum(map(len, [*open_rules.values(), *stopped_rules.values()])) <= MAX_TARGETED
    windows = []
    for a, b in spans:
        inside = open_rules[(a, b)]
        opened, closed = _causes(inside, held, links, is_public, a, b, last)
        windows.append(
            (
                -(inside[0].prefix or 0),
                a,
                {
                    **timeline.window(a, b),
                    "opened_by": opened,
                    "closed_by": closed,
                    "rules": [
                        _rule_window(
                            timeline,
                            reach,
                            m,
                            *_clip(m.spans, a, b),
                            intersect(m.exposed, [(a, b)]),
                            listed,
                        )
                        for m in inside
                    ],
                },
            )
        )
    windows.sort(key=lambda w: (w[0], w[1]))
    stopped = []
    for a, b in blocked:
        inside = stopped_rules[(a, b)]
        denials = sorted(
            {
                v.text
                for m in inside
                for _, _, _, v in reach.pieces(m.rule.group, m.rule.rule, [(a, b)])
                if v is not None and not v.allowed
            }
        )
        stopped.append(
            {
                **timeline.window(a, b),
                "denied_by": denials,
                "rules": [
                    _rule_window(
                        timeline,
                        reach,
                        m,
                        *_clip(m.spans, a, b),
                        intersect(m.stopped, [(a, b)]),
                        listed,
                    )
                    for m in inside
                ],
            }
        )
    out: dict[str, Any] = {
        "command": "exposure",
        "query": {
            "address": address,
            "port": port,
            "at": iso(int(at.timestamp())) if at else None,
            "world": world,
        }
        | filters.as_dict(),
        "index": index_info(index, timeline),
        "windows": [w for _, _, w in windows],
        "stopped": stopped,
    }
    if sample is not None and at is not None:
        out["sample"] = _sample(timeline, sample, at)
    return out


def _clip(spans: list[Interval], a: int, b: int) -> Interval:
    """The rule's own window around the exposure window [a, b]: the span of ``spans``
    overlapping it (a rule shows when it was added and removed, not the window's ends)."""
    for c, d in union(spans):
        if c <= b and d >= a:
            return (c, d)
    return (a, b)
