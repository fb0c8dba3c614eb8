"""The items of every resource merged into snapshots (pure).

Each resource's items say what it was from their capture time on: a document, gone, or
(``ResourceNotRecorded``) nothing new. The state at ``since`` is, for each resource, its last
item at or before it, or (no item since ``since`` and still there now) its current
document; every later capture time at which some document changes is a snapshot, the whole
fleet's state at that time. Git dates commits to the second, so items captured within the
same second are one snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from driftaudit import layout
from driftaudit.backfill.convert import Converted
from driftaudit.canonical import dumps
from driftaudit.collect.collectors.base import Raw
from driftaudit.layout import Location

#: A snapshot file: where (relative to DIR) -> its bytes, or None when removed.
Files = dict[str, bytes | None]


@dataclass(frozen=True)
class Resource:
    """One Config resource: where its files go, what its items said (oldest first), and
    its current document (from the snapshot taken at the start), if any."""

    account: str
    region: str
    type: str
    config_type: str
    config_id: str
    changes: list[Converted]
    #: Its file now, from the snapshot taken at the start: (path relative to DIR, bytes).
    current: tuple[str, bytes] | None = None


@dataclass
class Snapshot:
    """The fleet at ``time``: the files that changed since the previous snapshot, and which
    resources' items changed them (for the commit message)."""

    time: dt.datetime
    files: Files = field(default_factory=dict)
    #: (type, id, what happened: "added", "changed", "removed") per file changed.
    events: list[tuple[str, str, str]] = field(default_factory=list)
    initial: bool = False


@dataclass
class Plan:
    snapshots: list[Snapshot]
    #: Resources whose state at ``since`` is not known (changed in the period, previous item
    #: older than the lookback): they appear with their first item in the period.
    unknown_at_since: list[str] = field(default_factory=list)
    #: Items saying nothing (ResourceNotRecorded) per Config type.
    not_recorded: dict[str, int] = field(default_factory=dict)


def second(time: dt.datetime) -> dt.datetime:
    return time.astimezone(dt.timezone.utc).replace(microsecond=0)


#: One resource's state: where its file is and its bytes, or None when it is not there.
State = tuple[str, bytes] | None


def file_bytes(
    account: str, region: str, rtype: str, resource_id: str, resource: Raw, fmt: str
) -> tuple[str, bytes]:
    """Where a resource's file goes and its canonical bytes (the store's own form)."""
    location = Location(account, region, rtype, resource_id, fmt)
    return location.rel, dumps(layout.document(location, resource), fmt)


def _state(res: Resource, change: Converted, fmt: str) -> State:
    if change.gone or change.id is None or change.resource is None:
        return None
    return file_bytes(res.account, res.region, res.type, change.id, change.resource, fmt)


def plan(
    resources: Iterable[Resource], since: dt.datetime, until: dt.datetime, fmt: str = "yaml"
) -> Plan:
    """Every snapshot from ``since`` to ``until``, oldest first (pure)."""
    since, until = second(since), second(until)
    result = Plan([])
    start: dict[str, bytes] = {}
    #: capture second -> (resource key, its state from then on), in item order
    moves: dict[dt.datetime, list[tuple[int, State]]] = {}
    states: list[State] = []
    for n, res in enumerate(resources):
        ordered = sorted(res.changes, key=lambda c: (c.time, c.state_id))
        for c in ordered:
            if not c.gone and c.resource is None:
                counts = result.not_recorded
                counts[res.config_type] = counts.get(res.config_type, 0) + 1
        # ResourceNotRecorded says nothing of the resource: neither a state nor its end.
        known = [c for c in ordered if c.gone or c.resource is not None]
        before = [c for c in known if second(c.time) <= since]
        later = [c for c in known if since < second(c.time) <= until]
        state: State = None
        if before:
            state = _state(res, before[-1], fmt)
        elif not later and res.current is not None:
            state = res.current
        elif later and later[0].status != "ResourceDiscovered":
            result.unknown_at_since.append(f"{res.config_type} {res.config_id}")
        states.append(state)
        if state is not None:
            start[state[0]] = state[1]
        for c in later:
            moves.setdefault(second(c.time), []).append((n, _state(res, c, fmt)))
    fleet = dict(start)
    if fleet:
        first = Snapshot(since, dict(fleet), initial=True)
        first.events = [(_type_of(rel), rel_id(rel), "added") for rel in sorted(fleet)]
        result.snapshots.append(first)
    for time in sorted(moves):
        before_second = dict(fleet)
        for n, new in moves[time]:
            old = states[n]
            if old is not None and (new is None or new[0] != old[0]):
                fleet.pop(old[0], None)
            if new is not None:
                fleet[new[0]] = new[1]
            states[n] = new
        snap = Snapshot(time)
        for rel in sorted(set(before_second) | set(fleet)):
            old_bytes, new_bytes = before_second.get(rel), fleet.get(rel)
            if old_bytes == new_bytes:
                continue
            snap.files[rel] = new_bytes
            action = "removed" if new_bytes is None else "added" if old_bytes is None else "changed"
            snap.events.append((_type_of(rel), rel_id(rel), action))
        if snap.files:
            result.snapshots.append(snap)
    return result


def rel_id(rel: str) -> str:
    return rel.rsplit("/", 1)[1].rsplit(".", 1)[0]


def _type_of(rel: str) -> str:
    return rel.split("/")[2]
