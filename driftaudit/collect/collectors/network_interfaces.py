"""Elastic network interfaces (DescribeNetworkInterfaces).

Interfaces that AWS services create for themselves (NAT gateways, load balancers, Lambda,
VPC endpoints: ``RequesterManaged`` true) are kept: they show where a VPC can be reached.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_network_interfaces", "NetworkInterfaces")


def transform(raw: Raw) -> Raw:
    out = dict(raw)
    # DescribeNetworkInterfaces calls its tag list TagSet where every other EC2 describe says
    # Tags; renamed so it becomes the Tags mapping like everywhere else.
    tag_set = out.pop("TagSet", None)
    if tag_set is not None:
        out.setdefault("Tags", tag_set)
    return out


RESOURCE = ResourceType(
    name="network_interfaces",
    services=("ec2",),
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
    volatile_doc="",
)
