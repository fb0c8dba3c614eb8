"""``validate``'s fast path gives exactly the full path's verdict, file by file.

The fast path (driftaudit/canonread.py reading the canonical YAML back, itself held to
LibYAML's reading in tests/test_canonread.py; compiled schema checks from
driftaudit/schemafast.py; secret patterns searched only where a cheap test says they could
match) must never let through what the full path (LibYAML, jsonschema, every
pattern on every line) would name, nor name anything else. Each test compares the two on
real documents: every type on maximal botocore-model responses (tests/test_models.py's),
broken in the ways a hand edit or a forged pull request breaks them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import random
import re
from typing import Any

import pytest

from driftaudit import canonread, validate
from driftaudit.canonical import dumps
from driftaudit.collect.collectors import REGISTRY
from driftaudit.schemafast import compile_schema
from driftaudit.schemas import SCHEMA_DIRS, schema_path, validator
from tests.test_canonread import same
from tests.test_malformed_corpus import mutations
from tests.test_models import SHORT, collect, rendered

ACCOUNT, REGION = "123456789012", "us-east-1"
TYPES = sorted(REGISTRY)
# The agreement tests read a few hundred broken texts per type: three types in the fast
# loop (the rules on one line, a plain resource, nested lists), every type end to end.
INNER = {"security_groups", "volumes", "route_tables"}
SPLIT = [
    pytest.param(name, marks=[] if name in INNER else [pytest.mark.e2e], id=name) for name in TYPES
]


@functools.cache
def files(name: str) -> dict[str, bytes]:
    """``fmt/file`` -> the bytes the store writes for the type's maximal documents."""
    return rendered(name, collect(REGISTRY[name], listing=SHORT))


# --- every type's files take the fast path -------------------------------------------------


@pytest.mark.parametrize("name", TYPES)
def test_every_type_is_read_by_the_fast_path(name: str) -> None:
    for file, data in files(name).items():
        fmt, _, base = file.partition("/")
        doc = validate._canonical_doc(data, fmt)
        assert doc is not None, f"{file} takes the slow path"
        if fmt == "yaml":
            assert same(canonread.read(data.decode()), json.loads(dumps(doc, "json")))


# --- the fast path and the full path agree --------------------------------------------------

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
USER_DATA = base64.b64encode(b"#!/bin/bash\necho hi\n").decode()


