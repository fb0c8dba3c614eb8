"""NAT gateways (DescribeNatGateways).

Deleted gateways are left out: DescribeNatGateways keeps showing them in State "deleted"
for about an hour, like terminated instances, so their disappearance is the change.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    RawHolding,
    ResourceType,
    field_id,
    items,
)

LISTING = Call("ec2", "DescribeNatGateways", "NatGateways")


def fetch(clients: Clients) -> list[Raw]:
    return LISTING.fetch_all(clients)


def transform(raw: Raw) -> Raw | None:
    if raw.get("State") == "deleted":
        return None
    return dict(raw)


def holds(resource: Raw) -> list[RawHolding]:
    found: list[RawHolding] = []
    for a in items(resource.get("NatGatewayAddresses")):
        via = str(a.get("NetworkInterfaceId") or "")
        private = "primary private" if a.get("IsPrimary", True) else "secondary private"
        found += [
            (a.get("PrivateIp"), "private", via, private),
            (a.get("PublicIp"), "public", via, "elastic IP"),
        ]
    return found


RESOURCE = ResourceType(
    name="nat_gateways",
    label="NAT gateway",
    calls=(LISTING,),
    fetch=fetch,
    transform=transform,
    id_of=field_id("NatGatewayId"),
    spec=Spec(sort_by={"NatGatewayAddresses": ("PrivateIp", "AllocationId")}),
    holds=holds,
    config=ConfigRecord({"AWS::EC2::NatGateway": ("ec2", "NatGateway")}),
)
