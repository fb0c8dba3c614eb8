"""driftaudit/canonread.py: the one fast reader of the YAML driftaudit writes (validate's fast
path, the history index). It must read the emitter's own output itself (that is its point),
and on any text it accepts (the emitter's output with any strings in it, hand-edited or
mangled text) give exactly what LibYAML gives, types included; everything else it declines
with NotCanonical, and the full parser's answer (document or ``file:line: problem``) is then
the reader's. On the emitter's output it is the emitter's exact inverse.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from driftaudit import canonread, layout, yamltext
from driftaudit.canonical import Line, dumps, normalize, written_plain
from driftaudit.collect.collectors import REGISTRY
from tests.test_canonical_fuzz import _strings
from tests.test_models import SHORT, collected, rendered

PATH = "snaps/123456789012/us-east-1/security_groups/sg-0a1b.yaml"
GROUP = {
    "account": "123456789012",
    "region": "us-east-1",
    "type": "security_groups",
    "id": "sg-0a1b",
    "resource": {
        "Description": "web: managed by terraform",
        "GroupId": "sg-0a1b",
        "GroupName": "web",
        "Rules": [
            Line(
                {
                    "Direction": "ingress",
                    "FromPort": 22,
                    "Protocol": "tcp",
                    "RuleId": "sgr-01",
                    "Source": "10.191.12.0/24",
                    "SourceType": "cidr",
                    "ToPort": 22,
                }
            ),
            Line(
                {
                    "Direction": "egress",
                    "Protocol": "-1",
                    "RuleId": "sgr-02",
                    "Source": "2600:1f18::/64",
                    "SourceType": "cidr6",
                }
            ),
        ],
        "Tags": {"Name": "web", "env": "prod", "stale": "true", "Version": "1"},
        "VpcId": "vpc-0a",
        "Nested": [[1, 2.5, -3], [], {}, [{"a": None, "b": False}]],
        "Float": 1.0e-05,
        "Big": 12345678901234567890,
    },
}
TEXT = dumps(GROUP).decode()


def libyaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (1 is not 1.0, True is not 1)."""
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def test_the_emitters_output_is_read_by_the_fast_reader() -> None:
    assert same(canonread.read(TEXT), libyaml(TEXT))
    assert same(canonread.read(TEXT), yamltext.load_data(TEXT))
    assert same(canonread.read(TEXT), json.loads(dumps(GROUP, "json")))
    doc, problem = canonread.parse_document(TEXT.encode(), PATH)
    assert problem is None and same(doc, libyaml(TEXT))


def test_any_string_the_emitter_writes_is_read_back_by_the_fast_reader() -> None:
    values = [v for v in _strings(7, 1000) if not any("\ud800" <= c <= "\udfff" for c in v)]
    values += ["1.", "-2.", "1_000.", "._", "1.e+5", "0.5.1", "1.5_", "+1", "-", "."]
    refused = set()
    for value in values:
        for doc in (
            {"tags": {value or "empty": value}},
            {"rules": [Line({"Description": value, "Source": value, "Port": 22})]},
        ):
            text = dumps(doc).decode()
            try:
                expected = libyaml(text)
            except yaml.YAMLError:
                expected = None
            try:
                read = canonread.read(text)
            except canonread.NotCanonical:
                # Only what the emitter writes plain but YAML reads as another type.
                assert expected != doc, text
                refused.add(value)
                continue
            assert same(read, expected) and same(read, doc), text
    # Everything the emitter writes reads back as written: "1." and its kind, which YAML
    # 1.1 would read as floats, are quoted.
    assert refused == set()


def _swap_lines(text: str) -> str:
    lines = text.splitlines(keepends=True)
    i = lines.index("  GroupName: web\n")
    lines[i - 1], lines[i] = lines[i], lines[i - 1]
    return "".join(lines)


