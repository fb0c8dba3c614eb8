"""Load balancers: ELBv2 (application, network, gateway) and classic ELB, as one type.

The two APIs describe different shapes; each item says which with ``Kind``. Listeners come
from elbv2:DescribeListeners (one call per load balancer) or, for classic ELBs, inside the
description. Tags come from a separate DescribeTags call on either API, which accepts at most
20 load balancers per call. An OIDC-authenticating listener action's ClientSecret is removed
inside ``fetch`` right after the call that returned it: it is never written.
"""

from __future__ import annotations

from typing import Any

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    RawHolding,
    Reshaped,
    ResourceType,
    batched,
    items,
    merge_tags,
    paginate,
)

# elbv2:DescribeTags takes at most 20 ResourceArns, elb:DescribeTags at most 20 names.
TAGS_PER_CALL = 20
V2 = Call("elbv2", "DescribeLoadBalancers", "LoadBalancers")
V2_LISTENERS = Call("elbv2", "DescribeListeners", "Listeners", "Listeners")
#: What DescribeListeners may return and driftaudit never keeps.
SECRET = "ClientSecret"
V2_TAGS = Call("elbv2", "DescribeTags")
CLASSIC = Call("elb", "DescribeLoadBalancers", "LoadBalancerDescriptions")
CLASSIC_TAGS = Call("elb", "DescribeTags")


def _tags(client: Any, param: str, key: str, names: list[str]) -> dict[str, list[Raw]]:
    found: dict[str, list[Raw]] = {}
    for batch in batched(names, TAGS_PER_CALL):
        for d in client.describe_tags(**{param: batch}).get("TagDescriptions", []):
            found[d[key]] = d.get("Tags", [])
    return found


def without_secrets(listener: Raw) -> Raw:
    """The listener without the client secret of its OIDC actions (AWS's model allows
    DescribeListeners to return it; driftaudit never keeps a secret)."""
    actions = []
    for action in listener.get("DefaultActions", []):
        oidc = action.get("AuthenticateOidcConfig")
        if isinstance(oidc, dict) and SECRET in oidc:
            kept = {k: v for k, v in oidc.items() if k != SECRET}
            action = {**action, "AuthenticateOidcConfig": kept}
        actions.append(action)
    return {**listener, "DefaultActions": actions} if "DefaultActions" in listener else listener


def fetch(clients: Clients) -> list[Raw]:
    elbv2 = clients("elbv2")
    v2 = paginate(elbv2, V2.method, V2.result)
    arns = [lb["LoadBalancerArn"] for lb in v2]
    for lb in v2:
        listeners = paginate(
            elbv2, V2_LISTENERS.method, V2_LISTENERS.result, LoadBalancerArn=lb["LoadBalancerArn"]
        )
        lb["Listeners"] = [without_secrets(listener) for listener in listeners]
    merge_tags(v2, _tags(elbv2, "ResourceArns", "ResourceArn", arns), "LoadBalancerArn")

    elb = clients("elb")
    classic = paginate(elb, CLASSIC.method, CLASSIC.result)
    names = [lb["LoadBalancerName"] for lb in classic]
    merge_tags(
        classic, _tags(elb, "LoadBalancerNames", "LoadBalancerName", names), "LoadBalancerName"
    )
    return v2 + classic


def _classic_listener_key(description: Raw) -> tuple[int, str]:
    listener = description.get("Listener", {})
    return (int(listener.get("LoadBalancerPort", 0)), str(listener.get("Protocol", "")))


def transform(raw: Raw) -> Raw:
    out = dict(raw)
    # Only ELBv2 descriptions carry an ARN (classic ELB:DescribeLoadBalancers has none).
    if "LoadBalancerArn" in raw:
        out["Kind"] = raw["Type"]
    else:
        out["Kind"] = "classic"
        # The listener sits one level down (ListenerDescriptions[].Listener), out of reach of a
        # Spec sort key: sort here, and declare the list ordered so this order is kept.
        out["ListenerDescriptions"] = sorted(
            raw.get("ListenerDescriptions", []), key=_classic_listener_key
        )
    return out


def id_of(resource: Raw) -> str:
    """``app.my-lb.50dc6c495c0c9188`` (ELBv2 ARN suffix) or ``classic.<name>``."""
    if resource["Kind"] == "classic":
        # Classic names are restricted by AWS to [A-Za-z0-9-], at most 32 characters.
        return "classic." + str(resource["LoadBalancerName"])
    arn = resource["LoadBalancerArn"]
    if not isinstance(arn, str):  # a hand-edited file: readers name the id as unreadable
        raise TypeError(f"load balancer ARN {arn!r} is not a string")
    _, sep, suffix = arn.partition(":loadbalancer/")
    if not sep:
        raise ValueError(f"unexpected load balancer ARN {arn!r}")
    return suffix.replace("/", ".")


def holds(resource: Raw) -> list[RawHolding]:
    """Only network (and gateway) load balancers list addresses in DescribeLoadBalancers; an
    application or classic ELB's addresses show up as the requester-managed interfaces it
    owns (network_interfaces)."""
    found: list[RawHolding] = []
    for zone in items(resource.get("AvailabilityZones")):
        for a in items(zone.get("LoadBalancerAddresses")):
            via = str(a.get("AllocationId") or "")
            found += [
                (a.get("IpAddress"), "public", via, "elastic IP" if via else "public"),
                (a.get("PrivateIPv4Address"), "private", via, "private"),
                (a.get("IPv6Address"), "ipv6", via, "IPv6"),
            ]
    return found


def config_key(resource: Raw) -> tuple[str, str]:
    """How AWS Config names a load balancer: an ELBv2 one by its ARN, a classic one by its
    name."""
    if resource.get("Kind") == "classic":
        return "AWS::ElasticLoadBalancing::LoadBalancer", str(resource["LoadBalancerName"])
    return "AWS::ElasticLoadBalancingV2::LoadBalancer", str(resource["LoadBalancerArn"])


RESOURCE = ResourceType(
    name="load_balancers",
    label="load balancer",
    calls=(V2, V2_LISTENERS, V2_TAGS, CLASSIC, CLASSIC_TAGS),
    fetch=fetch,
    transform=transform,
    id_of=id_of,
    spec=Spec(
        # Each listener repeats its load balancer's ARN.
        drop=frozenset({"Listeners.LoadBalancerArn"}),
        ordered=frozenset({"ListenerDescriptions"}),
        sort_by={
            # Gateway Load Balancer listeners have no Port or Protocol; they sort first.
            "Listeners": ("Port", "Protocol"),
            "Listeners.DefaultActions": ("Order", "Type"),
            "Listeners.Certificates": ("CertificateArn",),
            "AvailabilityZones": ("ZoneName",),
            "BackendServerDescriptions": ("InstancePort",),
        },
    ),
    volatile_doc="Listeners.LoadBalancerArn (repeats the load balancer's own ARN)",
    reshaped={
        f"Listeners.DefaultActions.AuthenticateOidcConfig.{SECRET}": Reshaped(
            "left out: a secret, removed inside the fetch step"
        ),
    },
    name_keys=("LoadBalancerName",),
    holds=holds,
    state_path="State.Code",
    config=ConfigRecord(
        {
            "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elbv2", "LoadBalancer"),
            "AWS::ElasticLoadBalancing::LoadBalancer": ("elb", "LoadBalancerDescription"),
        },
        lacks={
            "Listeners": "Config records ELBv2 listeners as a type of their own, "
            "AWS::ElasticLoadBalancingV2::Listener, not read"
        },
        identify=config_key,
    ),
)
