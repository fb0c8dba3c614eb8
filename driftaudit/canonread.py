"""Reading the YAML driftaudit writes, fast: a strict line reader for the shapes
:mod:`driftaudit.canonical`'s emitter produces; anything else is left to the full parser.

``validate`` (a whole tree per pre-commit hook) and the history index (every file of every
commit it reads) read tens of thousands of the tool's own files, and LibYAML's loader spends
most of its time constructing Python objects node by node (about 0.7 ms for an instance's
100 lines). :func:`read` reads only what the emitter writes (block mappings at two-space
steps, lists at their key's indent, one-line flow mappings and lists, plain scalars the
emitter leaves unquoted, JSON-style double-quoted ones) and declines everything else with
one exception, :class:`NotCanonical` ("not mine: use the full parser"), so it never has to
decide what a hand-edited construct means. Whatever it accepts has one meaning in YAML, the
one it gives:

* a plain scalar is a string only if the emitter itself would write that string unquoted
  (``canonical.written_plain``) and none of YAML 1.1's implicit types (PyYAML's resolvers,
  the ones LibYAML's loader applies) claims it; otherwise only ``true``, ``false``,
  ``null``, ``.nan``, ``.inf``, ``-.inf``, decimal integers without a leading zero and
  floats as the emitter writes them, each what YAML 1.1 reads;
* a double-quoted scalar holds only escapes JSON and YAML read alike (no surrogate pairs);
* the text holds no character YAML treats as a line break or refuses (tabs, carriage
  returns, NEL, line and paragraph separators, control characters, a byte-order mark);
* no duplicate keys, anchors, aliases, tags, comments, block scalars, explicit keys or
  document markers, no key over 1,000 characters (the full parser decides what those mean,
  and refuses what it refuses);
* the document is a block mapping (what every snapshot file is).

So on any text it reads, the result is the one LibYAML gives, types included
(tests/test_canonread.py holds it to that on generated documents of every type, hostile
strings, hand-edited and randomly damaged texts). Two guarantees follow, one per caller:

* ``validate``: the reader is the emitter's exact inverse on everything it accepts
  (``read(dumps(x)) == x``, since a YAML reader reads the emitter's output back as the same
  data: tests/test_canonical_fuzz.py), so its fast path (read, write back, compare byte for
  byte) finds what the full path (LibYAML) finds;
* the history index (:func:`parse_document`): a file gives the same answers however it is
  written; hand edits, comments, other quoting and JSON get the full parser's answer,
  message and line included. JSON goes to ``json.loads`` (already C).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml

from driftaudit import layout
from driftaudit.canonical import written_plain

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
# The emitter's floats: repr() with a dot in the mantissa (YAML 1.1 needs it).
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+(?:e[-+][0-9]+)?")
_SPECIAL: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    ".nan": float("nan"),
    ".inf": float("inf"),
    "-.inf": float("-inf"),
}
# Characters outside what the emitter leaves raw: YAML line breaks (\r, NEL, U+2028/9),
# tabs, control characters, the byte-order mark, surrogates (only escaped, as \\uXXXX).
_REFUSED = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# Escapes that JSON and YAML read alike; \\/ and surrogate pairs are left to the full parser.
_ESCAPE = re.compile(r'\\(?:["\\nrtbf]|u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))')
_DECODE = json.JSONDecoder().raw_decode
# YAML limits an implicit key to 1,024 characters (LibYAML refuses a longer one); the emitter
# writes a block key over 1,000 as an explicit ``? key``, which is left to the full parser.
_LONGEST_KEY = 1000


class NotCanonical(ValueError):
    """The text is not in the shape the canonical emitter writes: use the full parser."""


#: YAML 1.1's implicit types by first character, as PyYAML (and so LibYAML's loader)
#: resolves plain scalars.
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers


@functools.lru_cache(maxsize=1 << 16)
def _plain_string(token: str) -> bool:
    """Whether a plain scalar is the string it spells: one the emitter writes unquoted and
    that no implicit type of YAML 1.1 claims (the emitter leaves ``1.`` and ``._`` plain,
    which PyYAML reads as floats)."""
    if not written_plain(token):
        return False
    return not any(regexp.match(token) for _, regexp in _RESOLVERS.get(token[0], ()))


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The double-quoted string at ``text[start]``: (value, index after it)."""
    value, end = _DECODE(text, start)
    if not isinstance(value, str):
        raise NotCanonical("not a string")
    if "\\" in text[start:end] and "\\" in _ESCAPE.sub("", text[start:end]):
        raise NotCanonical("an escape YAML reads otherwise")
    return value, end


