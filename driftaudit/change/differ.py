"""Compare two versions of one snapshot file (pure: documents in, a change out).

Security-group rules are compared as whole rules (added / removed / description changed),
tags as keys, and everything else with DeepDiff after list items are matched by a stable
id (``GroupId``, ``DeviceName``...) rather than by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from driftaudit.canonical import canonical_json

SEVERITIES = ("info", "low", "medium", "high", "critical")
RULE_IDENTITY = ("Direction", "Protocol", "FromPort", "ToPort", "SourceType", "Source")
# Keys that identify an item of a list of mappings, tried in order.
ID_KEYS = (
    "GroupId",
    "NetworkInterfaceId",
    "AllocationId",
    "AssociationId",
    "AttachmentId",
    "InstanceId",
    "VolumeId",
    "SubnetId",
    "DeviceName",
    "ListenerArn",
    "LoadBalancerPort",
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
    "RouteTableAssociationId",
    "NetworkAclAssociationId",
    "VpcId",
    "ZoneName",
    "Key",
    "Port",
)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass
class Detail:
    """One line of a change: a rule, a tag or a field, added (+), removed (-) or changed (~)."""

    kind: str  # rule | tag | field
    op: str  # + | - | ~
    path: str  # the field path, tag key, or rule text
    old: Any = None
    new: Any = None
    rule: dict[str, Any] | None = None  # the rule itself, for rule details
    severity: str = "info"

    @property
    def text(self) -> str:
        if self.kind == "rule":
            if self.op == "~":
                return f"~ {self.path}: description {_q(self.old)} -> {_q(self.new)}"
            return f"{self.op} {self.path}"
        label = f"tag {self.path}" if self.kind == "tag" else self.path
        if self.op == "+":
            return f"+ {label} = {_short(self.new)}"
        if self.op == "-":
            return f"- {label} (was {_short(self.old)})"
        return f"~ {label}: {_short(self.old)} -> {_short(self.new)}"


@dataclass
class Change:
    """What happened to one resource between two snapshots."""

    account: str
    region: str
    type: str
    id: str
    name: str
    action: str  # added | removed | modified
    file: str
    details: list[Detail] = field(default_factory=list)
    severity: str = "info"

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name and self.name != self.id else self.id

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "type": self.type,
            "id": self.id,
            "name": self.name,
            "action": self.action,
            "file": self.file,
            "severity": self.severity,
            "details": [
                {
                    "kind": d.kind,
                    "op": d.op,
                    "path": d.path,
                    "old": d.old,
                    "new": d.new,
                    "severity": d.severity,
                    "text": d.text,
                }
                for d in self.details
            ],
        }


def _q(value: Any) -> str:
    return '""' if value in (None, "") else f'"{value}"'


def _short(value: Any, limit: int = 120) -> str:
    if isinstance(value, str):
        text = value.replace("\n", "\\n")
        text = f'"{text}"'
    else:
        text = canonical_json(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rule_text(rule: dict[str, Any]) -> str:
    """``ingress tcp/22 from 10.191.12.13/32 "temp debugging"`` — one rule, one line."""
    protocol = str(rule.get("Protocol"))
    if protocol == "-1":
        what = "all"
    elif "FromPort" in rule:
        lo, hi = rule["FromPort"], rule.get("ToPort", rule["FromPort"])
        if protocol in ("icmp", "icmpv6", "1", "58"):
            what = f"{protocol}/{lo}:{hi}"
        elif lo == hi:
            what = f"{protocol}/{lo}"
        elif (lo, hi) in ((0, 65535), (-1, -1)):
            what = f"{protocol}/all"
        else:
            what = f"{protocol}/{lo}-{hi}"
    else:
        what = protocol
    word = "from" if rule.get("Direction") == "ingress" else "to"
    text = f"{rule.get('Direction')} {what} {word} {rule.get('Source')}"
    if rule.get("Description"):
        text += f" {_q(rule['Description'])}"
    return text


def resource_name(resource: dict[str, Any]) -> str:
    tags = resource.get("Tags") or {}
    if isinstance(tags, dict) and tags.get("Name"):
        return str(tags["Name"])
    for key in (
        "GroupName",
        "LoadBalancerName",
        "AutoScalingGroupName",
        "LaunchTemplateName",
        "KeyName",
        "Name",
    ):
        if resource.get(key):
            return str(resource[key])
    return ""


def _rule_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(rule.get(k) for k in RULE_IDENTITY)


def rule_details(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Detail]:
    before = {_rule_key(r): r for r in old}
    after = {_rule_key(r): r for r in new}
    out = []
    for key in sorted(before.keys() - after.keys(), key=repr):
        r = before[key]
        out.append(Detail("rule", "-", rule_text(r), old=r, rule=r))
    for key in sorted(after.keys() - before.keys(), key=repr):
        r = after[key]
        out.append(Detail("rule", "+", rule_text(r), new=r, rule=r))
    for key in sorted(before.keys() & after.keys(), key=repr):
        a, b = before[key], after[key]
        if a.get("Description") != b.get("Description"):
            path = rule_text({**b, "Description": None})
            out.append(
                Detail("rule", "~", path, a.get("Description"), b.get("Description"), rule=b)
            )
    return out


def tag_details(old: dict[str, Any], new: dict[str, Any]) -> list[Detail]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            out.append(Detail("tag", "-", key, old=old[key]))
        elif key not in old:
            out.append(Detail("tag", "+", key, new=new[key]))
        elif old[key] != new[key]:
            out.append(Detail("tag", "~", key, old[key], new[key]))
    return out


def keyed(value: Any) -> Any:
    """Lists of mappings become mappings keyed by their items' ids (identity before
    comparison); other lists are left for DeepDiff to compare as unordered."""
    if isinstance(value, dict):
        return {k: keyed(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(i, dict) for i in value):
            for key in ID_KEYS:
                ids = [i.get(key) for i in value]
                if all(isinstance(x, (str, int)) for x in ids) and len(set(ids)) == len(ids):
                    return {f"[{key}={x}]": keyed(i) for x, i in zip(ids, value, strict=True)}
        return [keyed(i) for i in value]
    return value


def _path_text(keys: list[Any]) -> str:
    text = ""
    for k in keys:
        if isinstance(k, int):
            continue  # position in an unordered list: not part of the identity
        k = str(k)
        text += k if k.startswith("[") or not text else f".{k}"
    return text or "(resource)"


def field_details(old: dict[str, Any], new: dict[str, Any]) -> list[Detail]:
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    diff = DeepDiff(keyed(old), keyed(new), ignore_order=True, verbose_level=2, view="tree")
    out = []
    for report, levels in diff.items():
        for level in levels:
            path = _path_text(level.path(output_format="list"))
            a = None if isinstance(level.t1, NotPresent) else level.t1
            b = None if isinstance(level.t2, NotPresent) else level.t2
            if "added" in report:
                out.append(Detail("field", "+", path, new=b))
            elif "removed" in report:
                out.append(Detail("field", "-", path, old=a))
            else:
                out.append(Detail("field", "~", path, a, b))
    out.sort(key=lambda d: (d.path, d.op))
    return out


def compare(
    old_doc: dict[str, Any] | None, new_doc: dict[str, Any] | None, file: str
) -> Change | None:
    """The change between two versions of one snapshot file; None when nothing differs."""
    doc = new_doc if new_doc is not None else old_doc
    if doc is None:
        return None
    old = (old_doc or {}).get("resource") or {}
    new = (new_doc or {}).get("resource") or {}
    action = "added" if old_doc is None else "removed" if new_doc is None else "modified"
    change = Change(
        account=str(doc.get("account", "")),
        region=str(doc.get("region", "")),
        type=str(doc.get("type", "")),
        id=str(doc.get("id", "")),
        name=resource_name(new or old),
        action=action,
        file=file,
    )
    # Rules of a whole group added or removed count as rules added or removed: a new group
    # opening SSH to the world is as critical as a rule added to an old one.
    change.details += rule_details(old.get("Rules") or [], new.get("Rules") or [])
    if action == "modified":
        change.details += tag_details(old.get("Tags") or {}, new.get("Tags") or {})
        rest_old = {k: v for k, v in old.items() if k not in ("Rules", "Tags")}
        rest_new = {k: v for k, v in new.items() if k not in ("Rules", "Tags")}
        # Most changes touch only rules or tags: identical data needs no DeepDiff (nor its
        # import, a tenth of a second of `driftaudit diff`). JSON text, not ==, because
        # == takes True for 1 where DeepDiff reports a type change.
        if canonical_json(rest_old) != canonical_json(rest_new):
            change.details += field_details(rest_old, rest_new)
        if not change.details:
            return None
    return change
