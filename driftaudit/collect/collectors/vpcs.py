"""VPCs (DescribeVpcs)."""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_vpcs", "Vpcs")


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="vpcs",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("VpcId"),
    spec=Spec(
        sort_by={
            "CidrBlockAssociationSet": ("CidrBlock",),
            "Ipv6CidrBlockAssociationSet": ("Ipv6CidrBlock",),
        },
    ),
    volatile_doc="",
)
