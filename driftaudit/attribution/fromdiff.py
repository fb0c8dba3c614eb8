"""``diff --attribute``: each change between the two snapshots, asked of CloudTrail, and the
answers written into the report (each change's ``attribution``: one entry per change or
rule it can be matched by).

What is matched, per change (and per change folded under it):

* security group: each rule added (Authorize, or ModifySecurityGroupRules keeping its
  ``sgr-`` id) and each rule removed (Revoke, or ModifySecurityGroupRules);
* instance: added (RunInstances), removed (TerminateInstances: the snapshot leaves
  terminated instances out);
* network interface: added (CreateNetworkInterface), removed (DeleteNetworkInterface), a
  secondary address added or removed (Assign/UnassignPrivateIpAddresses);
* elastic IP: added (AllocateAddress), removed (ReleaseAddress), its association changed
  (DisassociateAddress of the old association id, AssociateAddress of the allocation).

Other changes (tags, sizes, other types) have no event kind matched: they are counted, and
keep their snapshot bounds.
"""

from __future__ import annotations

import re
from typing import Any

from driftaudit.attribution.events import epoch
from driftaudit.attribution.lookup import Lookups
from driftaudit.attribution.questions import Boundary, Question, line
from driftaudit.change.differ import Change, Detail
from driftaudit.rule import Rule, RuleError
from driftaudit.textsafe import one_line

_ADDRESS = re.compile(r"^PrivateIpAddresses\[PrivateIpAddress=([^\]]+)\]$")


def _rule(detail: Detail) -> Rule | None:
    try:
        return Rule.from_dict(detail.rule) if detail.rule else None
    except RuleError:
        return None


def questions(change: Change, start: int, end: int) -> list[tuple[str, Boundary]]:
    """(what, boundary) for each part of ``change`` CloudTrail can be asked about."""
    out: list[tuple[str, Boundary]] = []
    account, region, rtype, rid = change.account, change.region, change.type, change.id

    def q(kind: str, resource: str, names: tuple[str, ...], **extra: Any) -> Question:
        return Question(kind, account, region, resource, names, start, end, **extra)

    if rtype == "security_groups":
        for d in change.details:
            rule = _rule(d) if d.kind == "rule" and d.op in "+-" else None
            if rule is None:
                continue
            kind = "rule_added" if d.op == "+" else "rule_removed"
            out.append((d.text, [q(kind, rid, (rid,), rule=rule, rule_id=rule.rule_id)]))
    elif rtype == "instances" and change.action != "modified":
        kind = "launched" if change.action == "added" else "terminated"
        out.append((f"instance {change.action}", [q(kind, rid, (rid,))]))
    elif rtype == "network_interfaces":
        if change.action != "modified":
            kind = "interface_created" if change.action == "added" else "interface_deleted"
            out.append((f"network interface {change.action}", [q(kind, rid, (rid,))]))
        for d in change.details:
            found = _ADDRESS.match(d.path) if d.kind == "field" and d.op in "+-" else None
            if found is None:
                continue
            kind = "assigned" if d.op == "+" else "unassigned"
            out.append((d.text, [q(kind, rid, (rid,), address=found.group(1))]))
    elif rtype == "elastic_ips":
        if change.action != "modified":
            kind = "allocated" if change.action == "added" else "released"
            out.append((f"elastic IP {change.action}", [q(kind, rid, (rid,))]))
        # The instance or interface on each side: CloudTrail may index the call under it.
        sides: dict[str, list[str]] = {"old": [], "new": []}
        for d in change.details:
            if d.kind == "field" and d.path in ("InstanceId", "NetworkInterfaceId"):
                sides["old"] += [str(d.old)] if d.old else []
                sides["new"] += [str(d.new)] if d.new else []
        for d in change.details:
            if d.kind != "field" or d.path != "AssociationId":
                continue
            if d.old:
                old = str(d.old)
                names = (rid, old, *sides["old"])
                out.append(
                    (f"disassociated {old}", [q("disassociated", rid, names, association=old)])
                )
            if d.new:
                new = str(d.new)
                names = (rid, *sides["new"])
                out.append((f"associated {new}", [q("associated", rid, names, association=new)]))
    return out


def attribute(
    report: dict[str, Any], changes: list[Change], lookups: Lookups, start: str, end: str
) -> int:
    """Add ``attribution`` to each change of ``report`` (the report model, its ``changes``
    in the order of ``changes``): ``[{"subject", "text", <answer>}]``, empty for a change
    no event kind is matched to. ``start``/``end``: the two snapshots' times (ISO). Returns
    how many changes (parts folded under another included) had nothing to ask."""
    lo, hi = epoch(start), epoch(end)
    asked: list[tuple[int, str, Boundary]] = []
    unmatched = 0
    for n, change in enumerate(changes):
        report["changes"][n]["attribution"] = []
        for part in change.parts():
            found = questions(part, lo, hi) if lo is not None and hi is not None else []
            unmatched += not found
            asked += [(n, what, boundary) for what, boundary in found]
    answers = lookups.answer([b for _, _, b in asked])
    for (n, what, _), answer in zip(asked, answers, strict=True):
        text = one_line(f"{what}: {line(answer)}")
        report["changes"][n]["attribution"].append({"subject": what, "text": text, **answer})
    return unmatched
