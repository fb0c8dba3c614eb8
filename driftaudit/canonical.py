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
import functools
import json
import re
import uuid
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
      | [-+]?\d[\d_]*\.[\d_]*(?:[eE][-+]?\d+)?           # 1., 1.e+5, 1_000. (YAML 1.1 floats)
      | [-+]?0[xX][0-9a-fA-F_]+ | [-+]?0[oO]?[0-7_]+ | [-+]?0[bB][01_]+
      | [-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?            # sexagesimal 1:30
      | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | (?i:y|n|yes|no|on|off|true|false|null|~)
      | \d{4}-\d\d?-\d\d?(?:[Tt ].*)?                    # dates and timestamps
    )$""",
    re.VERBOSE,
)
# Plain (unquoted) only for plainly safe text: ids, names, CIDRs, ARNs, words with spaces.
# Everything else is double-quoted, so no reader can take it for anything but that string.
_PLAIN = re.compile(r"[A-Za-z0-9_/$.][A-Za-z0-9_ /$.@:+=()-]*")
# Characters JSON leaves raw but YAML treats as line breaks, BOM or non-printable.
_YAML_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
# YAML readers refuse simple (implicit) keys longer than 1024 characters.
_LONG_KEY = 1000


def _quoted(text: str) -> str:
    body = json.dumps(text, ensure_ascii=False)
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", body)


@functools.lru_cache(maxsize=1 << 16)
def _yaml_str(text: str) -> str:
    # Cached: the same ids, names, zones and CIDRs recur in thousands of files of one run.
    if (
        _PLAIN.fullmatch(text)
        and not text.endswith((" ", ":"))
        and ": " not in text
        and not _AMBIGUOUS.match(text)
    ):
        return text
    return _quoted(text)


def written_plain(text: str) -> bool:
    """Whether the emitter writes ``text`` unquoted (driftaudit.canonread reads
    only such plain scalars as strings)."""
    return _yaml_str(text) == text


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, str):
        return _yaml_str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # YAML 1.1 (PyYAML) reads 1e-05 as a string: give the mantissa a dot.
        if "e" in text and "." not in text.split("e")[0]:
            text = text.replace("e", ".0e", 1)
        return text
    return _quoted(str(value))


def _yaml_key(key: Any, pad: str) -> str:
    """``key:``, or for a very long key the explicit form ``? key`` / ``:``."""
    text = _yaml_scalar(str(key))
    if len(text) > _LONG_KEY:
        return f"{pad}? {text}\n{pad}:"
    return f"{pad}{text}:"


def _yaml_flow(item: Any) -> str:
    """A value in flow style (one line): ``{k: v, ...}``, ``[a, b]`` or a scalar."""
    if isinstance(item, Mapping):
        pairs = (f"{_yaml_scalar(k)}: {_yaml_flow(item[k])}" for k in sorted(item))
        return "{" + ", ".join(pairs) + "}"
    if isinstance(item, list):
        return "[" + ", ".join(_yaml_flow(i) for i in item) + "]"
    return _yaml_scalar(item)


def _yaml_block(value: Any, level: int, out: list[str]) -> None:
    """Append the lines of a non-empty mapping or list at ``level`` spaces."""
    pad = " " * level
    if isinstance(value, Mapping):
        for key in sorted(value):
            head = _yaml_key(key, pad)
            item = value[key]
            if isinstance(item, (Mapping, list)) and item and not isinstance(item, Line):
                out.append(head)
                _yaml_block(item, level + 2 if isinstance(item, Mapping) else level, out)
            else:
                out.append(f"{head} {_yaml_inline(item)}")
        return
    for item in value:
        if isinstance(item, Line) or not isinstance(item, (Mapping, list)) or not item:
            out.append(f"{pad}- {_yaml_inline(item)}")
        elif isinstance(item, Mapping):
            lines: list[str] = []
            _yaml_block(item, level + 2, lines)
            out.append(f"{pad}- {lines[0][level + 2 :]}")
            out.extend(lines[1:])
        else:
            out.append(f"{pad}-")
            _yaml_block(item, level + 2, out)


def _yaml_inline(value: Any) -> str:
    if isinstance(value, Line):
        return _yaml_flow(value)
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def _dump_yaml(value: Any) -> str:
    if isinstance(value, (Mapping, list)) and value and not isinstance(value, Line):
        lines: list[str] = []
        _yaml_block(value, 0, lines)
        return "\n".join(lines) + "\n"
    return _yaml_inline(value) + "\n"


# --- JSON ------------------------------------------------------------------------------


def _dump_json(value: Any) -> str:
    """json.dumps (indent 2, sorted keys), with each :class:`Line` on one line: lines are
    swapped for placeholder strings (with a per-call nonce no data can contain), then back."""
    lines: list[str] = []
    nonce = uuid.uuid4().hex

    def swap(v: Any) -> Any:
        if isinstance(v, Line):
            lines.append(json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(", ", ": ")))
            return f"{nonce}:{len(lines) - 1}"
        if isinstance(v, Mapping):
            return {k: swap(i) for k, i in v.items()}
        if isinstance(v, list):
            return [swap(i) for i in v]
        return v

    text = json.dumps(swap(value), sort_keys=True, ensure_ascii=False, indent=2)
    if not lines:
        return text
    return re.sub(f'"{nonce}:(\\d+)"', lambda m: lines[int(m.group(1))], text)


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
