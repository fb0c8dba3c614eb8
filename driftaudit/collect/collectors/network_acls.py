"""Network ACLs (DescribeNetworkAcls). Each entry is written on one line."""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    return paginate(clients("ec2"), "describe_network_acls", "NetworkAcls")


def transform(raw: Raw) -> Raw:
    return dict(raw)


RESOURCE = ResourceType(
    name="network_acls",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("NetworkAclId"),
    spec=Spec(
        # An ACL is evaluated per direction in RuleNumber order, so (Egress, RuleNumber)
        # identifies an entry: inbound entries first, then outbound, each by number.
        sort_by={
            "Entries": ("Egress", "RuleNumber"),
            "Associations": ("SubnetId", "NetworkAclAssociationId"),
        },
        one_line=frozenset({"Entries"}),
    ),
    volatile_doc="",
)
