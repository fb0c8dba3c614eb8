"""A loopback fake of AWS that answers from botocore's own service models.

``ModelFake().clients`` gives real botocore clients (ec2, elbv2, elb, autoscaling, sts, ...)
whose calls never leave the process: a ``before-call`` handler (the hook botocore's Stubber
uses) answers every operation, in any order, with a response *generated from the operation's
output shape* and validated against it (``botocore.validate``), or with a response given by
the test (:meth:`ModelFake.answer`, validated the same way: the Stubber helper for several
services at once). A generated response is maximal:

* every member filled: nested structures, lists of two items, maps of two entries;
* every enum member cycled: the listing (the output's top-level list) has as many items as
  it takes for every value of every enum member of its item shape to appear
  (``DescribeInstances``: 719 reservations of two instances for 1,437 instance types);
* integers at the model's min/max where it has them, else at real-world limits (-1, 0,
  65535, 32768 — AWS's default IPv6 network ACL entry — and 2**31-1);
* timestamps as datetimes; ids, ARNs, CIDRs and addresses realistic by member name
  (``GroupId`` -> ``sg-…``, ``AutoScalingGroupARN`` -> an ARN with a UUID, ``CidrIp`` -> a
  CIDR...), so the collectors' id patterns hold; ``UserData`` is base64 of a shell script.

A call about named resources (a parameter in ``NAMING``) is answered about them, each item
drawn from its name alone (not from the batch it came in): a list parameter gives one item
per name, its singular set where the items have it (``ResourceArns`` -> ``ResourceArn``;
``Versions=["$Default"]``: one version); a scalar one (``LoadBalancerArn``) is repeated in
each of two items.
Paginated operations answer in two pages (the first with the output token).

Responses depend only on the operation and its parameters (never on call order or on
earlier calls), so the same calls give the same answers. ``rewrite(operation, response)``
post-processes every generated response (a test reverses every list with it); ``listing``
caps the listing's length (every enum value then no longer appears, the test runs faster).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel, Shape, StructureShape
from botocore.validate import validate_parameters

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: Accounts that own things in generated responses: ours and another one (cross-account
#: references alternate between the two).
ACCOUNTS = (ACCOUNT, "210987654321")
#: Nested lists and maps hold this many items.
NESTED = 2
#: Integers where the model gives no range: real-world limits (ports, ICMP "all", AWS's
#: default IPv6 network ACL entry number 32768, a signed 32-bit maximum).
INT_LIMITS = (-1, 0, 1, 22, 32767, 32768, 65535, 2**31 - 1)
LONG_LIMITS = (-1, 0, 1, 2**31 - 1, 2**63 - 1)
DOUBLES = (0.0, 0.5, 1.25, 1e-05, 1e20)
BASE_TIME = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
USER_DATA = base64.b64encode(b"#!/bin/sh\necho model fake\n").decode()

#: Parameters that name the resources a call is about (not filters such as ``OwnerIds``).
NAMING = frozenset(
    {"ResourceArns", "LoadBalancerNames", "LoadBalancerArn", "LaunchTemplateId", "Versions"}
)

Rewrite = Callable[[str, dict[str, Any]], dict[str, Any]]

# --- realistic strings by member name ---------------------------------------------------------

#: Id members and their AWS prefixes (a member not listed and ending in "Id" gets a prefix
#: made from its name).
ID_PREFIX = {
    "InstanceId": "i",
    "SourceInstanceId": "i",
    "ImageId": "ami",
    "SourceImageId": "ami",
    "VolumeId": "vol",
    "SourceVolumeId": "vol",
    "SnapshotId": "snap",
    "GroupId": "sg",
    "SecurityGroupId": "sg",
    "SecurityGroupRuleId": "sgr",
    "VpcId": "vpc",
    "VPCId": "vpc",
    "SubnetId": "subnet",
    "SecondarySubnetId": "subnet",
    "NetworkInterfaceId": "eni",
    "SecondaryInterfaceId": "eni",
    "AllocationId": "eipalloc",
    "AssociationId": "eipassoc",
    "AttachmentId": "eni-attach",
    "RouteTableId": "rtb",
    "RouteTableAssociationId": "rtbassoc",
    "NetworkAclId": "acl",
    "NetworkAclAssociationId": "aclassoc",
    "InternetGatewayId": "igw",
    "EgressOnlyInternetGatewayId": "eigw",
    "GatewayId": "igw",
    "NatGatewayId": "nat",
    "TransitGatewayId": "tgw",
    "VpcPeeringConnectionId": "pcx",
    "CarrierGatewayId": "cagw",
    "LocalGatewayId": "lgw",
    "KeyPairId": "key",
    "LaunchTemplateId": "lt",
    "DhcpOptionsId": "dopt",
    "PrefixListId": "pl",
    "DestinationPrefixListId": "pl",
    "ReservationId": "r",
    "KernelId": "aki",
    "RamdiskId": "ari",
    "RamDiskId": "ari",
    "CapacityReservationId": "cr",
    "SpotInstanceRequestId": "sir",
    "HostId": "h",
    "VpcEndpointId": "vpce",
    "Ipv4IpamPoolId": "ipam-pool",
    "ElasticGpuId": "egpu",
    "OutpostId": "op",
    "CapacityBlockId": "cb",
    "DataEncryptionKeyId": "dek",
}
#: Members holding account ids.
ACCOUNT_MEMBERS = frozenset(
    {
        "OwnerId",
        "UserId",
        "GroupOwnerId",
        "IpOwnerId",
        "InstanceOwnerId",
        "NetworkInterfaceOwnerId",
        "VolumeOwnerId",
        "RequesterId",
        "Account",
    }
)
CIDR4 = frozenset(
    {
        "CidrIp",
        "CidrIpv4",
        "CidrBlock",
        "DestinationCidrBlock",
        "Ipv4Prefix",
        "AssociatedSubnets",
        "Cidr",  # a prefix list's entry
    }
)
CIDR6 = frozenset(
    {"CidrIpv6", "Ipv6CidrBlock", "DestinationIpv6CidrBlock", "Ipv6Prefix", "SourceNatIpv6Prefixes"}
)
PRIVATE4 = frozenset({"PrivateIpAddress", "PrivateIp", "PrivateIPv4Address", "IpAddress"})
PUBLIC4 = frozenset({"PublicIp", "PublicIpAddress", "CarrierIp", "CustomerOwnedIp"})
ADDRESS6 = frozenset({"Ipv6Address", "IPv6Address"})
DATE_STRINGS = frozenset(
    {"CreationDate", "DeprecationTime", "LastLaunchedTime", "ElasticGpuAssociationTime"}
)
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
#: Protocols as each API spells them (security groups and ACL entries: names or numbers).
IP_PROTOCOLS = ("tcp", "udp", "icmp", "icmpv6", "-1", "50")
ACL_PROTOCOLS = ("6", "17", "1", "-1")
CLASSIC_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "SSL")


def _singular(name: str) -> str:
    if name.endswith("ARNs") or name.endswith("Arns") or name.endswith("Ids"):
        return name[:-1]
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _hex(n: int, width: int = 17) -> str:
    return f"{n:0{width}x}"


def _uuid(n: int) -> str:
    return str(uuid.UUID(int=zlib.crc32(str(n).encode()) << 64 | n))


def _arn(name: str, n: int, owner: str) -> str:
    base = f"arn:aws:{{}}:{REGION}:{owner}"
    if name == "AutoScalingGroupARN":
        return (
            f"{base.format('autoscaling')}:autoScalingGroup:{_uuid(n)}:autoScalingGroupName/asg-{n}"
        )
    if name == "LoadBalancerArn":
        kind = ("app", "net", "gwy")[n % 3]
        return f"{base.format('elasticloadbalancing')}:loadbalancer/{kind}/lb-{n}/{_hex(n, 16)}"
    if name == "ListenerArn":
        return (
            f"{base.format('elasticloadbalancing')}:listener/app/lb-{n}/{_hex(n, 16)}/{_hex(n, 16)}"
        )
    if name in ("TargetGroupArn", "TargetGroupARN"):
        return f"{base.format('elasticloadbalancing')}:targetgroup/tg-{n}/{_hex(n, 16)}"
    if name == "CertificateArn":
        return f"{base.format('acm')}:certificate/{_uuid(n)}"
    if name == "ServiceLinkedRoleARN":
        return (
            f"arn:aws:iam::{owner}:role/aws-service-role/autoscaling.amazonaws.com/"
            "AWSServiceRoleForAutoScaling"
        )
    if name == "Arn":  # IamInstanceProfile.Arn
        return f"arn:aws:iam::{owner}:instance-profile/profile-{n}"
    if name == "SecurityGroupArn":
        return f"{base.format('ec2')}:security-group/sg-{_hex(n)}"
    if name == "SecurityGroupRuleArn":
        return f"{base.format('ec2')}:security-group-rule/sgr-{_hex(n)}"
    if name == "SubnetArn":
        return f"{base.format('ec2')}:subnet/subnet-{_hex(n)}"
    resource = name.removesuffix("Arn").removesuffix("ARN").lower() or "resource"
    return f"{base.format('ec2')}:{resource}/{resource}-{n}"


def string_value(name: str, n: int) -> str:
    """A realistic value for a string member called ``name`` (or an item of a list member
    called ``name``), the ``n``-th of its kind in the response."""
    owner = ACCOUNTS[n % 2]
    if name in ID_PREFIX:
        return f"{ID_PREFIX[name]}-{_hex(n)}"
    if name in ACCOUNT_MEMBERS:
        return owner
    if name.endswith(("Arn", "ARN")):
        return _arn(name, n, owner)
    if name in CIDR4:
        return f"10.{n // 256 % 256}.{n % 256}.0/24"
    if name in CIDR6:
        return f"2600:1f18:{n % 65536:x}:{n // 65536 % 65536:x}::/64"
    if name in PRIVATE4:
        return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    if name in PUBLIC4:
        return f"52.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    if name in ADDRESS6:
        return f"2600:1f18::{n % 65536:x}"
    if name in DATE_STRINGS:
        return (BASE_TIME + dt.timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if name == "UserData":
        return USER_DATA
    if name == "MacAddress":
        return "02:00:" + ":".join(f"{b:02x}" for b in n.to_bytes(4, "big"))
    if name == "KeyFingerprint":
        return ":".join(f"{b:02x}" for b in zlib.crc32(str(n).encode()).to_bytes(4, "big") * 5)
    if name in ("AvailabilityZone", "ZoneName"):
        return ZONES[n % len(ZONES)]
    if name == "AvailabilityZoneId":
        return f"use1-az{n % 6 + 1}"
    if name in ("NetworkBorderGroup", "SourceImageRegion"):
        return REGION
    if name.endswith(("DnsName", "DNSName")) or name == "CanonicalHostedZoneName":
        return f"host-{n}.{REGION}.compute.amazonaws.com"
    if name == "VPCZoneIdentifier":
        return f"subnet-{_hex(n)},subnet-{_hex(n + 1)}"
    if name == "IpProtocol":
        return IP_PROTOCOLS[n % len(IP_PROTOCOLS)]
    if name in ("LoadBalancerName", "GroupName", "LaunchTemplateName", "KeyName", "Name"):
        return f"{name.removesuffix('Name').lower() or 'name'}-{n}"
    if name.endswith("Id"):
        prefix = "".join(c for c in name.removesuffix("Id") if c.isupper()).lower() or "id"
        return f"{prefix}-{_hex(n)}"
    return f"{name}-{n}"


# --- the generator ---------------------------------------------------------------------------


class _Counters:
    """Per-response draw counters: a response depends only on (operation, parameters)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.counts: dict[str, int] = {}

    def next(self, key: str) -> int:
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        return self.offset + n


