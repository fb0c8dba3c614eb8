"""A loopback fake of AWS Config's history (moto has none for EC2 types), speaking the JSON
1.1 protocol of botocore's ``config`` model (:mod:`tests.support.jsonfake`), driven by a
scripted timeline of configuration items (CIs).

Operations, with AWS's realities:

* ``GetResourceConfigHistory``: newest first by default (``chronologicalOrder`` Forward
  too); ``limit`` up to 100 (default 10; above: InvalidLimitException); a window of more
  than seven days between ``earlierTime`` and ``laterTime`` is refused
  (InvalidTimeRangeException, as is an earlier time after the later one). Each page covers
  one *scan chunk* of the window (``scan``, seven days by default: without ``earlierTime``
  a call goes back week by week to the first item), so a quiet chunk is an empty page with
  a ``nextToken`` when more of the window remains; a ``nextToken`` is valid only with the
  same parameters (InvalidNextTokenException). A resource without any item:
  ResourceNotDiscoveredException.
* ``ListDiscoveredResources``: resources with an item of the type, by ``resourceIds`` or
  ``resourceName`` too; deleted ones (last item ResourceDeleted or
  ResourceDeletedNotRecorded) only with ``includeDeletedResources``, with their
  ``resourceDeletionTime``; pages of ``limit`` (default and maximum 100).
* ``DescribeConfigurationRecorders`` / ``…Status``: as set with :meth:`ConfigFake.recorder`;
  in a region without one, the two calls above answer NoAvailableConfigurationRecorderException.

The state is per region (read from each request's SigV4 credential scope). Items are
given whole (:func:`config_item`) or made from the Describe items of an emulator, with
Config's quirks (:func:`configuration_from_describe`): lowerCamelCase keys, times as ISO
text with milliseconds (a NAT gateway's ``createTime`` as epoch milliseconds), explicit
nulls for absent members, a security group's ``ipRanges`` as plain CIDR strings beside
``ipv4Ranges`` (only the strings in a version 1.2 item), null ports for protocol -1, no
``sgr-`` ids, an interface's tags under ``tagSet``, the reservation left out of an
instance, launch templates and prefix lists in CloudFormation's form, tags of load
balancers, Auto Scaling groups, launch templates and prefix lists only in the item's
``tags`` mapping.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.support.jsonfake import Fault, JsonServiceFake, Request

ACCOUNT = "123456789012"
REGION = "us-east-1"
WEEK = dt.timedelta(days=7)
GONE = ("ResourceDeleted", "ResourceDeletedNotRecorded")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@dataclass
class RegionState:
    #: (resource type, resource id) -> its items, in capture order
    items: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    recorders: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)


class ConfigFake(JsonServiceFake):
    service = "config"

    def __init__(
        self,
        upstream: str | None = None,
        *,
        scan: dt.timedelta = WEEK,
        max_span: dt.timedelta | None = WEEK,
    ) -> None:
        super().__init__(upstream)
        self.scan = scan
        self.max_span = max_span
        self.regions: dict[str, RegionState] = {}
        #: (resource type, resource id) -> GetResourceConfigHistory calls answered
        self.history_calls: dict[tuple[str, str], int] = {}

    # --- the timeline ------------------------------------------------------------------------

    def state(self, region: str = REGION) -> RegionState:
        with self.lock:
            return self.regions.setdefault(region, RegionState())

    def add(self, *items: dict[str, Any], region: str | None = None) -> None:
        """Record configuration items (each as :func:`config_item` makes it)."""
        for item in items:
            where = self.state(region or str(item.get("awsRegion") or REGION))
            key = (str(item["resourceType"]), str(item["resourceId"]))
            with self.lock:
                found = where.items.setdefault(key, [])
                found.append(item)
                found.sort(
                    key=lambda i: (i["configurationItemCaptureTime"], i["configurationStateId"])
                )

    def recorder(
        self,
        region: str = REGION,
        *,
        name: str = "default",
        recording: bool = True,
        frequency: str = "CONTINUOUS",
        resource_types: Iterable[str] | None = None,
        started: dt.datetime | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        group: dict[str, Any] = {"allSupported": resource_types is None}
        if resource_types is not None:
            group["resourceTypes"] = list(resource_types)
            group["recordingStrategy"] = {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"}
        else:
            group["recordingStrategy"] = {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}
        mode: dict[str, Any] = {"recordingFrequency": frequency}
        if overrides:
            mode["recordingModeOverrides"] = [
                {"resourceTypes": [t], "recordingFrequency": f} for t, f in overrides.items()
            ]
        where = self.state(region)
        with self.lock:
            where.recorders = [
                {
                    "name": name,
                    "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config",
                    "recordingGroup": group,
                    "recordingMode": mode,
                }
            ]
            status: dict[str, Any] = {
                "name": name,
                "recording": recording,
                "lastStatus": "SUCCESS",
            }
            if started is not None:
                status["lastStartTime"] = started
            where.statuses = [status]

    # --- requests ---------------------------------------------------------------------------

    def _recording(self, request: Request) -> None:
        """A region without a recorder answers as AWS does."""
        if not self.state(request.region).recorders:
            raise Fault(
                "NoAvailableConfigurationRecorderException",
                "There are no configuration recorders available to provide the configuration",
            )

    def op_DescribeConfigurationRecorders(
        self, params: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        return {"ConfigurationRecorders": list(self.state(request.region).recorders)}

    def op_DescribeConfigurationRecorderStatus(
        self, params: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        return {"ConfigurationRecordersStatus": list(self.state(request.region).statuses)}

    def op_ListDiscoveredResources(
        self, params: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        limit = params.get("limit") or 100
        if limit > 100:
            raise Fault("InvalidLimitException", "limit must be at most 100")
        self._recording(request)
        rtype = params["resourceType"]
        wanted_ids = set(params.get("resourceIds") or [])
        with self.lock:
            found = []
            for (t, rid), items in sorted(self.state(request.region).items.items()):
                if t != rtype or (wanted_ids and rid not in wanted_ids):
                    continue
                last = items[-1]
                name = next(
                    (i.get("resourceName") for i in reversed(items) if i.get("resourceName")), None
                )
                if params.get("resourceName") and name != params["resourceName"]:
                    continue
                entry: dict[str, Any] = {"resourceType": t, "resourceId": rid}
                if name:
                    entry["resourceName"] = name
                if last["configurationItemStatus"] in GONE:
                    if not params.get("includeDeletedResources"):
                        continue
                    entry["resourceDeletionTime"] = last["configurationItemCaptureTime"]
                found.append(entry)
        continued = _position(params.get("nextToken"), ("list", rtype))
        start = continued[0] if continued else 0
        page = found[start : start + limit]
        out: dict[str, Any] = {"resourceIdentifiers": page}
        if start + limit < len(found):
            out["nextToken"] = _token(("list", rtype), start + limit)
        return out

    def op_GetResourceConfigHistory(
        self, params: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        self._recording(request)
        rtype, rid = params["resourceType"], params["resourceId"]
        limit = params.get("limit") or 10
        if limit > 100:
            raise Fault("InvalidLimitException", "You cannot specify a limit greater than 100")
        with self.lock:
            self.history_calls[(rtype, rid)] = self.history_calls.get((rtype, rid), 0) + 1
            items = list(self.state(request.region).items.get((rtype, rid), []))
        if not items:
            raise Fault(
                "ResourceNotDiscoveredException",
                f"Resource {rid} of resourceType:{rtype} is unknown or has not been discovered",
            )
        forward = params.get("chronologicalOrder") == "Forward"
        # A nextToken holds the window it was made for: the time "now" meant then, the same
        # parameters required (AWS: only valid with the parameters that returned it).
        explicit = (
            "history",
            rtype,
            rid,
            str(params.get("laterTime")),
            str(params.get("earlierTime")),
            str(forward),
            str(limit),
        )
        continued = _position(params.get("nextToken"), explicit)
        if continued is not None:
            position, later_s, earlier_s = continued
            later, earlier = _from_epoch(later_s), _from_epoch(earlier_s)
        else:
            position = 0
            later = utc(params.get("laterTime") or dt.datetime.now(dt.timezone.utc))
            earlier_given = params.get("earlierTime")
            first = utc(items[0]["configurationItemCaptureTime"])
            earlier = utc(earlier_given) if earlier_given else min(first, later)
            if earlier > later:
                raise Fault("InvalidTimeRangeException", "The earlier time is after the later time")
            if earlier_given and self.max_span is not None and later - earlier > self.max_span:
                raise Fault(
                    "InvalidTimeRangeException",
                    "The time range between earlierTime and laterTime must not exceed 7 days",
                )
        chunks = _chunks(earlier, later, self.scan, forward)
        window = (_epoch(later), _epoch(earlier))
        chunk, offset = divmod(position, 1 << 20)
        if chunk >= len(chunks):
            return {"configurationItems": []}
        last = chunk == len(chunks) - 1
        inside = [
            i
            for i in items
            if _within(utc(i["configurationItemCaptureTime"]), chunks[chunk], forward, last)
        ]
        inside.sort(key=lambda i: i["configurationItemCaptureTime"], reverse=not forward)
        page = inside[offset : offset + limit]
        out: dict[str, Any] = {"configurationItems": page}
        if offset + limit < len(inside):
            out["nextToken"] = _token(explicit, (chunk << 20) + offset + limit, *window)
        elif chunk + 1 < len(chunks):
            out["nextToken"] = _token(explicit, (chunk + 1) << 20, *window)
        return out


def _chunks(
    earlier: dt.datetime, later: dt.datetime, scan: dt.timedelta, forward: bool
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The window cut into scan chunks, in the order they are answered."""
    out = []
    if forward:
        lo = earlier
        while True:
            hi = min(lo + scan, later)
            out.append((lo, hi))
            if hi >= later:
                return out
            lo = hi
    hi = later
    while True:
        lo = max(hi - scan, earlier)
        out.append((lo, hi))
        if lo <= earlier:
            return out
        hi = lo


