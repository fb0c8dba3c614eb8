"""How much a change matters: one pure, documented rule set, overridable in a config file.

Built-in rules (Prowler's and AWS Config's semantics: protocol -1 means every port, port
ranges are inclusive, 0.0.0.0/0 and ::/0 are "the world"):

==========  ============================================================================
critical    ingress opened to the world on a critical port (22, 3389, database ports)
            — including protocol -1 and any range that covers one
high        any other ingress opened to the world
medium      any other security-group rule added or removed; security groups attached to
            or detached from an instance or interface
low         resources created or removed; type, size and other attribute changes; a rule's
            description changed
info        tags; state (running/stopped...)
==========  ============================================================================

A prefix list is seen through (given what the revision a change leads to holds, as
:class:`ListUse`): an entry added to a list is rated as every rule whose source is the list
would be, added with that entry as its source, the worst of them (0.0.0.0/0 added to a list
behind an SSH rule is critical); an entry removed from a list some rule uses is medium, like
a rule removed; a rule added whose source is a list is rated by the worst of its entries.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from driftaudit.change.differ import SEVERITIES, Change, Detail, severity_rank
from driftaudit.errors import ConfigError
from driftaudit.rule import Rule, network_of
from driftaudit.textsafe import one_line

#: TCP ports whose exposure to the world is critical (SSH, RDP, databases, caches).
CRITICAL_PORTS = (22, 3389, 1433, 1521, 3306, 5432, 5439, 6379, 9042, 9200, 11211, 27017)


@dataclass(frozen=True)
class Override:
    severity: str
    type: str = "*"
    kind: str = "*"  # rule | tag | field | resource
    op: str = "*"  # + | - | ~
    path: str = "*"  # glob on the field path, tag key or rule text

    def matches(self, change: Change, kind: str, op: str, path: str) -> bool:
        return (
            fnmatch.fnmatchcase(change.type, self.type)
            and fnmatch.fnmatchcase(kind, self.kind)
            and fnmatch.fnmatchcase(op, self.op)
            and fnmatch.fnmatchcase(path, self.path)
        )


@dataclass(frozen=True)
class Rules:
    critical_ports: tuple[int, ...] = CRITICAL_PORTS
    overrides: tuple[Override, ...] = field(default_factory=tuple)


def rule_severity(detail: Detail, rules: Rules) -> str:
    """A rule added that lets the world in on a critical TCP port (Rule.allows: protocol -1
    and ranges covering one included) is critical; any other world ingress is high; other
    rules added or removed are medium; a rule's description, tags or peering changed, low."""
    if detail.op == "~" or detail.rule is None:
        return "low"
    rule = Rule.from_dict(detail.rule)
    if detail.op == "+" and rule.direction == "ingress" and rule.is_world:
        if any(rule.allows(p, "tcp") for p in rules.critical_ports):
            return "critical"
        return "high"
    return "medium"


# --- prefix lists, seen through ----------------------------------------------------------------

#: The type whose entries widen rules, and how the differ names one entry (list items are
#: keyed by their identity, the Cidr).
PREFIX_LISTS = "managed_prefix_lists"
_ENTRY = re.compile(r"Entries\[Cidr=([^\]]+)\]")


@dataclass(frozen=True)
class ListUse:
    """One prefix list as the revision a change leads to holds it (same account and region):
    its name, its entries' CIDRs, and the rules whose source it is, each with the label of
    its group (``sg-0abc (bastion)``). Read by rangediff's list step, passed in here."""

    name: str = ""
    entries: tuple[str, ...] = ()
    users: tuple[tuple[str, Rule], ...] = ()


#: (account, region, list id) -> what the list holds and who uses it.
Lists = Mapping[tuple[str, str, str], ListUse]


def seen_through(rule: Rule, cidr: str, rules: Rules) -> str:
    """The built-in severity of ``rule`` added with ``cidr`` (an entry of its prefix list)
    as its source instead of the list."""
    network = network_of(cidr)
    kind = "cidr6" if network is not None and network.version == 6 else "cidr"
    raw = {**rule.raw, "SourceType": kind, "Source": cidr}
    return rule_severity(Detail("rule", "+", "", rule=raw), rules)


def entry_of(detail: Detail) -> str | None:
    """The CIDR of a prefix-list entry a detail adds or removes (``+ Entries[Cidr=…]``)."""
    found = _ENTRY.fullmatch(detail.path) if detail.kind == "field" else None
    return found.group(1) if found and detail.op in ("+", "-") else None


