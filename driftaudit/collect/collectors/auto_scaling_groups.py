"""Auto Scaling groups (autoscaling:DescribeAutoScalingGroups).

A group's name is free text (spaces, slashes, ``..``), so its file is named by the UUID
inside its ARN. Its instances are left out: membership changes with every scale event, and
each instance has its own file.
"""

from __future__ import annotations

import re

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    Reshaped,
    ResourceType,
)

LISTING = Call("autoscaling", "DescribeAutoScalingGroups", "AutoScalingGroups")

# arn:aws:autoscaling:REGION:ACCOUNT:autoScalingGroup:UUID:autoScalingGroupName/NAME; NAME may
# itself hold colons, so anchor on the fixed prefix.
ARN_UUID = re.compile(
    r"^arn:[a-z-]+:autoscaling:[a-z0-9-]*:[0-9]*:autoScalingGroup:"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):autoScalingGroupName/"
)


def fetch(clients: Clients) -> list[Raw]:
    return LISTING.fetch_all(clients)


def transform(raw: Raw) -> Raw:
    # ASG tags are {Key, Value, PropagateAtLaunch, ResourceId, ResourceType}; ResourceId and
    # ResourceType repeat the group's name, PropagateAtLaunch is kept as a list of keys.
    tags = raw.get("Tags", [])
    out = {k: v for k, v in raw.items() if k != "Tags"}
    out["Tags"] = {str(t["Key"]): str(t.get("Value", "")) for t in tags}
    out["TagsPropagateAtLaunch"] = sorted(str(t["Key"]) for t in tags if t.get("PropagateAtLaunch"))
    return out


def id_of(resource: Raw) -> str:
    arn = resource["AutoScalingGroupARN"]
    match = ARN_UUID.match(arn)
    if not match:
        raise ValueError(f"no group UUID in Auto Scaling group ARN {arn!r}")
    return match.group(1)


RESOURCE = ResourceType(
    name="auto_scaling_groups",
    label="Auto Scaling group",
    calls=(LISTING,),
    fetch=fetch,
    transform=transform,
    id_of=id_of,
    spec=Spec(
        drop=frozenset({"Instances", "PredictedCapacity", "WarmPoolSize"}),
        # AWS applies termination policies in list order; with the "prioritized" allocation
        # strategy, the order of instance-type overrides is their priority.
        ordered=frozenset({"TerminationPolicies", "MixedInstancesPolicy.LaunchTemplate.Overrides"}),
        sort_by={
            "SuspendedProcesses": ("ProcessName",),
            "EnabledMetrics": ("Metric",),
            "TrafficSources": ("Identifier", "Type"),
        },
    ),
    volatile_doc=(
        "Instances (membership changes with every scale event; instances have their own "
        "files), PredictedCapacity (a predictive-scaling forecast), WarmPoolSize (current "
        "warm pool count)"
    ),
    reshaped={
        "Tags": Reshaped(
            "a Key -> Value mapping; keys with PropagateAtLaunch listed in "
            "TagsPropagateAtLaunch; ResourceId and ResourceType repeat the group"
        ),
    },
    name_keys=("AutoScalingGroupName",),
    config=ConfigRecord(
        {"AWS::AutoScaling::AutoScalingGroup": ("autoscaling", "AutoScalingGroup")},
        lacks={
            "TagsPropagateAtLaunch": "the item's tags are a key -> value mapping, without "
            "PropagateAtLaunch"
        },
        # Config names a group by its ARN (the file, by the ARN's UUID).
        identify=lambda group: (
            "AWS::AutoScaling::AutoScalingGroup",
            str(group["AutoScalingGroupARN"]),
        ),
    ),
)
