"""What a resource type is: one declarative record, registered once in
``driftaudit.collect.collectors``, and the only home of per-type knowledge.

Everything that treats types differently reads it from here: the fetch and the transform,
the file's id, how the canonical form sorts and keeps lists (``spec``: the sort keys of a list
are also its items' identity when the differ matches them; ``ordered`` lists are compared by
position), the name shown beside the id, the addresses it holds (history), where its state
and encryption live (baselines), the extra check its documents need (security-group rules),
its label, and the AWS calls it makes — from which the IAM policy in README is generated and
against which botocore's service models are checked (tests/test_models.py).

A type whose items AWS already gives in the right shape is a pass-through: one
:func:`passthrough` declaration in the registry. The others have a module with ``fetch``
(dumb: call AWS, paginate, return raw dicts) and ``transform`` (pure: one raw dict in, one
resource dict out, or None to leave it out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name

from driftaudit.canonical import Spec

Raw = dict[str, Any]
#: Returns the boto3 client of one service for the part being collected.
Clients = Callable[[str], Any]
#: (address or CIDR, scope, via, kind): see driftaudit.history.holders. ``kind`` says what
#: the address is to its holder: "primary private", "secondary private", "elastic IP"...
RawHolding = tuple[Any, str, str, str]

#: IAM's name for each boto3 service a collector uses.
IAM_PREFIX = {
    "ec2": "ec2",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "autoscaling": "autoscaling",
    "sts": "sts",
    "iam": "iam",
}


@dataclass(frozen=True)
class Call:
    """One AWS operation a type's fetch makes: boto3 service name, the API's operation name,
    the output member holding the items it returns ("" when none are kept as items), and
    where each item is kept: "" for a listing (each item is a resource), else the member of
    its resource that holds it (DescribeListeners' items are a load balancer's Listeners).
    tests/test_models.py walks the model's item shape of every call with a ``result``."""

    service: str
    operation: str
    result: str = ""
    kept_in: str = ""

    @property
    def iam_action(self) -> str:
        return f"{IAM_PREFIX[self.service]}:{self.operation}"

    @property
    def method(self) -> str:
        """The boto3 method: DescribeSecurityGroups -> describe_security_groups."""
        return str(xform_name(self.operation))

    def fetch_all(self, clients: Clients, **params: Any) -> list[Raw]:
        """Every item of this listing (:func:`paginate`), from its own service's client."""
        return paginate(clients(self.service), self.method, self.result, **params)


@dataclass(frozen=True)
class Reshaped:
    """How a type's transform writes one member of AWS's items (named by its path in the
    model's item shape, lists transparent: ``IpPermissions``, ``Instances``), when it does
    not keep it as AWS gives it. Shown in README's resource-type table."""

    how: str
    #: Where the member's own members are now written, checked one by one against the model
    #: ("" = the resource itself: an instance is lifted out of its reservation); None when
    #: they are not kept as such (flattened, replaced, left out).
    to: str | None = None


@dataclass(frozen=True)
class ConfigRecord:
    """How AWS Config records the type, for ``driftaudit backfill`` (driftaudit.backfill).

    A configuration item's ``configuration`` is the item the Describe call gives, with its
    keys in lowerCamelCase and Config's quirks; backfill reads it through the botocore shape
    named here (keys matched without regard to case, values typed by the model, members the
    model does not have left out), then through the type's own ``transform``."""

    #: Config's resource type -> (boto3 service, botocore shape of one item as ``transform``
    #: takes it): ``{"AWS::EC2::Instance": ("ec2", "Instance")}``.
    types: Mapping[str, tuple[str, str]]
    #: Members the shape lacks that the items carry: name -> (service, shape).
    extra: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: Config's quirks put right: (configuration, the whole configuration item) ->
    #: configuration in the Describe item's form (still lowerCamelCase keys). Pure.
    prepare: Callable[[Raw, Raw], Raw] | None = None
    #: What our documents hold that Config's items never give (dotted paths, lists
    #: transparent) -> why; left out of backfilled documents, listed in README's coverage
    #: table. The first snapshot after a backfill adds them.
    lacks: Mapping[str, str] = field(default_factory=dict)
    #: (Config type, Config's resourceId) of one of our resources, for asking Config about
    #: the resources a snapshot shows; None: the only Config type, and the file's id.
    identify: Callable[[Raw], tuple[str, str]] | None = None

    @property
    def lacks_doc(self) -> str:
        """README's coverage table: ``Path, Path (why), Path (why)``."""
        reasons: dict[str, list[str]] = {}
        for path, why in self.lacks.items():
            reasons.setdefault(why, []).append(path)
        return ", ".join(f"{', '.join(p)} ({why})" for why, p in reasons.items())


