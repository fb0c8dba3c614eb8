"""What a check finds: per resource, findings of four kinds, each with its items (plain
data, rendered by driftaudit.baseline.render)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from driftaudit.baseline.model import Ignore, Origin, Step
from driftaudit.change.differ import resource_name, severity_rank

KINDS = ("changed", "missing", "unmanaged", "violation")
ORDER = ("missing", "unmanaged", "changed", "violation")  # within one resource
#: A finding's severity when its policy sets none (``severity:``): a violation is high (a
#: deny's rule letting the world in on a critical port, critical: checks.py), drift from a
#: declaration medium, an undeclared resource low. ``check --fail-on``, SARIF levels and
#: the order of every format follow it.
DEFAULT_SEVERITY = {
    "changed": "medium",
    "missing": "medium",
    "unmanaged": "low",
    "violation": "high",
}


@dataclass(frozen=True)
class Snapshot:
    """One snapshot file: its path (relative to the repository root), document and text."""

    path: str
    doc: dict[str, Any]
    text: str = ""

    @property
    def resource(self) -> dict[str, Any]:
        return self.doc.get("resource") or {}

    @property
    def name(self) -> str:
        return resource_name(self.resource, self.get("type"))

    def get(self, key: str) -> str:
        return str(self.doc.get(key, ""))


@dataclass
class Item:
    """One line of a finding: a rule, tag or field."""

    op: str  # + - ~ !
    path: str  # field path, for ignore rules: Rules[ingress tcp/22 from ...], Tags.Owner
    text: str
    expected: Any = None
    actual: Any = None
    steps: tuple[Step, ...] = ()
    rule: dict[str, Any] | None = None
    line: int | None = None
    #: "" until rated (evaluate.py): the policy's severity, or its kind's default.
    severity: str = ""


@dataclass
class Finding:
    kind: str  # changed | missing | unmanaged | violation
    type: str
    account: str
    region: str
    id: str
    name: str
    file: str | None  # the snapshot file; None when missing
    origin: Origin | None  # the declaration or policy
    message: str
    policy: str | None = None
    items: list[Item] = field(default_factory=list)
    line: int | None = None
    #: The worst of its items' severities (or its kind's default): see :func:`rate`.
    severity: str = "info"

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name and self.name != self.id else self.id

    def rate(self, severity: str | None = None) -> None:
        """Give every item a severity (its own, else ``severity``, else the kind's default)
        and the finding the worst of them; the items worst first (stable)."""
        default = severity or DEFAULT_SEVERITY[self.kind]
        for item in self.items:
            item.severity = item.severity or default
        levels = [i.severity for i in self.items] or [default]
        self.severity = max(levels, key=severity_rank)
        self.items.sort(key=lambda i: -severity_rank(i.severity))


@dataclass
class Checked:
    """One checked resource (a JUnit test case): in sync when it has no findings."""

    type: str
    account: str
    region: str
    id: str
    name: str
    file: str | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def severity(self) -> str | None:
        """The worst of its findings' severities; None in sync."""
        return max((f.severity for f in self.findings), key=severity_rank, default=None)


@dataclass
class Result:
    files: list[str]
    checked: list[Checked]
    #: Silenced by ignore rules (a baseline's or driftaudit.yaml's): resources left out
    #: whole, and findings' items dropped.
    ignored_resources: int = 0
    ignored_items: int = 0
    #: Ignore rules whose ``until`` has passed: they silence nothing and are reported.
    expired: list[Ignore] = field(default_factory=list)
    #: policy name -> its ``severity:`` (None: the default), for SARIF's rule levels.
    policy_severities: dict[str, str | None] = field(default_factory=dict)

    @property
    def highest(self) -> str | None:
        return max((f.severity for f in self.findings), key=severity_rank, default=None)

    def at_or_above(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if severity_rank(f.severity) >= severity_rank(severity)]

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checked for f in c.findings]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for f in self.findings:
            counts[f.kind] += len(f.items) if f.kind == "violation" else 1
        return counts

    @property
    def in_sync(self) -> bool:
        return not self.findings
