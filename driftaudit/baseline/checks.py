"""One resource against one declaration or policy (pure): the items that differ.

Security-group rules are compared as whole rules (direction, protocol, ports, one source),
identity first; deny rules follow Prowler's and AWS Config's semantics: protocol -1 admits
every protocol and port, port ranges are inclusive, a rule matches a CIDR when its own CIDR
covers it, an exception must hold the rule's whole range.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from driftaudit.baseline.findings import Item, Snapshot
from driftaudit.baseline.model import (
    ABSENT,
    ICMP,
    PORTED,
    Declaration,
    Deny,
    Expectation,
    Policy,
    RuleSpec,
    Source,
    Step,
    get_path,
    group_source,
    is_public,
    parse_path,
    tag_path,
    within,
)
from driftaudit.canonical import canonical_json
from driftaudit.collect.collectors import REGISTRY
from driftaudit.rule import Rule, rules_of


def _short(value: Any, limit: int = 120) -> str:
    """A value on one line: strings quoted, the rest as compact JSON."""
    if isinstance(value, str):
        text = '"' + value.replace("\n", "\\n") + '"'
    else:
        text = canonical_json(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- rules -------------------------------------------------------------------------------------


def _ports(protocol: str, ports: Any) -> Any:
    # Only tcp, udp and ICMP have ports (ICMP: type and code); AWS may echo -1 for others.
    return ports if protocol in PORTED or protocol in ICMP else None


def rule_path(rule: Rule) -> str:
    return f"Rules[{rule.text(description=False)}]"


def _rule_items(decl: Declaration, resource: dict[str, Any], account: str) -> list[Item]:
    items: list[Item] = []
    actual_rules = rules_of(resource)  # checked by layout.parse_document
    for direction, specs in decl.rules.items():
        declared: dict[tuple[Any, ...], RuleSpec] = {}
        for spec in specs:
            source = spec.source
            if source.kind == "group":
                source = group_source(source.value, account)
            ports = _ports(spec.protocol, spec.ports)
            declared[(direction, spec.protocol, ports, source.kind, source.value)] = spec
        actual = {r.key(account): r for r in actual_rules if r.direction == direction}
        for key in sorted(declared.keys() - actual.keys(), key=repr):
            want = declared[key].as_rule()
            wanted = Rule.from_dict(want)
            items.append(
                Item(
                    "-",
                    rule_path(wanted),
                    f"- {wanted.text()}",
                    expected=want,
                    steps=(("key", "Rules"),),
                )
            )
        if decl.exclusive:
            for key in sorted(actual.keys() - declared.keys(), key=repr):
                rule = actual[key]
                raw = dict(rule.raw)
                items.append(Item("+", rule_path(rule), f"+ {rule.text()}", actual=raw, rule=raw))
        for key in sorted(actual.keys() & declared.keys(), key=repr):
            expected, rule = declared[key].description, actual[key]
            have = rule.description or ""
            if expected is not None and expected != have:
                text = rule.text(description=False)
                items.append(
                    Item(
                        "~",
                        rule_path(rule),
                        f"~ {text}: description expected {_short(expected)}, found {_short(have)}",
                        expected,
                        have,
                        rule=dict(rule.raw),
                    )
                )
    return items


def _covers(rule_source: Source, wanted: Source) -> bool:
    """Whether a rule's source reaches everything ``wanted`` names."""
    net = rule_source.network
    if wanted.kind in ("group", "prefix_list"):
        return (rule_source.kind, rule_source.value) == (wanted.kind, wanted.value)
    if net is None:
        return False
    if wanted.kind == "world":
        return net.prefixlen == 0
    if wanted.kind == "public":
        return is_public(net)
    if wanted.kind == "public-host":
        return net.prefixlen == net.max_prefixlen and is_public(net)
    return wanted.network is not None and within(wanted.network, net)


def _allowed(rule_source: Source, allowed: Iterable[Source]) -> bool:
    for a in allowed:
        if a.network is not None and rule_source.network is not None:
            if within(rule_source.network, a.network):
                return True
        elif (a.kind, a.value) == (rule_source.kind, rule_source.value):
            return True
    return False


def denied(deny: Deny, allowed: tuple[Source, ...], rule: Rule, account: str) -> bool:
    """Whether one snapshot rule is one a ``deny`` forbids. What a rule lets through is
    :meth:`driftaudit.rule.Rule.admits`: protocol -1 admits every protocol and port, port
    ranges are inclusive, ports without a protocol mean tcp or udp. A rule matches a CIDR when
    its own CIDR covers it; an exception must hold the rule's whole range."""
    if deny.direction != "any" and rule.direction != deny.direction:
        return False
    source = rule.source_of(account)
    if deny.sources and not any(_covers(source, s) for s in deny.sources):
        return False
    if deny.protocol is not None or deny.ports is not None:
        lo, hi = deny.ports if deny.ports is not None else (-1, 65535)
        if deny.protocol is None:
            lo = max(lo, 0)
        if not rule.admits(deny.protocol, lo, hi):
            return False
    if any(rule.inside(exc.protocol, exc.ports) for exc in deny.excepts):
        return False
    return not _allowed(source, allowed)


