"""What one CloudTrail event did, read from its request and response (pure).

Each reader follows the event's XML wire form (:func:`driftaudit.attribution.events.items`)
and AWS's own canonical answers where it has them: an Authorize's ``securityGroupRuleSet``
(each rule with its ``sgr-`` id, the CIDR canonicalised) and a Revoke's
``revokedSecurityGroupRuleSet`` are what the call did; the request is read only when the
response does not say (events recorded before those members existed). A Revoke returns true
even when it removed nothing: what it names in ``unknownIpPermissionSet`` was not there.
ModifySecurityGroupRules carries the rule's id and its new value only, in PascalCase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from driftaudit.attribution.events import Event, items
from driftaudit.rule import Rule, RuleError, network_of, protocol_of


@dataclass(frozen=True)
class RuleRef:
    """A security-group rule an event added, removed or changed: its group, its content
    (None when only its id is known) and its ``sgr-`` id (None when not given)."""

    group: str
    rule: Rule | None
    rule_id: str | None = None


@dataclass(frozen=True)
class Association:
    """An elastic IP associated: AssociateAddress's request and its ``associationId``."""

    allocation_id: str | None
    association_id: str | None
    instance_id: str | None
    interface_id: str | None
    public_ip: str | None


@dataclass
class Effects:
    added_rules: list[RuleRef] = field(default_factory=list)
    removed_rules: list[RuleRef] = field(default_factory=list)
    #: Rules named by a Revoke that returned true but removed nothing.
    unknown_rules: list[RuleRef] = field(default_factory=list)
    #: ModifySecurityGroupRules: the rule's id and its new content (its direction unknown).
    modified_rules: list[RuleRef] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    #: (allocation id, public IP)
    allocated: list[tuple[str, str]] = field(default_factory=list)
    #: allocation ids (or public IPs)
    released: list[str] = field(default_factory=list)
    associated: list[Association] = field(default_factory=list)
    #: association ids (or public IPs)
    disassociated: list[str] = field(default_factory=list)
    #: (interface id, its private addresses)
    created_interfaces: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    deleted_interfaces: list[str] = field(default_factory=list)
    #: (interface id, address)
    assigned: list[tuple[str, str]] = field(default_factory=list)
    unassigned: list[tuple[str, str]] = field(default_factory=list)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _rule(direction: str, protocol: Any, lo: Any, hi: Any, kind: str, source: str) -> Rule | None:
    """A rule as a snapshot holds it; None when the event's values are not a rule."""
    if protocol is None:
        return None
    if kind in ("cidr", "cidr6"):
        net = network_of(source)
        if net is None:
            return None
        source = str(net)  # AWS canonicalises 10.191.12.13/24 to 10.191.12.0/24
    item: dict[str, Any] = {
        "Direction": direction,
        "Protocol": protocol_of(protocol),
        "SourceType": kind,
        "Source": source,
    }
    from_port, to_port = _port(lo), _port(hi)
    if from_port is not None and to_port is not None:
        item["FromPort"], item["ToPort"] = from_port, to_port
    try:
        return Rule.from_dict(item)
    except RuleError:
        return None


def _group_source(group: str, owner: str | None) -> str:
    return f"{owner}/{group}" if owner else group


def rule_of_record(item: Mapping[str, Any], direction: str | None = None) -> Rule | None:
    """A rule of a ``securityGroupRuleSet`` / ``revokedSecurityGroupRuleSet`` (camelCase,
    one source each), or of ModifySecurityGroupRules (PascalCase; its direction is not
    given: ``direction`` then)."""

    def get(name: str) -> Any:
        return item.get(name, item.get(name[0].upper() + name[1:]))

    if direction is None:
        egress = get("isEgress")
        if egress is None:
            return None
        direction = "egress" if egress in (True, "true") else "ingress"
    referenced = get("referencedGroupInfo")
    if get("cidrIpv4"):
        kind, source = "cidr", str(get("cidrIpv4"))
    elif get("cidrIpv6"):
        kind, source = "cidr6", str(get("cidrIpv6"))
    elif get("prefixListId"):
        kind, source = "prefix_list", str(get("prefixListId"))
    elif isinstance(referenced, Mapping) and referenced.get("groupId"):
        kind = "group"
        source = _group_source(str(referenced["groupId"]), _text(referenced.get("userId")))
    elif get("referencedGroupId"):
        kind, source = "group", str(get("referencedGroupId"))
    else:
        return None
    return _rule(direction, get("ipProtocol"), get("fromPort"), get("toPort"), kind, source)


