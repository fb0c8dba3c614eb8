"""Ignore rules applied to changes (pure): the language of a baseline's ``ignore``
(:class:`driftaudit.baseline.model.Ignore`, one implementation of the matching), read from
``driftaudit.yaml`` for ``diff``, ``report`` and mail.

A rule without ``fields`` silences every change of the resources it selects (added,
removed, modified). With ``fields`` it silences the details on those paths and below them,
named as ``check`` names them: a field by its path (``State.Name``,
``SecurityGroups[GroupId=sg-0abc]``), a tag as ``Tags.KEY``, a rule as ``Rules[ingress
tcp/22 from 10.0.0.0/8]`` (as ``check`` prints it, without its description); a modified
resource left with no detail is silenced whole. Silence is counted, per rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from driftaudit.baseline.model import Ignore, tag_path
from driftaudit.change.differ import Change, Detail, own_severity
from driftaudit.rule import Rule


def ignore_path(detail: Detail) -> str:
    """How an ignore rule's ``fields`` name a detail (as ``check`` names its items)."""
    if detail.kind == "tag":
        return tag_path(detail.path)
    if detail.kind == "rule" and detail.rule is not None:
        return f"Rules[{Rule.from_dict(detail.rule).text(description=False)}]"
    return detail.path


@dataclass
class Silenced:
    """What ignore rules silenced: how many changes (whole or in part), and each rule's
    share (the changes it touched)."""

    changes: int = 0
    by_rule: dict[Ignore, int] = field(default_factory=dict)

    def add(self, rules: Iterable[Ignore]) -> None:
        self.changes += 1
        for rule in rules:
            self.by_rule[rule] = self.by_rule.get(rule, 0) + 1


def silence(changes: Iterable[Change], ignores: Sequence[Ignore]) -> tuple[list[Change], Silenced]:
    """The changes ``ignores`` leave, and what they silenced."""
    silenced = Silenced()
    if not ignores:
        return list(changes), silenced
    kept = []
    for change in changes:
        doc = {
            "type": change.type,
            "id": change.id,
            "account": change.account,
            "region": change.region,
        }
        relevant = [i for i in ignores if i.applies(doc, change.name)]
        whole = [i for i in relevant if not i.fields]
        if whole:
            silenced.add(whole)
            continue
        partial = [i for i in relevant if i.fields]
        hit: list[Ignore] = []
        details = []
        for d in change.details:
            by = [i for i in partial if i.covers(ignore_path(d))]
            hit += [i for i in by if i not in hit]
            if not by:
                details.append(d)
        if hit:
            silenced.add(hit)
            change.details = details
            change.severity = own_severity(change)
            if change.action == "modified" and not details:
                continue
        kept.append(change)
    return kept, silenced
