"""What a resource type is: a small declarative record, registered once in
``driftaudit.collect.collectors``.

Each collector module defines ``fetch`` (dumb: call AWS, paginate, return raw dicts) and
``transform`` (pure: one raw dict in, one resource dict out, or ``None`` to leave it out),
then one :class:`ResourceType` named ``RESOURCE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from driftaudit.canonical import Spec

Raw = dict[str, Any]
#: Returns the boto3 client of one service for the part being collected.
Clients = Callable[[str], Any]


@dataclass(frozen=True)
class ResourceType:
    name: str
    #: boto3 service names the fetch step uses (for client set-up and error messages).
    services: tuple[str, ...]
    fetch: Callable[[Clients], list[Raw]]
    transform: Callable[[Raw], Raw | None]
    #: The AWS id that names the resource's file (never a tag or other user text).
    id_of: Callable[[Raw], str]
    spec: Spec = field(default_factory=Spec)
    #: Documented in README: what is dropped and why.
    volatile_doc: str = ""


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


def batched(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def merge_tags(items: list[Raw], descriptions: Mapping[str, list[Raw]], key: str) -> None:
    """Attach tags fetched by a separate DescribeTags call (ELB) to each item, in place."""
    for item in items:
        item["Tags"] = descriptions.get(item[key], [])
