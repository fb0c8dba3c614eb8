"""Every resource type against botocore's service models: never stricter or poorer than AWS.

Each type's fetch runs against :class:`tests.support.modelfake.ModelFake`, whose answers are
generated from the operations' output shapes with every member filled, every enum value
cycled and integers at their limits, then validated against those shapes. On what comes
out, for every registered type:

* documents are schema-valid, readable, and ``driftaudit validate`` finds nothing in the
  bytes the store would write (every document against its schema; the bytes of at most
  SAMPLE of them: the listing of instances has 1,438, one per instance type);
* the same answers give the same bytes, and so do the answers with every list reversed
  (on listings of SHORT items);
* every member of the model's item shape of every call is written, dropped as volatile
  (``spec.drop``, named in ``volatile_doc``), or reshaped as the type declares
  (``ResourceType.reshaped``); README shows both.

A second, static walk checks each schema against every enum value and numeric limit the
model has, including members of calls whose responses the fake does not cycle in full.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape, StructureShape
from jsonschema import Draft202012Validator

from driftaudit import layout
from driftaudit.canonical import FORMATS
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.collectors.base import Call, Raw, ResourceType
from driftaudit.collect.engine import Part, build_resources
from driftaudit.collect.store import render_part
from driftaudit.schemas import document_errors, validator
from driftaudit.validate import check_bytes
from tests.support.modelfake import (
    ACCOUNT,
    INT_LIMITS,
    LONG_LIMITS,
    NESTED,
    REGION,
    ModelFake,
    enum_draws,
    example_output,
)

TYPES = sorted(REGISTRY)
SAMPLE = 24
SHORT = 6
SESSION = botocore.session.get_session()
#: Schema enumerations of driftaudit's own vocabulary, not AWS's: (type, schema path).
OWN_VOCABULARY = {
    ("security_groups", "$defs.rule.Direction"),
    ("security_groups", "$defs.rule.SourceType"),
}


def item_shape(call: Call) -> Shape:
    output = SESSION.get_service_model(call.service).operation_model(call.operation).output_shape
    assert isinstance(output, StructureShape), call
    return output.members[call.result].member  # type: ignore[attr-defined, no-any-return]


def member_paths(shape: Shape, path: str = "", seen: tuple[str, ...] = ()) -> Iterator[str]:
    """Every member path of a shape (dotted, lists transparent, maps as leaves)."""
    if shape.name in seen:
        return
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            sub = f"{path}.{name}" if path else name
            yield sub
            yield from member_paths(member, sub, (*seen, shape.name))
    elif shape.type_name == "list":
        yield from member_paths(shape.member, path, seen)  # type: ignore[attr-defined]


def leaves(shape: Shape, path: str = "", seen: tuple[str, ...] = ()) -> Iterator[tuple[str, Shape]]:
    """(path, shape) of every scalar member."""
    if shape.name in seen:
        return
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            sub = f"{path}.{name}" if path else name
            yield from leaves(member, sub, (*seen, shape.name))
    elif shape.type_name == "list":
        yield from leaves(shape.member, path, seen)  # type: ignore[attr-defined]
    elif shape.type_name != "map":
        yield path, shape


def walked_calls(rtype: ResourceType) -> list[Call]:
    return [c for c in rtype.calls if c.result]


def resource_path(rtype: ResourceType, call: Call, path: str) -> str | None:
    """Where the member at ``path`` of ``call``'s items is written in a resource, or None
    when a declared reshape says it is not written as such."""
    full = f"{call.kept_in}.{path}" if call.kept_in else path
    for key in sorted(rtype.reshaped, key=len, reverse=True):
        if full == key or full.startswith(key + "."):
            target = rtype.reshaped[key].to
            if target is None:
                return None
            rest = full[len(key) + 1 :]
            return ".".join(p for p in (target, rest) if p)
    return full


def written_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            yield sub
            if key != "Tags":  # a Key -> Value mapping: its keys are data, not members
                yield from written_paths(item, sub)
    elif isinstance(value, list):
        for item in value:
            yield from written_paths(item, path)


def dropped(rtype: ResourceType, path: str) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:n]) in rtype.spec.drop for n in range(1, len(parts) + 1))


# --- running a type against the fake --------------------------------------------------------


def _reverse(value: Any, keep: frozenset[str], path: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _reverse(v, keep, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_reverse(v, keep, path) for v in value]
        return items if path in keep else items[::-1]
    return value


def reversing(rtype: ResourceType) -> Any:
    """A ModelFake rewrite that reverses every list of every response, but the lists the
    type declares ordered (their order is AWS's meaning, not page order)."""
    keep: set[str] = set()
    for call in walked_calls(rtype):
        for ordered in rtype.spec.ordered:
            prefix = f"{call.kept_in}." if call.kept_in else ""
            if ordered.startswith(prefix):
                keep.add(f"{call.result}.{ordered[len(prefix) :]}")

    def rewrite(operation: str, response: dict[str, Any]) -> dict[str, Any]:
        return _reverse(response, frozenset(keep))  # type: ignore[no-any-return]

    return rewrite


def collect(
    rtype: ResourceType, reverse: bool = False, listing: int | None = None
) -> dict[str, Raw]:
    fake = ModelFake(rewrite=reversing(rtype) if reverse else None, listing=listing)
    return build_resources(rtype, rtype.fetch(fake.clients))


@functools.cache
def collected(name: str, listing: int | None = None) -> dict[str, Raw]:
    return collect(REGISTRY[name], listing=listing)


def listing_size(name: str) -> int:
    """How many items the fake's listing has for a type (every enum value shown)."""
    return max([NESTED, *enum_draws(item_shape(walked_calls(REGISTRY[name])[0]))])


# Every type on maximal responses; a type whose listing is long (instances: 1,438 for as
# many instance types) takes seconds: that run is end-to-end, a short one is in the fast loop.
LONG = {name for name in TYPES if listing_size(name) > 100}
CASES = [
    pytest.param(name, None, marks=[pytest.mark.e2e] if name in LONG else [], id=name)
    for name in TYPES
] + [pytest.param(name, SHORT, id=f"{name}-short") for name in sorted(LONG)]


def rendered(name: str, resources: dict[str, Raw]) -> dict[str, bytes]:
    """``fmt/file name`` -> the bytes the store writes, in both formats."""
    part = Part(ACCOUNT, REGION, name)
    return {
        f"{fmt}/{file}": data
        for fmt in FORMATS
        for file, data in render_part(part, resources, fmt).items()
    }


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,listing", CASES)
def test_maximal_responses_give_valid_documents(name: str, listing: int | None) -> None:
    rtype = REGISTRY[name]
    resources = collected(name, listing)
    # A type of the account as a whole has one resource: the account.
    least = 1 if rtype.scope == "account" else 2
    assert len(resources) >= least, f"the fake's listing gives at least {least} resources"
    for rid, resource in resources.items():
        doc = layout.document(layout.Location(ACCOUNT, REGION, name, rid), resource)
        assert document_errors(doc) == [], (rid, document_errors(doc)[:5])
    ids = sorted(resources)
    sample = {rid: resources[rid] for rid in ids[:: max(1, len(ids) // SAMPLE)]}
    for file, data in rendered(name, sample).items():
        fmt, _, base = file.partition("/")
        problems = check_bytes(data, [ACCOUNT, REGION, name, base], file)
        assert problems == [], [str(p) for p in problems[:5]]
        parsed, problem = layout.parse_document(data, f"{ACCOUNT}/{REGION}/{name}/{base}")
        assert problem is None and parsed is not None, problem
    assert rtype.name == name


@pytest.mark.parametrize("name", TYPES)
def test_same_answers_same_bytes(name: str) -> None:
    first = rendered(name, collect(REGISTRY[name], listing=SHORT))
    assert len(first) >= (2 if REGISTRY[name].scope == "account" else 4)  # both formats
    assert rendered(name, collect(REGISTRY[name], listing=SHORT)) == first


@pytest.mark.parametrize("name", TYPES)
def test_list_order_changes_no_byte(name: str) -> None:
    reversed_ = rendered(name, collect(REGISTRY[name], reverse=True, listing=SHORT))
    assert reversed_ == rendered(name, collect(REGISTRY[name], listing=SHORT))


@pytest.mark.parametrize("name", TYPES)
def test_no_member_is_dropped_undocumented(name: str) -> None:
    rtype = REGISTRY[name]
    # Every member is filled whatever the listing's length: a short one will do.
    written = {p for r in collected(name, SHORT).values() for p in written_paths(r)} | {""}
    missing = []
    for call in walked_calls(rtype):
        for path in member_paths(item_shape(call)):
            where = resource_path(rtype, call, path)
            if where is None or dropped(rtype, where) or where in written:
                continue
            if where.endswith(("Tags.Key", "Tags.Value")) and where.rsplit(".", 1)[0] in written:
                continue  # a tag list becomes the Tags mapping (canonical form)
            missing.append(f"{call.service}:{call.operation} {path}")
    assert missing == [], (
        f"{name}: members AWS returns that are neither written, dropped as volatile "
        f"(spec.drop) nor declared in ResourceType.reshaped: {missing}"
    )


@pytest.mark.parametrize("name", TYPES)
def test_declarations_name_real_members(name: str) -> None:
    """A reshape or drop of a member the model does not have is a stale declaration."""
    rtype = REGISTRY[name]
    known = {c.kept_in for c in walked_calls(rtype) if c.kept_in}
    for call in walked_calls(rtype):
        for path in member_paths(item_shape(call)):
            known.add(f"{call.kept_in}.{path}" if call.kept_in else path)
            where = resource_path(rtype, call, path)
            if where:
                known.add(where)
    assert sorted(set(rtype.reshaped) - known) == []
    assert sorted(set(rtype.spec.drop) - known) == []
    for path in rtype.spec.drop:
        assert path in rtype.volatile_doc, f"{name}: {path} dropped but not in volatile_doc"


def subschemas(schema: dict[str, Any], root: dict[str, Any], path: list[str]) -> list[Any]:
    """The schemas that apply to the value at ``path`` (lists transparent), or [] when the
    schema says nothing of it (every value is then accepted, if properties are open)."""
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    found: list[Any] = []
    for part in schema.get("allOf", []):
        found += subschemas(part, root, path)
    if schema.get("type") == "array" or "items" in schema:
        return found + subschemas(schema.get("items", {}), root, path)
    if not path:
        return [*found, schema]
    props = schema.get("properties", {})
    if path[0] in props:
        return found + subschemas(props[path[0]], root, path[1:])
    if schema.get("additionalProperties") is False:
        return [*found, {"not": {}, "description": f"{path[0]} is not allowed"}]
    return found


def limits(shape: Shape) -> list[Any]:
    if getattr(shape, "enum", None):
        return list(shape.enum)  # type: ignore[attr-defined]
    if shape.type_name in ("integer", "long"):
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if lo is not None or hi is not None:
            return [v for v in (lo, hi) if v is not None]
        return list(INT_LIMITS if shape.type_name == "integer" else LONG_LIMITS)
    return []


@pytest.mark.parametrize("name", TYPES)
def test_schema_accepts_every_enum_value_and_limit_of_the_model(name: str) -> None:
    rtype = REGISTRY[name]
    root = validator(name).schema
    refused = []
    for call in walked_calls(rtype):
        for path, shape in leaves(item_shape(call)):
            where = resource_path(rtype, call, path)
            if not where or dropped(rtype, where):
                continue
            for sub in subschemas(root, root, where.split(".")):
                check = Draft202012Validator({**sub, "$defs": root.get("$defs", {})})
                refused += [f"{where}: {v!r}" for v in limits(shape) if not check.is_valid(v)]
    assert refused == [], f"{name}: the schema refuses values AWS's model allows: {refused}"


def _enums(schema: Any, path: str) -> Iterator[str]:
    """Paths of the ``enum``/``const`` constraints of a schema (conditions and prohibitions,
    ``if`` and ``not``, constrain nothing)."""
    if isinstance(schema, dict):
        if "enum" in schema or "const" in schema:
            yield path
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for prop, sub in value.items():
                    prefix = "$defs." if key == "$defs" else ""
                    yield from _enums(sub, f"{path}.{prefix}{prop}".lstrip("."))
            elif key not in ("not", "if"):
                yield from _enums(value, path)
    elif isinstance(schema, list):
        for item in schema:
            yield from _enums(item, path)


@pytest.mark.parametrize("name", TYPES)
def test_schemas_enumerate_only_driftaudits_own_vocabulary(name: str) -> None:
    """AWS adds enum values (instance types every month): a pre-review check must not fail
    on one, so no schema enumerates AWS's values; only driftaudit's own words are fixed."""
    found = set(_enums(validator(name).schema, ""))
    assert {p for p in found if (name, p) not in OWN_VOCABULARY} == set()


# --- AWS's documented answers (botocore's examples-1.json) ---------------------------------


def documented(call: Call) -> dict[str, Any] | None:
    """AWS's documented example answer of a call, if botocore ships one holding items."""
    try:
        output = example_output(call.service, call.operation)
    except KeyError:
        return None
    return output if output.get(call.result) else None


#: Documented examples older than a member that now names the file.
OUTDATED = {"key_pairs": "the DescribeKeyPairs example predates KeyPairId (2020)"}
DOCUMENTED = [n for n in TYPES if documented(walked_calls(REGISTRY[n])[0]) and n not in OUTDATED]


def serve(fake: ModelFake, call: Call, response: dict[str, Any]) -> None:
    fake.answer(call.service, call.operation, response)


def files_of(name: str, resources: dict[str, Raw]) -> list[str]:
    """Every problem ``driftaudit validate`` finds in the files the store would write."""
    found = []
    for file, data in rendered(name, resources).items():
        base = file.partition("/")[2]
        found += [str(p) for p in check_bytes(data, [ACCOUNT, REGION, name, base], file)]
    return found


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_examples_give_valid_files(name: str) -> None:
    rtype = REGISTRY[name]
    fake = ModelFake(listing=SHORT)
    for call in walked_calls(rtype):
        example = documented(call)
        if example is not None:
            serve(fake, call, example)
    resources = build_resources(rtype, rtype.fetch(fake.clients))
    assert resources
    assert files_of(name, resources) == []


def documented_with(call: Call, **changes: Any) -> dict[str, Any]:
    """The documented answer with its first item changed as AWS can answer it."""
    output = documented(call)
    assert output is not None
    output[call.result][0].update(changes)
    return output


def test_the_default_ipv6_network_acl_entry_32768_is_valid() -> None:
    """Every network ACL of an IPv6-enabled VPC has AWS's default IPv6 deny entries, rule
    number 32768: the schema said at most 32767, so every such account failed validate."""
    rtype = REGISTRY["network_acls"]
    listing = walked_calls(rtype)[0]
    entries = documented(listing)["NetworkAcls"][0]["Entries"]  # type: ignore[index]
    ipv6 = [
        {"Egress": egress, "Ipv6CidrBlock": "::/0", "Protocol": "-1", "RuleAction": "deny"}
        | {"RuleNumber": 32768}
        for egress in (True, False)
    ]
    fake = ModelFake()
    serve(fake, listing, documented_with(listing, Entries=entries + ipv6))
    resources = build_resources(rtype, rtype.fetch(fake.clients))
    assert files_of("network_acls", resources) == []
    entries = resources["acl-5fb85d36"]["Entries"]
    assert [(e["Egress"], e["RuleNumber"]) for e in entries] == [
        (False, 32767),
        (False, 32768),
        (True, 32767),
        (True, 32768),
    ]


def test_vpc_route_server_routes_are_valid() -> None:
    """Routes VPC Route Server installs: Origin "Advertisement"; one it does not use: State
    "filtered". Neither was in the schema's hand-written enumerations."""
    rtype = REGISTRY["route_tables"]
    listing = walked_calls(rtype)[0]
    routes = documented(listing)["RouteTables"][0]["Routes"]  # type: ignore[index]
    advertised = [
        {
            "DestinationCidrBlock": cidr,
            "NetworkInterfaceId": "eni-0123456789abcdef0",
            "Origin": "Advertisement",
            "State": state,
        }
        for cidr, state in (("172.16.0.0/16", "active"), ("172.17.0.0/16", "filtered"))
    ]
    fake = ModelFake()
    serve(fake, listing, documented_with(listing, Routes=routes + advertised))
    resources = build_resources(rtype, rtype.fetch(fake.clients))
    assert files_of("route_tables", resources) == []
    states = {r["DestinationCidrBlock"]: r["State"] for r in resources["rtb-1f382e7d"]["Routes"]}
    assert states["172.17.0.0/16"] == "filtered"


def test_a_vpc_being_deleted_is_valid() -> None:
    rtype = REGISTRY["vpcs"]
    listing = walked_calls(rtype)[0]
    fake = ModelFake()
    serve(fake, listing, documented_with(listing, State="deleting"))
    resources = build_resources(rtype, rtype.fetch(fake.clients))
    assert files_of("vpcs", resources) == []
    assert resources["vpc-a01106c2"]["State"] == "deleting"


def test_the_reservations_requester_is_kept() -> None:
    """RequesterId says who launched an instance on the account's behalf (Auto Scaling...)."""
    rtype = REGISTRY["instances"]
    fake = ModelFake(listing=1)
    reservation = fake.response("ec2", "DescribeInstances", {})["Reservations"][0]
    reservation["RequesterId"] = "940372691376"  # Auto Scaling's requester id
    serve(fake, walked_calls(rtype)[0], {"Reservations": [reservation]})
    resources = build_resources(rtype, rtype.fetch(fake.clients))
    assert resources
    assert {r["RequesterId"] for r in resources.values()} == {"940372691376"}


def test_the_default_versions_creator_is_kept() -> None:
    """Who created the default version (an IAM ARN), from AWS's documented answer; only the
    default version is asked for ($Default), so only it is served."""
    rtype = REGISTRY["launch_templates"]
    versions = documented(Call("ec2", "DescribeLaunchTemplateVersions", "LaunchTemplateVersions"))
    default = [v for v in versions["LaunchTemplateVersions"] if v["DefaultVersion"]]  # type: ignore[index]
    fake = ModelFake(listing=1)
    fake.answer("ec2", "DescribeLaunchTemplateVersions", {"LaunchTemplateVersions": default})
    resources = build_resources(rtype, rtype.fetch(fake.clients))
    (template,) = resources.values()
    version = template["DefaultVersionData"]
    assert version["CreatedBy"] == "arn:aws:iam::123456789102:root"
    assert version["VersionNumber"] == 1
    assert version["LaunchTemplateData"]["UserDataPresent"] is False
    assert "LaunchTemplateId" not in version and "DefaultVersion" not in version
    assert files_of("launch_templates", resources) == []


def test_a_listeners_oidc_client_secret_is_never_kept() -> None:
    rtype = REGISTRY["load_balancers"]
    listeners = documented(Call("elbv2", "DescribeListeners", "Listeners"))
    assert listeners is not None
    secret = "oidc-client-secret-do-not-store"
    listeners["Listeners"][0]["DefaultActions"].append(
        {
            "Type": "authenticate-oidc",
            "Order": 1,
            "AuthenticateOidcConfig": {
                "Issuer": "https://idp.example.com",
                "AuthorizationEndpoint": "https://idp.example.com/authorize",
                "TokenEndpoint": "https://idp.example.com/token",
                "UserInfoEndpoint": "https://idp.example.com/userinfo",
                "ClientId": "driftaudit",
                "ClientSecret": secret,
            },
        }
    )
    fake = ModelFake(listing=1)
    fake.answer("elbv2", "DescribeListeners", listeners)
    raw = rtype.fetch(fake.clients)
    assert secret not in repr(raw)  # gone inside fetch, before anything else sees it
    resources = build_resources(rtype, raw)
    assert files_of("load_balancers", resources) == []
    (v2,) = [r for r in resources.values() if r["Kind"] != "classic"]
    oidc = [a for a in v2["Listeners"][0]["DefaultActions"] if "AuthenticateOidcConfig" in a]
    assert oidc[0]["AuthenticateOidcConfig"]["ClientId"] == "driftaudit"
    # A file holding it anyway (hand-written) fails validate, naming the field only.
    oidc[0]["AuthenticateOidcConfig"]["ClientSecret"] = secret
    problems = files_of("load_balancers", {rtype.id_of(v2): v2})
    assert problems and all(secret not in p for p in problems)
    assert any("ClientSecret: must not be stored" in p for p in problems)