def rules_of_permission(permission: Mapping[str, Any], direction: str) -> list[Rule]:
    """The rules of one ``ipPermissions`` item: one per source, as the snapshot flattens."""
    protocol = permission.get("ipProtocol")
    lo, hi = permission.get("fromPort"), permission.get("toPort")
    out = []
    for r in items(permission.get("ipRanges")):
        cidr = r.get("cidrIp") if isinstance(r, Mapping) else r  # old CIs: bare strings
        if _text(cidr):
            out.append(_rule(direction, protocol, lo, hi, "cidr", str(cidr)))
    for r in items(permission.get("ipv6Ranges")):
        if isinstance(r, Mapping) and _text(r.get("cidrIpv6")):
            out.append(_rule(direction, protocol, lo, hi, "cidr6", str(r["cidrIpv6"])))
    for r in items(permission.get("prefixListIds")):
        if isinstance(r, Mapping) and _text(r.get("prefixListId")):
            out.append(_rule(direction, protocol, lo, hi, "prefix_list", str(r["prefixListId"])))
    for g in items(permission.get("groups")):
        if isinstance(g, Mapping) and _text(g.get("groupId")):
            source = _group_source(str(g["groupId"]), _text(g.get("userId")))
            out.append(_rule(direction, protocol, lo, hi, "group", source))
    return [r for r in out if r is not None]


def _requested_rules(request: Mapping[str, Any], direction: str) -> list[Rule]:
    out = []
    for permission in items(request.get("ipPermissions")):
        if isinstance(permission, Mapping):
            out += rules_of_permission(permission, direction)
    # The legacy form: one CIDR at the top level of the request.
    if _text(request.get("cidrIp")):
        rule = _rule(
            direction,
            request.get("ipProtocol"),
            request.get("fromPort"),
            request.get("toPort"),
            "cidr",
            str(request["cidrIp"]),
        )
        if rule is not None:
            out.append(rule)
    return out


def _rule_ids(request: Mapping[str, Any]) -> list[str]:
    """The ``sgr-`` ids of a revoke by id, in whichever wire form the record has."""
    found = []
    for key in ("securityGroupRuleIds", "securityGroupRuleIdSet", "SecurityGroupRuleIds"):
        for item in items(request.get(key)):
            value = item.get("securityGroupRuleId") if isinstance(item, Mapping) else item
            if _text(value):
                found.append(str(value).strip())
    return found


def _security_group(event: Event, effects: Effects) -> None:
    name, request, response = event.name, event.request, event.response
    direction = "egress" if name.endswith("Egress") else "ingress"
    group = _text(request.get("groupId")) or ""
    if name.startswith("Authorize"):
        recorded = [
            (r, i)
            for i in items(response.get("securityGroupRuleSet"))
            if isinstance(i, Mapping)
            for r in [rule_of_record(i)]
            if r is not None
        ]
        if recorded:
            for rule, item in recorded:
                gid = _text(item.get("groupId")) or group
                effects.added_rules.append(
                    RuleRef(gid, rule, _text(item.get("securityGroupRuleId")))
                )
        else:
            effects.added_rules += [RuleRef(group, r) for r in _requested_rules(request, direction)]
        return
    if name.startswith("Revoke"):
        unknown = [
            r
            for p in items(response.get("unknownIpPermissionSet"))
            if isinstance(p, Mapping)
            for r in rules_of_permission(p, direction)
        ]
        effects.unknown_rules += [RuleRef(group, r) for r in unknown]
        revoked = [
            i for i in items(response.get("revokedSecurityGroupRuleSet")) if isinstance(i, Mapping)
        ]
        if revoked:
            for item in revoked:
                gid = _text(item.get("groupId")) or group
                rid = _text(item.get("securityGroupRuleId"))
                effects.removed_rules.append(RuleRef(gid, rule_of_record(item), rid))
            return
        unknown_keys = {r.key() for r in unknown}
        effects.removed_rules += [
            RuleRef(group, r)
            for r in _requested_rules(request, direction)
            if r.key() not in unknown_keys
        ]
        effects.removed_rules += [RuleRef(group, None, rid) for rid in _rule_ids(request)]
        return
    if name == "ModifySecurityGroupRules":
        wrapper = request.get("ModifySecurityGroupRulesRequest", request)
        if not isinstance(wrapper, Mapping):
            return
        gid = _text(wrapper.get("GroupId")) or _text(wrapper.get("groupId")) or ""
        for item in items(wrapper.get("SecurityGroupRule")):
            if not isinstance(item, Mapping):
                continue
            rid = _text(item.get("SecurityGroupRuleId"))
            body = item.get("SecurityGroupRule")
            # Its direction is not in the request: read as ingress, compared without it.
            changed = rule_of_record(body, "ingress") if isinstance(body, Mapping) else None
            if rid:
                effects.modified_rules.append(RuleRef(gid, changed, rid))


