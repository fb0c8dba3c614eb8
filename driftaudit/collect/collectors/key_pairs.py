"""EC2 key pairs (DescribeKeyPairs). Public key material is never requested
(IncludePublicKey stays off): the fingerprint already shows a key change."""

from __future__ import annotations

from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id


def fetch(clients: Clients) -> list[Raw]:
    # DescribeKeyPairs is not paginated: one call returns every key pair of the region.
    return list(clients("ec2").describe_key_pairs().get("KeyPairs", []))


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="key_pairs",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("KeyPairId"),
)
