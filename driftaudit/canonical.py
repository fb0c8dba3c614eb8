"""The one canonical serializer.

Every snapshot file and every stdout document goes through :func:`normalize` and
:func:`dumps`, so identical state gives identical bytes whatever the API page order,
region order, thread timing or Python version:

* mapping keys sorted, two-space indent, one trailing newline;
* timestamps as UTC ISO-8601 strings (``2024-05-01T12:00:00Z``);
* ``Tags`` lists of ``{Key, Value}`` turned into a mapping;
* unordered lists sorted by a stable key (declared per resource type, or the item's
  canonical JSON), ordered ones left as AWS gives them;
* volatile fields dropped (declared per resource type, documented in README);
* in YAML every string round-trips exactly: anything a YAML 1.1 or 1.2 reader could take
  for a number, boolean, null or date is quoted, multi-line text is double-quoted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

FORMATS = ("yaml", "json")


class Line(dict):  # type: ignore[type-arg]
    """A flat mapping written on a single line (a security-group rule), so that a
    text diff or ``git log -S`` shows the whole rule as one line."""


@dataclass(frozen=True)
class Spec:
    """How one resource type is normalized. Paths are dotted key names; list levels are
    transparent (``NetworkInterfaces.Attachment.AttachTime``)."""

    drop: frozenset[str] = frozenset()
    ordered: frozenset[str] = frozenset()
    sort_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    one_line: frozenset[str] = frozenset()


DEFAULT_SPEC = Spec()


def iso_utc(value: dt.datetime) -> str:
    """UTC ISO-8601 with a ``Z``; sub-second digits only when present."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    value = value.astimezone(dt.timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}").rstrip("0")
    return text + "Z"


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: the stable sort key of last resort."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _scalar_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, canonical_json(value))


def _item_key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...]:
    if keys and isinstance(item, Mapping):
        return (*(_scalar_key(item.get(k)) for k in keys), canonical_json(item))
    if isinstance(item, (Mapping, list)):
        return ((5, canonical_json(item)),)
    return (_scalar_key(item),)


def _is_tag_list(value: Iterable[Any]) -> bool:
    return all(isinstance(i, Mapping) and "Key" in i for i in value)


def normalize(value: Any, spec: Spec = DEFAULT_SPEC, path: str = "") -> Any:
    """Plain data in, canonical plain data out (pure)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            sub = f"{path}.{key}" if path else key
            if sub in spec.drop or item is None:
                continue
            out[key] = normalize(item, spec, sub)
        return Line(out) if isinstance(value, Line) else out
    if isinstance(value, (list, tuple)):
        if path.rpartition(".")[2] == "Tags" and _is_tag_list(value):
            return {str(t["Key"]): normalize(t.get("Value", ""), spec, path) for t in value}
        items = [normalize(i, spec, path) for i in value]
        if path not in spec.ordered:
            keys = spec.sort_by.get(path, ())
            items.sort(key=lambda i: _item_key(i, keys))
        if path in spec.one_line:
            items = [Line(i) if isinstance(i, Mapping) else i for i in items]
        return items
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


# --- YAML -----------------------------------------------------------------------------

# Plain scalars some YAML reader (1.1 or 1.2, PyYAML, yq, ruamel, Go) would not read back as
# the same string. PyYAML already quotes what *it* would misread; this catches the rest.
_AMBIGUOUS = re.compile(
    r"""^(?:
        [-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?     # 1, 1.5, 1e3, .5, 1_000
      | [-+]?0[xX][0-9a-fA-F_]+ | [-+]?0[oO]?[0-7_]+ | [-+]?0[bB][01_]+
      | [-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?            # sexagesimal 1:30
      | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | (?i:y|n|yes|no|on|off|true|false|null|~)
      | \d{4}-\d\d?-\d\d?(?:[Tt ].*)?                    # dates and timestamps
    )$""",
    re.VERBOSE,
)
# Characters that YAML treats as line breaks or that PyYAML would emit raw.
_SPECIAL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


class _Dumper(yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper):  # type: ignore[misc]
    pass


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if not data or "\n" in data or _AMBIGUOUS.match(data) or _SPECIAL_CHARS.search(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _represent_line(dumper: yaml.SafeDumper, data: Line) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", sorted(data.items()), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Line, _represent_line)


def _dump_yaml(value: Any) -> str:
    return yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        indent=2,
        width=1 << 20,
    )


# --- JSON ------------------------------------------------------------------------------


def _dump_json(value: Any, level: int = 0) -> str:
    pad = "  " * (level + 1)
    if isinstance(value, Line):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        inner = ",\n".join(
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump_json(value[k], level + 1)}"
            for k in sorted(value)
        )
        return "{\n" + inner + "\n" + "  " * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = ",\n".join(pad + _dump_json(v, level + 1) for v in value)
        return "[\n" + inner + "\n" + "  " * level + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps(value: Any, fmt: str = "yaml") -> bytes:
    """Serialize already-normalized data to canonical bytes (UTF-8, trailing newline)."""
    if fmt == "yaml":
        return _dump_yaml(value).encode("utf-8")
    if fmt == "json":
        return (_dump_json(value) + "\n").encode("utf-8")
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def loads(data: bytes | str, fmt: str = "yaml") -> Any:
    """Read a canonical file back into plain data."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    if fmt == "yaml":
        loader = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
        return yaml.load(data, Loader=loader)  # noqa: S506 - safe loader
    if fmt == "json":
        return json.loads(data)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def format_of(path: str) -> str:
    """The format a snapshot file's extension implies."""
    return "json" if path.endswith(".json") else "yaml"
