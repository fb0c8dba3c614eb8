"""EC2 instances (DescribeInstances).

Terminated instances are left out: AWS forgets them within the hour, so their
disappearance from the snapshot is the change. User data is never requested (it is only
returned by DescribeInstanceAttribute, which driftaudit never calls).
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    RawHolding,
    Reshaped,
    ResourceType,
    field_id,
    interface_addresses,
    items,
)

LISTING = Call("ec2", "DescribeInstances", "Reservations")


def fetch(clients: Clients) -> list[Raw]:
    reservations = LISTING.fetch_all(clients)
    # The reservation says who launched the instances (RequesterId: Auto Scaling, ...) and
    # whose they are; each instance keeps them.
    return [
        {
            **instance,
            "ReservationId": r["ReservationId"],
            "OwnerId": r.get("OwnerId"),
            "RequesterId": r.get("RequesterId"),
        }
        for r in reservations
        for instance in r.get("Instances", [])
    ]


def alive(resource: Raw) -> bool:
    state = resource.get("State")
    return not (isinstance(state, dict) and state.get("Name") == "terminated")


def transform(raw: Raw) -> Raw | None:
    if not alive(raw):
        return None
    return dict(raw)


def from_config(configuration: Raw, item: Raw) -> Raw:
    """AWS Config records the instance, not its reservation: the reservation's owner is the
    account the item belongs to; its id and requester are not recorded."""
    return {**configuration, "ownerId": item.get("accountId")}


def holds(resource: Raw) -> list[RawHolding]:
    """Every interface's private, public and IPv6 addresses and delegated prefixes."""
    found: list[RawHolding] = []
    for eni in items(resource.get("NetworkInterfaces")):
        via = str(eni.get("NetworkInterfaceId") or "")
        found.extend((a, s, via, kind) for a, s, kind in interface_addresses(eni))
    found += [
        (resource.get("PrivateIpAddress"), "private", "", "primary private"),
        (resource.get("PublicIpAddress"), "public", "", "public"),
        (resource.get("Ipv6Address"), "ipv6", "", "primary IPv6"),
    ]
    return found


RESOURCE = ResourceType(
    name="instances",
    label="instance",
    calls=(LISTING,),
    fetch=fetch,
    transform=transform,
    id_of=field_id("InstanceId"),
    spec=Spec(
        # ClientToken is an idempotency token, not state; State.Code repeats State.Name.
        drop=frozenset({"ClientToken", "State.Code"}),
        sort_by={
            "NetworkInterfaces": ("NetworkInterfaceId",),
            "NetworkInterfaces.Groups": ("GroupId",),
            "NetworkInterfaces.PrivateIpAddresses": ("PrivateIpAddress",),
            "NetworkInterfaces.Ipv6Addresses": ("Ipv6Address",),
            "BlockDeviceMappings": ("DeviceName",),
            "SecurityGroups": ("GroupId",),
        },
    ),
    volatile_doc="ClientToken (idempotency token), State.Code (repeats State.Name)",
    reshaped={
        "Instances": Reshaped(
            "one file per instance, with its reservation's ReservationId, OwnerId and RequesterId",
            to="",
        ),
        "Groups": Reshaped("left out: the reservation's groups, which AWS no longer supports"),
    },
    holds=holds,
    alive=alive,
    state_path="State.Name",
    config=ConfigRecord(
        {"AWS::EC2::Instance": ("ec2", "Instance")},
        extra={"OwnerId": ("ec2", "String")},
        prepare=from_config,
        lacks={
            "ReservationId": "the reservation is not recorded",
            "RequesterId": "the reservation is not recorded",
        },
    ),
)
