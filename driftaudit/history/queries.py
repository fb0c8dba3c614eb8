"""The three history questions, answered from the index in SQL.

Snapshots are samples: nothing is known between two of them. Every boundary is therefore the
pair of snapshot times it lies between (``last_without`` / ``first_with`` for a start,
``last_with`` / ``first_without`` for an end) with the commit of the later one, never an
invented instant. ``last_without`` null: present since the first snapshot (perhaps earlier);
``first_without`` null: still present in the last snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from driftaudit.errors import DriftauditError
from driftaudit.history.holders import KIND
from driftaudit.history.index import Index, rows
from driftaudit.history.rules import Span, canonical_address, span, stored_rule, to_blob
from driftaudit.rule import Rule
from driftaudit.times import iso

Interval = tuple[int, int]  # inclusive sample numbers


class BadQuery(DriftauditError):
    """An address, source or time the history cannot be asked about."""


@dataclass(frozen=True)
class Sample:
    seq: int
    sha: str
    time: int


class Timeline:
    """Sample number -> (commit, time), read from the index as needed."""

    def __init__(self, index: Index) -> None:
        self.db, self.last = index.db, index.samples
        self.cache: dict[int, Sample] = {}

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

    def start(self, seq: int) -> dict[str, Any]:
        before, first = self.get(seq - 1), self.get(seq)
        assert first is not None
        return {
            "last_without": iso(before.time) if before else None,
            "first_with": iso(first.time),
            "commit": first.sha,
        }

    def end(self, seq: int | None) -> dict[str, Any]:
        last = self.get(seq if seq is not None else self.last)
        after = self.get(seq + 1) if seq is not None else None
        assert last is not None
        return {
            "last_with": iso(last.time),
            "first_without": iso(after.time) if after else None,
            "commit": after.sha if after else None,
        }


def index_info(index: Index, timeline: Timeline) -> dict[str, Any]:
    first, last = timeline.get(1), timeline.get(index.samples)
    return {
        "head": index.head,
        "snapshots": index.samples,
        "first": iso(first.time) if first else None,
        "last": iso(last.time) if last else None,
        "update": index.stats.as_dict(),
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


# --- holders -------------------------------------------------------------------------------

HELD_COLUMNS = "type, account, region, rid, address, scope, via, from_seq, to_seq"


def _held_rows(index: Index, where: Span, at: int | None = None) -> list[tuple[Any, ...]]:
    lo, hi = to_blob(where.lo), to_blob(where.hi)
    when, args_at = "", []
    if at is not None:
        when = " AND from_seq <= ? AND (to_seq IS NULL OR to_seq >= ?)"
        args_at = [at, at]
    return rows(
        index.db,
        f"SELECT {HELD_COLUMNS} FROM held WHERE is_range = 0 AND family = ? AND lo = ?{when} "
        "UNION ALL "
        f"SELECT {HELD_COLUMNS} FROM held WHERE is_range = 1 AND family = ? AND lo <= ? "
        f"AND hi >= ?{when} ORDER BY from_seq, type, rid, scope",
        [where.family, lo, *args_at, where.family, lo, hi, *args_at],
    )


def _holder(timeline: Timeline, row: tuple[Any, ...]) -> dict[str, Any]:
    rtype, account, region, rid, address, scope, via, from_seq, to_seq = row
    return {
        "type": rtype,
        "id": rid,
        "account": account,
        "region": region,
        "address": address,
        "scope": scope,
        "via": via or None,
        "start": timeline.start(from_seq),
        "end": timeline.end(to_seq),
    }


def ip_history(index: Index, address_text: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """Which of our resources held the address: all windows, or those at ``at``."""
    address, where = parse_address(address_text)
    timeline = Timeline(index)
    sample = timeline.at(at) if at is not None else None
    found = _held_rows(index, where, sample.seq if sample else None)
    timeline.load(s for r in found for s in (r[7] - 1, r[7], r[8] or 0, (r[8] or 0) + 1))
    out: dict[str, Any] = {
        "command": "ip",
        "query": {"address": address, "at": iso(int(at.timestamp())) if at else None},
        "index": index_info(index, timeline),
        "holders": [_holder(timeline, r) for r in found],
    }
    if sample is not None:
        out["sample"] = _sample(timeline, sample)
    return out


def _sample(timeline: Timeline, sample: Sample) -> dict[str, Any]:
    after = timeline.get(sample.seq + 1)
    return {
        "time": iso(sample.time),
        "commit": sample.sha,
        "next": iso(after.time) if after else None,
    }


# --- rules ---------------------------------------------------------------------------------

RULE_COLUMNS = (
    "account, region, group_id, group_name, direction, protocol, from_port, to_port, "
    "source_type, source, description, rule_id, from_seq, to_seq"
)


def _rule(row: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Direction": row[4],
        "Protocol": row[5],
        "SourceType": row[8],
        "Source": row[9],
    }
    for key, value in (("FromPort", row[6]), ("ToPort", row[7]), ("Description", row[10])):
        if value is not None:
            out[key] = value
    if row[11]:
        out["RuleId"] = row[11]
    return out


def _rule_window(timeline: Timeline, row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "group": {"id": row[2], "name": row[3], "account": row[0], "region": row[1]},
        "rule": _rule(row),
        "start": timeline.start(row[12]),
        "end": timeline.end(row[13]),
    }


def _port_ok(row: tuple[Any, ...], port: int | None) -> bool:
    """Whether the stored rule lets ``port`` in, tcp or udp (Rule.allows)."""
    return port is None or stored_rule(*row[4:10]).allows(port)


def rule_history(
    index: Index,
    group: str | None = None,
    source: str | None = None,
    port: int | None = None,
    direction: str = "ingress",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Every rule (of ``group``; allowing all of ``source``; on ``port``) with its windows."""
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if direction != "any":
        where.append("direction = ?")
        args.append(direction)
    if group:
        where.append("(group_id = ? OR group_name = ?)")
        args += [group, group]
    if source:
        wanted = parse_source(source)
        if isinstance(wanted, Span):
            # Containment: the rule's range covers every address of the source.
            where.append("source_type IN ('cidr', 'cidr6') AND family = ? AND lo <= ? AND hi >= ?")
            args += [wanted.family, to_blob(wanted.lo), to_blob(wanted.hi)]
        else:
            where.append("source = ?")
            args.append(wanted)
    timeline = Timeline(index)
    sample = timeline.at(at) if at is not None else None
    if sample is not None:
        where.append("from_seq <= ? AND (to_seq IS NULL OR to_seq >= ?)")
        args += [sample.seq, sample.seq]
    found = [
        r
        for r in rows(
            index.db,
            f"SELECT {RULE_COLUMNS} FROM rules WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY account, region, group_id, direction, protocol, from_port, to_port, "
            "source, from_seq",
            args,
        )
        if _port_ok(r, port)
    ]
    timeline.load(s for r in found for s in (r[12] - 1, r[12], r[13] or 0, (r[13] or 0) + 1))
    out: dict[str, Any] = {
        "command": "rule",
        "query": {
            "group": group,
            "source": source,
            "port": port,
            "direction": direction,
            "at": iso(int(at.timestamp())) if at else None,
        },
        "index": index_info(index, timeline),
        "rules": [_rule_window(timeline, r) for r in found],
    }
    if sample is not None:
        out["sample"] = _sample(timeline, sample)
    return out


