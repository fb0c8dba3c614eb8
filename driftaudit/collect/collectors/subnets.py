"""Subnets (DescribeSubnets)."""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_subnets", "Subnets")


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="subnets",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("SubnetId"),
    spec=Spec(
        # Moves whenever any instance, interface or endpoint in the subnet comes or goes.
        drop=frozenset({"AvailableIpAddressCount"}),
        sort_by={"Ipv6CidrBlockAssociationSet": ("Ipv6CidrBlock",)},
    ),
    volatile_doc=(
        "AvailableIpAddressCount (free addresses: changes whenever anything in the subnet "
        "starts or stops)"
    ),
)