def enum_draws(shape: Shape, per_item: int = 1, seen: tuple[str, ...] = ()) -> Iterator[int]:
    """How many items of a listing it takes for each enum member of ``shape`` to show all
    its values (nested lists hold NESTED items each)."""
    if shape.name in seen:
        return
    seen = (*seen, shape.name)
    if getattr(shape, "enum", None):
        yield math.ceil(len(shape.enum) / per_item)
    elif isinstance(shape, StructureShape):
        for member in shape.members.values():
            yield from enum_draws(member, per_item, seen)
    elif shape.type_name == "list":
        yield from enum_draws(shape.member, per_item * NESTED, seen)  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        yield from enum_draws(shape.value, per_item * NESTED, seen)  # type: ignore[attr-defined]


def _offset(value: Any) -> int:
    """Where a response's draws start, from what it is about (stable across runs)."""
    return zlib.crc32(json.dumps(value, sort_keys=True, default=str).encode()) % 10_000


class Generator:
    """One maximal response for one operation and its parameters."""

    def __init__(
        self,
        operation: OperationModel,
        params: dict[str, Any],
        skip: frozenset[str],
        listing: int | None = None,
    ) -> None:
        self.operation = operation
        self.params = params
        self.skip = skip
        self.listing = listing
        self.naming = {p: v for p, v in params.items() if p in NAMING}
        scalars = {p: v for p, v in self.naming.items() if not isinstance(v, list)}
        self.counters = _Counters(_offset(scalars) if scalars else 0)

    def response(self) -> dict[str, Any]:
        shape = self.operation.output_shape
        if shape is None:
            return {}
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name in self.skip:
                continue
            if member.type_name == "list":
                out[name] = self._listing(name, member)
            else:
                out[name] = self.value(member, name, name, ())
        return out

    def _listing(self, name: str, shape: Shape) -> list[Any]:
        item = shape.member  # type: ignore[attr-defined]
        members = item.members if isinstance(item, StructureShape) else {}
        echoed = {p: v for p, v in self.naming.items() if p in members and not isinstance(v, list)}
        named = [(p, v) for p, v in self.naming.items() if isinstance(v, list)]
        if named:
            param, values = named[0]
            items, base = [], self.counters.offset
            for value in values:
                self.counters = _Counters(_offset([base, value]))
                it = self.value(item, name, name, ())
                if _singular(param) in members:
                    it[_singular(param)] = value
                items.append(it)
        else:
            size = NESTED if echoed else self.listing or max([NESTED, *enum_draws(item)])
            items = [self.value(item, name, name, ()) for _ in range(size)]
        for it in items:
            if isinstance(it, dict):  # a list of strings (account aliases) echoes nothing
                it.update(echoed)
        return items

    def value(self, shape: Shape, name: str, path: str, seen: tuple[str, ...]) -> Any:
        kind = shape.type_name
        if isinstance(shape, StructureShape):
            if shape.name in seen:  # a recursive shape: stop at its second level
                return {}
            seen = (*seen, shape.name)
            return {
                member_name: self.value(member, member_name, f"{path}.{member_name}", seen)
                for member_name, member in shape.members.items()
            }
        if kind == "list":
            member = shape.member  # type: ignore[attr-defined]
            return [self.value(member, name, path, seen) for _ in range(NESTED)]
        if kind == "map":
            key, value = shape.key, shape.value  # type: ignore[attr-defined]
            return {
                self.value(key, f"{name}Key", f"{path}<key>", seen): self.value(
                    value, name, f"{path}<value>", seen
                )
                for _ in range(NESTED)
            }
        n = self.counters.next(path)
        if getattr(shape, "enum", None):
            return shape.enum[n % len(shape.enum)]  # type: ignore[attr-defined]
        if kind == "string":
            return self._string(shape, name, path)
        if kind in ("integer", "long"):
            lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
            if lo is not None or hi is not None:
                limits = [v for v in (lo, hi) if v is not None]
            elif name == "RuleNumber":
                limits = [1, 100, 32766, 32767, 32768]
            else:
                limits = list(INT_LIMITS if kind == "integer" else LONG_LIMITS)
            return limits[n % len(limits)]
        if kind in ("float", "double"):
            return DOUBLES[n % len(DOUBLES)]
        if kind == "boolean":
            return n % 2 == 0
        if kind == "timestamp":
            return BASE_TIME + dt.timedelta(minutes=n, microseconds=123000 * (n % 2))
        if kind == "blob":
            return f"blob-{n}".encode()
        raise ValueError(f"no value for {kind} member {path}")

    def _string(self, shape: Shape, name: str, path: str) -> str:
        # Names draw from one counter per member name, so ids are unique in a response and
        # the same id can recur as a reference under another path.
        n = self.counters.next(f"name:{name}")
        if name == "Protocol" and "Entries" in path:
            text = ACL_PROTOCOLS[n % len(ACL_PROTOCOLS)]
        elif name in ("Protocol", "InstanceProtocol") and "Listener" in path:
            text = CLASSIC_PROTOCOLS[n % len(CLASSIC_PROTOCOLS)]
        else:
            text = string_value(_singular(name) if name.endswith("s") else name, n)
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
        if len(text) < low:
            text = text.ljust(low, "x")
        if high is not None and len(text) > high:
            text = text[:high]
        return text


