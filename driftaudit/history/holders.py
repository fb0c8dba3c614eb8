"""Pure: which addresses a snapshot document's resource holds.

An address is ours while some resource in the snapshot holds it. Each holding is
``(address, scope, via)``: the address (or, for prefix delegation, the CIDR), whether it is
private, public or IPv6, and the related resource it goes through (the interface of an
instance's address, the instance an interface is attached to, ...) so a reader can follow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from driftaudit.history.rules import canonical_address, canonical_network

#: The resource types that can hold an address; the others are never read for history.
HOLDER_TYPES = ("instances", "network_interfaces", "elastic_ips", "nat_gateways", "load_balancers")
KIND = {
    "instances": "instance",
    "network_interfaces": "network interface",
    "elastic_ips": "elastic IP",
    "nat_gateways": "NAT gateway",
    "load_balancers": "load balancer",
}


class Holding(NamedTuple):
    address: str  # 10.191.12.13, 2001:db8::1, or a delegated prefix 10.0.1.16/28
    scope: str  # private | public | ipv6 | private-prefix | ipv6-prefix
    via: str  # a related resource id, or ""


Raw = Mapping[str, Any]


def _items(value: Any) -> Iterator[Raw]:
    if isinstance(value, list):
        yield from (v for v in value if isinstance(v, Mapping))


def _interface(eni: Raw) -> Iterator[tuple[Any, str]]:
    """(address, scope) of one interface, as DescribeNetworkInterfaces and the
    NetworkInterfaces of DescribeInstances both show it."""
    yield eni.get("PrivateIpAddress"), "private"
    yield (eni.get("Association") or {}).get("PublicIp"), "public"
    for p in _items(eni.get("PrivateIpAddresses")):
        yield p.get("PrivateIpAddress"), "private"
        yield (p.get("Association") or {}).get("PublicIp"), "public"
    yield eni.get("Ipv6Address"), "ipv6"
    for a in _items(eni.get("Ipv6Addresses")):
        yield a.get("Ipv6Address"), "ipv6"
    for a in _items(eni.get("Ipv4Prefixes")):
        yield a.get("Ipv4Prefix"), "private-prefix"
    for a in _items(eni.get("Ipv6Prefixes")):
        yield a.get("Ipv6Prefix"), "ipv6-prefix"


def _collect(found: Iterable[tuple[Any, str, str]]) -> list[Holding]:
    """Valid addresses only, one holding per (address, scope), preferring one with a via."""
    best: dict[tuple[str, str], str] = {}
    for value, scope, via in found:
        if not value or not isinstance(value, str):
            continue
        text = canonical_network(value) if scope.endswith("-prefix") else canonical_address(value)
        if text is None:
            continue
        key = (text, scope)
        if not best.get(key):
            best[key] = via or ""
    return sorted(Holding(a, s, v) for (a, s), v in best.items())


def instance_alive(resource: Raw) -> bool:
    """A terminated instance holds nothing (AWS releases its addresses and deletes its
    primary interface; the instances collector leaves terminated ones out anyway)."""
    return (resource.get("State") or {}).get("Name") != "terminated"


def attached_instance(rtype: str, resource: Raw, account: str) -> str | None:
    """The instance of this account whose presence decides what ``resource`` holds: the
    instance an interface is attached to, or an elastic IP is associated with.

    Interfaces of AWS services (ELB, NAT) carry an Attachment without InstanceId, or with an
    InstanceOwnerId naming the service; only our own instances are looked up.
    """
    if rtype == "network_interfaces":
        attachment = resource.get("Attachment") or {}
        instance, owner = attachment.get("InstanceId"), attachment.get("InstanceOwnerId")
    elif rtype == "elastic_ips":
        instance, owner = resource.get("InstanceId"), resource.get("NetworkInterfaceOwnerId")
    else:
        return None
    if not instance or (owner and owner != account):
        return None
    return str(instance)


def released(rtype: str, held: list[Holding]) -> list[Holding]:
    """What a resource still holds once the instance it is attached to is terminated or
    absent from the same snapshot. AWS deletes the instance's interfaces with it (the
    emulator keeps them "in-use") and disassociates its elastic IPs, which stay allocated to
    us: an interface holds nothing, an elastic IP keeps only its public address."""
    if rtype == "elastic_ips":
        return [h for h in held if h.scope == "public"]
    return []


def holdings(rtype: str, resource: Raw) -> list[Holding]:
    """Every address ``resource`` (of snapshot type ``rtype``) holds, as the document shows
    it, before the cross-resource rule (an interface of a gone instance is released)."""
    found: list[tuple[Any, str, str]] = []
    if rtype == "instances":
        if not instance_alive(resource):
            return []
        for eni in _items(resource.get("NetworkInterfaces")):
            via = str(eni.get("NetworkInterfaceId") or "")
            found.extend((a, s, via) for a, s in _interface(eni))
        found.extend(
            [
                (resource.get("PrivateIpAddress"), "private", ""),
                (resource.get("PublicIpAddress"), "public", ""),
                (resource.get("Ipv6Address"), "ipv6", ""),
            ]
        )
    elif rtype == "network_interfaces":
        via = str((resource.get("Attachment") or {}).get("InstanceId") or "")
        found.extend((a, s, via) for a, s in _interface(resource))
    elif rtype == "elastic_ips":
        via = str(resource.get("InstanceId") or resource.get("NetworkInterfaceId") or "")
        for key in ("PublicIp", "CarrierIp", "CustomerOwnedIp"):
            found.append((resource.get(key), "public", via))
        found.append((resource.get("PrivateIpAddress"), "private", via))
    elif rtype == "nat_gateways":
        for a in _items(resource.get("NatGatewayAddresses")):
            via = str(a.get("NetworkInterfaceId") or "")
            found.extend([(a.get("PrivateIp"), "private", via), (a.get("PublicIp"), "public", via)])
    elif rtype == "load_balancers":
        # Only network (and gateway) load balancers list addresses in
        # DescribeLoadBalancers; an application or classic ELB's addresses show up as the
        # requester-managed interfaces it owns (network_interfaces).
        for zone in _items(resource.get("AvailabilityZones")):
            for a in _items(zone.get("LoadBalancerAddresses")):
                via = str(a.get("AllocationId") or "")
                found.extend(
                    [
                        (a.get("IpAddress"), "public", via),
                        (a.get("PrivateIPv4Address"), "private", via),
                        (a.get("IPv6Address"), "ipv6", via),
                    ]
                )
    return _collect(found)
