"""The registry of resource types: one module each, listed once here.

Adding a type: write ``collectors/<name>.py`` defining ``RESOURCE``, add it to the tuple
below, add ``schemas/<name>.schema.json`` and a test.
"""

from __future__ import annotations

from driftaudit.collect.collectors import (
    auto_scaling_groups,
    elastic_ips,
    images,
    instances,
    internet_gateways,
    key_pairs,
    launch_templates,
    load_balancers,
    nat_gateways,
    network_acls,
    network_interfaces,
    route_tables,
    security_groups,
    snapshots,
    subnets,
    volumes,
    vpcs,
)
from driftaudit.collect.collectors.base import ResourceType

REGISTRY: dict[str, ResourceType] = {
    r.name: r
    for r in (
        instances.RESOURCE,
        security_groups.RESOURCE,
        volumes.RESOURCE,
        network_interfaces.RESOURCE,
        elastic_ips.RESOURCE,
        vpcs.RESOURCE,
        subnets.RESOURCE,
        route_tables.RESOURCE,
        network_acls.RESOURCE,
        internet_gateways.RESOURCE,
        nat_gateways.RESOURCE,
        load_balancers.RESOURCE,
        auto_scaling_groups.RESOURCE,
        launch_templates.RESOURCE,
        key_pairs.RESOURCE,
        images.RESOURCE,
        snapshots.RESOURCE,
    )
}


def resource_type(name: str) -> ResourceType:
    return REGISTRY[name]
