"""Route tables (DescribeRouteTables). Each route is written on one line."""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_route_tables", "RouteTables")


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="route_tables",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("RouteTableId"),
    spec=Spec(
        # AWS returns routes and associations in no documented order. A route is identified
        # by its destination (IPv4 CIDR, IPv6 CIDR or prefix list): IPv4 routes sort first.
        sort_by={
            "Routes": (
                "DestinationPrefixListId",
                "DestinationIpv6CidrBlock",
                "DestinationCidrBlock",
            ),
            "Associations": ("Main", "SubnetId", "GatewayId", "RouteTableAssociationId"),
            "PropagatingVgws": ("GatewayId",),
        },
        one_line=frozenset({"Routes"}),
    ),
    volatile_doc="",
)
