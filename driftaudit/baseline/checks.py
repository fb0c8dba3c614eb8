"""One resource against one declaration or policy (pure): the items that differ.

Security-group rules are compared as whole rules (direction, protocol, ports, one source),
identity first; deny rules follow Prowler's and AWS Config's semantics: protocol -1 admits
every protocol and port, port ranges are inclusive, a rule matches a CIDR when its own CIDR
covers it, an exception must hold the rule's whole range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
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
from driftaudit.change.differ import Detail
from driftaudit.change.severity import Rules, rule_severity, seen_through
from driftaudit.collect.collectors import REGISTRY
from driftaudit.network import Held, Network, counts_for, public
from driftaudit.rule import Network as Cidr
from driftaudit.rule import Rule, network_of, quote, rules_of
from driftaudit.textsafe import one_line

PREFIX_LISTS = "managed_prefix_lists"
#: Since when an address (held by none of our resources in a VPC) has been so: text for a
#: finding, or None when the history says nothing (driftaudit.baseline.unheld gives one).
Since = Callable[[str, str], str | None]


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


# --- what a policy sees beyond the resource ------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """The snapshot around the resource checked: its networks (which addresses our resources
    hold and in which VPC, which VPCs are connected, what each prefix list holds:
    :class:`driftaudit.network.Network`) and the prefix lists' names. Built once per check
    from every snapshot document read, whatever types the baseline names."""

    network: Network = field(default_factory=Network)
    list_names: Mapping[str, str] = field(default_factory=dict)
    #: The holdings by address, and the delegated prefixes (each holds every address in it):
    #: a rule's host is looked up, not searched for among every holding.
    by_address: dict[str, list[Held]] = field(default_factory=dict, init=False)
    prefixes: list[tuple[Cidr, Held]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        for held in self.network.held:
            if "/" not in held.address:
                self.by_address.setdefault(held.address, []).append(held)
            elif (net := network_of(held.address)) is not None:
                self.prefixes.append((net, held))

    @classmethod
    def of(cls, docs: Iterable[Mapping[str, Any]]) -> Seen:
        docs = list(docs)
        names = {
            str(d.get("id")): REGISTRY[PREFIX_LISTS].name_of(d["resource"])
            for d in docs
            if d.get("type") == PREFIX_LISTS and isinstance(d.get("resource"), Mapping)
        }
        return cls(Network.of(docs), names)

    def holders_of(self, host: Cidr) -> list[Held]:
        address = host.network_address
        found = list(self.by_address.get(str(address), []))
        return found + [h for net, h in self.prefixes if within(host, net)]

    def entries(self, list_id: str) -> list[str] | None:
        """The CIDRs of a prefix list's entries; None when the snapshot does not hold the list
        (its rules are then matched as they are, by id)."""
        found = self.network.lists.get(list_id)
        return None if found is None else sorted({cidr for cidr, _ in found})

    def unheld(self, net: Cidr, vpc: str) -> bool:
        """A /32 or /128 that none of our resources holds where it counts for a rule of a
        group in ``vpc``: anywhere for a public address, else in that VPC or one connected to
        it (:meth:`driftaudit.network.Network.ours_for`)."""
        if net.prefixlen != net.max_prefixlen:
            return False
        wide = is_public(net)
        return not any(
            counts_for(wide, h.vpc, vpc, self.network.connected(vpc, h.vpc))
            for h in self.holders_of(net)
        )


def _covers(rule_source: Source, wanted: Source, unheld: Callable[[Cidr], bool]) -> bool:
    """Whether a rule's source reaches everything ``wanted`` names (``unheld`` tells a host
    none of ours holds in the rule's network)."""
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
    if wanted.kind == "unheld-host":
        return unheld(net)
    return wanted.network is not None and within(wanted.network, net)


def _allowed(rule_source: Source, allowed: Iterable[Source]) -> bool:
    for a in allowed:
        if a.network is not None and rule_source.network is not None:
            if within(rule_source.network, a.network):
                return True
        elif (a.kind, a.value) == (rule_source.kind, rule_source.value):
            return True
    return False


@dataclass(frozen=True)
class Offense:
    """Why a rule breaks a deny: as it is (``entries`` empty), or through these entries of
    its prefix list; ``unheld``: which of the offending sources are hosts none of our
    resources holds in the rule's network (for ``unheld-host``)."""

    entries: tuple[str, ...] = ()
    unheld: tuple[str, ...] = ()


def _cidr_source(cidr: str) -> Source:
    return Source.of("cidr6" if ":" in cidr else "cidr", cidr)


