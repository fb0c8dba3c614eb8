"""Reading back the YAML that :mod:`driftaudit.canonical` writes, several times faster than
LibYAML (whose constructor runs in Python for every node).

:func:`read` parses only the shapes the canonical emitter produces (block mappings at
two-space steps, block lists at their key's indent, one-line flow mappings and lists, plain
and JSON-style double-quoted scalars) and gives up (:class:`NotCanonical`) on anything else.
It is an optimistic reader, not a YAML parser: a text it reads is trusted only once its
caller has written the data back and got the same bytes (:func:`read_canonical`). That is
safe because on the emitter's own output the reader is the emitter's exact inverse
(``read(dumps(x)) == x``, types included: tests/test_canonread.py holds it to that on every
shape), and a YAML reader reads the emitter's output back as the same data (the canonical
form's guarantee, tests/test_canonical_fuzz.py). So when ``dumps(normalize(read(t))) == t``,
``read(t)`` is what LibYAML would have read. Everything else (hand edits, comments, anchors,
other quoting) goes to the full YAML reader, which names the problem and its line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
# repr() of a float, with the mantissa's dot the emitter adds before an exponent.
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+(?:e[-+][0-9]+)?")
_SPECIAL: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    ".nan": float("nan"),
    ".inf": float("inf"),
    "-.inf": float("-inf"),
}
_DECODE = json.JSONDecoder().raw_decode


class NotCanonical(ValueError):
    """The text is not in the shape the canonical emitter writes."""


def _scalar(token: str) -> Any:
    """A plain or double-quoted scalar taking up all of ``token``."""
    if not token:
        raise NotCanonical("empty value")
    first = token[0]
    if first == '"':
        value, end = _DECODE(token)
        if end != len(token):
            raise NotCanonical("text after a quoted string")
        return value
    if first == "{" or first == "[":
        value, end = _flow(token, 0)
        if end != len(token):
            raise NotCanonical("text after a flow collection")
        return value
    if token in _SPECIAL:
        return _SPECIAL[token]
    if first in "-0123456789":
        if _INT.fullmatch(token):
            return int(token)
        if _FLOAT.fullmatch(token):
            return float(token)
    # Any other text is taken as the string it spells; if YAML would read it otherwise
    # (a bool, a date...), the emitter quotes it and the caller's comparison fails.
    return token


def _flow(text: str, i: int) -> tuple[Any, int]:
    """A flow mapping or list starting at ``text[i]``: (value, index after it)."""
    if text[i] == "{":
        out: dict[str, Any] = {}
        if text.startswith("{}", i):
            return out, i + 2
        i += 1
        while True:
            key, i = _flow_item(text, i, ": ")
            if not text.startswith(": ", i):
                raise NotCanonical("a flow mapping key without a value")
            value, i = _flow_item(text, i + 2, ", }")
            out[key if isinstance(key, str) else str(key)] = value
            if text.startswith(", ", i):
                i += 2
            elif text.startswith("}", i):
                return out, i + 1
            else:
                raise NotCanonical("a flow mapping does not close")
    items: list[Any] = []
    if text.startswith("[]", i):
        return items, i + 2
    i += 1
    while True:
        value, i = _flow_item(text, i, ", ]")
        items.append(value)
        if text.startswith(", ", i):
            i += 2
        elif text.startswith("]", i):
            return items, i + 1
        else:
            raise NotCanonical("a flow list does not close")


def _flow_item(text: str, i: int, stops: str) -> tuple[Any, int]:
    """A value inside a flow collection: quoted, nested, or plain up to a stop."""
    if i >= len(text):
        raise NotCanonical("a flow collection ends early")
    first = text[i]
    if first == '"':
        value, end = _DECODE(text, i)
        return value, end
    if first == "{" or first == "[":
        return _flow(text, i)
    # A plain scalar holds no ',', '{', '}', '[' or ']' and no ': ' (the emitter quotes
    # those), so it ends at the first of them.
    if stops == ": ":
        end = text.find(": ", i)
    else:
        ends = [e for e in (text.find(",", i), text.find("}", i), text.find("]", i)) if e >= 0]
        end = min(ends) if ends else -1
    if end <= i:
        raise NotCanonical("a flow value is empty or does not end")
    return _scalar(text[i:end]), end


def _key(line: str, start: int) -> tuple[str, str | None]:
    """(key, value text or None for a block value) of ``key: value`` / ``key:`` at
    ``line[start:]``."""
    if line.startswith('"', start):
        key, end = _DECODE(line, start)
        if not isinstance(key, str):
            raise NotCanonical("a quoted key that is not a string")
    else:
        end = line.find(": ", start)
        if end < 0:
            end = len(line) - 1
        key = line[start:end]
        if not key or key[0] in "-?{[\"'#&*!|>%@`":
            raise NotCanonical("not a mapping key")
    rest = line[end:]
    if rest == ":":
        return key, None
    if not rest.startswith(": "):
        raise NotCanonical("a key without ': '")
    return key, rest[2:]


class _Lines:
    """The text's lines and a cursor; ``first`` stands in for the current line's text
    after a list item's ``- `` (the item's first key)."""

    def __init__(self, text: str) -> None:
        if not text.endswith("\n"):
            raise NotCanonical("no final newline")
        self.lines = text.split("\n")
        self.lines.pop()
        self.i = 0


def _at(line: str, indent: int) -> bool:
    """Whether ``line`` starts with exactly ``indent`` spaces."""
    return line.startswith(" " * indent) and line[indent : indent + 1] not in (" ", "")


def _mapping(src: _Lines, indent: int, first: str | None = None) -> dict[str, Any]:
    """A block mapping whose keys are at ``indent`` (the first one possibly given as the
    rest of a list item's line)."""
    out: dict[str, Any] = {}
    lines = src.lines
    pad = " " * indent
    while src.i < len(lines):
        if first is not None:
            line, start, first = first, 0, None
        else:
            line = lines[src.i]
            if not line.startswith(pad) or line[indent : indent + 1] in (" ", "", "-"):
                break
            start = indent
        key, rest = _key(line, start)
        src.i += 1
        if key in out:
            raise NotCanonical("a duplicate key")
        out[key] = _scalar(rest) if rest is not None else _block(src, indent)
    if not out:
        raise NotCanonical("an empty block mapping")
    return out


def _block(src: _Lines, indent: int) -> Any:
    """The block value of a ``key:`` line at ``indent``: a list at the same indent (the
    emitter writes lists under their key without indenting) or a mapping two deeper."""
    if src.i >= len(src.lines):
        raise NotCanonical("a key without a value")
    line = src.lines[src.i]
    if _at(line, indent) and (line.startswith("- ", indent) or len(line) == indent + 1):
        return _list(src, indent)
    return _mapping(src, indent + 2)


def _list(src: _Lines, indent: int) -> list[Any]:
    items: list[Any] = []
    lines = src.lines
    pad = " " * indent
    item = pad + "- "
    nested = pad + "-"
    while src.i < len(lines):
        line = lines[src.i]
        if line == nested:
            src.i += 1
            items.append(_list(src, indent + 2))
            continue
        if not line.startswith(item):
            break
        rest = line[indent + 2 :]
        if _is_scalar_item(rest):
            items.append(_scalar(rest))
            src.i += 1
        else:
            items.append(_mapping(src, indent + 2, first=rest))
    return items


def _is_scalar_item(rest: str) -> bool:
    """Whether a list item's text is a value (a scalar or a flow collection) rather than
    its mapping's first key: a plain value holds no ': ' and does not end with ':'."""
    first = rest[:1]
    if first == "{" or first == "[":
        return True
    if first == '"':
        end = _DECODE(rest)[1]
        return end == len(rest)
    return ": " not in rest and not rest.endswith(":")


def read(text: str) -> Any:
    """The data of a text in the canonical emitter's shape; NotCanonical otherwise. Trust
    the result only after writing it back gives ``text`` (see the module docstring)."""
    src = _Lines(text)
    if not src.lines:
        raise NotCanonical("empty")
    if len(src.lines) == 1 and not _looks_like_key(src.lines[0]):
        value = _scalar(src.lines[0])
    else:
        value = _mapping(src, 0)
    if src.i != len(src.lines):
        raise NotCanonical(f"line {src.i + 1} is not where the canonical form puts it")
    return value


def _looks_like_key(line: str) -> bool:
    try:
        _key(line, 0)
    except (NotCanonical, ValueError):
        return False
    return True


def read_canonical(text: str, write: Callable[[Any], str]) -> Any:
    """``read(text)`` when ``write`` (normalize and dump) gives ``text`` back: the data a
    YAML reader would have read. NotCanonical otherwise (use a YAML reader)."""
    try:
        value = read(text)
    except (NotCanonical, ValueError, IndexError, RecursionError) as e:
        raise NotCanonical(str(e)) from e
    if write(value) != text:
        raise NotCanonical("not what the emitter writes")
    return value
