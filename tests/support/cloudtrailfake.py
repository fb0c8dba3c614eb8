"""A loopback fake of what attribution asks AWS and moto does not answer: CloudTrail's
LookupEvents (JSON 1.1, on :class:`tests.support.jsonfake.JsonServiceFake`: parsed, checked
and written through botocore's model), driven by a scripted timeline of events, and EC2's
IPAM calls (DescribeIpams, DescribeIpamScopes, GetIpamAddressHistory: the EC2 query
protocol, parsed and written through the ec2 model by moto's request parser and response
serializer, each answer checked against the output shape first). Everything else goes to
``upstream`` (moto's server: STS, the rest of EC2); without one, STS GetCallerIdentity and
AssumeRole are answered here. Point a client's endpoint at ``fake.url``, or at a
:class:`tests.support.faultproxy.FaultProxy` in front of it.

LookupEvents as CloudTrail answers it:

* exactly one lookup attribute per call (more: ``InvalidLookupAttributesException``);
* events newest first, at most ``MaxResults`` (1..50, default 50) a page; a ``NextToken``
  is only good with the parameters it was issued for (else ``InvalidNextTokenException``);
* only the last 90 days (older events are gone), ``StartTime`` after ``EndTime`` is
  ``InvalidTimeRangeException``;
* 2 requests a second per account and region (a token bucket holding 2): beyond it,
  ``ThrottlingException``, counted in ``throttled``.

The timeline: :meth:`CloudTrailFake.add` takes a CloudTrail record (the ``CloudTrailEvent``
JSON), usually made by :func:`event` from one of the recorded-shape fixtures in
``tests/data/cloudtrail-events/`` with ids, values, time and actor replaced, and the
resources CloudTrail indexes it under (by default every EC2 id its request and response
name). Accounts are told apart by access key: each key given by :meth:`key_for`, or by an
assumed role's credentials, belongs to one account; any other key to ``account``.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import hashlib
import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from botocore.validate import ParamValidator
from moto.core.parse import EC2QueryParser, QueryParser
from moto.core.serialize import EC2Serializer, QuerySerializer
from moto.core.utils import get_service_model

from tests.support.jsonfake import Fault, JsonServiceFake, Request
from tests.support.jsonfake import _Handler as JsonHandler

ACCOUNT = "123456789012"
REGION = "us-east-1"
FIXTURES = Path(__file__).resolve().parent.parent / "data" / "cloudtrail-events"
#: CloudTrail's event history.
KEPT = dt.timedelta(days=90)
#: LookupEvents: requests per second per account and region, and the burst AWS allows.
RATE, BURST = 2.0, 2.0
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
#: EC2 ids a record names, and the resource type CloudTrail indexes each under.
RESOURCE_TYPES = {
    "sg": "AWS::EC2::SecurityGroup",
    "sgr": "AWS::EC2::SecurityGroupRule",
    "i": "AWS::EC2::Instance",
    "eni": "AWS::EC2::NetworkInterface",
    "eipalloc": "AWS::EC2::EIP",
    "eipassoc": "AWS::EC2::EIPAssociation",
    "subnet": "AWS::EC2::Subnet",
    "vpc": "AWS::EC2::VPC",
}
_ID = re.compile(r"^(sg|sgr|i|eni|eipalloc|eipassoc|subnet|vpc)-[0-9a-z]+$")
#: Members naming what an event is about (not an AMI, a launch template, a group set).
_NAMING = frozenset(
    {
        "groupId",
        "instanceId",
        "networkInterfaceId",
        "allocationId",
        "associationId",
        "securityGroupRuleId",
        "GroupId",
        "SecurityGroupRuleId",
    }
)


def fixture(kind: str) -> dict[str, Any]:
    """One recorded-shape CloudTrail record of tests/data/cloudtrail-events/."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{kind}.json").read_text(encoding="utf-8"))
    return data


def iam_user(name: str, account: str = ACCOUNT) -> dict[str, Any]:
    """The userIdentity of an IAM user (as in AuthorizeSecurityGroupIngress.json)."""
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{hashlib.sha1(name.encode()).hexdigest()[:16].upper()}",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": f"AKIA{hashlib.sha1(name.encode()).hexdigest()[:16].upper()}",
        "userName": name,
    }