def denied(
    deny: Deny,
    allowed: tuple[Source, ...],
    rule: Rule,
    account: str,
    seen: Seen | None = None,
    vpc: str = "",
) -> Offense | None:
    """Whether one snapshot rule is one a ``deny`` forbids, and through what. What a rule lets
    through is :meth:`driftaudit.rule.Rule.admits`: protocol -1 admits every protocol and
    port, port ranges are inclusive, ports without a protocol mean tcp or udp. A rule matches
    a CIDR when its own CIDR covers it; an exception must hold the rule's whole range.

    A rule whose source is a prefix list the snapshot holds (``seen``) is seen through: it
    matches when one of the list's entries does, as a source of its own, and is not within
    ``allowed``; a deny or allowed naming the list itself (``pl-…``) matches it by id. ``vpc``
    is the rule's group's, for ``unheld-host``."""
    if deny.direction != "any" and rule.direction != deny.direction:
        return None
    if deny.protocol is not None or deny.ports is not None:
        lo, hi = deny.ports if deny.ports is not None else (-1, 65535)
        if deny.protocol is None:
            lo = max(lo, 0)
        if not rule.admits(deny.protocol, lo, hi):
            return None
    if any(rule.inside(exc.protocol, exc.ports) for exc in deny.excepts):
        return None
    source = rule.source_of(account)
    if _allowed(source, allowed):
        return None

    def unheld(net: Cidr) -> bool:
        return seen is not None and seen.unheld(net, vpc)

    # Which offending sources are unheld hosts is said only when the deny asks about them.
    asks = any(s.kind == "unheld-host" for s in deny.sources)

    named = any((s.kind, s.value) == (source.kind, source.value) for s in deny.sources)
    entries = seen.entries(source.value) if seen and source.kind == "prefix_list" else None
    if entries is None or named:
        if deny.sources and not any(_covers(source, s, unheld) for s in deny.sources):
            return None
        host = asks and source.network is not None and unheld(source.network)
        return Offense(unheld=(source.value,) if host else ())
    hits = []
    for cidr in entries:
        entry = _cidr_source(cidr)
        if deny.sources and not any(_covers(entry, s, unheld) for s in deny.sources):
            continue
        if not _allowed(entry, allowed):
            hits.append(cidr)
    if not hits:
        return None
    hosts = [h for h in hits if (n := _cidr_source(h).network) is not None and unheld(n)]
    return Offense(tuple(hits), tuple(hosts) if asks else ())


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


def offense_text(rule: Rule, offense: Offense, seen: Seen | None) -> str:
    """``ingress tcp/22 from pl-0abc (office) entry 0.0.0.0/0 "ssh"``: the rule, and the
    entries of its prefix list that break the policy."""
    if not offense.entries:
        return rule.text()
    name = seen.list_names.get(rule.source, "") if seen else ""
    word = "entry" if len(offense.entries) == 1 else "entries"
    shown = ", ".join(offense.entries[:5])
    more = f" and {len(offense.entries) - 5} more" if len(offense.entries) > 5 else ""
    text = rule.text(description=False)
    text += f" ({one_line(name)})" if name else ""
    text += f" {word} {shown}{more}"
    return text + (f" {quote(rule.description)}" if rule.description else "")


def unheld_note(hosts: tuple[str, ...], vpc: str, since: Since | None) -> str:
    """`` (10.191.12.13 held by none of our resources in vpc-0abc or a VPC connected to it,
    unheld since between … and …)``: why each host is unheld, and since when."""
    notes = []
    for cidr in hosts:
        address = cidr.rsplit("/", 1)[0]
        where = "" if public(address) or not vpc else f" in {vpc} or a VPC connected to it"
        when = since(address, vpc) if since is not None else None
        notes.append(
            f"{address} held by none of our resources{where}" + (f", {when}" if when else "")
        )
    return f" ({'; '.join(notes)})" if notes else ""


def deny_severity(rule: Rule, offense: Offense, critical_ports: tuple[int, ...]) -> str:
    """A deny's violation is critical when the offending rule lets the world in on a
    critical port, as ``diff`` rates such a rule added (through the prefix list entries that
    offend, for a list); "" otherwise (the default applies)."""
    rules = Rules(critical_ports=critical_ports)
    if offense.entries:
        rated = [seen_through(rule, cidr, rules) for cidr in offense.entries]
    else:
        rated = [rule_severity(Detail("rule", "+", "", rule=dict(rule.raw)), rules)]
    return "critical" if "critical" in rated else ""


def check_policy(
    policy: Policy,
    snap: Snapshot,
    seen: Seen | None = None,
    since: Since | None = None,
    critical_ports: tuple[int, ...] = (),
) -> list[Item]:
    """The items of ``snap`` that break ``policy``; a deny's item that lets the world in on
    one of ``critical_ports`` is rated critical unless the policy sets its severity."""
    resource, items = snap.resource, []
    label = f"policy {policy.name}: "
    if policy.deny is not None:
        own = resource.get("VpcId")
        vpc = own if isinstance(own, str) else ""
        for rule in rules_of(resource):
            offense = denied(policy.deny, policy.allowed, rule, snap.get("account"), seen, vpc)
            if offense is not None:
                raw = dict(rule.raw)
                text = f"! {label}{offense_text(rule, offense, seen)}"
                text += unheld_note(offense.unheld, vpc, since)
                offending = Item("!", rule_path(rule), text, actual=raw, rule=raw)
                if policy.severity is None and critical_ports:
                    offending.severity = deny_severity(rule, offense, critical_ports)
                items.append(offending)
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
