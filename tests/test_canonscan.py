"""driftaudit/history/canonscan.py: the history index's fast reader of the YAML driftaudit
writes. It must read the emitter's own output itself (that is its point), and on any text it
accepts, hand-edited or mangled, give exactly what LibYAML gives; everything else goes to the
full parser, whose answer (document or ``file:line: problem``) is then the reader's."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import yaml

from driftaudit import layout, yamltext
from driftaudit.canonical import Line, dumps
from driftaudit.history import canonscan
from tests.test_canonical_fuzz import _strings

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


def libyaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def test_the_emitters_output_is_read_by_the_fast_reader() -> None:
    assert canonscan.read(TEXT) == libyaml(TEXT) == yamltext.load_data(TEXT)
    doc, problem = canonscan.parse_document(TEXT.encode(), PATH)
    assert problem is None and doc == libyaml(TEXT)


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
                read = canonscan.read(text)
            except canonscan.NotCanonical:
                # Only what the emitter writes plain but YAML reads as another type.
                assert expected != doc, text
                refused.add(value)
                continue
            assert read == expected == doc, text
    # The emitter writes these plain and YAML 1.1 reads a float: the full parser
    # (and everyone else) sees what is in the file.
    assert refused == {"1.", "1_000.", "1.e+5"}


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
    assert canonscan.parse_document(data, PATH) == layout.parse_document(data, PATH)
    try:
        read = canonscan.read(text)
    except canonscan.NotCanonical:
        assert not fast, "the fast reader should have read this"
    else:
        assert fast, "the fast reader should have left this to the full parser"
        assert read == libyaml(text)


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
            read = canonscan.read(text)
        except canonscan.NotCanonical:
            continue
        accepted += 1
        try:
            expected = libyaml(text)
        except yaml.YAMLError:
            pytest.fail(f"the fast reader read what LibYAML refuses:\n{text}")
        assert read == expected, text
    assert accepted > 100  # some damage leaves valid canonical text (a changed value)


def test_json_and_unreadable_files_go_to_the_full_parser() -> None:
    json_path = PATH.replace(".yaml", ".json")
    data = dumps(GROUP, "json")
    assert canonscan.parse_document(data, json_path) == layout.parse_document(data, json_path)
    for bad in (b"\xff\xfe", b"resource: [unclosed\n", b"x" * (layout.MAX_FILE_BYTES + 1)):
        assert canonscan.parse_document(bad, PATH) == layout.parse_document(bad, PATH)
        assert canonscan.parse_document(bad, PATH)[0] is None
