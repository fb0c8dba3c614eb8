"""Elastic IP addresses (DescribeAddresses), named by their AllocationId."""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    # DescribeAddresses has no paginator: one call returns every address of the region.
    return paginate(clients("ec2"), "describe_addresses", "Addresses")


def transform(raw: Raw) -> Raw | None:
    # Only EC2-Classic addresses (Domain "standard") lack an AllocationId; EC2-Classic was
    # retired in 2023. Such an address is left out rather than named by its public IP.
    if not raw.get("AllocationId"):
        return None
    return dict(raw)


RESOURCE = ResourceType(
    name="elastic_ips",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("AllocationId"),
    spec=Spec(),
    volatile_doc="",
)