def assumed_role(
    role: str, session: str, account: str = ACCOUNT, invoked_by: str | None = None
) -> dict[str, Any]:
    """The userIdentity of a role's session (as in RunInstances.json: with ``invoked_by``,
    a service acting for it)."""
    principal = f"AROA{hashlib.sha1(role.encode()).hexdigest()[:16].upper()}"
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{principal}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role.rpartition('/')[2]}/{session}",
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": principal,
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role.rpartition("/")[2],
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-01-01T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def _replace(value: Any, swap: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, swap) for v in value]
    if isinstance(value, str):
        for old, new in swap.items():
            value = value.replace(old, new)
    return value


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    node: Any = record
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def event(
    kind: str,
    at: dt.datetime,
    actor: dict[str, Any] | None = None,
    swap: Mapping[str, str] | None = None,
    set_values: Mapping[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
) -> dict[str, Any]:
    """A CloudTrail record of ``kind`` (a fixture's name) at ``at``: the fixture with every
    string containing a key of ``swap`` rewritten, the members at ``set_values``' dotted
    paths set (``requestParameters.ipPermissions.items.0.fromPort``), a new event id,
    ``actor`` as its userIdentity, and with ``error`` (code, message) a failed call."""
    record = _replace(fixture(kind), {ACCOUNT: account, **(swap or {})})
    for path, value in (set_values or {}).items():
        _set(record, path, value)
    record["eventTime"] = at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record["eventID"] = str(uuid.uuid4())
    record["requestID"] = str(uuid.uuid4())
    record["awsRegion"] = region
    record["recipientAccountId"] = account
    if actor is not None:
        record["userIdentity"] = copy.deepcopy(actor)
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
        record["responseElements"] = None
    return record


def named_resources(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The EC2 resources a record's request and response name (what LookupEvents lists in
    ``Resources`` and finds the event by), in order, without repeats."""
    found: dict[str, str] = {}

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in _NAMING and _ID.match(value):
            found.setdefault(value, RESOURCE_TYPES[value.split("-")[0]])

    walk(record.get("requestParameters"))
    walk(record.get("responseElements"))
    return [{"ResourceType": t, "ResourceName": n} for n, t in found.items()]


def lookup_event(
    record: dict[str, Any], resources: Iterable[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """A record as LookupEvents returns it: ``Event`` with its id, name, time, user name,
    the resources it is indexed under (``resources``, else :func:`named_resources`) and the
    record itself as the ``CloudTrailEvent`` JSON string."""
    listed = (
        [{"ResourceType": t, "ResourceName": n} for t, n in resources]
        if resources is not None
        else named_resources(record)
    )
    when = dt.datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc
    )
    identity = record.get("userIdentity") or {}
    username = identity.get("userName") or (identity.get("arn") or "").rpartition("/")[2]
    wrapped: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "false",
        "EventTime": when,
        "EventSource": record["eventSource"],
        "Resources": listed,
        "CloudTrailEvent": json.dumps(record),
    }
    if username:
        wrapped["Username"] = username
    if identity.get("accessKeyId"):
        wrapped["AccessKeyId"] = identity["accessKeyId"]
    return wrapped


@dataclass
class _Bucket:
    tokens: float = BURST
    at: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass
class IpamRecord:
    """One GetIpamAddressHistory record of an IPAM scope."""

    scope: str
    cidr: str
    resource_type: str  # eip | vpc | subnet | network-interface | instance
    resource_id: str
    start: dt.datetime
    end: dt.datetime | None = None
    owner: str = ACCOUNT
    region: str = REGION
    vpc: str | None = None
    name: str | None = None


_IPAM = frozenset({"DescribeIpams", "DescribeIpamScopes", "GetIpamAddressHistory"})
_QUERY = {"sts": (QueryParser, QuerySerializer), "ec2": (EC2QueryParser, EC2Serializer)}


class _Handler(JsonHandler):
    """jsonfake's handler, answering the EC2 IPAM calls here (and STS without an upstream)."""

    owner: CloudTrailFake

    def do_POST(self) -> None:
        if self.headers.get("X-Amz-Target"):
            super().do_POST()
            return
        body = self.read_body()
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        key, region, service = scope.groups() if scope else ("", REGION, "")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        operation = form.get("Action", "")
        fake = self.owner
        local = (service == "ec2" and operation in _IPAM) or (
            service == "sts" and fake.upstream is None
        )
        if not local:
            self._forward(body)
            return
        with fake.lock:
            fake.calls[operation] += 1
        parser_cls, serializer_cls = _QUERY[service]
        op_model = get_service_model(service).operation_model(operation)
        request = {
            "body": body,
            "headers": dict(self.headers),
            "method": "POST",
            "url_params": {},
            "url_path": self.path,
            "values": form,
        }
        params = _aware(parser_cls(op_model).parse(request))  # type: ignore[arg-type]
        try:
            if service == "sts":
                result = fake.sts_call(key, operation, params)
            else:
                result = fake.ipam_call(fake.account_of(key), region, operation, params)
        except Fault as e:
            self._query_error(service, e.code, e.message, e.status)
            return
        report = ParamValidator().validate(result, op_model.output_shape)
        if report.has_errors():
            with fake.lock:
                fake.errors.append(f"{operation} output: {report.generate_report()}")
            self.send(500, {"Content-Type": "text/plain"}, b"the answer fails the model")
            return
        answer = serializer_cls(op_model).serialize(result)
        data = answer["body"]
        self.send(
            answer["status_code"],
            dict(answer["headers"]),
            data.encode() if isinstance(data, str) else data,
        )

    def _query_error(self, service: str, code: str, message: str, status: int) -> None:
        text = escape(message)
        if service == "ec2":
            body = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message></Error>"
                f"</Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
            )
        else:
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{text}"
                f"</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
        self.send(status, {"Content-Type": "text/xml"}, body.encode())


