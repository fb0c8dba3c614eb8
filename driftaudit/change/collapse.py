"""Derived changes fold under the change they follow from (pure): one logical change, one
line, with what follows from it folded under it.

Attaching one security group to an instance changes three things in the snapshot: the
instance's ``SecurityGroups``, its copy on the interface (``NetworkInterfaces[].Groups``),
and the interface's own file. Moving an elastic IP changes the address, the instances and
interfaces it leaves and reaches; a scale-in removes instances, their volumes and
interfaces. The rules, each between resources of the same account and region and tied by
what their documents say (:mod:`driftaudit.change.links`):

1. **Elastic IP association.** When an address's association was made, moved or ended, the
   association's traces in the instances and interfaces it names on either side
   (``PublicIpAddress``, ``PublicDnsName`` and every ``Association`` of an instance's
   interfaces and their private addresses; an interface's ``Association``s) follow from it,
   and so do the address's own association fields (``AssociationId``,
   ``NetworkInterfaceId``, ``NetworkInterfaceOwnerId``, ``PrivateIpAddress``) when its
   ``InstanceId`` changed: that line says it.
2. **An instance's copy of its groups.** ``NetworkInterfaces[NetworkInterfaceId=E].Groups[...]``
   follows from the same change (same operator) of ``SecurityGroups[...]`` of the instance.
3. **Attached interfaces and volumes.** An interface or volume attached to an instance (its
   ``Attachment``/``Attachments`` on either side) follows from the instance's change when
   the instance was added or removed, or when one of the instance's details names it (the
   interface's copy under ``NetworkInterfaces[NetworkInterfaceId=E]``; the volume in
   ``BlockDeviceMappings``).
4. **Auto Scaling.** An instance added or removed whose tag ``aws:autoscaling:groupName``
   names a group that changed (its desired capacity: a scale-out or scale-in) follows from
   that group's change, with what follows from the instance.

Only derived details move: a change left with details of its own stays a change of its own
(an instance whose group was attached while its elastic IP moved is two changes). A logical
change's severity is the worst of its parts', so a gate on severities sees what it saw
before; the derived parts keep their own severity and say how they follow (``relation``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from driftaudit.canonical import canonical_json
from driftaudit.change.differ import Change, Detail, own_severity, severity_rank

Key = tuple[str, str, str, str]
_INTERFACE = re.compile(r"NetworkInterfaces\[NetworkInterfaceId=([^\]]+)\]\.")
#: An elastic IP's fields that follow its InstanceId when it moves between instances.
_ADDRESS_SIDE = (
    "AssociationId",
    "NetworkInterfaceId",
    "NetworkInterfaceOwnerId",
    "PrivateIpAddress",
)


def _association(change: Change, detail: Detail) -> bool:
    """Whether a detail of an instance or interface is a trace of an elastic IP's
    association (rule 1)."""
    if change.type == "instances" and detail.path in ("PublicIpAddress", "PublicDnsName"):
        return True
    path = detail.path
    if change.type == "instances":
        found = _INTERFACE.match(path)
        if found is None:
            return False
        path = path[found.end() :]
    return path.startswith("Association") or ".Association" in path


def _address_side(change: Change, detail: Detail) -> bool:
    """Rule 1, within an elastic IP: the association's fields beside a changed InstanceId."""
    return detail.path in _ADDRESS_SIDE and any(d.path == "InstanceId" for d in change.details)


def _group_copy(change: Change, detail: Detail) -> bool:
    """Rule 2: an instance's interface copy of a groups change the instance also shows."""
    found = _INTERFACE.match(detail.path)
    if found is None or not detail.path[found.end() :].startswith("Groups["):
        return False
    twin = "Security" + detail.path[found.end() :]
    return any(d.path == twin and d.op == detail.op for d in change.details)


def _names(change: Change, rid: str, under: str) -> bool:
    """Whether a detail of ``change`` (or of its own parts already folded) names ``rid``:
    in its path, or (under ``under``) in its values."""
    for part in change.parts():
        if part.key != change.key:
            continue
        for d in part.details:
            if f"={rid}]" in d.path:
                return True
            if d.path.startswith(under) and rid in canonical_json([d.old, d.new]):
                return True
    return False


