"""EBS snapshots owned by the account (DescribeSnapshots, OwnerIds=self).

Without OwnerIds, DescribeSnapshots also lists every public snapshot and every snapshot
shared with the account.
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_snapshots", "Snapshots", OwnerIds=["self"])


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="snapshots",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("SnapshotId"),
    spec=Spec(drop=frozenset({"Progress"})),
    volatile_doc="Progress (changes continuously while a snapshot is pending)",
)
