"""The AWS Config calls of a backfill: dumb (call, page, return what AWS gave), read-only
(``Describe*``, ``List*``, ``Get*``: the session's guard refuses anything else).

* DescribeConfigurationRecorders and DescribeConfigurationRecorderStatus: what is recorded,
  how often, since when (the coverage report);
* ListDiscoveredResources with ``includeDeletedResources``: every resource Config knows of a
  type, deleted ones with their ``resourceDeletionTime``;
* GetResourceConfigHistory: one resource's items, in windows of at most seven days chosen
  by :mod:`driftaudit.backfill.windows`, each window's pages followed to the end (a quiet
  week is an empty page, with a ``nextToken`` when more is to come).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from driftaudit.backfill import windows
from driftaudit.backfill.convert import parse_time
from driftaudit.collect.collectors.base import Raw, paginate

#: Every AWS Config operation a backfill calls (README's policy for it is made of these).
OPERATIONS = (
    "DescribeConfigurationRecorderStatus",
    "DescribeConfigurationRecorders",
    "GetResourceConfigHistory",
    "ListDiscoveredResources",
)


def iam_policy() -> dict[str, Any]:
    """What a backfill needs beyond the read-only policy of the snapshot (README)."""
    statement = {
        "Sid": "DriftauditBackfillFromConfig",
        "Effect": "Allow",
        "Action": [f"config:{op}" for op in OPERATIONS],
        "Resource": "*",
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


#: Items per GetResourceConfigHistory page: AWS's maximum.
PAGE = 100
#: What GetResourceConfigHistory answers for a resource Config never recorded.
NOT_DISCOVERED = "ResourceNotDiscoveredException"


@dataclass
class Recorders:
    recorders: list[Raw]
    statuses: list[Raw]


def recorders(client: Any) -> Recorders:
    found = client.describe_configuration_recorders().get("ConfigurationRecorders", [])
    status = client.describe_configuration_recorder_status().get("ConfigurationRecordersStatus", [])
    return Recorders(list(found), list(status))


def discovered(client: Any, resource_type: str) -> list[Raw]:
    """Every resource of ``resource_type`` Config knows of, deleted ones included."""
    return paginate(
        client,
        "list_discovered_resources",
        "resourceIdentifiers",
        resourceType=resource_type,
        includeDeletedResources=True,
        limit=PAGE,
    )


@dataclass
class History:
    """One resource's items as read (newest first), and what reading them cost."""

    resource_type: str
    resource_id: str
    items: list[Raw] = field(default_factory=list)
    calls: int = 0
    #: Config has no item of it (ResourceNotDiscoveredException).
    not_discovered: bool = False


def seen(item: Raw) -> windows.Seen | None:
    time = parse_time(item.get("configurationItemCaptureTime"))
    if time is None:
        return None
    return windows.Seen(time, item.get("configurationItemStatus") == "ResourceDiscovered")


def read_history(
    client: Any,
    resource_type: str,
    resource_id: str,
    need: windows.Need,
    on_call: Callable[[], None] = lambda: None,
) -> History:
    """The items of one resource that ``need`` calls for, window by window, newest first.
    An error other than "not discovered" is raised: the caller records the resource as not
    read (never as one without history)."""
    history = History(resource_type, resource_id)
    known: set[tuple[str, str]] = set()
    window = windows.first_window(need)
    while window is not None:
        earlier, later = window
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "resourceType": resource_type,
                "resourceId": resource_id,
                "earlierTime": earlier,
                "laterTime": later,
                "limit": PAGE,
            }
            if token:
                params["nextToken"] = token
            history.calls += 1
            on_call()
            try:
                page = client.get_resource_config_history(**params)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") == NOT_DISCOVERED:
                    history.not_discovered = True
                    return history
                raise
            for item in page.get("configurationItems", []):
                # Windows meet at their edges: an item there may come twice.
                key = (
                    str(item.get("configurationStateId")),
                    str(item.get("configurationItemCaptureTime")),
                )
                if key not in known:
                    known.add(key)
                    history.items.append(item)
            token = page.get("nextToken") or None
            if token is None:
                break
        marks = [s for s in (seen(i) for i in history.items) if s is not None]
        window = windows.next_window(need, earlier, marks)
    return history


def as_json(value: Any) -> Any:
    """An item as botocore gave it, made JSON-able (times as ISO-8601 text): checkpoints
    keep it, and :mod:`driftaudit.backfill.convert` reads either form."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return value
