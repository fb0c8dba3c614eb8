"""Security groups (DescribeSecurityGroups + DescribeSecurityGroupRules).

AWS nests rules as IpPermissions, each holding several sources; a change to one source
would show as an edit deep inside a list. We flatten them to one rule per (direction,
protocol, port range, source), written on one line, with the ``sgr-`` id and the tags that
DescribeSecurityGroupRules gives it, and for a reference to a group across a VPC peering,
the peering it goes through (VpcId, VpcPeeringConnectionId, PeeringStatus). Readers see these
entries as :class:`driftaudit.rule.Rule`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    Reshaped,
    ResourceType,
    field_id,
    paginate,
)
from driftaudit.rule import rule_problem

LISTING = Call("ec2", "DescribeSecurityGroups", "SecurityGroups")
RULES = Call("ec2", "DescribeSecurityGroupRules", "SecurityGroupRules", "SecurityGroupRules")
RULE_SORT = ("Direction", "Protocol", "FromPort", "ToPort", "SourceType", "Source", "Description")
#: What a group reference says about the peering it crosses (UserIdGroupPair and
#: DescribeSecurityGroupRules' ReferencedGroupInfo both carry them).
PEERING = ("VpcId", "VpcPeeringConnectionId", "PeeringStatus")


def fetch(clients: Clients) -> list[Raw]:
    ec2 = clients("ec2")
    groups = paginate(ec2, LISTING.method, LISTING.result)
    rules = paginate(ec2, RULES.method, RULES.result)
    by_group: dict[str, list[Raw]] = {}
    for rule in rules:
        by_group.setdefault(rule["GroupId"], []).append(rule)
    # Raw AWS data, grouped: transform stays a one-argument pure function.
    return [{**g, "SecurityGroupRules": by_group.get(g["GroupId"], [])} for g in groups]


def _sources(perm: Raw, owner: str | None) -> Iterator[tuple[str, str, Raw]]:
    """(type, source, the source's own entry) for every source of one IpPermission."""
    for r in perm.get("IpRanges", []):
        yield "cidr", r["CidrIp"], r
    for r in perm.get("Ipv6Ranges", []):
        yield "cidr6", r["CidrIpv6"], r
    for r in perm.get("PrefixListIds", []):
        yield "prefix_list", r["PrefixListId"], r
    for r in perm.get("UserIdGroupPairs", []):
        group = r.get("GroupId") or r.get("GroupName", "")
        # A reference to another account's group is only meaningful with that account.
        if r.get("UserId") and owner and r["UserId"] != owner:
            group = f"{r['UserId']}/{group}"
        yield "group", group, r


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
    """One flat rule per source, with its ``sgr-`` id, tags and peering where AWS gave them."""
    by_key: dict[tuple[Any, ...], Raw] = {}
    for sgr in group.get("SecurityGroupRules", []):
        src = _rule_source(sgr, group.get("OwnerId"))
        if src is None:
            continue
        direction = "egress" if sgr.get("IsEgress") else "ingress"
        from_port, to_port = _ports(sgr)
        by_key[_match_key(direction, sgr["IpProtocol"], from_port, to_port, *src)] = sgr
    flat: list[Raw] = []
    for direction, perms in (
        ("ingress", group.get("IpPermissions", [])),
        ("egress", group.get("IpPermissionsEgress", [])),
    ):
        for perm in perms:
            protocol = str(perm["IpProtocol"])
            from_port, to_port = _ports(perm)
            for source_type, source, entry in _sources(perm, group.get("OwnerId")):
                rule: Raw = {
                    "Direction": direction,
                    "Protocol": protocol,
                    "SourceType": source_type,
                    "Source": source,
                }
                if from_port is not None:
                    rule["FromPort"] = from_port
                    rule["ToPort"] = to_port
                if entry.get("Description"):
                    rule["Description"] = entry["Description"]
                key = _match_key(direction, protocol, from_port, to_port, source_type, source)
                sgr = by_key.get(key, {})
                if sgr.get("SecurityGroupRuleId"):
                    rule["RuleId"] = sgr["SecurityGroupRuleId"]
                if sgr.get("Tags"):
                    rule["Tags"] = sgr["Tags"]
                if source_type == "group":
                    ref = sgr.get("ReferencedGroupInfo") or {}
                    for name in PEERING:
                        value = entry.get(name) or ref.get(name)
                        if value:
                            rule[name] = value
                flat.append(rule)
    return flat


def from_config(configuration: Raw, item: Raw) -> Raw:
    """A group as AWS Config records it, in DescribeSecurityGroups' form: in each
    permission, ``ipRanges`` holds plain CIDR strings (items of version 1.2 hold nothing
    else) and ``ipv4Ranges`` the ``{cidrIp, description}`` ranges; both become the ranges
    AWS gives as ``IpRanges``. (Null ports, for protocol -1, are left out as every null is.)"""
    out = dict(configuration)
    for key in ("ipPermissions", "ipPermissionsEgress"):
        perms = configuration.get(key)
        if isinstance(perms, list):
            out[key] = [_config_permission(p) for p in perms if isinstance(p, dict)]
    return out


def _config_permission(perm: Raw) -> Raw:
    ranges = [dict(r) for r in perm.get("ipv4Ranges") or [] if isinstance(r, dict)]
    seen = {r.get("cidrIp") for r in ranges}
    for legacy in perm.get("ipRanges") or []:
        cidr = legacy.get("cidrIp") if isinstance(legacy, dict) else legacy
        if isinstance(cidr, str) and cidr not in seen:
            ranges.append(dict(legacy) if isinstance(legacy, dict) else {"cidrIp": cidr})
            seen.add(cidr)
    out = {k: v for k, v in perm.items() if k not in ("ipRanges", "ipv4Ranges")}
    out["ipRanges"] = ranges
    return out


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
    label="security group",
    calls=(LISTING, RULES),
    fetch=fetch,
    transform=transform,
    id_of=field_id("GroupId"),
    spec=Spec(sort_by={"Rules": RULE_SORT}, one_line=frozenset({"Rules"})),
    reshaped={
        "IpPermissions": Reshaped(
            "flattened into Rules: one per direction, protocol, port range and source; a group "
            "source is named by its GroupId, by GroupName only without one, and prefixed with "
            "its UserId only across accounts"
        ),
        "IpPermissionsEgress": Reshaped("flattened into Rules, as egress"),
        "SecurityGroupRules": Reshaped(
            "merged into Rules: each rule's sgr- id as RuleId, its Tags and peering; the rule's "
            "ARN repeats its id"
        ),
    },
    name_keys=("GroupName",),
    check=rule_problem,
    config=ConfigRecord(
        {"AWS::EC2::SecurityGroup": ("ec2", "SecurityGroup")},
        prepare=from_config,
        lacks={
            "Rules.RuleId": "no sgr- ids: Config identifies a rule by its direction, "
            "protocol, ports and source",
            "Rules.Tags": "rule tags are not recorded",
        },
    ),
)
