"""LookupEvents, asked as little and as slowly as CloudTrail wants (the fetch: dumb).

* One lookup attribute per call (CloudTrail's rule): ``ResourceName`` = the resource's id,
  over the window; pages of at most 50, newest first, each NextToken sent with the same
  parameters.
* At most 2 requests a second per account and region (CloudTrail's limit): a token bucket
  per (account, region) spaces the calls; lookups in different accounts or regions run in
  parallel, those of one (account, region) one after another.
* The event history keeps 90 days: a window older than that is not asked for, one that
  begins earlier is asked from then on (and the answer says so).
* Each answer is kept in the cache (:mod:`driftaudit.attribution.cache`) once its window is
  settled, and read from it the next time.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from driftaudit.attribution.cache import SETTLED, Cache
from driftaudit.attribution.events import Event, EventError, parse_event
from driftaudit.attribution.questions import Boundary, resolve, unavailable
from driftaudit.attribution.sessions import NoAccess, Sessions
from driftaudit.textsafe import one_line
from driftaudit.times import iso

#: CloudTrail's event history: the last 90 days (a minute less, not to ask at its edge).
KEPT = 90 * 86400 - 60
#: LookupEvents' largest page.
PAGE = 50
#: CloudTrail's limit: LookupEvents requests per second, per account and region.
RATE = 2.0


class TokenBucket:
    """At most ``rate`` calls a second, none in a burst: each call waits until ``1/rate``
    seconds after the one before it. ``clock`` and ``sleep`` are time.monotonic and
    time.sleep (a test passes its own)."""

    def __init__(
        self,
        rate: float = RATE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = self.clock()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            self.sleep(at - now)


class Unavailable(Exception):
    """A lookup that could not be made: the reason, on one line."""


def _jsonable(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    when = out.get("EventTime")
    if isinstance(when, dt.datetime):
        out["EventTime"] = when.isoformat()
    return out


@dataclass
class Stats:
    calls: int = 0
    cached: int = 0
    lookups: int = 0


@dataclass
class Lookups:
    """The lookups of one run: each (account, region, name, window) asked once."""

    sessions: Sessions
    cache: Cache | None
    now: float = field(default_factory=time.time)
    buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bucket(self, account: str, region: str) -> TokenBucket:
        with self._lock:
            return self.buckets.setdefault((account, region), TokenBucket())

    def clip(self, lo: int, hi: int) -> tuple[int, int, str]:
        """The part of [lo, hi] CloudTrail still holds, and a note when it was cut."""
        oldest = int(self.now) - KEPT
        hi = min(hi, int(self.now))
        if hi < oldest:
            raise Unavailable(
                f"the window ends {iso(hi)}, more than 90 days ago: CloudTrail's event "
                "history keeps 90 days"
            )
        if lo < oldest:
            return oldest, hi, f"CloudTrail keeps 90 days: looked from {iso(oldest)} only"
        return lo, hi, ""

    def fetch(self, account: str, region: str, name: str, lo: int, hi: int) -> list[dict[str, Any]]:
        """The raw events naming ``name`` in [lo, hi], from the cache or CloudTrail."""
        settled = hi < self.now - SETTLED
        if self.cache is not None and settled:
            kept = self.cache.get(account, region, name, lo, hi)
            if kept is not None:
                with self._lock:
                    self.stats.cached += 1
                return kept
        try:
            client = self.sessions.client(account, "cloudtrail", region)
        except NoAccess as e:
            raise Unavailable(str(e)) from e
        bucket = self.bucket(account, region)
        params: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": name}],
            "StartTime": lo,
            "EndTime": hi,
            "MaxResults": PAGE,
        }
        events: list[dict[str, Any]] = []
        token = None
        while True:
            bucket.take()
            with self._lock:
                self.stats.calls += 1
            try:
                page = client.lookup_events(**params, **({"NextToken": token} if token else {}))
            except ClientError as e:
                err = e.response.get("Error", {})
                raise Unavailable(
                    one_line(
                        f"cloudtrail:LookupEvents in {account}/{region} failed: "
                        f"{err.get('Code')}: {err.get('Message')}"
                    )
                ) from e
            except BotoCoreError as e:
                raise Unavailable(
                    one_line(f"cloudtrail:LookupEvents in {account}/{region} failed: {e}")
                ) from e
            events += [_jsonable(e) for e in page.get("Events", [])]
            token = page.get("NextToken")
            if not token:
                break
        if self.cache is not None and settled:
            self.cache.put(account, region, name, lo, hi, events)
        return events

    def answer(self, boundaries: Iterable[Boundary]) -> list[dict[str, Any]]:
        """The answer to each boundary, in order: its lookups grouped by (account, region),
        the groups in parallel, each lookup made once."""
        asked = list(boundaries)  # each non-empty
        wanted: dict[tuple[str, str], dict[tuple[str, int, int], None]] = {}
        windows: list[tuple[int, int, str] | Unavailable] = []
        for boundary in asked:
            try:
                lo, hi, note = self.clip(*boundary[0].window)
            except Unavailable as e:
                windows.append(e)
                continue
            windows.append((lo, hi, note))
            for q in boundary:
                for name in q.names:
                    wanted.setdefault((q.account, q.region), {})[(name, lo, hi)] = None
        found: dict[tuple[str, str, str, int, int], list[Event] | Unavailable] = {}

        def run(where: tuple[str, str], lookups: list[tuple[str, int, int]]) -> None:
            for name, lo, hi in lookups:
                key = (*where, name, lo, hi)
                try:
                    raw = self.fetch(*where, name, lo, hi)
                except Unavailable as e:
                    found[key] = e
                    continue
                parsed = []
                for item in raw:
                    try:
                        parsed.append(parse_event(item))
                    except EventError:
                        continue  # an unreadable event answers nothing
                found[key] = parsed

        with concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, min(8, len(wanted))), thread_name_prefix="cloudtrail"
        ) as pool:
            futures = [pool.submit(run, where, list(lookups)) for where, lookups in wanted.items()]
            for future in futures:
                future.result()
        self.stats.lookups = len(found)
        out = []
        for boundary, window in zip(asked, windows, strict=True):
            if isinstance(window, Unavailable):
                out.append(unavailable(boundary, str(window)))
                continue
            lo, hi, note = window
            events: dict[str, Event] = {}
            problem = None
            for q in boundary:
                for name in q.names:
                    result = found[(q.account, q.region, name, lo, hi)]
                    if isinstance(result, Unavailable):
                        problem = problem or str(result)
                        continue
                    for event in result:
                        events.setdefault(event.id, event)
            if problem and not events:
                out.append(unavailable(boundary, problem))
                continue
            answer = resolve(boundary, events.values(), (lo, hi), note)
            if problem:
                answer["reason"] = "; ".join(
                    r for r in (answer["reason"], f"some lookups failed: {problem}") if r
                )
            out.append(answer)
        return out