def _line_edits(text: str) -> list[tuple[str, str]]:
    """(label, text) of hand edits of a canonical YAML text."""
    lines = text.split("\n")
    out = []
    step = max(1, len(lines) // 12)  # a dozen places in each file, the first line included
    for i, line in enumerate(lines[:-1]):
        if i % step:
            continue
        stripped = line.strip()
        out += [
            (f"comment after line {i}", f"{line} # note"),
            (f"trailing space on line {i}", line + " "),
            (f"tab on line {i}", line.replace("  ", "\t", 1)),
            (f"swapped lines {i}", lines[i + 1] + "\n" + line),
            (f"duplicated line {i}", line + "\n" + line),
            (f"continued line {i}", line + "\n" + " " * (len(line) - len(stripped) + 4) + "x"),
            (f"single-quoted on line {i}", re.sub(r": (.+)$", r": '\1'", line)),
            (f"anchor on line {i}", re.sub(r": (.+)$", r": &a \1", line)),
            (f"yes on line {i}", re.sub(r": (.+)$", ": yes", line)),
            (f"quoted number on line {i}", re.sub(r": ([0-9]+)$", r': "\1"', line)),
            (f"date on line {i}", re.sub(r": (.+)$", ": 2024-01-01", line)),
            (f"flow spacing on line {i}", line.replace(", ", ",")),
            (f"secret on line {i}", re.sub(r": (.+)$", f": {AKID}", line)),
            (f"secret key on line {i}", re.sub(r": (.+)$", f": secret {SECRET}", line)),
            (f"user data on line {i}", re.sub(r": (.+)$", f": {USER_DATA}", line)),
        ]
    edited = []
    for label, new in out:
        index = int(label.rsplit(" ", 1)[1])
        edited.append((label, "\n".join([*lines[:index], new, *lines[index + 1 :]])))
    return edited + [
        ("CRLF", text.replace("\n", "\r\n")),
        ("no final newline", text[:-1]),
        ("document start", "---\n" + text),
        ("document end", text + "...\n"),
        ("BOM", "\ufeff" + text),
    ]


def agree(data: bytes, location: list[str], label: str) -> None:
    fast = validate.check_bytes(data, location, "f")
    full = validate.full_check(data, location, "f")
    assert fast == full, (label, [str(p) for p in fast], [str(p) for p in full])


@pytest.mark.parametrize("name", SPLIT)
def test_fast_and_full_paths_agree_on_hand_edits(name: str) -> None:
    written = files(name)
    for file in (min(f for f in written if f.startswith(fmt)) for fmt in ("json/", "yaml/")):
        data = written[file]
        fmt, _, base = file.partition("/")
        location = [ACCOUNT, REGION, name, base]
        agree(data, location, "as written")
        agree(data, [ACCOUNT, "eu-west-1", name, base], "in another region's directory")
        if fmt == "yaml":
            for label, text in _line_edits(data.decode("utf-8")):
                agree(text.encode("utf-8"), location, label)


@pytest.mark.parametrize("name", SPLIT)
def test_fast_and_full_paths_agree_on_wrong_values(name: str) -> None:
    """Every wrong-typed value, missing or added property the schemas describe (the
    malformed corpus's mutations), written canonically: only the schema check finds it."""
    schema = json.loads(schema_path(name).read_text())
    (file, data), *_ = ((f, d) for f, d in files(name).items() if f.startswith("yaml/"))
    base = file.partition("/")[2]
    doc = json.loads(dumps(json.loads(json.dumps(canonread.read(data.decode()))), "json"))
    for mutation in list(mutations(schema, doc["resource"], [], schema))[:60]:
        broken = json.loads(json.dumps(doc))
        mutation.apply(broken["resource"])
        for fmt in ("yaml", "json"):
            try:
                text = dumps(broken, fmt)
            except (TypeError, ValueError):
                continue
            agree(text, [ACCOUNT, REGION, name, base.replace(".yaml", f".{fmt}")], mutation.label)


# --- compiled schemas agree with jsonschema -------------------------------------------------


def schema_names() -> list[str]:
    names = {p.name.removesuffix(".schema.json") for d in SCHEMA_DIRS for p in d.glob("*.json")}
    return sorted(names)


def test_every_snapshot_schema_compiles() -> None:
    """The fast path needs each type's and the envelope's schema compiled (else it falls
    back to jsonschema for that type, and is slow)."""
    for name in ["document", *TYPES]:
        compile_schema(json.loads(schema_path(name).read_text()))


@pytest.mark.parametrize("name", TYPES)
def test_compiled_schemas_agree_with_jsonschema(name: str) -> None:
    schema = json.loads(schema_path(name).read_text())
    check = compile_schema(schema)
    envelope = compile_schema(json.loads(schema_path("document").read_text()))
    verdicts = set()
    for file, data in files(name).items():
        if not file.startswith("json/"):
            continue
        doc = json.loads(data)
        for mutation in [None, *mutations(schema, doc["resource"], [], schema)]:
            broken = json.loads(json.dumps(doc))
            if mutation is not None:
                mutation.apply(broken["resource"])
            verdict = validator(name).is_valid(broken["resource"])
            assert check(broken["resource"]) == verdict, mutation and mutation.label
            assert envelope(broken) == validator("document").is_valid(broken)
            verdicts.add(verdict)
    assert verdicts == {True, False}


def test_compiled_keywords_agree_with_jsonschema() -> None:
    """The keywords the compiler implements, on values at their edges."""
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
        ({"type": "number"}, [1, 1.5, True, "1"]),
        ({"type": ["string", "null"]}, ["x", None, 1]),
        ({"enum": [1, "a", None]}, [1, 1.0, True, "a", None, "b"]),
        ({"const": False}, [False, 0, None]),
        ({"pattern": "^a"}, ["ab", "ba", 5]),
        ({"minLength": 2, "maxLength": 3}, ["a", "ab", "abcd", 5]),
        ({"minimum": 0, "maximum": 10}, [-1, 0, 10, 11, True, "x"]),
        ({"required": ["a"], "properties": {"a": {"type": "string"}}}, [{}, {"a": 1}, []]),
        ({"properties": {"a": True}, "additionalProperties": False}, [{"a": 1}, {"b": 1}]),
        ({"additionalProperties": {"type": "integer"}}, [{"b": 1}, {"b": "x"}]),
        ({"propertyNames": {"pattern": "^x"}}, [{"xa": 1}, {"a": 1}]),
        ({"minProperties": 1}, [{}, {"a": 1}, "x"]),
        ({"dependentRequired": {"a": ["b"]}}, [{"a": 1}, {"a": 1, "b": 2}, {"b": 1}]),
        ({"items": {"type": "integer"}, "minItems": 1, "maxItems": 2}, [[], [1], [1, "x"]]),
        ({"uniqueItems": True}, [[1, 1.0], [1, True], ["a", "b"], [{"a": 1}, {"a": 1}]]),
        ({"not": {"required": ["x"]}}, [{"x": 1}, {}]),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, ["x", 1, None]),
        ({"oneOf": [{"minimum": 0}, {"maximum": 10}]}, [5, -1, 11]),
        ({"allOf": [{"minimum": 0}, {"maximum": 10}]}, [5, -1]),
        (
            {"if": {"const": 1}, "then": {"type": "integer"}, "else": {"type": "string"}},
            [1, "x", 2],
        ),
        ({"$defs": {"a": {"type": "string"}}, "$ref": "#/$defs/a"}, ["x", 1]),
    ]
    from jsonschema import Draft202012Validator

    for schema, values in cases:
        check = compile_schema(schema)
        for value in values:
            assert check(value) == Draft202012Validator(schema).is_valid(value), (schema, value)


