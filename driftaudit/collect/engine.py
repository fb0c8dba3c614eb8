"""Collect (account, region, type) parts concurrently and turn each into canonical
resources. A part either succeeds whole or fails with a named reason; a failed part is
never an empty one.

Every part has a deadline (:class:`Deadlines`): after it, the part fails like any other
failed part ("timed out after N s"), and whatever its thread brings back later is discarded,
never written. A thread blocked in a socket read cannot be stopped, so the workers are daemon
threads the run does not wait for; the socket timeouts and the deadline guard of
:mod:`driftaudit.collect.aws` make such a thread end soon after anyway."""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from driftaudit import layout
from driftaudit.canonical import normalize
from driftaudit.collect.aws import Account, ClientPool, deadline
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.collect.deadlines import DEADLINE, Deadlines
from driftaudit.collect.failures import classify_call
from driftaudit.collect.shards import Shard
from driftaudit.errors import PartFailure


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
    """Name what went wrong, for one stderr line and the commit/report; the message is one
    line whatever the exception said (a response body, a traceback-like text)."""
    service = rtype.services[0] if len(rtype.services) == 1 else "/".join(rtype.services)
    return classify_call(exc, service)


def collect_part(
    pool: ClientPool,
    account: Account,
    region: str,
    rtype: ResourceType,
    until: float | None = None,
    label: str = "the part's deadline",
) -> PartResult:
    """One part, whole or failed; no call of it is sent after ``until`` (monotonic)."""
    part = Part(account.account_id, region, rtype.name)
    start = time.perf_counter()
    # A part of the account as a whole (region "global") calls from the account's home.
    calls_region = account.home if region == layout.GLOBAL else region

    def clients(service: str) -> Any:
        return pool.client(account, service, calls_region)

    try:
        with deadline(until, label):
            resources = build_resources(rtype, rtype.fetch(clients))
    except Exception as exc:  # a part fails whole, with its reason; the others go on
        failure = classify(exc, rtype)
        # The traceback is for -v, and only where it helps: a bug, not a named AWS error.
        detail = traceback.format_exc() if failure.kind == "internal error" else ""
        return PartResult(part, None, failure, time.perf_counter() - start, detail)
    return PartResult(part, resources, None, time.perf_counter() - start)


Job = tuple[Account, str, ResourceType]


def places(
    regions: list[str], types: list[ResourceType], account_wide: bool = True
) -> list[tuple[str, ResourceType]]:
    """(region, type) of every part of one account read in ``regions``: each region and
    type, then ``global`` for each type of the account as a whole (with ``account_wide``)."""
    regional = [(r, t) for r in regions for t in types if t.scope == "region"]
    wide = [(layout.GLOBAL, t) for t in types if t.scope == "account"] if account_wide else []
    return regional + wide


def planned_parts(
    targets: list[tuple[Account, list[str]]],
    types: list[ResourceType],
    shard: Shard | None = None,
) -> list[Job]:
    """Every part of a run, account by account (an account read in no region has none);
    with ``shard``, only the parts of the (account, region) pairs it holds."""
    return [
        (account, region, rtype)
        for account, regions in targets
        for region, rtype in places(regions, types, account_wide=bool(regions))
        if shard is None or shard.holds(account.account_id, region)
    ]


def collect(
    pool: ClientPool,
    targets: list[tuple[Account, list[str]]],
    types: list[ResourceType],
    workers: int,
    on_start: Callable[[int], None] | None = None,
    deadlines: Deadlines | None = None,
    shard: Shard | None = None,
) -> Iterator[PartResult]:
    """Every part (of ``shard`` only, with one), as each completes or times out, from a
    bounded pool of worker threads.

    Each part is yielded once: its own result, or a timed-out failure at its deadline. A part
    given up keeps its thread until the socket lets go; a new worker takes its place so the
    other parts keep their pace, and whatever the old one returns is dropped here."""
    deadlines = deadlines or Deadlines()
    if not deadlines.start:
        deadlines = replace(deadlines, start=time.monotonic())
    run_end = deadlines.run_end
    jobs = planned_parts(targets, types, shard)
    if on_start:
        on_start(len(jobs))
    todo: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    done: queue.SimpleQueue[PartResult] = queue.SimpleQueue()
    lock = threading.Lock()
    started: dict[Part, float] = {}  # part -> when a worker started it (monotonic)
    abandoned: set[Part] = set()

    def worker() -> None:
        while time.monotonic() < run_end:
            try:
                account, region, rtype = todo.get_nowait()
            except queue.Empty:
                return
            part = Part(account.account_id, region, rtype.name)
            now = time.monotonic()
            with lock:
                started[part] = now
            if now + deadlines.part <= run_end:
                until, label = now + deadlines.part, "the part's deadline (--part-timeout)"
            else:
                until, label = run_end, "the run's deadline (--timeout)"
            result = collect_part(pool, account, region, rtype, until, label)
            with lock:
                if part in abandoned:
                    return  # given up on, and replaced: this thread is done
            done.put(result)

    def spawn() -> None:
        threading.Thread(target=worker, name="collect", daemon=True).start()

    for _ in range(min(max(1, workers), len(jobs))):
        spawn()
    pending = {Part(a.account_id, r, t.name) for a, r, t in jobs}
    while pending:
        with lock:
            ends = [started[p] + deadlines.part for p in pending if p in started]
        wake = min([run_end, *ends])
        try:
            result = done.get(timeout=max(0.0, wake - time.monotonic()))
        except queue.Empty:
            now = time.monotonic()
            with lock:
                expired = sorted(
                    p
                    for p in pending
                    if now >= run_end or (p in started and now >= started[p] + deadlines.part)
                )
                abandoned.update(p for p in expired if p in started)
                when = {p: started.get(p) for p in expired}
            for part in expired:
                pending.discard(part)
                if when[part] is not None and pending and now < run_end:
                    spawn()
                yield PartResult(part, None, deadlines.timed_out(when[part]))
            continue
        if result.part in pending:  # else: late, for a part already given up
            pending.discard(result.part)
            if result.failure is not None and result.failure.kind == DEADLINE:
                # Its thread got there first: the same words as when this loop gives up.
                with lock:
                    began = started.get(result.part)
                result = replace(result, failure=deadlines.timed_out(began))
            yield result
