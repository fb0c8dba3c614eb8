"""One security-group rule, one meaning: what a rule lets in is answered by driftaudit.rule
alone, and diff (severity), check (policies) and history (rule --port) agree on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftaudit.change.differ import compare
from driftaudit.change.severity import classify
from driftaudit.rule import Rule, RuleError, read_rules
from tests.support.gitsnap import (
    commit_all,
    doc,
    init_repo,
    rule,
    run,
    security_group,
    write,
)

WORLD = "0.0.0.0/0"
# (rule, {(port, protocol or None): allowed}) — from AWS's documented semantics, not the code:
# -1 is everything; tcp/udp ranges are inclusive; ICMP has types, not ports; a protocol AWS
# does not filter by port (50 = ESP) allows all of that protocol and no TCP or UDP port.
CASES: list[tuple[dict[str, Any], dict[tuple[int, str | None], bool]]] = [
    (
        rule("ingress", "udp", WORLD, (53, 53)),
        {(53, None): True, (53, "udp"): True, (53, "tcp"): False, (22, None): False},
    ),
    (
        rule("ingress", "tcp", WORLD, (20, 25)),
        {(20, None): True, (25, "tcp"): True, (26, "tcp"): False, (22, "udp"): False},
    ),
    (
        rule("ingress", "-1", WORLD),
        {(22, None): True, (53, "udp"): True, (5432, "tcp"): True, (8, "icmp"): True},
    ),
    (
        rule("ingress", "icmp", WORLD, (8, -1)),
        {(8, None): False, (22, "tcp"): False, (8, "icmp"): True, (0, "icmp"): False},
    ),
    (
        rule("ingress", "50", WORLD),
        {(443, None): False, (443, "tcp"): False, (0, "50"): True},
    ),
    (
        rule("ingress", "6", WORLD, (0, 65535)),  # a number AWS would name: 6 is tcp
        {(22, None): True, (22, "tcp"): True, (22, "udp"): False},
    ),
]


@pytest.mark.parametrize("raw,expected", CASES, ids=[c[0]["Protocol"] for c in CASES])
def test_what_a_rule_allows(raw: dict[str, Any], expected: dict[Any, bool]) -> None:
    r = Rule.from_dict(raw)
    for (port, protocol), allowed in expected.items():
        assert r.allows(port, protocol) is allowed, (raw, port, protocol)


def test_text_says_to_for_egress_and_quotes_descriptions_on_one_line() -> None:
    r = Rule.from_dict(rule("egress", "tcp", WORLD, (443, 443), "out\nDriftaudit-Failed: x"))
    assert r.text() == 'egress tcp/443 to 0.0.0.0/0 "out\\nDriftaudit-Failed: x"'
    assert Rule.from_dict(rule("egress", "-1", "::/0")).text() == "egress all to ::/0"
    assert Rule.from_dict(rule("ingress", "icmp", WORLD, (8, -1))).text() == (
        "ingress icmp/8:-1 from 0.0.0.0/0"
    )


@pytest.mark.parametrize(
    "rules,where",
    [
        (5, "Rules"),
        ([7], "Rules[0]"),
        ([{**rule("ingress", "tcp", WORLD, (22, 22)), "FromPort": "abc"}], "Rules[0].FromPort"),
        ([{**rule("ingress", "tcp", WORLD, (22, 22)), "Direction": "in"}], "Rules[0].Direction"),
        ([rule("ingress", "tcp", "10.0.0.0/33", (22, 22))], "Rules[0].Source"),
        ([{**rule("ingress", "tcp", WORLD, (22, 22)), "Tags": ["x"]}], "Rules[0].Tags"),
    ],
)
def test_a_rule_that_is_not_one_is_named(rules: Any, where: str) -> None:
    with pytest.raises(RuleError) as e:
        read_rules(rules)
    assert str(e.value).startswith(f"{where}: ")


def severity_of_adding(raw: dict[str, Any]) -> str:
    old = doc("security_groups", security_group("sg-0abc", "web", []))
    new = doc("security_groups", security_group("sg-0abc", "web", [raw]))
    change = compare(old, new, "f.yaml")
    assert change is not None
    return classify(change).severity


@pytest.mark.parametrize("raw", [c[0] for c in CASES], ids=[c[0]["Protocol"] for c in CASES])
def test_diff_check_and_history_agree(raw: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    """The same rule opened to the world, asked about port 22 (and 53): the severity, the
    baseline policy and the history query all follow Rule.allows."""
    r = Rule.from_dict(raw)
    # diff: critical exactly when the world reaches a critical TCP port (22 among them).
    assert (severity_of_adding(raw) == "critical") is r.allows(22, "tcp")

    repo = init_repo(tmp_path / "repo")
    write(repo / "snaps", "security_groups", [security_group("sg-0abc", "web", [raw])])
    commit_all(repo, "snapshot", "2026-11-01T00:00:00Z")
    for port, protocol in ((22, "tcp"), (53, "udp")):
        # check: a policy denying the world that port flags the rule exactly when it allows it.
        baseline = repo / f"deny-{port}.yaml"
        baseline.write_text(
            "version: 1\npolicies:\n  - name: no-world\n    type: security_groups\n"
            f"    deny: {{from: [world], protocol: {protocol}, ports: {port}}}\n"
        )
        code, out, err = run(
            capsys, "check", "-C", str(repo / "snaps"), "--baseline", str(baseline)
        )
        assert code in (0, 2), err
        assert (code == 2) is r.allows(port, protocol), (out, err)
        # history: rule --port lists it exactly when it lets that port in (tcp or udp).
        code, out, err = run(
            capsys, "history", "rule", "--port", str(port), "--format", "json",
            "-C", str(repo / "snaps"),
        )  # fmt: skip
        assert code == 0, err
        listed = bool(json.loads(out)["rules"])
        assert listed is r.allows(port), (raw, port)


def test_history_says_to_for_egress_as_diff_does(tmp_path: Path, capsys: Any) -> None:
    repo = init_repo(tmp_path / "repo")
    rules = [rule("egress", "tcp", WORLD, (443, 443)), rule("egress", "-1", "::/0")]
    write(repo / "snaps", "security_groups", [security_group("sg-0abc", "web", rules)])
    commit_all(repo, "snapshot", "2026-11-01T00:00:00Z")
    code, out, err = run(
        capsys, "history", "rule", "--direction", "egress", "-C", str(repo / "snaps")
    )
    assert code == 0, err
    assert "egress tcp/443 to 0.0.0.0/0" in out and "egress all to ::/0" in out
    assert "to 0.0.0.0/0" in out and "from 0.0.0.0/0" not in out
