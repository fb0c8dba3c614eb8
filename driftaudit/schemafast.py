"""A JSON Schema compiled to a plain yes/no check, for ``validate``'s fast path.

jsonschema's validators walk the schema for every document (a generator, a keyword
dispatch and a resolver per node): about 0.3 ms for one instance. The snapshot schemas use
a small set of keywords, so each is compiled once into nested closures that only answer
"valid?"; ``validate`` asks jsonschema itself for the messages when the answer is no, so
every message is still jsonschema's.

:func:`compile_schema` raises :class:`Unsupported` for any keyword it does not implement
(the caller then keeps jsonschema's own ``is_valid``): a compiled check never answers for
a keyword it ignored. Annotations (``description``, ``title``...) and ``format`` (not
asserted by jsonschema without a format checker) assert nothing. tests/test_schemafast.py
holds the compiled checks to jsonschema's verdicts on every schema and a corpus of
documents, broken ones included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that assert nothing (draft 2020-12 annotations and identifiers).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
    }
)


class Unsupported(ValueError):
    """The schema uses something this compiler does not implement."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _freeze(value: Any) -> Any:
    """A hashable stand-in equal where JSON Schema's equality holds: 1 == 1.0, but a
    boolean is never a number."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, dict):
        return ("object", frozenset((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_freeze(v) for v in value))
    return ("value", value)


def _equal(a: Any, b: Any) -> bool:
    return bool(_freeze(a) == _freeze(b))


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#"):
            raise Unsupported(f"$ref {pointer!r} outside the schema")
        if pointer not in self.refs:
            box: list[Check] = []
            # Bound late, so a schema that refers to itself compiles.
            self.refs[pointer] = lambda v: box[0](v)
            node = self.root
            for part in pointer[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                node = node[int(part)] if isinstance(node, list) else node[part]
            box.append(self.compile(node))
        return self.refs[pointer]

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        checks: list[Check] = []
        for key, arg in schema.items():
            if key in _ANNOTATIONS:
                continue
            make = getattr(self, "k_" + key.replace("$", ""), None)
            if make is None:
                raise Unsupported(f"keyword {key!r}")
            checks.append(make(arg, schema))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    # --- any instance -----------------------------------------------------------------

    def k_ref(self, arg: str, schema: dict[str, Any]) -> Check:
        return self.ref(arg)

    def k_type(self, arg: Any, schema: dict[str, Any]) -> Check:
        names = [arg] if isinstance(arg, str) else list(arg)
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(t(v) for t in tests)

    def k_enum(self, arg: list[Any], schema: dict[str, Any]) -> Check:
        frozen = {_freeze(e) for e in arg}
        return lambda v: _freeze(v) in frozen

    def k_const(self, arg: Any, schema: dict[str, Any]) -> Check:
        frozen = _freeze(arg)
        return lambda v: bool(_freeze(v) == frozen)

    def k_not(self, arg: Any, schema: dict[str, Any]) -> Check:
        inner = self.compile(arg)
        return lambda v: not inner(v)

    def k_anyOf(self, arg: list[Any], schema: dict[str, Any]) -> Check:
        subs = [self.compile(s) for s in arg]
        return lambda v: any(s(v) for s in subs)

    def k_allOf(self, arg: list[Any], schema: dict[str, Any]) -> Check:
        subs = [self.compile(s) for s in arg]
        return lambda v: all(s(v) for s in subs)

    def k_oneOf(self, arg: list[Any], schema: dict[str, Any]) -> Check:
        subs = [self.compile(s) for s in arg]
        return lambda v: sum(1 for s in subs if s(v)) == 1

    def k_if(self, arg: Any, schema: dict[str, Any]) -> Check:
        test = self.compile(arg)
        then = self.compile(schema.get("then", True))
        other = self.compile(schema.get("else", True))
        return lambda v: then(v) if test(v) else other(v)

    def k_then(self, arg: Any, schema: dict[str, Any]) -> Check:
        return lambda v: True  # applied by k_if (without "if" it asserts nothing)

    k_else = k_then

    # --- strings and numbers ------------------------------------------------------------

    def k_pattern(self, arg: str, schema: dict[str, Any]) -> Check:
        search = re.compile(arg).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def k_minLength(self, arg: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= arg

    def k_maxLength(self, arg: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= arg

    def k_minimum(self, arg: float, schema: dict[str, Any]) -> Check:
        return lambda v: not _is_number(v) or v >= arg

    def k_maximum(self, arg: float, schema: dict[str, Any]) -> Check:
        return lambda v: not _is_number(v) or v <= arg

    # --- objects ------------------------------------------------------------------------

    def k_required(self, arg: list[str], schema: dict[str, Any]) -> Check:
        names = tuple(arg)
        return lambda v: not isinstance(v, dict) or all(n in v for n in names)

    def k_properties(self, arg: dict[str, Any], schema: dict[str, Any]) -> Check:
        props = {name: self.compile(sub) for name, sub in arg.items()}

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for name, item in v.items():
                sub = props.get(name)
                if sub is not None and not sub(item):
                    return False
            return True

        return check

    def k_additionalProperties(self, arg: Any, schema: dict[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise Unsupported("patternProperties")
        known = frozenset(schema.get("properties", {}))
        if arg is False:
            return lambda v: not isinstance(v, dict) or known.issuperset(v)
        extra = self.compile(arg)
        return lambda v: (
            not isinstance(v, dict)
            or all(extra(item) for name, item in v.items() if name not in known)
        )

    def k_propertyNames(self, arg: Any, schema: dict[str, Any]) -> Check:
        names = self.compile(arg)
        return lambda v: not isinstance(v, dict) or all(names(k) for k in v)

    def k_minProperties(self, arg: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) >= arg

    def k_maxProperties(self, arg: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) <= arg

    def k_dependentRequired(self, arg: dict[str, list[str]], schema: dict[str, Any]) -> Check:
        pairs = [(name, tuple(needs)) for name, needs in arg.items()]
        return lambda v: (
            not isinstance(v, dict)
            or all(all(n in v for n in needs) for name, needs in pairs if name in v)
        )

    # --- arrays -------------------------------------------------------------------------

    def k_items(self, arg: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema or not isinstance(arg, (dict, bool)):
            raise Unsupported("items with prefixItems, or as a list")
        each = self.compile(arg)
        return lambda v: not isinstance(v, list) or all(each(i) for i in v)

    def k_minItems(self, arg: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) >= arg

    def k_maxItems(self, arg: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) <= arg

    def k_uniqueItems(self, arg: bool, schema: dict[str, Any]) -> Check:
        if not arg:
            return lambda v: True
        return lambda v: not isinstance(v, list) or len({_freeze(i) for i in v}) == len(v)


def compile_schema(schema: Any) -> Check:
    """A yes/no check of ``schema`` (draft 2020-12, the keywords above); Unsupported when
    it uses anything else."""
    return _Compiler(schema).compile(schema)
