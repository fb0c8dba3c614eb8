"""NAT gateways (DescribeNatGateways).

Deleted gateways are left out: DescribeNatGateways keeps showing them in State "deleted"
for about an hour, like terminated instances, so their disappearance is the change.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_nat_gateways", "NatGateways")


def transform(raw: Raw) -> Raw | None:
    if raw.get("State") == "deleted":
        return None
    return dict(raw)


RESOURCE = ResourceType(
    name="nat_gateways",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("NatGatewayId"),
    spec=Spec(sort_by={"NatGatewayAddresses": ("PrivateIp", "AllocationId")}),
    volatile_doc="",
)
