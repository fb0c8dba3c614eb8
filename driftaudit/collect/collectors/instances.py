"""EC2 instances (DescribeInstances).

Terminated instances are left out: AWS forgets them within the hour, so their
disappearance from the snapshot is the change. User data is never requested (it is only
returned by DescribeInstanceAttribute, which driftaudit never calls).
"""

from __future__ import annotations

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import Clients, Raw, ResourceType, field_id, paginate


def fetch(clients: Clients) -> list[Raw]:
    reservations = paginate(clients("ec2"), "describe_instances", "Reservations")
    return [
        {**instance, "ReservationId": r["ReservationId"], "OwnerId": r.get("OwnerId")}
        for r in reservations
        for instance in r.get("Instances", [])
    ]


def transform(raw: Raw) -> Raw | None:
    if raw.get("State", {}).get("Name") == "terminated":
        return None
    return dict(raw)


RESOURCE = ResourceType(
    name="instances",
    services=("ec2",),
    fetch=fetch,
    transform=transform,
    id_of=field_id("InstanceId"),
    spec=Spec(
        # ClientToken is an idempotency token, not state; State.Code repeats State.Name.
        drop=frozenset({"ClientToken", "State.Code"}),
        sort_by={
            "NetworkInterfaces": ("NetworkInterfaceId",),
            "BlockDeviceMappings": ("DeviceName",),
            "SecurityGroups": ("GroupId",),
        },
    ),
    volatile_doc="ClientToken (idempotency token), State.Code (repeats State.Name)",
)