def _no_check(resource: Raw) -> tuple[list[Any], str] | None:
    return None


@dataclass(frozen=True)
class ResourceType:
    name: str
    #: How one resource is named in sentences: "security group", "network interface".
    label: str
    #: Every AWS call fetch makes; the first is the listing whose items become resources.
    calls: tuple[Call, ...]
    fetch: Callable[[Clients], list[Raw]]
    transform: Callable[[Raw], Raw | None]
    #: The AWS id that names the resource's file (never a tag or other user text).
    id_of: Callable[[Raw], str]
    spec: Spec = field(default_factory=Spec)
    #: Documented in README: what is dropped and why.
    volatile_doc: str = ""
    #: Members of AWS's items (see :class:`Reshaped`) the transform reshapes or leaves out.
    reshaped: Mapping[str, Reshaped] = field(default_factory=dict)
    #: Fields naming the resource when it has no Name tag (GroupName, KeyName...).
    name_keys: tuple[str, ...] = ()
    #: History: every address the resource holds, as its own document shows it.
    holds: Callable[[Raw], list[RawHolding]] | None = None
    #: History: the instance (of this account) whose presence decides what it holds.
    attached: Callable[[Raw, str], str | None] | None = None
    #: History: the scopes it keeps once that instance is gone (an EIP keeps "public").
    keeps_when_released: frozenset[str] = frozenset()
    #: History: whether the resource exists (a terminated instance holds nothing).
    alive: Callable[[Raw], bool] | None = None
    #: Baselines: the field ``state:`` checks, and where encryption at rest is recorded.
    state_path: str | None = None
    encryption_path: str | None = None
    #: A reader's check beyond the envelope: (JSON path, problem) or None.
    check: Callable[[Raw], tuple[list[Any], str] | None] = _no_check
    #: "region": one part per (account, region); "account": one part per account, in the
    #: region ``global`` of the layout (its calls go to the account's home region).
    scope: str = "region"
    #: How AWS Config records it (``driftaudit backfill``); None: Config does not.
    config: ConfigRecord | None = None

    @property
    def services(self) -> tuple[str, ...]:
        """boto3 service names the fetch step uses (for client set-up and error messages)."""
        return tuple(dict.fromkeys(c.service for c in self.calls))

    @property
    def iam_actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.iam_action for c in self.calls))

    @property
    def reshaped_doc(self) -> str:
        """README's text for :attr:`reshaped`: ``Path (how), Path, Path (how)``."""
        paths: dict[str, list[str]] = {}
        for path, reshape in self.reshaped.items():
            paths.setdefault(reshape.how, []).append(path)
        return ", ".join(f"{', '.join(p)} ({how})" for how, p in paths.items())

    def name_of(self, resource: Mapping[str, Any]) -> str:
        """The Name tag, else the type's own name field, else ""."""
        tags = resource.get("Tags")
        if isinstance(tags, Mapping) and isinstance(tags.get("Name"), str) and tags["Name"]:
            return str(tags["Name"])
        for key in self.name_keys:
            value = resource.get(key)
            if isinstance(value, (str, int)) and value != "":
                return str(value)
        return ""


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Raw]:
    """Every item of a listing, through botocore's paginator where the API has one.

    AWS pages all describes even when an emulator does not; an unpaginated call to
    DescribeInstances silently returns only the first page.
    """
    if client.can_paginate(operation):
        pages = client.get_paginator(operation).paginate(**kwargs)
        return [item for page in pages for item in page.get(key, [])]
    return list(getattr(client, operation)(**kwargs).get(key, []))