def list_used(change: Change, detail: Detail) -> str | None:
    """The prefix list whose entries a detail's severity depends on: the list an entry is
    added to or removed from, or the source of a rule added."""
    if change.type == PREFIX_LISTS and entry_of(detail) is not None:
        return change.id
    rule = detail.rule if detail.kind == "rule" and detail.op == "+" else None
    if rule is not None and rule.get("SourceType") == "prefix_list":
        return str(rule.get("Source"))
    return None


def _list_label(list_id: str, use: ListUse) -> str:
    return f"{list_id} ({one_line(use.name)})" if use.name else list_id


def _through_list(change: Change, detail: Detail, use: ListUse, rules: Rules) -> tuple[str, str]:
    """(built-in severity, note) of a detail that a prefix list's entries decide."""
    cidr = entry_of(detail)
    if cidr is not None:  # an entry added to or removed from the list
        if not use.users:
            return field_severity(detail.path), ""
        if detail.op == "-":
            label, rule = use.users[0]
            more = len(use.users) - 1
            tail = f" and {more} more rule(s)" if more else ""
            return "medium", f"narrows {label} {rule.text(description=False)}{tail}"
        rated = [(seen_through(rule, cidr, rules), label, rule) for label, rule in use.users]
        worst = max(rated, key=lambda r: severity_rank(r[0]))
        more = len(rated) - 1
        tail = f" and {more} more rule(s)" if more else ""
        return worst[0], f"widens {worst[1]} {worst[2].text(description=False)}{tail}"
    plain = rule_severity(detail, rules)
    assert detail.rule is not None
    rule = Rule.from_dict(detail.rule)
    by_entry = [(seen_through(rule, entry, rules), entry) for entry in use.entries]
    if not by_entry:
        return plain, ""
    severity, entry = max(by_entry, key=lambda r: severity_rank(r[0]))
    if severity_rank(severity) <= severity_rank(plain):
        return plain, ""
    return severity, f"via prefix list {_list_label(rule.source, use)} entry {entry}"


def field_severity(path: str) -> str:
    head = path.split(".", 1)[0].split("[", 1)[0]
    if head in ("SecurityGroups", "Groups") or ".Groups" in path:
        return "medium"
    if head in ("State", "Status", "StateReason", "StateTransitionReason"):
        return "info"
    return "low"


def _override(rules: Rules, change: Change, kind: str, op: str, path: str) -> str | None:
    for o in rules.overrides:
        if o.matches(change, kind, op, path):
            return o.severity
    return None


def classify(change: Change, rules: Rules = Rules(), lists: Lists | None = None) -> Change:
    """Set every detail's severity and the change's (the highest, at least the resource's).
    With ``lists``, prefix lists are seen through (see the module's doc); a detail whose
    rating comes from a list says how in its note. Overrides still win."""
    for d in change.details:
        listed = list_used(change, d)
        use = (lists or {}).get((change.account, change.region, listed)) if listed else None
        d.note = ""
        if use is not None:
            built_in, d.note = _through_list(change, d, use, rules)
        elif d.kind == "rule":
            built_in = rule_severity(d, rules)
        else:
            built_in = "info" if d.kind == "tag" else field_severity(d.path)
        d.severity = _override(rules, change, d.kind, d.op, d.path) or built_in
    levels = [d.severity for d in change.details]
    if change.action != "modified":
        op = "+" if change.action == "added" else "-"
        change.action_severity = _override(rules, change, "resource", op, change.id) or "low"
        levels.append(change.action_severity)
    change.severity = max(levels, key=severity_rank) if levels else "info"
    return change


def highest(changes: Iterable[Change]) -> str | None:
    levels = [c.severity for c in changes]
    return max(levels, key=severity_rank) if levels else None


def load_rules(path: Path | None) -> Rules:
    """Rules from a YAML config file (validated by schemas/config.schema.json)."""
    if path is None:
        return Rules()
    from driftaudit.config import load_yaml_checked

    data = load_yaml_checked(path, "config") or {}
    section = data.get("severity", {})
    overrides = tuple(Override(**o) for o in section.get("overrides", []))
    ports = tuple(section.get("critical_ports", CRITICAL_PORTS))
    for o in overrides:
        if o.severity not in SEVERITIES:
            raise ConfigError(f"{path}: unknown severity {o.severity!r}")
    return Rules(critical_ports=ports, overrides=overrides)