def _within(
    time: dt.datetime, chunk: tuple[dt.datetime, dt.datetime], forward: bool, last: bool
) -> bool:
    """Chunks meet at their edges: each edge belongs to the chunk answered first (the
    window's own two ends are always in)."""
    lo, hi = chunk
    if forward:
        return lo <= time < hi or (last and time == hi)
    return lo < time <= hi or (last and time == lo)


def _epoch(value: dt.datetime) -> float:
    return (utc(value) - EPOCH).total_seconds()


def _from_epoch(value: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=value)


def _digest(fingerprint: tuple[str, ...]) -> str:
    return hashlib.sha256("\0".join(fingerprint).encode()).hexdigest()[:16]


def _token(fingerprint: tuple[str, ...], position: int, *window: float) -> str:
    payload = [_digest(fingerprint), position, *window]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _position(token: str | None, fingerprint: tuple[str, ...]) -> tuple[Any, ...] | None:
    """(position, *window) a nextToken holds; None without one; InvalidNextTokenException
    for one that is not ours or was made for other parameters."""
    if not token:
        return None
    try:
        given, *rest = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as e:
        raise Fault("InvalidNextTokenException", "The nextToken is not valid") from e
    if given != _digest(fingerprint) or not rest or not isinstance(rest[0], int):
        raise Fault(
            "InvalidNextTokenException",
            "The nextToken was returned for a request with other parameters",
        )
    if len(rest) == 1:
        return (rest[0], None, None)
    return tuple(rest)


