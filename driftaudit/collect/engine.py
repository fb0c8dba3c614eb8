"""Collect (account, region, type) parts concurrently and turn each into canonical
resources. A part either succeeds whole or fails with a named reason; a failed part is
never an empty one."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from driftaudit import layout
from driftaudit.canonical import normalize
from driftaudit.collect.aws import Account, ClientPool
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.errors import (
    ACCESS_CODES,
    OPT_IN_CODES,
    THROTTLE_CODES,
    PartFailure,
    ReadOnlyViolation,
)


@dataclass(frozen=True, order=True)
class Part:
    account: str
    region: str
    type: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.type}"


@dataclass
class PartResult:
    part: Part
    #: id -> canonical resource; None when the part failed.
    resources: dict[str, Raw] | None
    failure: PartFailure | None = None
    seconds: float = 0.0
    detail: str = ""  # traceback of an internal error, shown with -v


def document(part: Part, resource_id: str, resource: Raw) -> Raw:
    """The content of one snapshot file (the envelope is :mod:`driftaudit.layout`'s)."""
    return layout.document(
        layout.Location(part.account, part.region, part.type, resource_id), resource
    )


def build_resources(rtype: ResourceType, raw_items: list[Raw]) -> dict[str, Raw]:
    """Pure: raw AWS items to canonical resources keyed by id."""
    out: dict[str, Raw] = {}
    for raw in raw_items:
        resource = rtype.transform(raw)
        if resource is None:
            continue
        # Every resource carries a Tags mapping, empty when AWS omitted the list.
        resource.setdefault("Tags", [])
        out[rtype.id_of(resource)] = normalize(resource, rtype.spec)
    return out


def classify(exc: BaseException, rtype: ResourceType) -> PartFailure:
    """Name what went wrong, for one stderr line and the commit/report."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = " ".join(str(err.get("Message", "")).split())[:300]
        service = rtype.services[0] if len(rtype.services) == 1 else "/".join(rtype.services)
        operation = f"{service}:{exc.operation_name}"
        if code in ACCESS_CODES:
            kind = "access denied"
        elif code in OPT_IN_CODES:
            kind = "region or service not enabled"
        elif code in THROTTLE_CODES:
            kind = "throttled after retries"
        else:
            kind = "AWS error"
        return PartFailure(kind, operation, code, message)
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError)):
        return PartFailure("endpoint unreachable", "", type(exc).__name__, str(exc))
    if isinstance(exc, ReadTimeoutError):
        return PartFailure("timed out", "", type(exc).__name__, str(exc))
    if isinstance(exc, ResponseParserError):
        # e.g. an emulator's or proxy's HTML error page instead of an AWS response
        return PartFailure("unreadable response", "", "ResponseParserError", str(exc)[:300])
    if isinstance(exc, ReadOnlyViolation):
        return PartFailure("refused", "", "ReadOnlyViolation", str(exc))
    if isinstance(exc, BotoCoreError):
        return PartFailure("AWS client error", "", type(exc).__name__, str(exc)[:300])
    return PartFailure("internal error", "", type(exc).__name__, str(exc)[:300])


def collect_part(
    pool: ClientPool, account: Account, region: str, rtype: ResourceType
) -> PartResult:
    part = Part(account.account_id, region, rtype.name)
    start = time.perf_counter()

    def clients(service: str) -> Any:
        return pool.client(account, service, region)

    try:
        resources = build_resources(rtype, rtype.fetch(clients))
    except Exception as exc:  # a part fails whole, with its reason; the others go on
        return PartResult(
            part,
            None,
            classify(exc, rtype),
            time.perf_counter() - start,
            traceback.format_exc(),
        )
    return PartResult(part, resources, None, time.perf_counter() - start)


def collect(
    pool: ClientPool,
    targets: list[tuple[Account, list[str]]],
    types: list[ResourceType],
    workers: int,
    on_start: Callable[[int], None] | None = None,
) -> Iterator[PartResult]:
    """Every part, as each completes, from a bounded pool of worker threads."""
    jobs = [
        (account, region, rtype)
        for account, regions in targets
        for region in regions
        for rtype in types
    ]
    if on_start:
        on_start(len(jobs))
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="collect") as ex:
        futures = [ex.submit(collect_part, pool, a, r, t) for a, r, t in jobs]
        for future in as_completed(futures):
            yield future.result()
