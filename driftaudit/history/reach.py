"""Who a rule could reach: the members of its security group (instances, through the
interface in the group, and interfaces), and what the network ACLs of their subnets did with
the traffic, read from the index as one query needs them.

An ACL verdict is asked of the traffic the rule lets in from one address (on one port, when
asked): driftaudit.network.acl_verdict, per stretch of samples over which the subnet's ACL
and its entries stayed the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from typing import NamedTuple

from driftaudit.history.index import Index, rows
from driftaudit.history.intervals import Interval, union
from driftaudit.history.rules import Span
from driftaudit.network import AclEntry, AclVerdict, acl_verdict, flows
from driftaudit.rule import Rule


class Member(NamedTuple):
    type: str
    account: str
    region: str
    rid: str
    via: str
    subnet: str
    vpc: str
    name: str
    a: int
    b: int


class Reach:
    """The members of security groups and the network ACLs of their subnets, read from the
    index as one query needs them. ``address`` (with ``port``) is the traffic the ACLs are
    asked about; without an address no ACL verdict is given."""

    def __init__(self, index: Index, address: Span | None, port: int | None) -> None:
        self.index, self.address, self.port = index, address, port
        self.last = index.samples
        self.members: dict[str, list[Member]] = {}
        self.acls: dict[str, list[tuple[str, int, int]]] = {}
        self.entries: dict[str, list[tuple[AclEntry, int, int]]] = {}
        self.verdicts: dict[tuple[str, Rule], list[tuple[int, int, AclVerdict | None]]] = {}
        #: No verdict over the whole history: no address asked about, no subnet, no ACL.
        self.unknown: list[tuple[int, int, AclVerdict | None]] = [(1, self.last, None)]

    def load(self, groups: Iterable[str]) -> None:
        wanted = sorted({g.rpartition("/")[2] for g in groups} - set(self.members))
        for g in wanted:
            self.members[g] = []
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for group, *row, a, b in rows(
                self.index.db,
                "SELECT group_id, type, account, region, rid, via, subnet, vpc, name, "  # noqa: S608
                f"from_seq, to_seq FROM members WHERE group_id IN ({marks}) "
                "ORDER BY from_seq, type, rid",
                chunk,
            ):
                end = b if b is not None else self.last
                self.members[group].append(Member._make((*row, a, end)))
        for g in wanted:
            # An instance is in a group through its interface: the interface itself is not
            # named again.
            through = {m.via for m in self.members[g] if m.type == "instances" and m.via}
            self.members[g] = [
                m
                for m in self.members[g]
                if not (m.type == "network_interfaces" and m.rid in through)
            ]

    def _acl_of(self, subnet: str) -> list[tuple[str, int, int]]:
        if subnet not in self.acls:
            self.acls[subnet] = [
                (acl, a, b if b is not None else self.last)
                for acl, a, b in rows(
                    self.index.db,
                    "SELECT acl_id, from_seq, to_seq FROM acl_subnets WHERE subnet = ?",
                    [subnet],
                )
            ]
        return self.acls[subnet]

    def _entries(self, acl: str) -> list[tuple[AclEntry, int, int]]:
        if acl not in self.entries:
            self.entries[acl] = [
                (
                    AclEntry(bool(egress), number, action, protocol, lo, hi, cidr),
                    a,
                    b if b is not None else self.last,
                )
                for egress, number, action, protocol, lo, hi, cidr, a, b in rows(
                    self.index.db,
                    "SELECT egress, number, action, protocol, from_port, to_port, cidr, "
                    "from_seq, to_seq FROM acl_entries WHERE acl_id = ?",
                    [acl],
                )
            ]
        return self.entries[acl]

    def verdicts_of(self, subnet: str, rule: Rule) -> list[tuple[int, int, AclVerdict | None]]:
        """(from, to, verdict) over the whole history for the subnet's ACL on the traffic
        the rule lets in from the address; None where no ACL is known."""
        if self.address is None or not subnet:
            return self.unknown
        key = (subnet, rule)
        if key in self.verdicts:
            return self.verdicts[key]
        out: list[tuple[int, int, AclVerdict | None]] = []
        traffic = flows(rule, self.port)
        if not traffic or not self._acl_of(subnet):
            out = self.unknown
        else:
            assoc = self._acl_of(subnet)
            cuts = {1, self.last + 1}
            for acl, a, b in assoc:
                cuts |= {a, b + 1}
                for _, c, d in self._entries(acl):
                    cuts |= {c, d + 1}
            points = sorted(c for c in cuts if 1 <= c <= self.last + 1)
            for a, nxt in pairwise(points):
                b = nxt - 1
                acl = next((x for x, c, d in assoc if c <= a and b <= d), "")
                verdict = None
                if acl:
                    entries = [e for e, c, d in self._entries(acl) if c <= a and b <= d]
                    verdict = acl_verdict(acl, entries, self.address, traffic)
                if out and out[-1][2] == verdict and out[-1][1] == a - 1:
                    out[-1] = (out[-1][0], b, verdict)
                else:
                    out.append((a, b, verdict))
        self.verdicts[key] = out
        return out

    def pieces(
        self, group: str, rule: Rule, spans: list[Interval]
    ) -> list[tuple[Member, int, int, AclVerdict | None]]:
        """The group's members during ``spans``, each piece with one ACL verdict."""
        out = []
        spans = union(spans)
        for m in self.members.get(group.rpartition("/")[2], []):
            for x, y in spans:
                a, b = max(m.a, x), min(m.b, y)
                if a > b:
                    continue
                for c, d, verdict in self.verdicts_of(m.subnet, rule):
                    lo, hi = max(a, c), min(b, d)
                    if lo <= hi:
                        out.append((m, lo, hi, verdict))
        return out

    def stopped(self, group: str, rule: Rule, spans: list[Interval]) -> list[Interval]:
        """The samples of ``spans`` during which the group had members and the network ACLs
        stopped the traffic to every one of them (no members: nothing is stopped, since
        anything launched into the group would be reached)."""
        pieces = self.pieces(group, rule, spans)
        if not pieces:
            return []
        cuts = sorted({p[1] for p in pieces} | {p[2] + 1 for p in pieces})
        out = []
        for a, nxt in pairwise(cuts):
            b = nxt - 1
            here = [v for _, c, d, v in pieces if c <= a and b <= d]
            if here and all(v is not None and not v.allowed for v in here):
                out.append((a, b))
        return union(out)
