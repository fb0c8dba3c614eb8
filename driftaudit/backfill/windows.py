"""Which GetResourceConfigHistory windows one resource needs (pure).

AWS Config answers GetResourceConfigHistory for at most seven days per call, newest first;
a quiet week is an empty page (with a ``nextToken`` when the window goes on). A resource is
read from the newest time that matters (the end of the backfill, or the day after it was
deleted) back to ``--since``, window by window, and no further than needed:

* an item with status ``ResourceDiscovered`` is its first: nothing is older;
* the state at ``--since`` is the last item at or before it: once one is read, stop;
* a resource still there now, with no item since ``--since``, is in the state it is in now
  (the snapshot taken at the start of the backfill shows it): stop at ``--since``;
* otherwise, go on before ``--since`` for at most ``--lookback`` to find the state then.

So a resource costs about one call per week of the period (the issue's ⌈days/7⌉), fewer when
it was created or deleted within it, more only when it changed in the period and its
previous item is older than the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

#: The longest span one GetResourceConfigHistory call may cover.
WEEK = dt.timedelta(days=7)
#: How long after ListDiscoveredResources' resourceDeletionTime its deletion item is looked
#: for (the item's capture time follows the deletion).
DELETION_MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True)
class Need:
    """What one resource's history must cover."""

    #: The newest time to read.
    later: dt.datetime
    #: The backfill's start: the state at this time is needed.
    since: dt.datetime
    #: The oldest time to read (``since`` minus the lookback).
    floor: dt.datetime
    #: Its state now is known (Config lists it as not deleted, and the snapshot taken at the
    #: start shows it): without an item in the period, that is its state at ``since``.
    current: bool


@dataclass(frozen=True)
class Seen:
    """One item read, as far as windows care: when, and whether it is the first."""

    time: dt.datetime
    discovered: bool


def need_for(
    since: dt.datetime,
    until: dt.datetime,
    lookback: dt.timedelta,
    deleted: dt.datetime | None,
    current: bool,
) -> Need | None:
    """The history one resource needs; None when it was deleted before ``since``."""
    if deleted is not None and deleted < since:
        return None
    later = until if deleted is None else min(until, deleted + DELETION_MARGIN)
    return Need(later, since, since - lookback, current and deleted is None)


def next_window(
    need: Need, read_down_to: dt.datetime, seen: Iterable[Seen]
) -> tuple[dt.datetime, dt.datetime] | None:
    """The next (earlier, later) window to read, newest first, given that everything from
    ``read_down_to`` to ``need.later`` has been read; None when what was read is enough."""
    items = list(seen)
    if any(s.discovered for s in items):
        return None
    if read_down_to <= need.since:
        if any(s.time <= need.since for s in items):
            return None
        if need.current and not items:
            return None
        if read_down_to <= need.floor:
            return None
    earlier = max(read_down_to - WEEK, need.floor)
    if earlier >= read_down_to:
        return None
    return earlier, read_down_to


def first_window(need: Need) -> tuple[dt.datetime, dt.datetime] | None:
    return next_window(need, need.later, ())


def sequential_calls(days: float) -> int:
    """What reading ``days`` of one resource's history week by week costs at least: the
    figure the benchmark compares with."""
    weeks = dt.timedelta(days=days) / WEEK
    return max(1, int(-(-weeks // 1)))
