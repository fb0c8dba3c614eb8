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
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from driftaudit.change.differ import SEVERITIES, Change, Detail, severity_rank
from driftaudit.errors import ConfigError
from driftaudit.rule import Rule

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


def classify(change: Change, rules: Rules = Rules()) -> Change:
    """Set every detail's severity and the change's (the highest, at least the resource's)."""
    for d in change.details:
        built_in = (
            rule_severity(d, rules)
            if d.kind == "rule"
            else "info"
            if d.kind == "tag"
            else field_severity(d.path)
        )
        d.severity = _override(rules, change, d.kind, d.op, d.path) or built_in
    levels = [d.severity for d in change.details]
    if change.action != "modified":
        op = "+" if change.action == "added" else "-"
        levels.append(_override(rules, change, "resource", op, change.id) or "low")
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
