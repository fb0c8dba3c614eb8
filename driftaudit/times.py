"""Times given by users (--since, --at) and printed: ISO-8601 UTC or a few relative forms.

git's approxidate reads almost anything (a typo becomes "now"), so the forms accepted here
are few and a mistake is an error: ``2026-11-20``, ``2026-11-20T08:00:00Z`` (or any offset;
no offset means UTC), ``now``, ``today``, ``yesterday``, ``N <unit>s ago`` with unit one of
second, minute, hour, day, week, month, year (``7 days ago``, ``7.days.ago``, ``3h ago``).
"""

from __future__ import annotations

import datetime as dt
import re

from driftaudit.errors import DriftauditError

UTC = dt.timezone.utc
_UNITS = {
    "s": "second",
    "sec": "second",
    "second": "second",
    "m": "minute",
    "min": "minute",
    "minute": "minute",
    "h": "hour",
    "hour": "hour",
    "d": "day",
    "day": "day",
    "w": "week",
    "week": "week",
    "month": "month",
    "y": "year",
    "year": "year",
}
_RELATIVE = re.compile(r"^(\d+)[\s._]*([a-z]+?)s?[\s._]+ago$")
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


class BadTime(DriftauditError):
    pass


def iso(epoch: int) -> str:
    """A snapshot time as it is printed: UTC ISO-8601 with a Z."""
    return dt.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _months_back(now: dt.datetime, months: int) -> dt.datetime:
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    # Clamp the day: a month ago from 31 March is the last day of February.
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return now.replace(year=year, month=month, day=min(now.day, last_day))


def parse_when(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An aware UTC datetime for ``text``, or BadTime naming the accepted forms."""
    now = (now or dt.datetime.now(UTC)).astimezone(UTC)
    value = text.strip().lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if value == "now":
        return now
    if value == "today":
        return midnight
    if value == "yesterday":
        return midnight - dt.timedelta(days=1)
    m = _RELATIVE.match(value)
    if m and m.group(2) in _UNITS:
        count, unit = int(m.group(1)), _UNITS[m.group(2)]
        try:
            if unit == "month":
                return _months_back(now, count)
            if unit == "year":
                return _months_back(now, 12 * count)
            return now - dt.timedelta(seconds=count * _SECONDS[unit])
        except (OverflowError, ValueError) as e:
            # Python's dates end at year 1: "99999999999999 days ago" is before any snapshot.
            raise BadTime(f"cannot read the time {text!r}: it is before the year 1") from e
    try:
        # Python 3.10's fromisoformat knows no "Z".
        parsed = dt.datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text.strip()))
    except ValueError:
        parsed = None
    if parsed is None or not re.match(r"^\d{4}-\d\d-\d\d", text.strip()):
        raise BadTime(
            f"cannot read the time {text!r}: give ISO-8601 (2026-11-20, "
            '2026-11-20T08:00:00Z) or a relative time ("7 days ago", "yesterday", "now")'
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
