"""What a range's commits changed that the range's own diff no longer shows (pure): the
report's list of changes undone later in the period (a rule opened on day 5 and closed on day
6), from the per-commit diffs the per-day counts already compute (rangediff.period)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from driftaudit.change.differ import Change, severity_rank

#: (account, region, type, id, kind, path): one detail of one resource, or ("resource", "")
#: for a resource added or removed, whatever its value.
_Trace = tuple[str, str, str, str, str, str]


def _traces(part: Change) -> list[tuple[_Trace, str, str]]:
    """(key, severity, text) of every detail of one change (its folded parts apart)."""
    base = (part.account, part.region, part.type, part.id)
    out = []
    if part.action != "modified":
        out.append(((*base, "resource", ""), part.action_severity or part.severity, part.action))
    for d in part.details:
        out.append(((*base, d.kind, d.path), d.severity, d.text))
    return out


def undone(
    commits: Sequence[tuple[dt.date, str, Sequence[Change]]], final: Sequence[Change]
) -> list[dict[str, Any]]:
    """What the commits of a range changed that the range's own diff (``final``) no longer
    shows: a rule added on day 5 and removed on day 6, a field changed and changed back, an
    instance launched and terminated. One entry per detail (or resource added or removed)
    that a later commit of the range changed again, with the day it was made and the day
    of the last such commit (``undone``); the undoing itself is not listed, nor a detail only
    hidden by what happened to its resource later. Oldest first, worst first within a day."""
    shown = {key for c in final for part in c.parts() for key, _, _ in _traces(part)}
    touched: dict[_Trace, list[int]] = {}
    for n, (_, _, changes) in enumerate(commits):
        for change in changes:
            for part in change.parts():
                for key, _, _ in _traces(part):
                    touched.setdefault(key, []).append(n)
    out = []
    for n, (day, sha, changes) in enumerate(commits):
        for change in changes:
            for part in change.parts():
                for key, severity, text in _traces(part):
                    last = touched[key][-1]
                    if key in shown or last <= n:
                        continue
                    out.append(
                        {
                            "date": day.isoformat(),
                            "undone": commits[last][0].isoformat(),
                            "commit": sha,
                            "severity": severity,
                            "account": part.account,
                            "region": part.region,
                            "type": part.type,
                            "id": part.id,
                            "name": part.name,
                            "text": text,
                        }
                    )
    out.sort(key=lambda u: (u["date"], -severity_rank(u["severity"])))
    return out