# --- secrets: the prefilters find what every pattern on every line finds ----------------------


def reference_findings(text: str) -> list[tuple[int, str]]:
    """The secret scan without prefilters: every pattern over the whole text, the secret
    word on every line, every base64 run decoded."""
    found: list[tuple[int, str]] = []

    def line_at(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for m in validate._ACCESS_KEY_ID.finditer(text):
        found.append((line_at(m.start()), f"looks like an AWS access key id ({m.group()[:4]}...)"))
    for m in validate._PRIVATE_KEY.finditer(text):
        found.append((line_at(m.start()), f"holds a private key block ({m.group()})"))
    for number, line in enumerate(text.split("\n"), 1):
        if re.search("secret", line, re.IGNORECASE):
            for m in validate._SECRET_VALUE.finditer(line):
                if re.search("[a-z]", m.group()) and re.search("[A-Z]", m.group()):
                    found.append((number, validate.SECRET_KEY_PROBLEM))
                    break
    for m in validate._BASE64_RUN.finditer(text):
        head = m.group().rstrip("=")[:64]
        head = head[: len(head) - len(head) % 4]
        try:
            decoded = base64.b64decode(head, validate=True)
        except (binascii.Error, ValueError):
            continue
        if decoded.startswith(validate._USER_DATA_MAGIC):
            found.append((line_at(m.start()), "holds base64 user data"))
    return found


def test_secret_prefilters_change_no_finding() -> None:
    rng = random.Random(11)
    pieces = [
        AKID,
        "ASIA" + "B" * 16,
        "xAKIA" + "C" * 16,
        f"secret: {SECRET}",
        f"SECRET {SECRET}",
        f"\u017fecret {SECRET}",
        f"Secret {SECRET.lower()}",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        *(base64.b64encode(m + b" payload here!").decode() for m in validate._USER_DATA_MAGIC),
        "x" + USER_DATA,
        "+" + USER_DATA,
        "=" + USER_DATA,
        USER_DATA[:12],
        "I2Nsb3VkLWNvbmZpZwo=",
        "H4sIAAAAAAAAA" + "A" * 10,
        "sg-0123456789abcdef0",
        "abcdefghijklmnopqrstuvwxyzABCDEF",
        "\n",
        " ",
        ": ",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        assert validate.secret_findings(text) == reference_findings(text), text
