"""Did the job run? (for the mail of ``report``): the runs of a snapshot directory recorded on
HEAD's first-parent chain, and whether the last one is older than expected at a given time.
The only part of a report that depends on the clock, so only a mailed report says it."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from pathlib import Path

from driftaudit.change.rangediff import DiffResult, is_run
from driftaudit.gitrepo import Repo, open_repo
from driftaudit.layout import pathspecs


def run_times(repo: Repo, rel: str, limit: int = 60) -> list[dt.datetime]:
    """The times of the runs of DIR among the last ``limit`` first-parent commits of HEAD,
    newest first: to tell whether the job ran."""
    if not repo.has_commits():
        return []
    first_parent = ("--first-parent", f"-{limit}", "HEAD")
    touched = set(repo.out("rev-list", *first_parent, "--", *pathspecs(rel)).split())
    out = []
    for record in repo.out("log", *first_parent, "-z", "--format=%H %ct%n%B").split("\0"):
        header, _, body = record.strip("\n").partition("\n")
        if header and is_run(header.split()[0], body, rel, touched):
            out.append(dt.datetime.fromtimestamp(int(header.split()[1]), dt.timezone.utc))
    return out


def overdue(times: Sequence[dt.datetime], now: dt.datetime) -> str | None:
    """Why the job seems not to have run, or None: no run recorded, or the last one
    (``times``, newest first) older than one and a half times the usual interval between
    runs (their median; a day when fewer than two intervals are known), as ``history --at``
    warns."""
    if not times:
        return "no snapshot run is recorded"
    gaps = [(a - b).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    usual = statistics.median(gaps) if len(gaps) >= 2 else 86400.0
    age = (now - times[0]).total_seconds()
    if age <= 1.5 * max(usual, 60.0):
        return None
    last = times[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"the last snapshot run is from {last}, {_span(age)} ago, while runs are usually "
        f"{_span(usual)} apart: did the job run?"
    )


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def run_alerts(directory: Path, result: DiffResult, now: dt.datetime) -> list[str]:
    """What says the job did not run, for a mail: no run recorded in the range (``report
    BEFORE HEAD`` after a snapshot that could not commit), and the last run of DIR older
    than expected at ``now`` (:func:`overdue`)."""
    alerts = []
    if result.ran is False:
        alerts.append(
            f"no snapshot run is recorded from {result.old.label} to {result.new.label}: "
            "the snapshot did not commit"
        )
    repo, rel = open_repo(directory)
    late = overdue(run_times(repo, rel), now)
    if late is not None:
        alerts.append(late)
    return alerts
