"""Pure: what the history index keeps of one snapshot document, as plain, picklable values.

The index is built from these facts alone, so documents can be read and reduced anywhere (in
worker processes on a large history) and only the facts travel: what a holder holds and is
in, a group's rules, a route table's targets, a prefix list's entries, an ACL's subnets and
entries. What each type holds, and how, stays with its :class:`ResourceType` and with
:mod:`driftaudit.network`; this module only applies them to one document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from driftaudit.collect.collectors import REGISTRY
from driftaudit.history.holders import HOLDER_TYPES, alive, attached_instance, holdings
from driftaudit.network import (
    acl_entries,
    acl_subnets,
    holding_vpc,
    memberships,
    prefix_entries,
    resource_vpc,
    route_targets,
)
from driftaudit.rule import rules_of

Row = tuple[Any, ...]


class HolderFacts(NamedTuple):
    exists: bool  # not terminated: it holds what it shows
    vpc: str  # its own VpcId ("" when the document names none)
    attached: str | None  # the instance deciding what it holds (holders.attached_instance)
    #: "held": [address, scope, via, kind, vpc], "members": [group, via, subnet, vpc],
    #: "name": its Name. Kept as JSON for an attached holder, re-applied when its instance
    #: comes or goes.
    facts: dict[str, Any]


class GroupFacts(NamedTuple):
    name: str
    vpc: str
    #: rule identity (direction, protocol, from, to, source type, source) -> its attributes
    #: (group name, VPC, description, rule id).
    rules: dict[Row, Row]


class RouteFacts(NamedTuple):
    vpc: str
    targets: frozenset[str]  # peering connections and transit gateways routed through


class ListFacts(NamedTuple):
    name: str
    entries: dict[Row, Row]  # (cidr,) -> (list name, description)


class AclFacts(NamedTuple):
    vpc: str
    subnets: list[str]
    entries: list[Row]  # (egress, number, action, protocol, from, to, cidr)


Facts = HolderFacts | GroupFacts | RouteFacts | ListFacts | AclFacts


def holder_facts(
    rtype: str, resource: Mapping[str, Any], account: str, where: Mapping[str, str]
) -> HolderFacts:
    """``where``: instance or interface id -> VPC, for an elastic IP (network.holding_vpc)."""
    exists = alive(rtype, resource)
    return HolderFacts(
        exists,
        resource_vpc(resource),
        attached_instance(rtype, resource, account),
        {
            "held": [
                [*h, holding_vpc(rtype, resource, h.via, where)] for h in holdings(rtype, resource)
            ],
            "members": [[m.group, m.via, m.subnet, m.vpc] for m in memberships(rtype, resource)]
            if exists
            else [],
            "name": REGISTRY[rtype].name_of(resource),
        },
    )


def group_facts(resource: Mapping[str, Any]) -> GroupFacts:
    # parse_document has checked every rule (layout.document_problem): they all read.
    name = str(resource.get("GroupName") or "")
    vpc = resource_vpc(resource)
    rules: dict[Row, Row] = {}
    for rule in rules_of(resource):
        identity = (
            rule.direction,
            str(rule.raw.get("Protocol")),
            rule.from_port,
            rule.to_port,
            rule.source_type,
            rule.source,
        )
        rules[identity] = (name, vpc, rule.description, rule.rule_id)
    return GroupFacts(name, vpc, rules)


def list_facts(resource: Mapping[str, Any]) -> ListFacts:
    name = str(resource.get("PrefixListName") or "")
    return ListFacts(name, {(cidr,): (name, note) for cidr, note in prefix_entries(resource)})


def acl_facts(resource: Mapping[str, Any]) -> AclFacts:
    return AclFacts(
        resource_vpc(resource),
        acl_subnets(resource),
        [
            (int(e.egress), e.number, e.action, e.protocol, e.lo, e.hi, e.cidr)
            for e in acl_entries(resource)
        ],
    )


def facts_of(
    rtype: str, account: str, resource: Mapping[str, Any], where: Mapping[str, str]
) -> Facts:
    """The facts of one resource of a type the index reads (index.TRACKED)."""
    if rtype in HOLDER_TYPES:
        return holder_facts(rtype, resource, account, where)
    if rtype == "security_groups":
        return group_facts(resource)
    if rtype == "route_tables":
        return RouteFacts(resource_vpc(resource), route_targets(resource))
    if rtype == "managed_prefix_lists":
        return list_facts(resource)
    if rtype == "network_acls":
        return acl_facts(resource)
    raise ValueError(f"the history index does not read {rtype}")