# --- fields ------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def value_matches(expected: Any, actual: Any) -> bool:
    """A mapping matches the keys it lists; a list matches in any order; a number matches a
    numeric string (YAML authors write 8 where AWS has "8", and the reverse)."""
    if actual is ABSENT:
        return False
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and value_matches(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and sorted(map(canonical_json, expected)) == sorted(
            map(canonical_json, actual)
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if expected == actual:
        return True
    a, b = _number(expected), _number(actual)
    return a is not None and a == b


def _found(actual: Any) -> str:
    return "nothing" if actual is ABSENT else _short(actual)


def _expectation_item(e: Expectation, resource: dict[str, Any], prefix: str) -> Item | None:
    actual = get_path(resource, e.steps)
    if value_matches(e.value, actual):
        return None
    op = "!" if prefix else "~"
    text = f"{op} {prefix}{e.path}: expected {_short(e.value)}, found {_found(actual)}"
    return Item(op, e.path, text, e.value, None if actual is ABSENT else actual, e.steps)


def _tag_items(decl: Declaration, tags: dict[str, Any]) -> list[Item]:
    items = []
    for key, want in decl.tags:
        steps = (("key", "Tags"), ("key", key))
        if key not in tags:
            text = f"- tag {key} (expected {_short(want)}, not found)"
            items.append(Item("-", tag_path(key), text, want, None, steps))
        elif tags[key] != want:
            text = f"~ tag {key}: expected {_short(want)}, found {_short(tags[key])}"
            items.append(Item("~", tag_path(key), text, want, tags[key], steps))
    for key in decl.required_tags:
        if key not in tags:
            steps = (("key", "Tags"), ("key", key))
            items.append(
                Item("-", tag_path(key), f"- tag {key} (required, not found)", steps=steps)
            )
    return items


def attached_groups(resource: dict[str, Any]) -> tuple[str, list[str]]:
    """(field, group ids) of an instance (SecurityGroups), interface (Groups) or load
    balancer (SecurityGroups as plain ids)."""
    key = "SecurityGroups" if "SecurityGroups" in resource else "Groups"
    ids = []
    for g in resource.get(key) or []:
        ids.append(str(g.get("GroupId", "")) if isinstance(g, dict) else str(g))
    return key, ids


def _group_items(expected: tuple[str, ...], resource: dict[str, Any]) -> list[Item]:
    key, actual = attached_groups(resource)
    items = []
    for g in sorted(set(expected) - set(actual)):
        text = f"- security group {g} (not attached)"
        items.append(Item("-", f"{key}[GroupId={g}]", text, steps=(("key", key),)))
    for g in sorted(set(actual) - set(expected)):
        steps: tuple[Step, ...] = (("key", key), ("match", "GroupId", g))
        items.append(
            Item("+", f"{key}[GroupId={g}]", f"+ security group {g} attached", steps=steps)
        )
    return items


def check_declaration(decl: Declaration, snap: Snapshot) -> list[Item]:
    resource = snap.resource
    items = _rule_items(decl, resource, snap.get("account"))
    for e in decl.expectations:
        item = _expectation_item(e, resource, "")
        if item:
            items.append(item)
    items += _tag_items(decl, resource.get("Tags") or {})
    if decl.security_groups is not None:
        items += _group_items(decl.security_groups, resource)
    return items


def check_policy(policy: Policy, snap: Snapshot) -> list[Item]:
    resource, items = snap.resource, []
    label = f"policy {policy.name}: "
    if policy.deny is not None:
        for rule in rules_of(resource):
            if denied(policy.deny, policy.allowed, rule, snap.get("account")):
                raw = dict(rule.raw)
                text = f"! {label}{rule.text()}"
                items.append(Item("!", rule_path(rule), text, actual=raw, rule=raw))
    tags = resource.get("Tags") or {}
    for key in policy.required_tags:
        if key not in tags:
            text = f"! {label}tag {key} missing"
            items.append(Item("!", tag_path(key), text, steps=(("key", "Tags"),)))
    if policy.require_encryption:
        items += _encryption_items(policy, snap)
    for e in policy.expectations:
        item = _expectation_item(e, resource, label)
        if item:
            items.append(item)
    return items


def _encryption_items(policy: Policy, snap: Snapshot) -> list[Item]:
    label = f"! policy {policy.name}: "
    if snap.get("type") == "images":
        items = []
        for bdm in snap.resource.get("BlockDeviceMappings") or []:
            ebs = bdm.get("Ebs")
            if isinstance(ebs, dict) and ebs.get("Encrypted") is not True:
                path = f"BlockDeviceMappings[DeviceName={bdm.get('DeviceName')}].Ebs.Encrypted"
                text = f"{label}{bdm.get('DeviceName')} is not encrypted"
                items.append(Item("!", path, text, True, ebs.get("Encrypted"), parse_path(path)))
        return items
    rtype = REGISTRY.get(snap.get("type"))
    path = (rtype.encryption_path if rtype else None) or "Encrypted"
    actual = get_path(snap.resource, parse_path(path))
    if actual is True:
        return []
    text = f"{label}not encrypted ({path} is {_found(actual)})"
    return [Item("!", path, text, True, None if actual is ABSENT else actual, parse_path(path))]