# --- configuration items ---------------------------------------------------------------------


def config_item(
    resource_type: str,
    resource_id: str,
    capture: dt.datetime,
    configuration: dict[str, Any] | None,
    *,
    status: str = "OK",
    account: str = ACCOUNT,
    region: str = REGION,
    name: str | None = None,
    tags: dict[str, str] | None = None,
    version: str = "1.3",
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """One CI as GetResourceConfigHistory returns it (``configuration`` a JSON string,
    ``"null"`` for a deleted resource)."""
    capture = utc(capture)
    item: dict[str, Any] = {
        "version": version,
        "accountId": account,
        "configurationItemCaptureTime": capture,
        "configurationItemStatus": status,
        "configurationStateId": str(int((capture - EPOCH).total_seconds() * 1000)),
        "configurationItemMD5Hash": "",
        "arn": f"arn:aws:config:{region}:{account}:{resource_type}/{resource_id}",
        "resourceType": resource_type,
        "resourceId": resource_id,
        "awsRegion": region,
        "availabilityZone": "Not Applicable",
        "tags": dict(tags or {}),
        "relatedEvents": [],
        "relationships": [],
        "configuration": "null" if configuration is None else json.dumps(configuration),
        "supplementaryConfiguration": {},
    }
    if name:
        item["resourceName"] = name
    if created is not None:
        item["resourceCreationTime"] = utc(created)
    return item


def deleted_item(
    resource_type: str, resource_id: str, capture: dt.datetime, **kw: Any
) -> dict[str, Any]:
    return config_item(resource_type, resource_id, capture, None, status="ResourceDeleted", **kw)


def iso_ms(value: dt.datetime) -> str:
    """A time as Config writes it: ISO-8601 UTC with milliseconds. Finer digits (the
    emulator's microseconds; AWS's own times stop at milliseconds) are kept, so an item
    made from an emulator's item holds the same instant."""
    value = utc(value).astimezone(dt.timezone.utc)
    fraction = f"{value.microsecond:06d}"
    fraction = fraction[:3] if fraction.endswith("000") else fraction
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


def camel(value: Any, epoch_ms: frozenset[str] = frozenset(), key: str = "") -> Any:
    """Describe output in Config's lowerCamelCase: each key with its first letter lowered
    (``DNSName`` -> ``dNSName``), times as ISO text with milliseconds, or as epoch
    milliseconds for the keys in ``epoch_ms``."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): camel(v, epoch_ms, k) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v, epoch_ms, key) for v in value]
    if isinstance(value, dt.datetime):
        if key in epoch_ms:
            return int((utc(value) - EPOCH).total_seconds() * 1000)
        return iso_ms(value)
    return value


#: Our type -> (Config type, botocore service, item shape) the fake makes items of.
SHAPES = {
    "instances": ("AWS::EC2::Instance", "ec2", "Instance"),
    "security_groups": ("AWS::EC2::SecurityGroup", "ec2", "SecurityGroup"),
    "volumes": ("AWS::EC2::Volume", "ec2", "Volume"),
    "network_interfaces": ("AWS::EC2::NetworkInterface", "ec2", "NetworkInterface"),
    "elastic_ips": ("AWS::EC2::EIP", "ec2", "Address"),
    "vpcs": ("AWS::EC2::VPC", "ec2", "Vpc"),
    "subnets": ("AWS::EC2::Subnet", "ec2", "Subnet"),
    "route_tables": ("AWS::EC2::RouteTable", "ec2", "RouteTable"),
    "network_acls": ("AWS::EC2::NetworkAcl", "ec2", "NetworkAcl"),
    "internet_gateways": ("AWS::EC2::InternetGateway", "ec2", "InternetGateway"),
    "nat_gateways": ("AWS::EC2::NatGateway", "ec2", "NatGateway"),
}


def with_nulls(configuration: dict[str, Any], service: str, shape_name: str) -> dict[str, Any]:
    """Config writes absent members as explicit nulls."""
    from tests.support.jsonfake import service_model

    members = service_model(service).shape_for(shape_name).members
    out = dict(configuration)
    for name in members:
        out.setdefault(name[:1].lower() + name[1:], None)
    return out


def security_group_configuration(group: dict[str, Any], version: str = "1.3") -> dict[str, Any]:
    """A DescribeSecurityGroups item as Config records it: ``ipRanges`` as plain CIDR
    strings, ``ipv4Ranges`` the ranges (version 1.3 only), null ports for protocol -1."""
    out = camel(
        {k: v for k, v in group.items() if k not in ("IpPermissions", "IpPermissionsEgress")}
    )
    for key in ("IpPermissions", "IpPermissionsEgress"):
        perms = []
        for perm in group.get(key, []):
            p = camel({k: v for k, v in perm.items() if k != "IpRanges"})
            ranges = perm.get("IpRanges", [])
            p["ipRanges"] = [r["CidrIp"] for r in ranges]
            if version != "1.2":
                p["ipv4Ranges"] = camel(ranges)
            if str(perm.get("IpProtocol")) == "-1":
                p["fromPort"] = p["toPort"] = None
            perms.append(p)
        out[key[:1].lower() + key[1:]] = perms
    return out


def configuration_from_describe(rtype: str, item: dict[str, Any]) -> dict[str, Any]:
    """The ``configuration`` Config records for one Describe item of our type ``rtype``
    (the types whose configuration is the Describe item; see the module's docstring)."""
    config_type, service, shape_name = SHAPES[rtype]
    if rtype == "security_groups":
        configuration = security_group_configuration(item)
    elif rtype == "nat_gateways":
        configuration = camel(item, frozenset({"CreateTime", "DeleteTime"}))
    else:
        configuration = camel(item)
    return with_nulls(configuration, service, shape_name)


def items_from_emulator(
    clients: Any, capture: dt.datetime, status: str = "ResourceDiscovered"
) -> list[dict[str, Any]]:
    """One item per resource an emulator (moto) shows now, captured at ``capture``:
    made from the plain Describe calls, as Config records each type."""
    ec2 = clients("ec2")
    out: list[dict[str, Any]] = []

    def add(config_type: str, rid: str, configuration: dict[str, Any], **kw: Any) -> None:
        out.append(config_item(config_type, rid, capture, configuration, status=status, **kw))

    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                add(
                    "AWS::EC2::Instance",
                    instance["InstanceId"],
                    configuration_from_describe("instances", instance),
                )
    simple = [
        ("security_groups", "describe_security_groups", "SecurityGroups", "GroupId"),
        ("volumes", "describe_volumes", "Volumes", "VolumeId"),
        (
            "network_interfaces",
            "describe_network_interfaces",
            "NetworkInterfaces",
            "NetworkInterfaceId",
        ),
        ("vpcs", "describe_vpcs", "Vpcs", "VpcId"),
        ("subnets", "describe_subnets", "Subnets", "SubnetId"),
        ("route_tables", "describe_route_tables", "RouteTables", "RouteTableId"),
        ("network_acls", "describe_network_acls", "NetworkAcls", "NetworkAclId"),
        (
            "internet_gateways",
            "describe_internet_gateways",
            "InternetGateways",
            "InternetGatewayId",
        ),
        ("nat_gateways", "describe_nat_gateways", "NatGateways", "NatGatewayId"),
    ]
    for rtype, method, key, id_field in simple:
        for resource in getattr(ec2, method)().get(key, []):
            name = resource.get("GroupName") if rtype == "security_groups" else None
            add(
                SHAPES[rtype][0],
                resource[id_field],
                configuration_from_describe(rtype, resource),
                name=name,
            )
    for address in ec2.describe_addresses().get("Addresses", []):
        add(
            "AWS::EC2::EIP",
            address["AllocationId"],
            configuration_from_describe("elastic_ips", address),
            name=address.get("PublicIp"),
        )
    out += _load_balancers(clients, capture, status)
    out += _auto_scaling_groups(clients, capture, status)
    out += _launch_templates(ec2, capture, status)
    out += _prefix_lists(ec2, capture, status)
    return out


def _tag_map(tags: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags}


def _load_balancers(clients: Any, capture: dt.datetime, status: str) -> list[dict[str, Any]]:
    def item(kind: str, rid: str, lb: dict[str, Any], tags: list[Any], shape: str) -> None:
        """One load balancer's CI (``tags``: its DescribeTags answer); ``shape`` is
        "service:Shape" of its Describe item."""
        service, _, shape_name = shape.partition(":")
        out.append(
            config_item(
                kind,
                rid,
                capture,
                with_nulls(camel(lb), service, shape_name),
                status=status,
                name=lb["LoadBalancerName"],
                tags=_tag_map(tags[0]["Tags"] if tags else []),
            )
        )

    out: list[dict[str, Any]] = []
    elbv2 = clients("elbv2")
    for lb in elbv2.describe_load_balancers().get("LoadBalancers", []):
        arn = lb["LoadBalancerArn"]
        tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
        item("AWS::ElasticLoadBalancingV2::LoadBalancer", arn, lb, tags, "elbv2:LoadBalancer")
    elb = clients("elb")
    for lb in elb.describe_load_balancers().get("LoadBalancerDescriptions", []):
        name = lb["LoadBalancerName"]
        tags = elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"]
        shape = "elb:LoadBalancerDescription"
        item("AWS::ElasticLoadBalancing::LoadBalancer", name, lb, tags, shape)
    return out


def _auto_scaling_groups(clients: Any, capture: dt.datetime, status: str) -> list[dict[str, Any]]:
    out = []
    for group in clients("autoscaling").describe_auto_scaling_groups().get("AutoScalingGroups", []):
        configuration = camel({k: v for k, v in group.items() if k != "Tags"})
        out.append(
            config_item(
                "AWS::AutoScaling::AutoScalingGroup",
                group["AutoScalingGroupARN"],
                capture,
                with_nulls(configuration, "autoscaling", "AutoScalingGroup"),
                status=status,
                name=group["AutoScalingGroupName"],
                tags=_tag_map(group.get("Tags", [])),
            )
        )
    return out


def _launch_templates(ec2: Any, capture: dt.datetime, status: str) -> list[dict[str, Any]]:
    """CloudFormation's form: Id, version numbers as text, LaunchTemplateData (no user
    data); tags in the item's mapping."""
    out = []
    for template in ec2.describe_launch_templates().get("LaunchTemplates", []):
        versions = ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Default"]
        )["LaunchTemplateVersions"]
        data = dict(versions[0].get("LaunchTemplateData", {})) if versions else {}
        data.pop("UserData", None)
        configuration = {
            "Id": template["LaunchTemplateId"],
            "LaunchTemplateName": template["LaunchTemplateName"],
            "DefaultVersionNumber": str(template["DefaultVersionNumber"]),
            "LatestVersionNumber": str(template["LatestVersionNumber"]),
            "LaunchTemplateData": json.loads(json.dumps(data, default=iso_ms)),
        }
        out.append(
            config_item(
                "AWS::EC2::LaunchTemplate",
                template["LaunchTemplateId"],
                capture,
                configuration,
                status=status,
                name=template["LaunchTemplateName"],
                tags=_tag_map(template.get("Tags", [])),
            )
        )
    return out


def _prefix_lists(ec2: Any, capture: dt.datetime, status: str) -> list[dict[str, Any]]:
    """Customer-managed lists only (Config records those), in CloudFormation's form."""
    out = []
    for pl in ec2.describe_managed_prefix_lists().get("PrefixLists", []):
        if pl.get("OwnerId") == "AWS":
            continue
        entries = ec2.get_managed_prefix_list_entries(PrefixListId=pl["PrefixListId"])["Entries"]
        configuration = {
            "AddressFamily": pl.get("AddressFamily"),
            "Arn": pl.get("PrefixListArn"),
            "Entries": entries,
            "MaxEntries": pl.get("MaxEntries"),
            "OwnerId": pl.get("OwnerId"),
            "PrefixListId": pl["PrefixListId"],
            "PrefixListName": pl.get("PrefixListName"),
            "Version": pl.get("Version"),
        }
        out.append(
            config_item(
                "AWS::EC2::PrefixList",
                pl["PrefixListId"],
                capture,
                configuration,
                status=status,
                name=pl.get("PrefixListName"),
                tags=_tag_map(pl.get("Tags", [])),
            )
        )
    return out
