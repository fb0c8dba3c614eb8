"""A baseline written from the current snapshot (pure: snapshots in, YAML text out), so people
start from reality and tighten it. It declares every resource of the chosen types as it is,
manages those types exclusively, and checks in sync against the snapshot it came from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from driftaudit.baseline.checks import attached_groups
from driftaudit.baseline.findings import Snapshot
from driftaudit.baseline.load import FIELDS, type_fields
from driftaudit.baseline.model import ICMP
from driftaudit.rule import Rule, rules_of

DEFAULT_TYPES = ("security_groups", "instances", "volumes")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")

HEADER = """\
# Baseline written by `driftaudit baseline init` from the snapshot as it was, declaring every
# resource of these types as it is: {types}.
# Tighten it: drop what you do not care about, set exclusive: false where extra rules are
# fine, add policies and ignore rules (see baselines/example.yaml).
"""
SUGGESTIONS = """\
# policies:
# - name: no-world-ssh
#   type: security_groups
#   deny: {from: [world], protocol: tcp, ports: 22}
# - name: ebs-encrypted
#   type: volumes
#   require_encryption: true
# ignore:
# - type: instances
#   fields: [State.Name]
"""


def _ports(rule: Rule) -> Any:
    ports = rule.ports
    if ports is None:
        return None
    lo, hi = ports
    if rule.protocol in ICMP:
        return None if (lo, hi) == (-1, -1) else [lo, hi]
    if (lo, hi) == (0, 65535):
        return "all"
    return lo if lo == hi else f"{lo}-{hi}"


def _protocol(protocol: str) -> Any:
    if protocol == "-1":
        return "all"
    return int(protocol) if protocol.isdigit() else protocol


def declared_rules(rules: Iterable[Rule], direction: str) -> list[dict[str, Any]]:
    """Snapshot rules of one direction, grouped back into declarations (one per protocol,
    ports and description, with all their sources)."""
    key = "from" if direction == "ingress" else "to"
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rule in rules:
        if rule.direction != direction:
            continue
        protocol = rule.protocol
        ports = _ports(rule)
        description = rule.description
        group = (protocol, repr(ports), description or "")
        if group not in grouped:
            entry: dict[str, Any] = {"protocol": _protocol(protocol)}
            if ports is not None:
                entry["ports"] = ports
            entry[key] = _Flow()
            if description:
                entry["description"] = description
            grouped[group] = entry
        grouped[group][key].append(rule.source)
    return list(grouped.values())


def security_group(snap: Snapshot) -> dict[str, Any]:
    r = snap.resource
    entry: dict[str, Any] = {"id": snap.get("id")}
    if r.get("GroupName"):
        entry["name"] = r["GroupName"]
    if r.get("VpcId"):
        entry["vpc"] = r["VpcId"]
    entry["exclusive"] = True
    rules = rules_of(r)  # checked by layout.parse_document
    entry["ingress"] = declared_rules(rules, "ingress")
    entry["egress"] = declared_rules(rules, "egress")
    if r.get("Tags"):
        entry["tags"] = _FlowMap(r["Tags"])
    return entry


def resource(snap: Snapshot) -> dict[str, Any]:
    rtype, r = snap.get("type"), snap.resource
    entry: dict[str, Any] = {"type": rtype, "id": snap.get("id")}
    fields = type_fields(rtype)
    for key, field in FIELDS.items():
        value = r.get(field)
        if field in fields and value is not None and value != snap.get("id"):
            entry[key] = value
    if fields & {"SecurityGroups", "Groups"}:
        entry["security_groups"] = _Flow(sorted(attached_groups(r)[1]))
    if r.get("Tags"):
        entry["tags"] = _FlowMap(r["Tags"])
    return entry


def _comment(snap: Snapshot) -> str:
    parts = [
        snap.name,
        snap.resource.get("VpcId", ""),
        f"{snap.get('account')}/{snap.get('region')}",
    ]
    return "# " + _CONTROL.sub(" ", "  ".join(p for p in parts if p))


class _Flow(list):  # type: ignore[type-arg]
    """A list of plain values written on one line: ``from: [10.0.0.0/8, sg-0abc]``."""


class _FlowMap(dict):  # type: ignore[type-arg]
    """Tags on one line."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)


def _dump(value: Any) -> str:
    return yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 20,
    )


def baseline_text(snaps: Sequence[Snapshot], types: Sequence[str]) -> str:
    """The baseline YAML for ``types`` (in the order given) from these snapshot files."""
    chosen = [s for s in snaps if s.get("type") in types]
    chosen.sort(
        key=lambda s: (types.index(s.get("type")), s.get("account"), s.get("region"), s.get("id"))
    )
    out = [HEADER.format(types="/".join(types)), "version: 1\n"]
    out.append(_dump({"manage": dict.fromkeys(types, "exclusive")}))
    groups = [s for s in chosen if s.get("type") == "security_groups"]
    others = [s for s in chosen if s.get("type") != "security_groups"]
    for key, items, build in (
        ("security_groups", groups, security_group),
        ("resources", others, resource),
    ):
        if not items:
            continue
        out.append(f"\n{key}:\n")
        for snap in items:
            out.append(_comment(snap) + "\n" + _dump([build(snap)]))
    out.append("\n" + SUGGESTIONS)
    return "".join(out)