def _edit(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return edit


# Hand edits: valid YAML or not, the reader must not differ from the full parser. The flag
# says whether the fast reader itself may take the result (the rest must fall back).
EDITS: list[tuple[str, Callable[[str], str], bool]] = [
    ("keys out of order", _swap_lines, True),
    ("an unquoted true", _edit('stale: "true"', "stale: true"), True),
    ("an unquoted number", _edit('Version: "1"', "Version: 1"), True),
    ("a quoted key", _edit("GroupName: web", '"GroupName": web'), True),
    ("a quoted value", _edit("GroupName: web", 'GroupName: "web"'), True),
    ("a control escape", _edit('"web: managed', '"\\u0007 managed'), True),
    ("not a rule", _edit("FromPort: 22, Protocol", "FromPort: abc, Protocol"), True),
    ("no envelope account", _edit('account: "123456789012"\n', ""), True),
    ("a comment line", _edit("  GroupId: sg-0a1b\n", "  GroupId: sg-0a1b\n  # who\n"), False),
    ("a trailing comment", _edit("GroupName: web", "GroupName: web # the web tier"), False),
    ("single quotes", _edit("GroupName: web", "GroupName: 'web'"), False),
    ("a yes", _edit('stale: "true"', "stale: yes"), False),
    ("an octal", _edit('Version: "1"', "Version: 010"), False),
    ("a hex", _edit('Version: "1"', "Version: 0x1F"), False),
    ("a sexagesimal", _edit('Version: "1"', "Version: 1:30"), False),
    ("a date", _edit("env: prod", "env: 2024-01-01"), False),
    ("a tilde", _edit("env: prod", "env: ~"), False),
    ("an empty value", _edit("env: prod", "env:"), False),
    ("an anchor and alias", _edit("env: prod", "env: &e prod\n    Other: *e"), False),
    ("a tag", _edit("env: prod", "env: !!str prod"), False),
    ("a duplicate key", _edit("env: prod", "env: prod\n    env: dev"), False),
    ("a tab", _edit("env: prod", "env:\tprod"), False),
    ("a trailing space", _edit("env: prod", "env: prod "), False),
    ("two spaces", _edit("env: prod", "env:  prod"), False),
    ("a block scalar", _edit("env: prod", "env: |\n      prod"), False),
    ("a folded plain scalar", _edit("env: prod", "env: prod\n      uction"), False),
    ("an indented list", _edit("  Rules:\n  - {", "  Rules:\n    - {"), False),
    ("a deeper mapping", _edit("    Name: web", "      Name: web"), False),
    ("a slash escape", _edit('"web: managed', '"web\\/ managed'), False),
    ("a surrogate pair", _edit('"web: managed', '"\\ud83c\\udf89 managed'), False),
    ("a raw NEL", _edit('"web: managed', '"\x85 managed'), False),
    ("a raw line separator", _edit('"web: managed', '"\u2028 managed'), False),
    ("a split flow mapping", _edit("cidr, ToPort: 22}", "cidr,\n    ToPort: 22}"), False),
    ("an explicit key", _edit("  GroupName: web", "  ? GroupName\n  : web"), False),
    ("a document marker", _edit("account:", "---\naccount:"), False),
    ("a byte-order mark", _edit("account:", "\ufeffaccount:"), False),
    ("CRLF", _edit("GroupName: web\n", "GroupName: web\r\n"), False),
    ("a bool key", _edit("GroupName: web", "true: web"), False),
    ("an int key", _edit("GroupName: web", "1: web"), False),
    ("an empty flow value", _edit("ToPort: 22}", "ToPort: }"), False),
    ("a flow colon", _edit("Source: 10.191.12.0/24,", "Source: a: b,"), False),
    ("no final newline", lambda text: text.rstrip("\n"), False),
]


@pytest.mark.parametrize("edit,fast", [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_a_hand_edited_file_gets_the_full_parsers_answer(
    edit: Callable[[str], str], fast: bool
) -> None:
    text = edit(TEXT)
    data = text.encode("utf-8")
    assert canonread.parse_document(data, PATH) == layout.parse_document(data, PATH)
    try:
        read = canonread.read(text)
    except canonread.NotCanonical:
        assert not fast, "the fast reader should have read this"
    else:
        assert fast, "the fast reader should have left this to the full parser"
        assert same(read, libyaml(text))


def test_mangled_texts_are_read_as_libyaml_reads_them_or_not_at_all() -> None:
    """Random damage to canonical text: whatever the fast reader still accepts, it reads as
    LibYAML does."""
    rng = random.Random(11)
    pieces = [
        " ",
        "  ",
        "-",
        "- ",
        ":",
        ": ",
        "#",
        "'",
        '"',
        "{",
        "}",
        "[",
        "]",
        ",",
        "&a ",
        "*a",
        "!",
        "|",
        ">",
        "?",
        "\n",
        "\t",
        "\\",
        "yes",
        "0",
        "1.5",
        "~",
        "null",
        "%",
    ]
    accepted = 0
    for _ in range(3000):
        text = TEXT
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            if rng.random() < 0.5:
                text = text[:at] + rng.choice(pieces) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 3) :]
        try:
            read = canonread.read(text)
        except canonread.NotCanonical:
            continue
        accepted += 1
        try:
            expected = libyaml(text)
        except yaml.YAMLError:
            pytest.fail(f"the fast reader read what LibYAML refuses:\n{text}")
        assert same(read, expected), text
    assert accepted > 100  # some damage leaves valid canonical text (a changed value)


def test_json_and_unreadable_files_go_to_the_full_parser() -> None:
    json_path = PATH.replace(".yaml", ".json")
    data = dumps(GROUP, "json")
    assert canonread.parse_document(data, json_path) == layout.parse_document(data, json_path)
    for bad in (b"\xff\xfe", b"resource: [unclosed\n", b"x" * (layout.MAX_FILE_BYTES + 1)):
        assert canonread.parse_document(bad, PATH) == layout.parse_document(bad, PATH)
        assert canonread.parse_document(bad, PATH)[0] is None


# --- the emitter's exact inverse, on generated documents ----------------------------------

# Strings a YAML reader may take for something else, or that break a line: YAML-significant
# characters, line separators, numbers, booleans and nulls spelt as strings, timestamps,
# leading zeros, very long text (a key over 1,000 characters is written as an explicit key).
HOSTILE = [
    *(c for c in ":#-&*!|>'\"%@`{}[],?~=<\\"),
    *("a: b", "a #b", "- a", "? a", "a:", " a", "a ", "&x", "*x", "!!str x", "<<", "---"),
    *("...", "|", ">-", "{a: 1}", "[1, 2]", "'q'", '"q"', "%YAML 1.1", "@x", "`x`"),
    *("\t", "a\tb", "\r", "a\rb", "\n", "a\nb", "\x85", "\u2028", "a\u2029b", "\ufeffa"),
    *("\x00", "\x07", "\x1b", "\x7f", "\x9f", "\xa0", "\ud800", "\udfff", "é€🎉", "\u200b"),
    *("1", "-1", "+1", "0", "-0", "1.5", "1.", "-2.", ".5", "1e3", "1.0e+5", "1.e+5", "1_000"),
    *("1_000.", "0x1F", "0o17", "0b101", "017", "007", "0123456789012", "1:30", "-1:30:00"),
    *(".inf", "-.inf", ".NaN", ".nan", "._", "+.inf", "1,000", "12345678901234567890"),
    *("yes", "no", "Yes", "NO", "y", "n", "Y", "N", "on", "off", "ON", "true", "false", "True"),
    *("FALSE", "null", "Null", "NULL", "~", "", " ", "None", "nan"),
    *("2024-01-01", "2024-1-1", "2024-01-01T00:00:00Z", "2024-01-01 10:00:00.5 +01:00"),
    *("2001-12-14t21:59:43.10-05:00", "20240101", "12:30:45"),
    *("sg-0abc", "10.0.0.0/8", "2600:1f18::/64", "arn:aws:iam::1:role/x", "a b", "a=b"),
    "x" * 5000,
    "a: " * 400,
    "k" * 1001,
    "é" * 1200,
]


def random_value(rng: random.Random, words: list[str], depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return {rng.choice(words) or "k": random_value(rng, words, depth + 1) for _ in range(3)}
    if depth < 3 and roll < 0.35:
        return [random_value(rng, words, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.45:
        return Line({"Port": rng.randint(-5, 70000), "Source": rng.choice(words)})
    return rng.choice(
        [
            rng.choice(words),
            rng.randint(-(10**12), 10**12),
            rng.choice([0.5, -2.25, 1e-05, 1e20, float("inf"), float("-inf"), float("nan")]),
            rng.random() < 0.5,
            {},
            [],
        ]
    )


def test_the_reader_is_the_emitters_exact_inverse() -> None:
    """read(dumps(x)) is x, types included, or the reader declines: never another value."""
    rng = random.Random(7)
    words = _strings(3, 400) + ["sg-0abc", "10.0.0.0/8", "arn:aws:iam::1:role/x", "a b"]
    declined = 0
    for _ in range(1500):
        value = normalize({"resource": random_value(rng, words)})
        text = dumps(value).decode("utf-8")
        try:
            back = canonread.read(text)
        except canonread.NotCanonical:
            declined += 1
            continue
        assert same(back, value), text
    # The reader is for the emitter's own output: declining is the rare exception.
    assert declined < 150


def _strings_of(value: Any) -> list[str]:
    """Every key and string of a document."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings_of(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings_of(v)]
    return [value] if isinstance(value, str) else []


def _check(doc: dict[str, Any]) -> bool:
    """Read the emitter's text of ``doc``: what LibYAML reads, and ``doc`` itself, types
    included; or declined, only where YAML itself does not read ``doc`` back (a string the
    emitter leaves plain that YAML 1.1 takes for a float) or where the emitter writes an
    explicit key (over 1,000 characters). Whether it was read."""
    text = dumps(doc).decode("utf-8")
    try:
        expected = libyaml(text)
    except yaml.YAMLError:
        expected = canonread.NotCanonical
    try:
        back = canonread.read(text)
    except canonread.NotCanonical:
        plain_floats = [s for s in _strings_of(doc) if written_plain(s) and "." in s]
        long_keys = [s for s in _strings_of(doc) if len(json.dumps(s)) > 1000]
        assert not same(expected, doc) or long_keys, (plain_floats, text[:2000])
        return False
    assert same(back, expected), text[:2000]
    assert same(back, doc), text[:2000]
    return True


def test_generated_documents_with_hostile_strings_read_as_libyaml_reads_them() -> None:
    rng = random.Random(5)
    words = HOSTILE + _strings(4, 300)
    read = sum(
        _check(normalize({"resource": random_value(rng, words), "id": rng.choice(words)}))
        for _ in range(1500)
    )
    assert read > 1000


def _misread(value: str) -> bool:
    """Whether YAML reads the emitter's text of ``value`` as something else, or not at all."""
    try:
        return not same(libyaml(dumps({"k": value}).decode()), {"k": value})
    except yaml.YAMLError:
        return True


# The strings the reader must read wherever they are: YAML reads them back, and as keys the
# emitter writes them on their key line (not as explicit keys).
READ_BACK = [s for s in HOSTILE if not _misread(s)]
SHORT_KEYS = [s for s in READ_BACK if len(json.dumps(s)) <= 1000]


def _hostile(value: Any, rng: random.Random, values: list[str], keys: list[str]) -> Any:
    """``value`` with some of its strings and keys swapped for hostile ones."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            new = rng.choice(keys) if rng.random() < 0.1 else key
            out[key if new in value or new in out else new] = _hostile(item, rng, values, keys)
        return out
    if isinstance(value, list):
        return [_hostile(item, rng, values, keys) for item in value]
    if isinstance(value, str) and rng.random() < 0.4:
        return rng.choice(values)
    return value


def test_the_hostile_strings_hold_what_they_should() -> None:
    # YAML 1.1 floats without digits after the point ("1.", "1.e+5", "1_000.") are quoted,
    # so they read back as the strings they are. The emitter escapes lone surrogates as
    # LibYAML refuses them (the reader declines both); no AWS response can hold one (XML
    # and JSON text cannot).
    misread = ["\ud800", "\udfff"]
    assert [s for s in HOSTILE if _misread(s)] == misread
    for text in ("1.", "1.e+5", "1_000.", "+2.", "-0.e-3"):
        assert dumps({"k": text}).decode() == f'k: "{text}"\n'
        assert libyaml(dumps({"k": text}).decode()) == {"k": text}
    assert len(SHORT_KEYS) == len(HOSTILE) - len(misread) - 4


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_types_maximal_documents_read_as_libyaml_reads_them(name: str) -> None:
    """The maximal botocore-model documents of every type (every member filled, enums
    cycled, ranges at their limits): read, exactly as LibYAML reads them; then with hostile
    strings and keys in them, written again by the emitter: read as LibYAML reads them, and
    always read where YAML reads them back as written."""
    rng = random.Random(name)
    spec = REGISTRY[name].spec
    written = rendered(name, collected(name, SHORT))
    texts = [data.decode() for file, data in sorted(written.items()) if file.startswith("yaml/")]
    assert texts
    for text in texts:
        doc = libyaml(text)
        assert same(canonread.read(text), doc), text
        for _ in range(10):
            everything = _hostile(doc["resource"], rng, HOSTILE, HOSTILE)
            _check({**doc, "resource": normalize(everything, spec)})
            readable = _hostile(doc["resource"], rng, READ_BACK, SHORT_KEYS)
            assert _check({**doc, "resource": normalize(readable, spec)})
