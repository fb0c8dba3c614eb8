"""AWS Config's configuration items, converted into the documents the collectors write.

A configuration item's ``configuration`` is a JSON string holding the item the type's
Describe call returns, in lowerCamelCase and with Config's quirks: keys whose case is not
simply the member's with a lower first letter (``dNSName``, ``vpczoneIdentifier``), times as
ISO-8601 text or epoch milliseconds (a NAT gateway's ``createTime``), explicit nulls for
absent members, tags as ``[{key, value}]`` (under ``tagSet`` for an interface) or only in the
item's own ``tags`` mapping, and per-type shapes (``ResourceType.config.prepare``).

Conversion is pure and driven by botocore's model of the Describe item: each key is matched
to the member of the same name whatever its case, each value typed as the model says, and
members the model does not have (Config's own additions) left out. The result goes through
the type's own ``transform``, ``normalize`` and id, exactly as a collected item does, so the
same state gives the same bytes; what Config never records (``ConfigRecord.lacks``) is left
out of the document rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape

from driftaudit.canonical import Line
from driftaudit.collect.aws import fast_timestamp
from driftaudit.collect.collectors.base import ConfigRecord, Raw, ResourceType
from driftaudit.collect.engine import build_resources

#: ``configurationItemStatus`` of an item saying the resource is gone.
GONE = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})
#: Statuses of an item holding the resource's configuration.
RECORDED = frozenset({"OK", "ResourceDiscovered"})
#: An epoch number above this is in milliseconds (1e11 s is in the year 5138).
_MILLISECONDS = 10**11


class ItemProblem(ValueError):
    """A configuration item driftaudit cannot read (one line: what and why)."""


@dataclass(frozen=True)
class Converted:
    """What one configuration item says of its resource at ``time``: its document
    (``resource``, with ``id``), that it is gone (``gone``), or nothing known
    (``ResourceNotRecorded``: Config stopped recording it; neither state nor deletion)."""

    time: dt.datetime
    state_id: str
    status: str
    id: str | None = None
    resource: Raw | None = None
    gone: bool = False


@functools.lru_cache(maxsize=64)
def shape(service: str, name: str) -> Shape:
    """A botocore shape by service and name (the models are read once)."""
    from botocore.session import get_session

    return get_session().get_service_model(service).shape_for(name)


@functools.lru_cache(maxsize=4096)
def _members(s: Shape) -> dict[str, tuple[str, Shape]]:
    return {name.lower(): (name, sub) for name, sub in s.members.items()}


def parse_time(value: Any) -> dt.datetime | None:
    """A time as Config writes it: ISO-8601 text, or epoch seconds or milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= _MILLISECONDS else value
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return parse_time(float(text))
        try:
            parsed = fast_timestamp(text)
        except (ValueError, TypeError, OverflowError):
            return None
        if not isinstance(parsed, dt.datetime):
            return None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)
    return None


def typed(value: Any, s: Shape) -> Any:
    """``value`` read as botocore's shape ``s`` would give it; None when it cannot be (a
    null, or a value of another kind: left out, as absent members are)."""
    if value is None:
        return None
    kind = s.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            return None
        members = _members(s)
        out: dict[str, Any] = {}
        for key, item in value.items():
            found = members.get(str(key).lower())
            if found is None:
                continue  # Config's own addition: not part of the Describe item
            converted = typed(item, found[1])
            if converted is not None:
                out[found[0]] = converted
        return out
    if kind == "list":
        if not isinstance(value, list):
            return None
        items = (typed(v, s.member) for v in value)
        return [v for v in items if v is not None]
    if kind == "map":
        if not isinstance(value, Mapping):
            return None
        entries = ((str(k), typed(v, s.value)) for k, v in value.items())
        return {k: v for k, v in entries if v is not None}
    if kind == "timestamp":
        return parse_time(value)
    if kind in ("integer", "long"):
        if isinstance(value, bool):
            return None
        try:
            return int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None
    if kind in ("float", "double"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, (Mapping, list)):
        return None
    return (
        value
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


def configuration_of(item: Mapping[str, Any]) -> Any:
    """The item's ``configuration``: a JSON string (``"null"`` for a deleted resource), or
    already a mapping (as some readers of Config's files give it)."""
    value = item.get("configuration")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError) as e:
            raise ItemProblem(f"its configuration is not JSON ({e})") from e
    return value


