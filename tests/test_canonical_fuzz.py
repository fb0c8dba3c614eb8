"""driftaudit writes YAML with its own emitter: every string, whatever its characters, must
read back as exactly that string (as a value, a key, and inside a one-line rule)."""

from __future__ import annotations

import json
import random

import yaml

from driftaudit.canonical import Line, dumps, loads

POOL = (
    "abcXYZ019 _-./:@$+=()#&*!|>'\"%`?,[]{}~\\\t\n\r\x00\x07\x1b\x7f\x85\xa0\u2028\u2029\ufeffé€🎉"
)
WORDS = [
    "yes",
    "No",
    "ON",
    "null",
    "~",
    "0x1F",
    "1e3",
    "0o17",
    "1_000",
    ".inf",
    "-.5",
    "12:30",
    "2024-01-01",
    "true",
    "=",
    "<<",
    "- ",
    "? ",
    ": ",
    " #",
    "---",
    "...",
    "",
]


def _strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = [
            rng.choice(WORDS) if rng.random() < 0.3 else rng.choice(POOL)
            for _ in range(rng.randint(0, 6))
        ]
        out.append("".join(parts))
    return out


def test_random_strings_round_trip_in_yaml_and_json() -> None:
    values = _strings(1, 3000)
    doc = {
        "values": values,
        "tags": {v or "empty": v for v in values},
        "rules": [Line({"Description": v, "Source": v, "Port": 22}) for v in values[:500]],
    }
    expected = json.loads(json.dumps(doc))  # plain dicts, no Line
    for fmt in ("yaml", "json"):
        assert loads(dumps(doc, fmt), fmt) == expected, fmt


def test_yaml_is_read_the_same_by_the_pure_python_loader() -> None:
    values = _strings(2, 1000)
    text = dumps({"v": values}).decode("utf-8")
    assert yaml.load(text, Loader=yaml.SafeLoader) == {"v": values}


def test_every_rule_is_one_line() -> None:
    rules = [Line({"Description": v, "Source": "10.0.0.0/8"}) for v in _strings(3, 300)]
    text = dumps({"Rules": rules}).decode("utf-8")
    assert len(text.splitlines()) == 1 + len(rules)
