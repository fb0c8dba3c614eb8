"""The registry of resource types: one module each, listed once here.

Adding a type: write ``collectors/<name>.py`` defining ``RESOURCE``, add it to the tuple
below, add ``schemas/<name>.schema.json`` and a test.
"""

from __future__ import annotations

from driftaudit.collectors import (
    instances,
    security_groups,
    volumes,
)
from driftaudit.collectors.base import ResourceType

REGISTRY: dict[str, ResourceType] = {
    r.name: r
    for r in (
        instances.RESOURCE,
        security_groups.RESOURCE,
        volumes.RESOURCE,
    )
}


def resource_type(name: str) -> ResourceType:
    return REGISTRY[name]