class _Folding:
    def __init__(self, changes: list[Change]) -> None:
        self.changes = changes
        self.index: dict[Key, Change] = {c.key: c for c in changes}
        #: key -> (the change it is folded under whole, how it follows from it)
        self.parent: dict[Key, tuple[Key, str]] = {}

    def take(
        self,
        into: Change,
        target: Change,
        derived: Callable[[Change, Detail], bool],
        relation: str,
    ) -> None:
        """Move ``target``'s derived details under ``into``; the whole of it when nothing
        of its own is left."""
        if target.key in self.parent:
            return
        moved = [d for d in target.details if derived(target, d)]
        if not moved:
            return
        rest = [d for d in target.details if not derived(target, d)]
        if not rest and target.action == "modified" and not target.derived and target is not into:
            self.parent[target.key] = (into.key, relation)
            return
        target.details = rest
        target.severity = own_severity(target)
        part = replace(target, details=moved, derived=[], relation=relation, action="modified")
        part.action_severity = None
        part.severity = own_severity(part)
        into.derived.append(part)

    def fold(self, target: Change, into: Change, relation: str) -> None:
        if target.key not in self.parent and target is not into:
            self.parent[target.key] = (into.key, relation)

    def root(self, key: Key) -> Key:
        seen = {key}
        while key in self.parent:
            key = self.parent[key][0]
            if key in seen:  # cannot happen (the rules go one way); never loop
                break
            seen.add(key)
        return key


def collapse(changes: Iterable[Change]) -> list[Change]:
    """The logical changes of a diff: each with the changes that follow from it in
    ``derived`` (flat, each with its ``relation``), its severity the worst of its parts."""
    changes = list(changes)
    f = _Folding(changes)
    # 1. elastic IP associations
    for eip in changes:
        if eip.type != "elastic_ips" or not eip.links.moved:
            continue
        relation = f"association of elastic IP {eip.label}"
        f.take(eip, eip, _address_side, "the same association")
        for rid in sorted(eip.links.associated_before | eip.links.associated_after):
            for rtype in ("instances", "network_interfaces"):
                target = f.index.get((eip.account, eip.region, rtype, rid))
                if target is not None:
                    f.take(eip, target, _association, relation)
    # 2. an instance's interface copies of its groups
    for c in changes:
        if c.type == "instances" and c.key not in f.parent:
            f.take(c, c, _group_copy, "the same groups on its interfaces")
    # 3. interfaces and volumes under their instance
    for c in changes:
        if c.type not in ("network_interfaces", "volumes"):
            continue
        what = "interface" if c.type == "network_interfaces" else "volume"
        under = "NetworkInterfaces" if what == "interface" else "BlockDeviceMappings"
        for iid in sorted(c.links.attached_to):
            instance = f.index.get((c.account, c.region, "instances", iid))
            if instance is None:
                continue
            if instance.action != "modified" or _names(instance, c.id, under):
                f.fold(c, instance, f"{what} attached to {instance.label}")
                break
    # 4. instances launched or terminated by an Auto Scaling group that changed
    groups = {
        (c.account, c.region, c.links.group): c
        for c in changes
        if c.type == "auto_scaling_groups" and c.links.group
    }
    for c in changes:
        group = groups.get((c.account, c.region, c.links.group)) if c.links.group else None
        if c.type == "instances" and c.action != "modified" and group is not None:
            verb = "launched" if c.action == "added" else "terminated"
            f.fold(c, group, f"{verb} by Auto Scaling group {group.links.group}")
    return _assemble(f)


def _assemble(f: _Folding) -> list[Change]:
    # Every change folded (through others) under a root, with its own derived parts.
    under: dict[Key, list[Change]] = {}
    for other in f.changes:
        if other.key in f.parent:
            found = under.setdefault(f.root(other.key), [])
            found.append(replace(other, derived=[], relation=f.parent[other.key][1]))
            found.extend(other.derived)
    out = []
    for c in f.changes:
        if c.key in f.parent:
            continue
        parts = [*c.derived, *under.get(c.key, ())]
        parts.sort(key=lambda p: (p.key != c.key, p.type, p.account, p.region, p.id))
        c.derived = parts
        c.severity = max([own_severity(c), *(p.severity for p in parts)], key=severity_rank)
        out.append(c)
    return out
