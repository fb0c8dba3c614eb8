"""What the commands call: one attribution run over a history answer or a diff, with the
sessions of the snapshot's accounts and the cache of the snapshot directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftaudit.attribution.cache import Cache
from driftaudit.attribution.lookup import Lookups
from driftaudit.attribution.sessions import Sessions


def lookups_for(directory: Path, config: Path | None) -> Lookups:
    """Lookups with the credentials ``config`` (driftaudit.yaml) gives, cached in
    ``directory``'s ``.driftaudit/cloudtrail``."""
    return Lookups(Sessions.from_config(config), Cache(directory))


def summary(lookups: Lookups) -> str:
    """The line said on stderr: what asking cost."""
    s = lookups.stats
    return (
        f"CloudTrail: {s.lookups} lookup(s), {s.calls} LookupEvents call(s), "
        f"{s.cached} answered from {Path('.driftaudit') / 'cloudtrail'}"
    )


def history(result: dict[str, Any], index: Any, directory: Path) -> str:
    """Attribute a history answer (``index`` still open: an exposure's causes name holders
    of the address). Returns the summary line."""
    from driftaudit.attribution.fromhistory import attribute, document_reader
    from driftaudit.change.rangediff import repository_config
    from driftaudit.gitrepo import open_repo
    from driftaudit.history.queries import ip_history

    repo, _ = open_repo(directory)
    lookups = lookups_for(directory, repository_config(repo, None))
    address = (result.get("query") or {}).get("address")

    def holders() -> list[dict[str, Any]]:
        return list(ip_history(index, address)["holders"]) if address else []

    attribute(result, lookups, document_reader(directory), holders)
    return summary(lookups)


def ipam(result: dict[str, Any], index: Any, directory: Path, at: Any) -> None:
    """Add IPAM's history of the address to an ip answer (``result["ipam"]``)."""
    import datetime as dt

    from driftaudit.attribution.ipam import ipam_history, targets_of
    from driftaudit.change.rangediff import repository_config
    from driftaudit.gitrepo import open_repo

    repo, _ = open_repo(directory)
    sessions = Sessions.from_config(repository_config(repo, None))
    result["ipam"] = ipam_history(
        sessions,
        targets_of(index),
        result["query"]["address"],
        at,
        dt.datetime.now(dt.timezone.utc),
    )


def diff(report: dict[str, Any], result: Any, directory: Path, config: Path | None) -> str:
    """Attribute a diff's report model (its changes in the order of ``result.changes``),
    with the credentials of ``config`` (``--config``, else the repository's driftaudit.yaml).
    Returns the summary line."""
    import time

    from driftaudit.attribution.fromdiff import attribute
    from driftaudit.change.rangediff import repository_config
    from driftaudit.gitrepo import open_repo
    from driftaudit.times import iso

    repo, _ = open_repo(directory)
    lookups = lookups_for(directory, repository_config(repo, config))
    # The working tree is as of now; the empty tree (before the first snapshot) bounds
    # nothing.
    end = result.new.time or iso(int(time.time()))
    unmatched = attribute(report, result.changes, lookups, result.old.time, end)
    line = summary(lookups)
    if unmatched:
        line += f"; {unmatched} change(s) of kinds no CloudTrail event is matched to"
    return line
