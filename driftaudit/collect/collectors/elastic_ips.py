"""Elastic IP addresses (DescribeAddresses), named by their AllocationId."""

from __future__ import annotations

from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    RawHolding,
    ResourceType,
    field_id,
)

LISTING = Call("ec2", "DescribeAddresses", "Addresses")


def fetch(clients: Clients) -> list[Raw]:
    # DescribeAddresses has no paginator: one call returns every address of the region.
    return LISTING.fetch_all(clients)


def transform(raw: Raw) -> Raw | None:
    # Only EC2-Classic addresses (Domain "standard") lack an AllocationId; EC2-Classic was
    # retired in 2023. Such an address is left out rather than named by its public IP.
    if not raw.get("AllocationId"):
        return None
    return dict(raw)


def holds(resource: Raw) -> list[RawHolding]:
    via = str(resource.get("InstanceId") or resource.get("NetworkInterfaceId") or "")
    found: list[RawHolding] = [
        (resource.get(key), "public", via, kind)
        for key, kind in (
            ("PublicIp", "elastic IP"),
            ("CarrierIp", "carrier IP"),
            ("CustomerOwnedIp", "customer-owned IP"),
        )
    ]
    found.append((resource.get("PrivateIpAddress"), "private", via, "associated private"))
    return found


def attached(resource: Raw, account: str) -> str | None:
    """The instance of this account the address is associated with."""
    instance, owner = resource.get("InstanceId"), resource.get("NetworkInterfaceOwnerId")
    if not instance or (owner and owner != account):
        return None
    return str(instance)


RESOURCE = ResourceType(
    name="elastic_ips",
    label="elastic IP",
    calls=(LISTING,),
    fetch=fetch,
    transform=transform,
    id_of=field_id("AllocationId"),
    holds=holds,
    attached=attached,
    # AWS disassociates an instance's elastic IPs when it terminates; the address stays
    # allocated to us, its private side does not.
    keeps_when_released=frozenset({"public"}),
    config=ConfigRecord({"AWS::EC2::EIP": ("ec2", "Address")}),
)
