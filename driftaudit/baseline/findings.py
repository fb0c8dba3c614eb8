"""What a check finds: per resource, findings of four kinds, each with its items (plain
data, rendered by driftaudit.baseline.render)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from driftaudit.baseline.model import Origin, Step
from driftaudit.change.differ import resource_name

KINDS = ("changed", "missing", "unmanaged", "violation")
ORDER = ("missing", "unmanaged", "changed", "violation")  # within one resource


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

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name and self.name != self.id else self.id


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


@dataclass
class Result:
    files: list[str]
    checked: list[Checked]

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