def _instance_ids(value: Any) -> list[str]:
    return [
        str(i["instanceId"])
        for i in items(value)
        if isinstance(i, Mapping) and _text(i.get("instanceId"))
    ]


def _addresses(value: Any) -> list[str]:
    out = []
    for item in items(value):
        address = item.get("privateIpAddress") if isinstance(item, Mapping) else item
        if _text(address):
            out.append(str(address).strip())
    return out


def effects_of(event: Event) -> Effects:
    """What ``event`` changed. A failed call (``errorCode``) changed nothing."""
    effects = Effects()
    if event.error is not None:
        return effects
    name, request, response = event.name, event.request, event.response
    if "SecurityGroup" in name and name.startswith(
        ("Authorize", "Revoke", "ModifySecurityGroupRules")
    ):
        _security_group(event, effects)
    elif name == "RunInstances":
        effects.launched += _instance_ids(response.get("instancesSet"))
    elif name == "TerminateInstances":
        effects.terminated += _instance_ids(request.get("instancesSet")) or _instance_ids(
            response.get("instancesSet")
        )
    elif name == "AllocateAddress":
        allocation, ip = _text(response.get("allocationId")), _text(response.get("publicIp"))
        if allocation or ip:
            effects.allocated.append((allocation or "", ip or ""))
    elif name == "ReleaseAddress":
        released = _text(request.get("allocationId")) or _text(request.get("publicIp"))
        if released:
            effects.released.append(released)
    elif name == "AssociateAddress":
        effects.associated.append(
            Association(
                _text(request.get("allocationId")),
                _text(response.get("associationId")),
                _text(request.get("instanceId")),
                _text(request.get("networkInterfaceId")),
                _text(request.get("publicIp")),
            )
        )
    elif name == "DisassociateAddress":
        gone = _text(request.get("associationId")) or _text(request.get("publicIp"))
        if gone:
            effects.disassociated.append(gone)
    elif name == "CreateNetworkInterface":
        interface = response.get("networkInterface")
        if isinstance(interface, Mapping) and _text(interface.get("networkInterfaceId")):
            addresses = _addresses(interface.get("privateIpAddressesSet"))
            primary = _text(interface.get("privateIpAddress"))
            if primary and primary not in addresses:
                addresses.insert(0, primary)
            effects.created_interfaces.append(
                (str(interface["networkInterfaceId"]), tuple(addresses))
            )
    elif name == "DeleteNetworkInterface":
        if _text(request.get("networkInterfaceId")):
            effects.deleted_interfaces.append(str(request["networkInterfaceId"]).strip())
    elif name in ("AssignPrivateIpAddresses", "UnassignPrivateIpAddresses"):
        eni = _text(request.get("networkInterfaceId")) or _text(response.get("networkInterfaceId"))
        if eni:
            # Assigned by count, the addresses are only in the response.
            addresses = _addresses(response.get("assignedPrivateIpAddressesSet")) or _addresses(
                request.get("privateIpAddressesSet")
            )
            target = effects.assigned if name.startswith("Assign") else effects.unassigned
            target += [(eni, a) for a in addresses]
    return effects