# --- exposure ------------------------------------------------------------------------------


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, with adjacent samples merged (``[1,3] + [4,5] = [1,5]``)."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(base: list[Interval], cut: list[Interval]) -> list[Interval]:
    """Samples of ``base`` outside ``cut`` (both sorted and disjoint)."""
    out: list[Interval] = []
    for a, b in base:
        start = a
        for c, d in cut:
            if d < start or c > b:
                continue
            if c > start:
                out.append((start, c - 1))
            start = max(start, d + 1)
        if start <= b:
            out.append((start, b))
    return out


def _describe_rule(row: tuple[Any, ...]) -> str:
    rule = _rule(row)
    return f"{row[2]} {describe_rule(rule)}"


def describe_rule(rule: dict[str, Any]) -> str:
    """``ingress tcp/443 from 10.191.12.0/24``: the rule's text as diff and check write it
    (Rule.text), without its description (the text output adds that quoted)."""
    return Rule.from_dict(rule).text(description=False)


def exposure(
    index: Index, address_text: str, port: int | None = None, at: dt.datetime | None = None
) -> dict[str, Any]:
    """Windows during which an ingress rule allowed the address (on ``port``) while none of
    our resources held it."""
    address, where = parse_address(address_text)
    timeline = Timeline(index)
    last = index.samples
    sample = timeline.at(at) if at is not None else None
    allowing = [
        r
        for r in rows(
            index.db,
            f"SELECT {RULE_COLUMNS} FROM rules WHERE direction = 'ingress' "  # noqa: S608
            "AND source_type IN ('cidr', 'cidr6') AND family = ? AND lo <= ? AND hi >= ? "
            "ORDER BY from_seq, group_id, source",
            [where.family, to_blob(where.lo), to_blob(where.hi)],
        )
        if _port_ok(r, port)
    ]
    held = _held_rows(index, where)
    ruled = union((r[12], r[13] if r[13] is not None else last) for r in allowing)
    ours = union((h[7], h[8] if h[8] is not None else last) for h in held)
    spans = subtract(ruled, ours)
    if sample is not None:
        spans = [(a, b) for a, b in spans if a <= sample.seq <= b]
    timeline.load(s for a, b in spans for s in (a - 1, a, b, b + 1))
    windows = []
    for a, b in spans:
        overlapping = [
            r for r in allowing if r[12] <= b and (r[13] if r[13] is not None else last) >= a
        ]
        opened = [f"rule added: {_describe_rule(r)}" for r in overlapping if r[12] == a and a > 1]
        opened += [f"released by {KIND[h[0]]} {h[3]}" for h in held if h[8] == a - 1]
        closed = [f"rule removed: {_describe_rule(r)}" for r in overlapping if r[13] == b]
        closed += [f"taken by {KIND[h[0]]} {h[3]}" for h in held if h[7] == b + 1]
        windows.append(
            {
                "start": timeline.start(a),
                "end": timeline.end(b if b < last else None),
                "opened_by": opened,
                "closed_by": closed,
                "rules": [_rule_window(timeline, r) for r in overlapping],
            }
        )
    out: dict[str, Any] = {
        "command": "exposure",
        "query": {
            "address": address,
            "port": port,
            "at": iso(int(at.timestamp())) if at else None,
        },
        "index": index_info(index, timeline),
        "windows": windows,
    }
    if sample is not None:
        out["sample"] = _sample(timeline, sample)
    return out