def _scalar(token: str) -> Any:
    """A scalar (or one-line flow collection) taking up all of ``token``."""
    if not token:
        raise NotCanonical("no value")
    first = token[0]
    if first == '"':
        value, end = _quoted(token, 0)
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
    if _plain_string(token):
        return token
    raise NotCanonical(f"a plain scalar that may not be the string it spells: {token[:40]!r}")


def _key_text(token: str) -> str:
    if len(token) > _LONGEST_KEY:
        raise NotCanonical("a key longer than YAML lets a key be")
    if token[:1] == '"':
        value, end = _quoted(token, 0)
        if end != len(token):
            raise NotCanonical("text after a quoted key")
        return value
    if token and _plain_string(token):
        return token
    raise NotCanonical(f"a key the emitter would quote: {token[:40]!r}")


def _flow(text: str, i: int) -> tuple[Any, int]:
    """The flow mapping or list at ``text[i]``, as the emitter writes them (``{k: v, k2:
    v2}``, ``[a, b]``): (value, index after it)."""
    if text[i] == "{":
        out: dict[str, Any] = {}
        if text.startswith("{}", i):
            return out, i + 2
        i += 1
        while True:
            if text[i : i + 1] == '"':
                key, end = _quoted(text, i)
                if end - i > _LONGEST_KEY:
                    raise NotCanonical("a key longer than YAML lets a key be")
                i = end
            else:
                end = text.find(": ", i)
                if end < 0:
                    raise NotCanonical("a flow mapping key without a value")
                key, i = _key_text(text[i:end]), end
            if not text.startswith(": ", i) or key in out:
                raise NotCanonical("a flow mapping key without a value, or twice")
            out[key], i = _flow_item(text, i + 2)
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
        value, i = _flow_item(text, i)
        items.append(value)
        if text.startswith(", ", i):
            i += 2
        elif text.startswith("]", i):
            return items, i + 1
        else:
            raise NotCanonical("a flow list does not close")


def _flow_item(text: str, i: int) -> tuple[Any, int]:
    """A value inside a flow collection: quoted, nested, or plain up to the next ``,``,
    ``}`` or ``]`` (a plain scalar the emitter writes holds none of them)."""
    first = text[i : i + 1]
    if first == '"':
        return _quoted(text, i)
    if first == "{" or first == "[":
        return _flow(text, i)
    end = len(text)
    for stop in (",", "}", "]"):
        at = text.find(stop, i, end)
        if at >= 0:
            end = at
    if end <= i or end == len(text):
        raise NotCanonical("a flow value is empty or does not end")
    return _scalar(text[i:end]), end


#: Key lines already read (``Architecture: x86_64``, ``Status: attached``...): most lines of
#: a snapshot recur across files, and reading one again is a dictionary lookup.
_LINES: dict[str, tuple[str, Any, bool]] = {}
_LINES_KEPT = 1 << 16


def _key_line(line: str) -> tuple[str, Any, bool]:
    """(key, value, whether the value is the block below) of a mapping line (indent off)."""
    if line[0] == '"':
        key, end = _quoted(line, 0)
        if end > _LONGEST_KEY:
            raise NotCanonical("a key longer than YAML lets a key be")
        rest = line[end:]
        if rest == ":":
            return key, None, True
        if rest[:2] == ": ":
            return key, _scalar(rest[2:]), False
        raise NotCanonical("a quoted key without a value")
    head, sep, tail = line.partition(": ")
    if sep:
        return _key_text(head), _scalar(tail), False
    if line[-1] == ":":
        return _key_text(line[:-1]), None, True
    raise NotCanonical("not a mapping key")


