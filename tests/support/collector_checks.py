"""Checks every collector test applies to its canonical resources, and the two honest
ways to fake EC2: moto in-process, or botocore's Stubber (which validates each response
against the EC2 service model, so a hand-written page cannot drift from AWS's shape)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import boto3
from botocore.stub import Stubber

from driftaudit.canonical import FORMATS, dumps, loads
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.collect.engine import Part, build_resources
from driftaudit.collect.store import render_part
from driftaudit.schemas import document_errors, errors

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Tag values that a careless writer would turn into a path, a boolean, a null or two lines.
HOSTILE_TAGS = {
    "Name": "../../etc/passwd",
    "yes": "yes",
    "Owner": "null",
    "Note": "line one\nline two",
    "Empty": "",
}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_spec(resource_type: str, tags: dict[str, str] = HOSTILE_TAGS) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": tag_list(tags)}]


def moto_clients(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def stubbed_fetch(rtype: ResourceType, pages: list[tuple[str, dict[str, Any]]]) -> list[Raw]:
    """Run ``rtype.fetch`` against Stubber-validated responses, in call order.

    Each page is (operation, response). A response holding ``NextToken`` makes the next call
    of the same operation expect that token, as botocore's paginator sends it.
    """
    client = boto3.client("ec2", region_name=REGION)
    with Stubber(client) as stub:
        token: dict[str, str | None] = {}
        for operation, response in pages:
            previous = token.get(operation)
            stub.add_response(operation, response, {"NextToken": previous} if previous else {})
            token[operation] = response.get("NextToken")
        raw = rtype.fetch(lambda service: client)
        stub.assert_no_pending_responses()
    return raw


def two_pages(operation: str, key: str, items: list[Raw]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (operation, {key: items[:1], "NextToken": "page-2-token"}),
        (operation, {key: items[1:]}),
    ]


def reverse_lists(value: Any) -> Any:
    """The same data with every list reversed: what another API page order would give."""
    if isinstance(value, dict):
        return {k: reverse_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reverse_lists(v) for v in reversed(value)]
    return value


def build_checked(rtype: ResourceType, raw: list[Raw]) -> dict[str, Raw]:
    """build_resources, plus what must hold for every resource of every type:

    * transform and normalize leave their input untouched;
    * each resource validates against its schema and has a Tags mapping;
    * it is filed under its AWS id, and its files round-trip (YAML and JSON) and validate
      as documents;
    * reversing every list of the input changes no byte (lists are in canonical order).
    """
    before = copy.deepcopy(raw)
    resources = build_resources(rtype, raw)
    assert raw == before, "transform or normalize modified its input"
    for rid, resource in resources.items():
        assert errors(rtype.name, resource) == [], rid
        assert isinstance(resource["Tags"], dict)
        assert rid == rtype.id_of(resource)
    part = Part(ACCOUNT, REGION, rtype.name)
    for fmt in FORMATS:
        files = render_part(part, resources, fmt)
        assert set(files) == {f"{rid}.{fmt}" for rid in resources}
        for data in files.values():
            doc = loads(data, fmt)
            problems = document_errors(doc)
            assert problems == [], (problems, data.decode()[:3000])
            assert doc["resource"] == resources[doc["id"]]
    shuffled = build_resources(rtype, reverse_lists(raw))
    assert {k: dumps(v) for k, v in shuffled.items()} == {k: dumps(v) for k, v in resources.items()}
    return resources


def ids_of(raw: list[Raw], key: str, keep: Callable[[Raw], bool] = lambda r: True) -> set[str]:
    return {r[key] for r in raw if keep(r)}