# --- the clients -------------------------------------------------------------------------------


class ModelFake:
    """botocore clients answered from the service models. ``calls`` records every
    (service, operation, parameters) in call order."""

    def __init__(
        self, rewrite: Rewrite | None = None, listing: int | None = None, region: str = REGION
    ) -> None:
        self.rewrite = rewrite
        self.listing = listing
        self.region = region
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._answers: dict[tuple[str, str], dict[str, Any]] = {}
        self._clients: dict[str, Any] = {}
        self._made: dict[str, dict[str, Any]] = {}
        self._session = _session()

    def clients(self, service: str) -> Any:
        """The client of one service (the ``Clients`` callable collectors take)."""
        if service not in self._clients:
            client = self._session.create_client(
                service,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            client.meta.events.register_first("before-parameter-build.*.*", self._keep_params)
            client.meta.events.register_first("before-call.*.*", self._answer)
            self._clients[service] = client
        return self._clients[service]

    def answer(self, service: str, operation: str, response: dict[str, Any]) -> None:
        """Serve ``response`` (validated against the model now) for every call of this
        operation, instead of a generated one."""
        model = self._session.get_service_model(service).operation_model(operation)
        if model.output_shape is not None:
            validate_parameters(response, model.output_shape)
        self._answers[service, operation] = response

    def response(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The whole (unpaged) response this fake gives for one call."""
        model = self._session.get_service_model(service).operation_model(operation)
        given = self._answers.get((service, operation))
        if given is not None:
            return given
        paging = self._paging(service, operation)
        skip = frozenset(paging["output"])
        if not paging["input"]:
            # No paginator: a token would only tell a caller that ignores it to page.
            skip |= {m for m in ("NextToken", "NextMarker", "Marker") if m in _members(model)}
        asked = {k: v for k, v in params.items() if k not in paging["input"] + paging["limit"]}
        key = json.dumps([service, operation, asked], sort_keys=True, default=str)
        if key not in self._made:  # both pages of a listing come from one response
            response = Generator(model, asked, skip, self.listing).response()
            if self.rewrite is not None:
                response = self.rewrite(operation, response)
            if model.output_shape is not None:
                validate_parameters(response, model.output_shape)
            self._made[key] = response
        return self._made[key]

    # --- botocore hooks --------------------------------------------------------------------

    def _keep_params(self, params: dict[str, Any], model: OperationModel, context: Any, **_: Any):
        context["modelfake_params"] = dict(params)

    def _answer(self, model: OperationModel, context: Any, **_: Any) -> tuple[Any, Any]:
        service = model.service_model.service_name
        params = context.get("modelfake_params", {})
        self.calls.append((service, model.name, params))
        whole = self.response(service, model.name, params)
        # A copy: callers may change what they get (a collector removes user data in place).
        page = _copy(self._page(service, model.name, params, whole))
        return AWSResponse(None, 200, {}, None), page

    def _paging(self, service: str, operation: str) -> dict[str, list[str]]:
        try:
            config = self._session.get_paginator_model(service).get_paginator(operation)
        except ValueError:
            return {"input": [], "output": [], "limit": [], "result": []}

        def names(key: str) -> list[str]:
            value = config.get(key, [])
            return [value] if isinstance(value, str) else list(value)

        return {
            "input": names("input_token"),
            "output": names("output_token"),
            "limit": names("limit_key"),
            "result": names("result_key"),
        }

    def _page(
        self, service: str, operation: str, params: dict[str, Any], whole: dict[str, Any]
    ) -> dict[str, Any]:
        """Page 1 (items before the middle, and the output token) or page 2 (the rest)."""
        paging = self._paging(service, operation)
        if not paging["input"] or (service, operation) in self._answers:
            return whole
        second = params.get(paging["input"][0]) == "page-2"
        page = dict(whole)
        for key in paging["result"]:
            items = whole.get(key)
            if isinstance(items, list):
                half = (len(items) + 1) // 2
                page[key] = items[half:] if second else items[:half]
        if not second:
            page[paging["output"][0]] = "page-2"
        return page


def _copy(value: Any) -> Any:
    """A deep copy of plain data (dicts, lists, immutable scalars), faster than deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@functools.cache
def _session() -> botocore.session.Session:
    """One botocore session: its loader reads each service model once."""
    return botocore.session.get_session()


def _members(model: OperationModel) -> dict[str, Shape]:
    shape = model.output_shape
    return dict(shape.members) if isinstance(shape, StructureShape) else {}


# --- AWS's documented examples --------------------------------------------------------------------


def example_output(service: str, operation: str, index: int = 0) -> dict[str, Any]:
    """The output of one documented example that botocore ships (examples-1.json), with
    timestamps as datetimes, as botocore's parser would give them."""
    model = _session().get_service_model(service)
    path = Path(botocore.__file__).parent / "data" / service / model.api_version / "examples-1.json"
    examples = json.loads(path.read_text(encoding="utf-8"))["examples"][operation]
    output = examples[index]["output"]
    shape = model.operation_model(operation).output_shape
    return _timestamps(output, shape) if shape is not None else output


def _timestamps(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            k: _timestamps(v, shape.members[k]) if k in shape.members else v
            for k, v in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_timestamps(v, shape.member) for v in value]  # type: ignore[attr-defined]
    if shape.type_name == "timestamp" and isinstance(value, str):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value
