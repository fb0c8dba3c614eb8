"""Elastic network interfaces (DescribeNetworkInterfaces).

Interfaces that AWS services create for themselves (NAT gateways, load balancers, Lambda,
VPC endpoints: ``RequesterManaged`` true) are kept: they show where a VPC can be reached.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    Raw,
    RawHolding,
    Reshaped,
    ResourceType,
    attachment_of,
    field_id,
    interface_addresses,
    paginate,
)

LISTING = Call("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces")


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), LISTING.method, LISTING.result)


def transform(raw: Raw) -> Raw:
    out = dict(raw)
    # DescribeNetworkInterfaces calls its tag list TagSet where every other EC2 describe says
    # Tags; renamed so it becomes the Tags mapping like everywhere else.
    tag_set = out.pop("TagSet", None)
    if tag_set is not None:
        out.setdefault("Tags", tag_set)
    return out


def holds(resource: Raw) -> list[RawHolding]:
    via = str(attachment_of(resource.get("Attachment")).get("InstanceId") or "")
    return [(a, s, via) for a, s in interface_addresses(resource)]


def attached(resource: Raw, account: str) -> str | None:
    """The instance the interface is attached to, when it is one of this account's.
    Interfaces of AWS services (ELB, NAT) carry an Attachment without InstanceId, or with an
    InstanceOwnerId naming the service."""
    attachment = attachment_of(resource.get("Attachment"))
    instance, owner = attachment.get("InstanceId"), attachment.get("InstanceOwnerId")
    if not instance or (owner and owner != account):
        return None
    return str(instance)


RESOURCE = ResourceType(
    name="network_interfaces",
    label="network interface",
    calls=(LISTING,),
    fetch=fetch,
    transform=transform,
    id_of=field_id("NetworkInterfaceId"),
    spec=Spec(
        sort_by={
            "Groups": ("GroupId",),
            "PrivateIpAddresses": ("PrivateIpAddress",),
            "Ipv6Addresses": ("Ipv6Address",),
            "Ipv4Prefixes": ("Ipv4Prefix",),
            "Ipv6Prefixes": ("Ipv6Prefix",),
        },
    ),
    reshaped={"TagSet": Reshaped("renamed Tags, as in every other EC2 describe", to="Tags")},
    holds=holds,
    attached=attached,
)
