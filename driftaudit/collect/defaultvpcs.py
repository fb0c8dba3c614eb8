"""``--skip-default-vpcs``: which default-VPC resources of one (account, region) to leave out
(pure: the region's canonical resources in, the ids to leave out per type).

AWS creates a default VPC in every region, with a default subnet per zone, a main route
table, a default network ACL, an internet gateway and a default security group. Written for
every region of ``--all-regions`` they are most of the files (735 of 1,015 in one account)
and say nothing anyone decided. A default VPC is left out, with those resources, when
nothing of ours is in it, which is, exactly:

* no network interface is in it (so no instance, load balancer, NAT gateway, interface
  endpoint, Lambda function, database...: each of them has one);
* every subnet in it is a default subnet (``DefaultForAz``);
* every security group in it is the one named ``default``, with only default rules: all
  traffic in from the group itself, all traffic out to ``0.0.0.0/0`` or ``::/0``;
* every route table in it is the main one, associated with no subnet explicitly, with only
  ``local`` routes and routes to ``0.0.0.0/0`` or ``::/0`` through its internet gateway
  (a peering, NAT, transit gateway or endpoint route is ours);
* every network ACL in it is the default one, with only entries for all traffic to or from
  ``0.0.0.0/0`` or ``::/0`` (allow and deny: the defaults).

Tags and the attributes of default resources (a default subnet's settings) do not count as
ours. What is left out: the VPC, its subnets, route tables, network ACLs and security
groups, and the internet gateways attached to it.

The decision needs every one of :data:`EVIDENCE` read in the region: when one could not be
read, nothing can be decided, and :mod:`driftaudit.collect.job` fails the region's parts of
:data:`LEFT_OUT` (their previous files kept) rather than write what it cannot know is ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from driftaudit.errors import PartFailure

if TYPE_CHECKING:
    from driftaudit.collect.aws import Account
    from driftaudit.collect.collectors.base import ResourceType
    from driftaudit.collect.engine import PartResult

Resources = Mapping[str, Mapping[str, Any]]

#: The types whose default-VPC resources are left out.
LEFT_OUT = (
    "vpcs",
    "subnets",
    "route_tables",
    "network_acls",
    "internet_gateways",
    "security_groups",
)
#: Every type the decision reads (in the run even when --type leaves it out; not written then).
EVIDENCE = (*LEFT_OUT, "network_interfaces")
WORLD = ("0.0.0.0/0", "::/0")


def _in(resources: Resources, vpc: str) -> dict[str, Mapping[str, Any]]:
    return {rid: r for rid, r in resources.items() if r.get("VpcId") == vpc}


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _default_group(group_id: str, group: Mapping[str, Any]) -> bool:
    if group.get("GroupName") != "default":
        return False
    for rule in _list(group.get("Rules")):
        if rule.get("Protocol") != "-1":
            return False
        if rule.get("Direction") == "ingress":
            if rule.get("Source") != group_id:
                return False
        elif rule.get("Source") not in WORLD:
            return False
    return True


def _default_routes(table: Mapping[str, Any], gateways: set[str]) -> bool:
    associations = _list(table.get("Associations"))
    if not any(a.get("Main") for a in associations) or any(a.get("SubnetId") for a in associations):
        return False
    for route in _list(table.get("Routes")):
        if route.get("GatewayId") == "local":
            continue
        world = route.get("DestinationCidrBlock") in WORLD or (
            route.get("DestinationIpv6CidrBlock") in WORLD
        )
        if not (world and route.get("GatewayId") in gateways):
            return False
    return True


def _default_acl(acl: Mapping[str, Any]) -> bool:
    if acl.get("IsDefault") is not True:
        return False
    return all(
        e.get("Protocol") == "-1"
        and (e.get("CidrBlock") in WORLD or e.get("Ipv6CidrBlock") in WORLD)
        for e in _list(acl.get("Entries"))
    )


def left_out(region: Mapping[str, Resources]) -> dict[str, dict[str, set[str]]]:
    """Default VPC id -> type -> ids to leave out of one (account, region), given every type
    of :data:`EVIDENCE` as read there (type -> id -> canonical resource)."""
    out: dict[str, dict[str, set[str]]] = {}
    for vpc_id, vpc in region["vpcs"].items():
        if vpc.get("IsDefault") is not True:
            continue
        if _in(region["network_interfaces"], vpc_id):
            continue
        subnets = _in(region["subnets"], vpc_id)
        groups = _in(region["security_groups"], vpc_id)
        tables = _in(region["route_tables"], vpc_id)
        acls = _in(region["network_acls"], vpc_id)
        gateways = {
            gid
            for gid, g in region["internet_gateways"].items()
            if _list(g.get("Attachments"))
            and all(a.get("VpcId") == vpc_id for a in _list(g.get("Attachments")))
        }
        if (
            all(s.get("DefaultForAz") is True for s in subnets.values())
            and all(_default_group(gid, g) for gid, g in groups.items())
            and all(_default_routes(t, gateways) for t in tables.values())
            and all(_default_acl(a) for a in acls.values())
        ):
            out[vpc_id] = {
                "vpcs": {vpc_id},
                "subnets": set(subnets),
                "security_groups": set(groups),
                "route_tables": set(tables),
                "network_acls": set(acls),
                "internet_gateways": gateways,
            }
    return out


# --- in a snapshot run ----------------------------------------------------------------------


def skipping(targets: Iterable[tuple[Account, list[str]]], chosen: set[str]) -> set[str]:
    """The accounts whose default VPCs are left out (--skip-default-vpcs, or their
    ``skip_default_vpcs``), when the run writes any type of :data:`LEFT_OUT`."""
    if not chosen & set(LEFT_OUT):
        return set()
    return {account.account_id for account, _ in targets if account.skip_default_vpcs}


def evidence_types() -> list[ResourceType]:
    from driftaudit.collect.collectors import REGISTRY

    return [REGISTRY[name] for name in EVIDENCE]


def settled(
    results: Iterable[PartResult],
    skipping: set[str],
    chosen: set[str],
    note: Callable[[str, int], None],
) -> Iterator[PartResult]:
    """The parts to write, as they come: in an account of ``skipping``, the parts of
    :data:`EVIDENCE` of a region are held until all of them are in, then given back with the
    default VPCs left out (``note(where, resources)`` for each one); parts of types the run
    did not choose (read only to decide) are never given back."""
    held: dict[tuple[str, str], dict[str, PartResult]] = {}
    for result in results:
        part = result.part
        if part.account not in skipping or part.type not in EVIDENCE:
            if part.type in chosen:
                yield result
            continue
        group = held.setdefault((part.account, part.region), {})
        group[part.type] = result
        if len(group) == len(EVIDENCE):
            del held[(part.account, part.region)]
            yield from _decided(group, chosen, note)


def _decided(
    group: dict[str, PartResult], chosen: set[str], note: Callable[[str, int], None]
) -> Iterator[PartResult]:
    unread = sorted(t for t, r in group.items() if r.resources is None)
    if unread:
        # Nothing can be decided: writing the region's default VPC would add it one day and
        # remove it the next; its previous files are kept, as for any part not read.
        why = PartFailure(
            "default VPCs undecided",
            "",
            "",
            f"{', '.join(unread)} could not be read here, so what is in the default VPC is "
            "unknown (--skip-default-vpcs)",
        )
        for name, result in sorted(group.items()):
            if name in chosen:
                ok = result.resources is not None and name in LEFT_OUT
                yield replace(result, resources=None, failure=why) if ok else result
        return
    region = {name: result.resources or {} for name, result in group.items()}
    vpcs = left_out(region)
    first = next(iter(group.values())).part
    for vpc_id, ids in sorted(vpcs.items()):
        note(f"{first.account}/{first.region} {vpc_id}", sum(len(v) for v in ids.values()))
    for name, result in sorted(group.items()):
        if name not in chosen:
            continue
        gone = set().union(*(ids.get(name, set()) for ids in vpcs.values()))
        kept = {rid: r for rid, r in (result.resources or {}).items() if rid not in gone}
        yield replace(result, resources=kept)