def field_id(key: str) -> Callable[[Raw], str]:
    """``id_of`` for the common case: the resource's own id field."""

    def id_of(resource: Raw) -> str:
        return str(resource[key])

    id_of.__name__ = f"id_of_{key}"
    return id_of


def passthrough(
    name: str,
    label: str,
    call: Call,
    id_field: str,
    params: Mapping[str, Any] | None = None,
    **options: Any,
) -> ResourceType:
    """A type whose items AWS gives as they are kept: one paginated call, no transform.
    ``params`` are the call's fixed arguments (``Owners=["self"]``)."""
    fixed = dict(params or {})

    def fetch(clients: Clients) -> list[Raw]:
        return call.fetch_all(clients, **fixed)

    def transform(raw: Raw) -> Raw:
        return dict(raw)

    fetch.__name__ = f"fetch_{name}"
    return ResourceType(
        name=name,
        label=label,
        calls=(call,),
        fetch=fetch,
        transform=transform,
        id_of=field_id(id_field),
        **options,
    )


def batched(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def merge_tags(items: list[Raw], descriptions: Mapping[str, list[Raw]], key: str) -> None:
    """Attach tags fetched by a separate DescribeTags call (ELB) to each item, in place."""
    for item in items:
        item["Tags"] = descriptions.get(item[key], [])


# --- addresses, for the history of who held what ---------------------------------------------


def items(value: Any) -> Iterator[Mapping[str, Any]]:
    """The mappings of a list (a hand-edited file may hold anything)."""
    if isinstance(value, list):
        yield from (v for v in value if isinstance(v, Mapping))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def public_kind(association: Any) -> str:
    """An interface's public address is an elastic IP when the association names an
    allocation or an owner other than Amazon (an auto-assigned address is "amazon"'s)."""
    a = _mapping(association)
    owner = a.get("IpOwnerId")
    return "elastic IP" if a.get("AllocationId") or owner not in (None, "", "amazon") else "public"


def interface_addresses(eni: Mapping[str, Any]) -> Iterator[tuple[Any, str, str]]:
    """(address, scope, kind) of one network interface, as DescribeNetworkInterfaces and the
    NetworkInterfaces of DescribeInstances both show it."""
    yield eni.get("PrivateIpAddress"), "private", "primary private"
    association = eni.get("Association")
    yield _mapping(association).get("PublicIp"), "public", public_kind(association)
    for p in items(eni.get("PrivateIpAddresses")):
        kind = "primary private" if p.get("Primary") else "secondary private"
        yield p.get("PrivateIpAddress"), "private", kind
        association = p.get("Association")
        yield _mapping(association).get("PublicIp"), "public", public_kind(association)
    yield eni.get("Ipv6Address"), "ipv6", "IPv6"
    for a in items(eni.get("Ipv6Addresses")):
        yield a.get("Ipv6Address"), "ipv6", "primary IPv6" if a.get("IsPrimaryIpv6") else "IPv6"
    for a in items(eni.get("Ipv4Prefixes")):
        yield a.get("Ipv4Prefix"), "private-prefix", "delegated IPv4 prefix"
    for a in items(eni.get("Ipv6Prefixes")):
        yield a.get("Ipv6Prefix"), "ipv6-prefix", "delegated IPv6 prefix"


def attachment_of(value: Any) -> Mapping[str, Any]:
    return _mapping(value)
