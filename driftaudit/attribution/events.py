"""CloudTrail events as LookupEvents returns them, read into what attribution needs (pure).

A LookupEvents ``Event`` carries ``EventId``, ``EventName``, ``EventTime``, ``Username``,
``Resources`` and ``CloudTrailEvent``: the whole record as a JSON string, with the exact
``eventTime``, the ``userIdentity`` (who: an ARN, the service that invoked the call on their
behalf, the role a session was issued by) and the call's ``requestParameters`` and
``responseElements``. EC2 writes these in its XML wire form: lists as ``{"items": [...]}``
(sometimes ``{"item": [...]}``), an empty list as ``{}``, wire names (``groups``,
``instancesSet``), some times in epoch milliseconds. A failed call has an ``errorCode``: it
changed nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driftaudit.textsafe import one_line
from driftaudit.times import iso


class EventError(ValueError):
    """An event that cannot be read (no id, no time, a record that is not JSON)."""


def items(value: Any) -> list[Any]:
    """The members of a list in EC2's XML wire form: ``{"items": [...]}`` or ``{"item":
    [...]}`` (one member may come bare), ``{}`` or null for none, or a plain list."""
    if value is None or value == {} or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        for key in ("items", "item"):
            if key in value:
                inner = value[key]
                if inner is None:
                    return []
                return inner if isinstance(inner, list) else [inner]
        return [value]
    return [value]


def epoch(value: Any) -> int | None:
    """Seconds since the epoch of an event time: a datetime (botocore), ISO-8601 text (the
    record, a cache file), or a number (epoch seconds, or milliseconds when that large)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp())
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value / 1000 if value > 1e11 else value)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return epoch(parsed)
    return None


@dataclass(frozen=True)
class Actor:
    """Who made the call."""

    #: userIdentity.arn; for a call with none (an AWS service's own), the service or type.
    principal: str
    #: userIdentity.type: IAMUser, AssumedRole, Root, AWSService, FederatedUser...
    kind: str
    #: The AWS service that made the call on the principal's behalf
    #: (autoscaling.amazonaws.com, cloudformation.amazonaws.com).
    invoked_by: str | None = None
    #: For an assumed role's session, the role it was issued by.
    session_issuer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "type": self.kind,
            "invoked_by": self.invoked_by,
            "session_issuer": self.session_issuer,
        }


@dataclass(frozen=True)
class Event:
    """One CloudTrail management event, as far as attribution reads it."""

    id: str
    name: str
    time: int  # the record's eventTime, seconds since the epoch
    source: str  # ec2.amazonaws.com
    region: str
    account: str  # recipientAccountId
    actor: Actor
    #: errorCode of a failed call (it changed nothing), else None.
    error: str | None
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    source_ip: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """What an answer shows of the event (JSON)."""
        return {
            "id": self.id,
            "name": self.name,
            "time": iso(self.time),
            "account": self.account,
            "region": self.region,
            **self.actor.as_dict(),
        }


def _actor(identity: Any, username: Any) -> Actor:
    ident = identity if isinstance(identity, Mapping) else {}
    kind = str(ident.get("type") or "")
    context = ident.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, Mapping) else None
    issuer_arn = issuer.get("arn") if isinstance(issuer, Mapping) else None
    principal = ident.get("arn") or ident.get("invokedBy") or username or kind or "unknown"
    invoked = ident.get("invokedBy")
    return Actor(
        one_line(str(principal)),
        kind,
        one_line(str(invoked)) if invoked else None,
        one_line(str(issuer_arn)) if issuer_arn else None,
    )


def parse_event(raw: Mapping[str, Any]) -> Event:
    """A LookupEvents ``Event`` (as botocore returns it, or as a cache file keeps it) read.
    EventError when it has no id or time, or its record is not a JSON object."""
    text = raw.get("CloudTrailEvent")
    try:
        record = json.loads(text) if isinstance(text, str) else {}
    except ValueError as e:
        raise EventError(f"event {raw.get('EventId')!r}: CloudTrailEvent is not JSON") from e
    if not isinstance(record, Mapping):
        raise EventError(f"event {raw.get('EventId')!r}: CloudTrailEvent is not an object")
    event_id = raw.get("EventId") or record.get("eventID")
    time = epoch(record.get("eventTime")) or epoch(raw.get("EventTime"))
    if not isinstance(event_id, str) or not event_id or time is None:
        raise EventError(f"event {event_id!r}: no id or no time")
    request = record.get("requestParameters")
    response = record.get("responseElements")
    error = record.get("errorCode")
    return Event(
        id=one_line(event_id),
        name=one_line(str(record.get("eventName") or raw.get("EventName") or "")),
        time=time,
        source=str(record.get("eventSource") or raw.get("EventSource") or ""),
        region=str(record.get("awsRegion") or ""),
        account=str(record.get("recipientAccountId") or ""),
        actor=_actor(record.get("userIdentity"), raw.get("Username")),
        error=one_line(str(error)) if error else None,
        request=request if isinstance(request, Mapping) else {},
        response=response if isinstance(response, Mapping) else {},
        source_ip=str(record["sourceIPAddress"]) if record.get("sourceIPAddress") else None,
    )
