"""Pure: which addresses a snapshot document's resource holds.

An address is ours while some resource in the snapshot holds it (in the rule's network, for
a private address: driftaudit.network). Each holding is ``(address, scope, via, kind)``: the
address (or, for prefix delegation, the CIDR), whether it is private, public or IPv6, the
related resource it goes through (the interface of an instance's address, the instance an
interface is attached to, ...) so a reader can follow it, and what the address is to its
holder ("secondary private", "elastic IP", "delegated IPv4 prefix", "primary private (NAT
gateway nat-0a1b interface)").
What each type holds is its own knowledge (``ResourceType.holds``, ``attached``,
``keeps_when_released``, ``alive``); this module only applies it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from driftaudit.collect.collectors import REGISTRY
from driftaudit.history.rules import canonical_address, canonical_network

#: The resource types that can hold an address; the others are never read for history.
HOLDER_TYPES = tuple(name for name, t in REGISTRY.items() if t.holds is not None)
#: How a holder is named in answers: "instance", "network interface"...
KIND = {name: REGISTRY[name].label for name in HOLDER_TYPES}


class Holding(NamedTuple):
    address: str  # 10.191.12.13, 2001:db8::1, or a delegated prefix 10.0.1.16/28
    scope: str  # private | public | ipv6 | private-prefix | ipv6-prefix
    via: str  # a related resource id, or ""
    kind: str = ""  # primary private | secondary private | public | elastic IP | IPv6 | ...


Raw = Mapping[str, Any]


def _collect(found: Iterable[tuple[Any, str, str, str]]) -> list[Holding]:
    """Valid addresses only, one holding per (address, scope), preferring one with a via
    (an instance's interface, rather than the instance's own summary fields)."""
    best: dict[tuple[str, str], tuple[str, str]] = {}
    for value, scope, via, kind in found:
        if not value or not isinstance(value, str):
            continue
        text = canonical_network(value) if scope.endswith("-prefix") else canonical_address(value)
        if text is None:
            continue
        key = (text, scope)
        if key not in best or (via and not best[key][0]):
            best[key] = (via or "", kind)
    return sorted(Holding(a, s, v, k) for (a, s), (v, k) in best.items())


def alive(rtype: str, resource: Raw) -> bool:
    """Whether the resource exists (a terminated instance holds nothing: AWS releases its
    addresses and deletes its primary interface)."""
    check = REGISTRY[rtype].alive
    return check is None or check(dict(resource))


def attached_instance(rtype: str, resource: Raw, account: str) -> str | None:
    """The instance of this account whose presence decides what ``resource`` holds: the
    instance an interface is attached to, or an elastic IP is associated with."""
    attached = REGISTRY[rtype].attached
    return attached(dict(resource), account) if attached is not None else None


def released(rtype: str, held: list[Holding]) -> list[Holding]:
    """What a resource still holds once the instance it is attached to is terminated or
    absent from the same snapshot. AWS deletes the instance's interfaces with it (the
    emulator keeps them "in-use") and disassociates its elastic IPs, which stay allocated to
    us: an interface holds nothing, an elastic IP keeps only its public address."""
    keep = REGISTRY[rtype].keeps_when_released
    return [h for h in held if h.scope in keep]


def holdings(rtype: str, resource: Raw) -> list[Holding]:
    """Every address ``resource`` (of snapshot type ``rtype``) holds, as the document shows
    it, before the cross-resource rule (an interface of a gone instance is released)."""
    rt = REGISTRY[rtype]
    if rt.holds is None or not alive(rtype, resource):
        return []
    return _collect(rt.holds(dict(resource)))