class _Reader:
    """The block structure: lines and a cursor."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.lines.pop()  # after the final newline
        self.i = 0

    def mapping(self, indent: int, first: str | None = None) -> dict[str, Any]:
        """A block mapping whose keys are at ``indent``; ``first``: its first line's text
        after a list item's ``- ``."""
        out: dict[str, Any] = {}
        lines, n = self.lines, len(self.lines)
        pad = " " * indent
        while True:
            if first is not None:
                line, first = first, None
            else:
                if self.i >= n:
                    break
                line = lines[self.i]
                if not line.startswith(pad) or len(line) <= indent or line[indent] in " -":
                    break
                line = line[indent:]
            self.i += 1
            known = _LINES.get(line)
            if known is None:
                known = _key_line(line)
                if not isinstance(known[1], (dict, list)):  # shared: only immutable values
                    if len(_LINES) >= _LINES_KEPT:
                        _LINES.clear()
                    _LINES[line] = known
            key, value, block = known
            if block:
                value = self.block(indent)
            if key in out:
                raise NotCanonical("a duplicate key")
            out[key] = value
        if not out:
            raise NotCanonical("an empty block mapping")
        return out

    def block(self, indent: int) -> Any:
        """The block value under a ``key:`` line at ``indent``: a list at the same indent (the
        emitter does not indent a list under its key) or a mapping two deeper."""
        if self.i >= len(self.lines):
            raise NotCanonical("a key without a value")
        line = self.lines[self.i]
        if line[indent : indent + 1] == "-" and not line[:indent].strip(" "):
            return self.sequence(indent)
        return self.mapping(indent + 2)

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        lines, n = self.lines, len(self.lines)
        pad = " " * indent
        item, nested = pad + "- ", pad + "-"
        while self.i < n:
            line = lines[self.i]
            if line == nested:
                self.i += 1
                items.append(self.sequence(indent + 2))
                continue
            if not line.startswith(item):
                break
            rest = line[indent + 2 :]
            first = rest[:1]
            if first == "{" or first == "[" or (first == '"' and _whole_quoted(rest)):
                items.append(_scalar(rest))
                self.i += 1
            elif first == '"' or ": " in rest or rest[-1:] == ":":
                items.append(self.mapping(indent + 2, first=rest))
            else:
                items.append(_scalar(rest))
                self.i += 1
        if not items:
            raise NotCanonical("an empty block list")
        return items


def _whole_quoted(text: str) -> bool:
    try:
        return _DECODE(text)[1] == len(text)
    except ValueError:
        return False


def read(text: str) -> dict[str, Any]:
    """The mapping a canonical YAML text holds, as LibYAML reads it; NotCanonical (and only
    that) for anything else, which the caller gives to the full parser."""
    if not text.endswith("\n") or _REFUSED.search(text):
        raise NotCanonical("a character the emitter never writes raw, or no final newline")
    src = _Reader(text)
    if not src.lines or not src.lines[0]:
        raise NotCanonical("empty")
    try:
        doc = src.mapping(0)
    except NotCanonical:
        raise
    except (ValueError, IndexError, RecursionError) as e:  # JSON's errors are ValueErrors
        raise NotCanonical(str(e)) from e
    if src.i != len(src.lines):
        raise NotCanonical(f"line {src.i + 1} is not where the emitter puts it")
    return doc


def parse_document(data: bytes, path: str) -> tuple[dict[str, Any] | None, str | None]:
    """What :func:`layout.parse_document` gives for the file, faster on the tool's own YAML:
    the document, or ``file:line: problem``."""
    if path.endswith(".yaml") and len(data) <= layout.MAX_FILE_BYTES:
        try:
            doc = read(data.decode("utf-8"))
        except (NotCanonical, UnicodeDecodeError):
            pass
        else:
            if layout.document_problem(doc) is None:
                return doc, None
            # The full parser names the problem and finds its line.
    return layout.parse_document(data, path)
