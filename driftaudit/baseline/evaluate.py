"""Snapshot documents + a baseline -> findings (pure).

Four kinds, as in driftctl and CloudFormation drift detection:

* ``changed``: a declared resource differs from its declaration (one item per rule or field,
  expected vs actual);
* ``missing``: declared, not in the snapshot;
* ``unmanaged``: in the snapshot, not declared, for a type the baseline manages exclusively;
* ``violation``: a resource breaks a policy that applies to every resource of its type.

Item operators read like a plan of reality against the baseline: ``+`` exists but is not
declared, ``-`` declared but absent, ``~`` differs, ``!`` breaks a policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from driftaudit.baseline.checks import Seen, Since, check_declaration, check_policy
from driftaudit.baseline.findings import (
    KINDS,
    ORDER,
    Checked,
    Finding,
    Item,
    Result,
    Snapshot,
)
from driftaudit.baseline.lines import compose, locate
from driftaudit.baseline.model import Baseline, Declaration, Ignore, Origin
from driftaudit.change.differ import severity_rank
from driftaudit.change.severity import CRITICAL_PORTS

__all__ = ["KINDS", "Checked", "Finding", "Item", "Result", "Snapshot", "evaluate"]


# --- ignores -----------------------------------------------------------------------------------


def _ignored(path: str, rules: list[Ignore]) -> bool:
    return any(i.covers(path) for i in rules)


def _ignores_for(
    ignores: list[Ignore], doc: dict[str, Any], name: str
) -> tuple[bool, list[Ignore]]:
    """Whether a rule ignores the whole resource, and the rules ignoring some of its
    fields."""
    relevant = [i for i in ignores if i.applies(doc, name)]
    return any(not i.fields for i in relevant), [i for i in relevant if i.fields]


# --- the check ---------------------------------------------------------------------------------


def _finding(
    kind: str,
    snap: Snapshot,
    origin: Origin | None,
    message: str,
    items: list[Item] | None = None,
    policy: str | None = None,
) -> Finding:
    return Finding(
        kind,
        snap.get("type"),
        snap.get("account"),
        snap.get("region"),
        snap.get("id"),
        snap.name,
        snap.path,
        origin,
        message,
        policy,
        items or [],
    )


class _Check:
    """One evaluation: the resources in play, and what was found about each."""

    def __init__(
        self,
        baseline: Baseline,
        snapshots: Iterable[Snapshot],
        seen: Seen | None = None,
        since: Since | None = None,
        critical_ports: tuple[int, ...] = CRITICAL_PORTS,
    ) -> None:
        self.baseline = baseline
        snapshots = list(snapshots)
        # Rules are seen through prefix lists, and unheld-host asks who holds an address:
        # both need every document read (lists, holders, routes), whatever types the
        # baseline names; only a deny needs them.
        if seen is None and any(p.deny is not None for p in baseline.policies):
            seen = Seen.of(s.doc for s in snapshots)
        self.seen, self.since = seen, since
        self.critical_ports = critical_ports
        self.checked: dict[str, Checked] = {}
        #: (snapshot, the rules ignoring some of its fields), wholly ignored ones left out.
        self.snaps: list[tuple[Snapshot, list[Ignore]]] = []
        self.ignored_resources = self.ignored_items = 0
        types = baseline.types
        for snap in snapshots:
            if snap.get("type") not in types or not baseline.in_scope(snap.doc):
                continue
            whole, fields = _ignores_for(baseline.ignores, snap.doc, snap.name)
            if whole:
                self.ignored_resources += 1
            else:
                self.snaps.append((snap, fields))
        # Most declarations name one id: find their resources without scanning them all.
        self.by_id: dict[tuple[str, str], list[tuple[Snapshot, list[Ignore]]]] = {}
        self.by_type: dict[str, list[tuple[Snapshot, list[Ignore]]]] = {}
        for pair in self.snaps:
            rtype = pair[0].get("type")
            self.by_id.setdefault((rtype, pair[0].get("id")), []).append(pair)
            self.by_type.setdefault(rtype, []).append(pair)

    def entry(self, snap: Snapshot) -> Checked:
        if snap.path not in self.checked:
            self.checked[snap.path] = Checked(
                snap.get("type"),
                snap.get("account"),
                snap.get("region"),
                snap.get("id"),
                snap.name,
                snap.path,
            )
        return self.checked[snap.path]

    def add(
        self, snap: Snapshot, fields: list[Ignore], finding: Finding, severity: str | None = None
    ) -> None:
        entry = self.entry(snap)
        kept = [i for i in finding.items if not _ignored(i.path, fields)]
        self.ignored_items += len(finding.items) - len(kept)
        finding.items = kept
        if finding.items or finding.kind == "unmanaged":
            finding.rate(severity)
            entry.findings.append(finding)

    def declarations(self) -> tuple[set[str], list[Checked]]:
        """Paths of declared resources, and the declarations that match nothing."""
        declared: set[str] = set()
        missing: list[Checked] = []
        for decl in self.baseline.declarations:
            exact = decl.selector.exact_id
            candidates = (
                self.by_id.get((decl.type, exact), []) if exact else self.by_type.get(decl.type, [])
            )
            matched = [(s, f) for s, f in candidates if decl.selector.matches(s.doc, s.name)]
            if not matched and not _declared_ignored(self.baseline.ignores, decl):
                missing.append(_missing(decl))
            for snap, fields in matched:
                declared.add(snap.path)
                message = f"differs from its declaration at {decl.origin}"
                items = check_declaration(decl, snap)
                self.add(snap, fields, _finding("changed", snap, decl.origin, message, items))
        return declared, missing

    def policies(self) -> None:
        for policy in self.baseline.policies:
            for snap, fields in self.by_type.get(policy.type, []):
                if policy.selector is not None and not policy.selector.matches(snap.doc, snap.name):
                    continue
                message = f"breaks policy {policy.name} ({policy.origin})"
                items = check_policy(policy, snap, self.seen, self.since, self.critical_ports)
                finding = _finding("violation", snap, policy.origin, message, items, policy.name)
                self.add(snap, fields, finding, policy.severity)

    def unmanaged(self, declared: set[str]) -> None:
        for snap, fields in self.snaps:
            rtype = snap.get("type")
            if self.baseline.manage.get(rtype) == "exclusive" and snap.path not in declared:
                message = f"not declared in the baseline ({rtype} are managed exclusively)"
                self.add(snap, fields, _finding("unmanaged", snap, None, message))


def evaluate(
    baseline: Baseline,
    snapshots: Iterable[Snapshot],
    seen: Seen | None = None,
    since: Since | None = None,
    critical_ports: tuple[int, ...] = CRITICAL_PORTS,
) -> Result:
    """``seen``: the snapshot's networks and prefix lists (built from ``snapshots`` when a
    policy denies rules and none is given); ``since``: since when an unheld host has been so,
    from the history (driftaudit.baseline.unheld), added to its finding; ``critical_ports``:
    the ports whose world-open ingress makes a deny's violation critical (as for diff).

    Every finding is rated (its policy's ``severity:``, else its kind's default), and the
    result is ordered worst first: resources by their worst finding, then type and id."""
    check = _Check(baseline, snapshots, seen, since, critical_ports)
    declared, missing = check.declarations()
    check.policies()
    check.unmanaged(declared)
    _locate(check.checked, {s.path: s for s, _ in check.snaps})
    for entry in check.checked.values():
        entry.findings.sort(key=lambda f: (-severity_rank(f.severity), ORDER.index(f.kind)))
    ordered = sorted(
        [*check.checked.values(), *missing],
        key=lambda c: (
            -severity_rank(c.severity) if c.severity else 1,
            c.type,
            c.id,
            c.account,
            c.region,
        ),
    )
    return Result(
        list(baseline.files),
        ordered,
        ignored_resources=check.ignored_resources,
        ignored_items=check.ignored_items,
        policy_severities={p.name: p.severity for p in baseline.policies},
    )


def _declared_ignored(ignores: list[Ignore], decl: Declaration) -> bool:
    """A declaration whose resource is ignored whole is not reported missing."""
    rid = decl.selector.exact_id
    if rid is None:
        return False
    doc = {
        "type": decl.type,
        "id": rid,
        "account": decl.selector.account,
        "region": decl.selector.region,
    }
    return any(not i.fields and i.applies(doc, "") for i in ignores)


def _missing(decl: Declaration) -> Checked:
    rid = decl.selector.exact_id or decl.label
    account, region = decl.selector.account or "", decl.selector.region or ""
    what = "not found" if decl.selector.exact_id else "nothing matches"
    message = f"declared at {decl.origin}, {what} in the snapshot"
    name = decl.name or ""
    finding = Finding("missing", decl.type, account, region, rid, name, None, decl.origin, message)
    finding.rate()
    return Checked(decl.type, account, region, rid, name, None, [finding])


def _locate(checked: dict[str, Checked], snaps: dict[str, Snapshot]) -> None:
    """Give every finding and item its line in the snapshot file (composing only files
    that have findings)."""
    for path, entry in checked.items():
        if not entry.findings:
            continue
        root = compose(snaps[path].text) if snaps[path].text else None
        for finding in entry.findings:
            for item in finding.items:
                item.line = locate(root, item.steps, item.rule)
            lines = [i.line for i in finding.items if i.line]
            finding.line = min(lines) if lines else locate(root, (), None)