def tag_list(value: Any) -> list[Raw] | None:
    """Config's ``tags`` mapping as the ``[{Key, Value}]`` list AWS's Describe calls give."""
    if not isinstance(value, Mapping) or not value:
        return None
    return [{"Key": str(k), "Value": "" if v is None else str(v)} for k, v in value.items()]


def describe_item(rtype: ResourceType, item: Mapping[str, Any], configuration: Raw) -> Raw:
    """The item the type's Describe call gives, from Config's ``configuration`` (pure)."""
    record = _record(rtype)
    config_type = str(item.get("resourceType"))
    if config_type not in record.types:
        raise ItemProblem(f"resource type {config_type!r} is not one of {rtype.name}'s")
    service, name = record.types[config_type]
    if record.prepare is not None:
        configuration = record.prepare(configuration, dict(item))
    out: Raw = typed(configuration, shape(service, name)) or {}
    for member, (extra_service, extra_name) in record.extra.items():
        found = next(
            (v for k, v in configuration.items() if str(k).lower() == member.lower()), None
        )
        value = typed(found, shape(extra_service, extra_name))
        if value is not None:
            out[member] = value
    if "Tags" not in out and "TagSet" not in out:
        # Types whose configuration carries no tags (load balancers, Auto Scaling groups,
        # the CloudFormation-shaped ones): the item's own tags mapping.
        tags = tag_list(item.get("tags"))
        if tags is not None:
            out["Tags"] = tags
    return out


def convert(rtype: ResourceType, item: Mapping[str, Any]) -> Converted:
    """What one configuration item says of its resource (pure). ItemProblem when the item
    cannot be read: the caller names it and leaves the item out."""
    time = parse_time(item.get("configurationItemCaptureTime"))
    if time is None:
        raise ItemProblem("it has no configurationItemCaptureTime")
    status = str(item.get("configurationItemStatus") or "OK")
    state_id = str(item.get("configurationStateId") or "")
    if status in GONE:
        return Converted(time, state_id, status, gone=True)
    if status not in RECORDED:
        return Converted(time, state_id, status)
    configuration = configuration_of(item)
    if not isinstance(configuration, Mapping):
        raise ItemProblem(f"status {status} but its configuration is {configuration!r}")
    raw = describe_item(rtype, item, dict(configuration))
    try:
        built = build_resources(rtype, [raw])
    except (KeyError, TypeError, ValueError) as e:
        raise ItemProblem(f"its configuration lacks what a {rtype.label} has ({e!r})") from e
    if not built:
        # Left out as the collector leaves it out (a terminated instance, a deleted NAT
        # gateway): gone from the snapshot, as it would be from a collected one.
        return Converted(time, state_id, status, gone=True)
    (resource_id, resource), *_ = built.items()
    return Converted(time, state_id, status, resource_id, without(resource, _record(rtype).lacks))


def without(resource: Raw, paths: Mapping[str, str] | tuple[str, ...]) -> Raw:
    """``resource`` without the members at ``paths`` (dotted, lists transparent): what
    Config never records is left out, never guessed. Pure; one-line mappings stay so."""
    out = resource
    for path in paths:
        out = _drop(out, path.split("."))
    return out


def _drop(value: Any, parts: list[str]) -> Any:
    if isinstance(value, list):
        return [_drop(v, parts) for v in value]
    if not isinstance(value, Mapping) or parts[0] not in value:
        return value
    kind = Line if isinstance(value, Line) else dict
    if len(parts) == 1:
        return kind({k: v for k, v in value.items() if k != parts[0]})
    return kind({k: (_drop(v, parts[1:]) if k == parts[0] else v) for k, v in value.items()})


def _record(rtype: ResourceType) -> ConfigRecord:
    if rtype.config is None:
        raise ItemProblem(f"AWS Config does not record {rtype.name}")
    return rtype.config
