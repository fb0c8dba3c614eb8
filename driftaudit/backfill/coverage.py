"""What AWS Config's recorder covers in each (account, region), said before any history is
read, and what the history read held, said after (pure: recorder answers in, lines out).

History exists only for what the recorder recorded, from when it recorded it: a type left
out of its recording group, or a region without a recorder, has none; a recorder recording
DAILY keeps at most one item a day (changes undone within the day never show), one
recording CONTINUOUS an item for every change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from driftaudit.backfill.convert import parse_time
from driftaudit.collect.collectors.base import ResourceType
from driftaudit.times import iso


@dataclass(frozen=True)
class Recording:
    """One (account, region)'s recorder, as far as backfill cares."""

    account: str
    region: str
    #: None: no configuration recorder in the region.
    name: str | None = None
    recording: bool = False
    #: Config types recorded now (``None``: every supported type).
    types: frozenset[str] | None = None
    #: Config types left out (exclusion by resource types).
    excluded: frozenset[str] = frozenset()
    frequency: str = "CONTINUOUS"
    #: Config type -> its own frequency (recordingModeOverrides).
    overrides: Mapping[str, str] = field(default_factory=dict)
    started: dt.datetime | None = None
    stopped: dt.datetime | None = None
    last_status: str = ""

    def records(self, config_type: str) -> bool:
        if self.name is None:
            return False
        if config_type in self.excluded:
            return False
        return self.types is None or config_type in self.types

    def frequency_of(self, config_type: str) -> str:
        return self.overrides.get(config_type, self.frequency)


def recording_of(account: str, region: str, recorders: list[Any], statuses: list[Any]) -> Recording:
    """The recorder of one region from DescribeConfigurationRecorders and …Status (a region
    has at most one customer-managed recorder; a service-linked one is read the same way)."""
    if not recorders:
        return Recording(account, region)
    recorder = recorders[0]
    status: dict[str, Any] = next(
        (s for s in statuses if s.get("name") == recorder.get("name")), {}
    )
    group = recorder.get("recordingGroup") or {}
    strategy = (group.get("recordingStrategy") or {}).get("useOnly", "")
    types: frozenset[str] | None = None
    excluded: frozenset[str] = frozenset()
    if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        excluded = frozenset((group.get("exclusionByResourceTypes") or {}).get("resourceTypes", []))
    elif not group.get("allSupported", not group.get("resourceTypes")):
        types = frozenset(group.get("resourceTypes") or [])
    mode = recorder.get("recordingMode") or {}
    overrides = {
        t: str(o.get("recordingFrequency"))
        for o in mode.get("recordingModeOverrides") or []
        for t in o.get("resourceTypes") or []
    }
    return Recording(
        account,
        region,
        str(recorder.get("name") or "default"),
        bool(status.get("recording")),
        types,
        excluded,
        str(mode.get("recordingFrequency") or "CONTINUOUS"),
        overrides,
        parse_time(status.get("lastStartTime")),
        parse_time(status.get("lastStopTime")),
        str(status.get("lastStatus") or ""),
    )


NEVER = "AWS Config records none of them: they appear with the snapshot taken at the end"


def report(recordings: Iterable[Recording], types: list[ResourceType]) -> list[str]:
    """The coverage report, printed before any history is read."""
    lines: list[str] = []
    for r in recordings:
        lines.append(f"# AWS Config coverage: {r.account} {r.region}")
        if r.name is None:
            lines.append("  no configuration recorder: no history to read here")
            continue
        state = "recording" if r.recording else "not recording"
        since = f" since {iso(int(r.started.timestamp()))}" if r.recording and r.started else ""
        if not r.recording and r.stopped:
            since = f" since {iso(int(r.stopped.timestamp()))}"
        status = f", last delivery {r.last_status}" if r.last_status else ""
        lines.append(
            f"  recorder {r.name}: {state}{since}{status}, {r.frequency.lower()} by default"
        )
        for rtype in types:
            if rtype.config is None:
                continue
            for config_type in rtype.config.types:
                said = (
                    f"recorded ({r.frequency_of(config_type).lower()})"
                    if r.records(config_type)
                    else "not recorded now (history only from when it was)"
                )
                lines.append(f"  {rtype.name:<22} {config_type:<43} {said}")
    never = [t.name for t in types if t.config is None]
    if never:
        lines.append(f"# {', '.join(never)}: {NEVER}")
    return lines


@dataclass
class Read:
    """What the history read held, per Config type."""

    resources: int = 0
    items: int = 0
    calls: int = 0
    earliest: dt.datetime | None = None


def read_report(read: Mapping[str, Read], calls: int, seconds: float) -> list[str]:
    """After the history is read: calls, and the earliest item read of each type."""
    total = sum(r.resources for r in read.values())
    lines = [f"# history read: {total} resources, {calls} calls, {seconds:.1f} s"]
    for config_type in sorted(read):
        r = read[config_type]
        earliest = iso(int(r.earliest.timestamp())) if r.earliest else "none"
        lines.append(
            f"  {config_type:<43} {r.resources} resources, {r.items} items, "
            f"earliest item read {earliest}"
        )
    return lines
