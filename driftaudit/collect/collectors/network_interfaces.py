"""Elastic network interfaces (DescribeNetworkInterfaces).

Interfaces that AWS services create for themselves (NAT gateways, load balancers, Lambda,
VPC endpoints: ``RequesterManaged`` true) are kept: they show where a VPC can be reached.
"""

from __future__ import annotations

import re

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    RawHolding,
    Reshaped,
    ResourceType,
    attachment_of,
    field_id,
    interface_addresses,
)

LISTING = Call("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces")


def fetch(clients: Clients) -> list[Raw]:
    return LISTING.fetch_all(clients)


def transform(raw: Raw) -> Raw:
    out = dict(raw)
    # DescribeNetworkInterfaces calls its tag list TagSet where every other EC2 describe says
    # Tags; renamed so it becomes the Tags mapping like everywhere else.
    tag_set = out.pop("TagSet", None)
    if tag_set is not None:
        out.setdefault("Tags", tag_set)
    return out


#: InterfaceType of the interfaces AWS services make for themselves, as answers name them.
SERVICE = {
    "natGateway": "NAT gateway",
    "load_balancer": "load balancer",
    "network_load_balancer": "network load balancer",
    "gateway_load_balancer": "gateway load balancer",
    "gateway_load_balancer_endpoint": "gateway load balancer endpoint",
    "vpc_endpoint": "VPC endpoint",
    "lambda": "Lambda",
    "transit_gateway": "transit gateway",
}
# What AWS writes in a requester-managed interface's Description: only these shapes are
# shown (a user-made interface's description is user text, never part of an answer's kind).
_NAT = re.compile(r"Interface for NAT Gateway (nat-[0-9a-f]+)")
_ELB = re.compile(r"ELB ((?:app|net|gwy)/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,32}|[A-Za-z0-9-]{1,32})")


def service_of(resource: Raw) -> str:
    """What an AWS service's interface belongs to: "NAT gateway nat-0a1b",
    "load balancer app/web/50dc6c495c0c9188"; "" for an ordinary interface."""
    kind = str(resource.get("InterfaceType") or "interface")
    description = str(resource.get("Description") or "")
    if kind == "natGateway" or _NAT.fullmatch(description):
        nat = _NAT.fullmatch(description)
        return "NAT gateway" + (f" {nat.group(1)}" if nat else "")
    elb = _ELB.fullmatch(description) if resource.get("RequesterManaged") else None
    if elb is not None:
        return f"load balancer {elb.group(1)}"
    return SERVICE.get(kind, "" if kind in ("interface", "efa", "efa-only", "trunk") else kind)


def holds(resource: Raw) -> list[RawHolding]:
    via = str(attachment_of(resource.get("Attachment")).get("InstanceId") or "")
    service = service_of(resource)
    suffix = f" ({service} interface)" if service else ""
    return [(a, s, via, kind + suffix) for a, s, kind in interface_addresses(resource)]


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
    config=ConfigRecord({"AWS::EC2::NetworkInterface": ("ec2", "NetworkInterface")}),
)
