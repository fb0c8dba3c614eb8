"""Security groups (DescribeSecurityGroups + DescribeSecurityGroupRules).

AWS nests rules as IpPermissions, each holding several sources; a change to one source
would show as an edit deep inside a list. We flatten them to one rule per (direction,
protocol, port range, source), written on one line, with the ``sgr-`` id that
DescribeSecurityGroupRules gives it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate

RULE_SORT = ("Direction", "Protocol", "FromPort", "ToPort", "SourceType", "Source", "Description")


def fetch(clients: Clients) -> list[Raw]:
    ec2 = clients("ec2")
    groups = paginate(ec2, "describe_security_groups", "SecurityGroups")
    rules = paginate(ec2, "describe_security_group_rules", "SecurityGroupRules")
    by_group: dict[str, list[Raw]] = {}
    for rule in rules:
        by_group.setdefault(rule["GroupId"], []).append(rule)
    # Raw AWS data, grouped: transform stays a one-argument pure function.
    return [{**g, "SecurityGroupRules": by_group.get(g["GroupId"], [])} for g in groups]


def _sources(perm: Raw, owner: str | None) -> Iterator[tuple[str, str, str | None]]:
    """(type, source, description) for every source of one IpPermission."""
    for r in perm.get("IpRanges", []):
        yield "cidr", r["CidrIp"], r.get("Description")
    for r in perm.get("Ipv6Ranges", []):
        yield "cidr6", r["CidrIpv6"], r.get("Description")
    for r in perm.get("PrefixListIds", []):
        yield "prefix_list", r["PrefixListId"], r.get("Description")
    for r in perm.get("UserIdGroupPairs", []):
        group = r.get("GroupId") or r.get("GroupName", "")
        # A reference to another account's group is only meaningful with that account.
        if r.get("UserId") and owner and r["UserId"] != owner:
            group = f"{r['UserId']}/{group}"
        yield "group", group, r.get("Description")


def _rule_source(rule: Raw, owner: str | None) -> tuple[str, str] | None:
    if rule.get("CidrIpv4"):
        return "cidr", rule["CidrIpv4"]
    if rule.get("CidrIpv6"):
        return "cidr6", rule["CidrIpv6"]
    if rule.get("PrefixListId"):
        return "prefix_list", rule["PrefixListId"]
    ref = rule.get("ReferencedGroupInfo") or {}
    if ref.get("GroupId"):
        # Same test as _sources, so both sides name a reference alike. GroupOwnerId is
        # optional in the DescribeSecurityGroupRules model (moto omits it): fall back to the
        # group's OwnerId, or a same-account reference would look cross-account and not match.
        owner = rule.get("GroupOwnerId") or owner
        if ref.get("UserId") and owner and ref["UserId"] != owner:
            return "group", f"{ref['UserId']}/{ref['GroupId']}"
        return "group", ref["GroupId"]
    return None


def _match_key(
    direction: str, protocol: str, from_port: Any, to_port: Any, source_type: str, source: str
) -> tuple[Any, ...]:
    return (direction, str(protocol), from_port, to_port, source_type, source)


def _ports(perm: Raw) -> tuple[Any, Any]:
    # Protocol -1 (all traffic) covers every port; AWS reports no ports, or -1/-1 for it.
    if str(perm.get("IpProtocol")) == "-1":
        return None, None
    return perm.get("FromPort"), perm.get("ToPort")


def flatten_rules(group: Raw) -> list[Raw]:
    """One flat rule per source, with its ``sgr-`` id where AWS gave one."""
    ids: dict[tuple[Any, ...], str] = {}
    for sgr in group.get("SecurityGroupRules", []):
        src = _rule_source(sgr, group.get("OwnerId"))
        if src is None:
            continue
        direction = "egress" if sgr.get("IsEgress") else "ingress"
        from_port, to_port = _ports(sgr)
        key = _match_key(direction, sgr["IpProtocol"], from_port, to_port, *src)
        ids[key] = sgr["SecurityGroupRuleId"]
    flat: list[Raw] = []
    for direction, perms in (
        ("ingress", group.get("IpPermissions", [])),
        ("egress", group.get("IpPermissionsEgress", [])),
    ):
        for perm in perms:
            protocol = str(perm["IpProtocol"])
            from_port, to_port = _ports(perm)
            for source_type, source, description in _sources(perm, group.get("OwnerId")):
                rule: Raw = {
                    "Direction": direction,
                    "Protocol": protocol,
                    "SourceType": source_type,
                    "Source": source,
                }
                if from_port is not None:
                    rule["FromPort"] = from_port
                    rule["ToPort"] = to_port
                if description:
                    rule["Description"] = description
                key = _match_key(direction, protocol, from_port, to_port, source_type, source)
                if key in ids:
                    rule["RuleId"] = ids[key]
                flat.append(rule)
    return flat


def transform(raw: Raw) -> Raw:
    out = {
        k: v
        for k, v in raw.items()
        if k not in ("IpPermissions", "IpPermissionsEgress", "SecurityGroupRules")
    }
    out["Rules"] = flatten_rules(raw)
    return out


RESOURCE = ResourceType(
    name="security_groups",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("GroupId"),
    spec=Spec(sort_by={"Rules": RULE_SORT}, one_line=frozenset({"Rules"})),
)