class CloudTrailFake(JsonServiceFake):
    service = "cloudtrail"
    # jsonfake's server, with a handler that also answers the EC2 IPAM calls (and STS
    # without an upstream).
    handler = _Handler

    def __init__(
        self,
        account: str = ACCOUNT,
        now: dt.datetime | None = None,
        upstream: str | None = None,
    ) -> None:
        super().__init__(upstream)
        self.account = account
        #: "now" for the 90 days (default: the clock at each request).
        self.now = now
        #: (account, region) -> LookupEvents Events, any order.
        self.events: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        #: access key id -> account.
        self.keys: dict[str, str] = {}
        #: (account, region) -> IPAMs: (ipam id, {scope type: scope id}).
        self.ipams: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = (
            collections.defaultdict(list)
        )
        self.ipam_records: list[IpamRecord] = []
        #: LookupEvents requests refused with ThrottlingException.
        self.throttled = 0
        #: Each LookupEvents request's parameters, in order.
        self.lookups: list[dict[str, Any]] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    # --- the script --------------------------------------------------------------------------

    def add(
        self,
        record: dict[str, Any],
        resources: Iterable[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Record an event; ``resources`` (type, name) replace the ones found in it."""
        wrapped = lookup_event(record, resources)
        key = (record["recipientAccountId"], record["awsRegion"])
        with self.lock:
            self.events[key].append(wrapped)
        return wrapped

    def key_for(self, account: str) -> str:
        """An access key id whose calls the fake answers as ``account``'s."""
        key = f"AKIAFAKE{account}"
        with self.lock:
            self.keys[key] = account
        return key

    def add_ipam(
        self, ipam: str, scopes: Mapping[str, str], account: str = ACCOUNT, region: str = REGION
    ) -> None:
        """An IPAM in ``region`` of ``account`` with its scopes (``{"private": "ipam-scope-…",
        "public": "ipam-scope-…"}``)."""
        self.ipams[(account, region)].append((ipam, dict(scopes)))

    # --- LookupEvents ------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)

    def account_of(self, access_key: str) -> str:
        with self.lock:
            return self.keys.get(access_key, self.account)

    def _token(self, params: Mapping[str, Any], offset: int) -> str:
        same = {k: v for k, v in params.items() if k != "NextToken"}
        digest = hashlib.sha256(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()
        return f"{offset}:{digest[:24]}"

    def op_LookupEvents(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        account = self.account_of(request.access_key)
        with self.lock:
            self.lookups.append(params)
            bucket = self._buckets.setdefault((account, request.region), _Bucket())
            if not bucket.take():
                self.throttled += 1
                raise Fault("ThrottlingException", "Rate exceeded")
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise Fault(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            )
        limit = params.get("MaxResults", 50)
        now = self._now()
        start = _utc(params.get("StartTime")) or now - KEPT
        end = _utc(params.get("EndTime")) or now
        if start > end:
            raise Fault("InvalidTimeRangeException", "Start time must be before end time.")
        offset = 0
        if params.get("NextToken"):
            text = str(params["NextToken"]).partition(":")[0]
            if not text.isdigit() or self._token(params, int(text)) != params["NextToken"]:
                raise Fault(
                    "InvalidNextTokenException",
                    "A token is only valid with the parameters it was returned for.",
                )
            offset = int(text)
        kept = now - KEPT
        with self.lock:
            pool = list(self.events.get((account, request.region), []))
        chosen = [
            e
            for e in pool
            if max(start, kept) <= e["EventTime"] <= end
            and (not attributes or _matches(e, attributes[0]))
        ]
        chosen.sort(key=lambda e: e["EventTime"], reverse=True)
        out: dict[str, Any] = {"Events": chosen[offset : offset + limit]}
        if offset + limit < len(chosen):
            out["NextToken"] = self._token(params, offset + limit)
        return out

    # --- EC2 IPAM and STS (query protocol) ---------------------------------------------------

    def ipam_call(
        self, account: str, region: str, operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        ipams = self.ipams.get((account, region), [])
        if operation == "DescribeIpams":
            return {
                "Ipams": [
                    {
                        "OwnerId": account,
                        "IpamId": ipam,
                        "IpamRegion": region,
                        "PrivateDefaultScopeId": scopes.get("private"),
                        "PublicDefaultScopeId": scopes.get("public"),
                        "ScopeCount": len(scopes),
                        "OperatingRegions": [{"RegionName": region}],
                        "State": "create-complete",
                        "Tier": "advanced",
                    }
                    for ipam, scopes in ipams
                ]
            }
        if operation == "DescribeIpamScopes":
            wanted = {
                v
                for f in params.get("Filters", [])
                if f.get("Name") == "ipam-id"
                for v in f.get("Values", [])
            }
            return {
                "IpamScopes": [
                    {
                        "OwnerId": account,
                        "IpamScopeId": scope,
                        "IpamRegion": region,
                        "IpamScopeType": kind,
                        "IsDefault": True,
                        "State": "create-complete",
                    }
                    for ipam, scopes in ipams
                    if not wanted or ipam in wanted
                    for kind, scope in scopes.items()
                ]
            }
        scope = params["IpamScopeId"]
        if not any(scope in scopes.values() for _, scopes in ipams):
            raise Fault(
                "InvalidIpamScopeId.NotFound", f"The ipam scope ID '{scope}' does not exist."
            )
        end = _utc(params.get("EndTime")) or self._now()
        start = _utc(params.get("StartTime")) or end
        out = []
        for r in self.ipam_records:
            # The CIDR is matched exactly, as AWS does (10.0.0.0/16 is not 10.0.0.5/32).
            if r.scope != scope or r.cidr != params["Cidr"]:
                continue
            if r.start > end or (r.end is not None and r.end < start):
                continue
            item: dict[str, Any] = {
                "ResourceOwnerId": r.owner,
                "ResourceRegion": r.region,
                "ResourceType": r.resource_type,
                "ResourceId": r.resource_id,
                "ResourceCidr": r.cidr,
                "ResourceComplianceStatus": "unmanaged",
                "ResourceOverlapStatus": "nonoverlapping",
                "SampledStartTime": r.start,
            }
            if r.end is not None:
                item["SampledEndTime"] = r.end
            if r.vpc:
                item["VpcId"] = r.vpc
            if r.name:
                item["ResourceName"] = r.name
            out.append(item)
        return {"HistoryRecords": out}

    def sts_call(self, key: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        account = self.account_of(key)
        if operation == "GetCallerIdentity":
            return {
                "UserId": "AIDAFAKECALLER000001",
                "Account": account,
                "Arn": f"arn:aws:iam::{account}:user/driftaudit",
            }
        if operation == "AssumeRole":
            target = params["RoleArn"].split(":")[4]
            session = params["RoleSessionName"]
            return {
                "Credentials": {
                    "AccessKeyId": self.key_for(target),
                    "SecretAccessKey": "fake-secret-" + target,
                    "SessionToken": "fake-token-" + target,
                    "Expiration": self._now() + dt.timedelta(hours=1),
                },
                "AssumedRoleUser": {
                    "AssumedRoleId": f"AROAFAKE{target}:{session}",
                    "Arn": f"arn:aws:sts::{target}:assumed-role/"
                    f"{params['RoleArn'].rpartition('/')[2]}/{session}",
                },
            }
        raise Fault("InvalidAction", f"sts:{operation} is not faked")


def _utc(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _matches(e: Mapping[str, Any], attribute: Mapping[str, str]) -> bool:
    key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
    if key in ("ResourceName", "ResourceType"):
        return any(r.get(key) == value for r in e.get("Resources", []))
    if key in ("EventId", "EventName", "Username", "EventSource", "ReadOnly", "AccessKeyId"):
        return bool(e.get(key) == value)
    return False


def _aware(value: Any) -> Any:
    """Request times as UTC-aware datetimes (moto's parser gives naive ones)."""
    if isinstance(value, dict):
        return {k: _aware(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_aware(v) for v in value]
    return _utc(value) or value
