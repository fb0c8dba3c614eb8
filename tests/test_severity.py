"""Severity: the built-in table (Prowler / AWS Config semantics), config overrides, and
config files that are wrong in ways a user would get wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftaudit.change.differ import Change, compare
from driftaudit.change.severity import Lists, ListUse, Override, Rules, classify, load_rules
from driftaudit.errors import ConfigError
from driftaudit.rule import Rule
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    doc,
    instance,
    prefix_list,
    rule,
    security_group,
    volume,
)

BUILT_IN = Rules()
BASE = [rule("ingress", "tcp", "10.0.0.0/8", (443, 443))]


def sg(rules: list[dict[str, Any]], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return doc("security_groups", security_group("sg-0abc", "internal", rules, tags))


def classified(old: Any, new: Any, rules: Rules = BUILT_IN) -> Change:
    change = compare(old, new, "f.yaml")
    assert change is not None
    return classify(change, rules)


def rule_added(new_rule: dict[str, Any], rules: Rules = BUILT_IN) -> str:
    change = classified(sg(BASE), sg([*BASE, new_rule]), rules)
    assert len(change.details) == 1
    assert change.severity == change.details[0].severity
    return change.severity


@pytest.mark.parametrize(
    "new_rule",
    [
        rule("ingress", "tcp", "0.0.0.0/0", (22, 22)),
        rule("ingress", "tcp", "0.0.0.0/0", (3389, 3389)),
        rule("ingress", "tcp", "0.0.0.0/0", (5432, 5432)),
        rule("ingress", "tcp", "::/0", (22, 22)),
        rule("ingress", "tcp", "0.0.0.0/0", (0, 1024)),
        rule("ingress", "tcp", "0.0.0.0/0", (21, 22)),  # ranges are inclusive
        rule("ingress", "tcp", "0.0.0.0/0", (22, 23)),
        rule("ingress", "-1", "0.0.0.0/0"),  # all traffic = all ports
        rule("ingress", "-1", "::/0"),
        rule("ingress", "6", "0.0.0.0/0", (3306, 3306)),  # tcp by number
    ],
    ids=lambda r: f"{r['Protocol']}/{r.get('FromPort')}-{r.get('ToPort')}@{r['Source']}",
)
def test_world_open_critical_port_is_critical(new_rule: dict[str, Any]) -> None:
    assert rule_added(new_rule) == "critical"


@pytest.mark.parametrize(
    "new_rule",
    [
        rule("ingress", "tcp", "0.0.0.0/0", (443, 443)),
        rule("ingress", "tcp", "0.0.0.0/0", (23, 25)),  # next to 22, not covering it
        rule("ingress", "tcp", "::/0", (8080, 8081)),
        rule("ingress", "udp", "0.0.0.0/0", (22, 22)),  # SSH is tcp
        rule("ingress", "icmp", "0.0.0.0/0", (-1, -1)),
    ],
    ids=lambda r: f"{r['Protocol']}/{r.get('FromPort')}-{r.get('ToPort')}@{r['Source']}",
)
def test_other_world_open_ingress_is_high(new_rule: dict[str, Any]) -> None:
    assert rule_added(new_rule) == "high"


@pytest.mark.parametrize(
    "new_rule",
    [
        rule("ingress", "tcp", "10.0.0.0/8", (22, 22)),
        rule("ingress", "-1", "sg-0def"),
        rule("egress", "-1", "0.0.0.0/0"),  # egress to the world is not an exposure
        rule("egress", "tcp", "::/0", (22, 22)),
    ],
    ids=lambda r: f"{r['Direction']}-{r['Protocol']}@{r['Source']}",
)
def test_other_rule_added_is_medium(new_rule: dict[str, Any]) -> None:
    assert rule_added(new_rule) == "medium"


def test_world_open_rule_removed_is_medium() -> None:
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22))
    change = classified(sg([*BASE, ssh]), sg(BASE))
    assert [(d.op, d.severity) for d in change.details] == [("-", "medium")]


def test_rule_description_change_is_low() -> None:
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "old")
    change = classified(sg([ssh]), sg([{**ssh, "Description": "new"}]))
    assert [(d.op, d.severity) for d in change.details] == [("~", "low")]


def test_group_added_with_world_ssh_is_critical() -> None:
    change = classified(None, sg([*BASE, rule("ingress", "tcp", "0.0.0.0/0", (22, 22))]))
    assert change.action == "added"
    assert change.severity == "critical"


def test_group_attachment_change_is_medium() -> None:
    old = doc("instances", instance("i-1", groups=["sg-0a"]))
    attached = doc("instances", instance("i-1", groups=["sg-0a", "sg-0b"]))
    detached = doc("instances", instance("i-1", groups=[]))
    assert classified(old, attached).severity == "medium"
    assert classified(old, detached).severity == "medium"


def test_interface_groups_change_is_medium() -> None:
    eni = {"NetworkInterfaceId": "eni-1", "Groups": [{"GroupId": "sg-0a"}]}
    old = {"resource": {**instance("i-1"), "NetworkInterfaces": [eni]}}
    new = {"resource": {**instance("i-1"), "NetworkInterfaces": [{**eni, "Groups": []}]}}
    assert classified(old, new).severity == "medium"


@pytest.mark.parametrize("action", ["added", "removed"])
def test_instance_or_volume_added_or_removed_is_low(action: str) -> None:
    for document in (doc("instances", instance("i-1")), doc("volumes", volume("vol-1"))):
        old, new = (None, document) if action == "added" else (document, None)
        change = classified(old, new)
        assert (change.action, change.severity) == (action, "low")


def test_instance_type_change_is_low() -> None:
    change = classified(
        doc("instances", instance("i-1", itype="t3.micro")),
        doc("instances", instance("i-1", itype="m5.large")),
    )
    assert change.severity == "low"


def test_tags_and_state_are_info() -> None:
    tags = classified(
        doc("instances", instance("i-1", tags={"Owner": "a"})),
        doc("instances", instance("i-1", tags={"Owner": "b", "Env": "prod"})),
    )
    state = classified(
        doc("instances", instance("i-1", state="running")),
        doc("instances", instance("i-1", state="stopped")),
    )
    assert [d.severity for d in tags.details] == ["info", "info"]
    assert tags.severity == "info"
    assert [(d.path, d.severity) for d in state.details] == [("State.Name", "info")]


def test_change_takes_its_most_severe_detail() -> None:
    change = classified(
        sg(BASE, {"Owner": "a"}),
        sg([*BASE, rule("ingress", "tcp", "0.0.0.0/0", (443, 443))], {"Owner": "b"}),
    )
    assert sorted(d.severity for d in change.details) == ["high", "info"]
    assert change.severity == "high"


# --- prefix lists, seen through -------------------------------------------------------------

PL = "pl-0a1b2c3d4e5f60718"
SSH_FROM_PL = rule("ingress", "tcp", PL, (22, 22), "ssh from the office")
HTTPS_FROM_PL = rule("ingress", "tcp", PL, (443, 443))


def office(*entries: str) -> dict[str, Any]:
    return doc("managed_prefix_lists", prefix_list(PL, "office", entries))


def used_by(*rules: tuple[str, dict[str, Any]], entries: tuple[str, ...] = ()) -> Lists:
    users = tuple((label, Rule.from_dict(r)) for label, r in rules)
    return {(ACCOUNT, REGION, PL): ListUse("office", entries, users)}


def through(old: Any, new: Any, lists: Lists, rules: Rules = BUILT_IN) -> Change:
    change = compare(old, new, "f.yaml")
    assert change is not None
    return classify(change, rules, lists)


def test_world_added_to_a_list_behind_ssh_is_critical_and_names_the_rule() -> None:
    lists = used_by(("sg-0web (web)", HTTPS_FROM_PL), ("sg-0b (bastion)", SSH_FROM_PL))
    change = through(office("10.191.12.40/32"), office("10.191.12.40/32", "0.0.0.0/0"), lists)
    [added] = change.details
    assert (added.op, added.path, added.severity) == ("+", "Entries[Cidr=0.0.0.0/0]", "critical")
    assert change.severity == "critical"
    assert added.note == f"widens sg-0b (bastion) ingress tcp/22 from {PL} and 1 more rule(s)"
    assert added.text.endswith(
        f"(widens sg-0b (bastion) ingress tcp/22 from {PL} and 1 more rule(s))"
    )


@pytest.mark.parametrize(
    "users,entry,severity",
    [
        ([HTTPS_FROM_PL], "0.0.0.0/0", "high"),  # the world, not on a critical port
        ([SSH_FROM_PL], "::/0", "critical"),  # IPv6 world
        ([SSH_FROM_PL], "10.191.12.99/32", "medium"),  # as a rule added: medium
        ([rule("egress", "tcp", PL, (22, 22))], "0.0.0.0/0", "medium"),  # egress
        ([], "0.0.0.0/0", "low"),  # no rule uses the list: a field of a resource
    ],
)
def test_an_entry_added_is_rated_as_the_worst_rule_it_widens(
    users: list[dict[str, Any]], entry: str, severity: str
) -> None:
    lists = used_by(*(("sg-0b (bastion)", u) for u in users))
    change = through(office("10.191.12.40/32"), office("10.191.12.40/32", entry), lists)
    assert [d.severity for d in change.details] == [severity]


def test_without_the_rules_an_entry_added_is_a_field_change() -> None:
    change = classified(office("10.191.12.40/32"), office("10.191.12.40/32", "0.0.0.0/0"))
    assert [(d.path, d.severity, d.note) for d in change.details] == [
        ("Entries[Cidr=0.0.0.0/0]", "low", "")
    ]


def test_a_first_entry_is_an_entry_added_not_the_list_changing_type() -> None:
    change = through(office(), office("0.0.0.0/0"), used_by(("sg-0b (bastion)", SSH_FROM_PL)))
    assert [(d.op, d.path, d.severity) for d in change.details] == [
        ("+", "Entries[Cidr=0.0.0.0/0]", "critical")
    ]


def test_an_entry_removed_from_a_used_list_is_medium_like_a_rule_removed() -> None:
    lists = used_by(("sg-0b (bastion)", SSH_FROM_PL))
    change = through(office("10.191.12.40/32", "0.0.0.0/0"), office("10.191.12.40/32"), lists)
    [removed] = change.details
    assert (removed.op, removed.severity) == ("-", "medium")
    assert removed.note == f"narrows sg-0b (bastion) ingress tcp/22 from {PL}"


@pytest.mark.parametrize(
    "entries,severity,note",
    [
        (
            ("10.191.12.40/32", "0.0.0.0/0"),
            "critical",
            f"via prefix list {PL} (office) entry 0.0.0.0/0",
        ),
        (("10.191.12.40/32",), "medium", ""),
        ((), "medium", ""),
    ],
)
def test_a_rule_added_from_a_list_is_rated_by_its_entries(
    entries: tuple[str, ...], severity: str, note: str
) -> None:
    change = through(sg(BASE), sg([*BASE, SSH_FROM_PL]), used_by(entries=entries))
    [added] = change.details
    assert (added.severity, added.note) == (severity, note)


def test_overrides_still_win_over_a_list_seen_through() -> None:
    rules = Rules(overrides=(Override("low", type="managed_prefix_lists"),))
    lists = used_by(("sg-0b (bastion)", SSH_FROM_PL))
    change = through(office(), office("0.0.0.0/0"), lists, rules)
    assert [d.severity for d in change.details] == ["low"]


# --- config file -------------------------------------------------------------------------


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "driftaudit.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_overrides_first_match_wins(tmp_path: Path) -> None:
    rules = load_rules(
        config(
            tmp_path,
            """\
severity:
  overrides:
    - {type: instances, kind: tag, path: Owner, severity: high}
    - {type: instances, kind: tag, severity: low}
    - {kind: tag, severity: critical}
""",
        )
    )
    change = classified(
        doc("instances", instance("i-1", tags={"Owner": "a", "Env": "dev"})),
        doc("instances", instance("i-1", tags={"Owner": "b", "Env": "prod"})),
        rules,
    )
    assert {d.path: d.severity for d in change.details} == {"Owner": "high", "Env": "low"}
    vol = classified(
        doc("volumes", volume("vol-1", tags={"Env": "dev"})),
        doc("volumes", volume("vol-1", tags={"Env": "prod"})),
        rules,
    )
    assert vol.severity == "critical"


def test_override_on_rule_text_and_resource_creation(tmp_path: Path) -> None:
    rules = load_rules(
        config(
            tmp_path,
            """\
severity:
  overrides:
    - {kind: rule, op: "+", path: "ingress tcp/443 from 0.0.0.0/0*", severity: info}
    - {type: volumes, kind: resource, op: "+", severity: medium}
""",
        )
    )
    assert rule_added(rule("ingress", "tcp", "0.0.0.0/0", (443, 443)), rules) == "info"
    assert rule_added(rule("ingress", "tcp", "0.0.0.0/0", (444, 444)), rules) == "high"
    assert classified(None, doc("volumes", volume("vol-1")), rules).severity == "medium"
    assert classified(None, doc("instances", instance("i-1")), rules).severity == "low"
    assert classified(doc("volumes", volume("vol-1")), None, rules).severity == "low"


def test_critical_ports_replace_the_built_in_list(tmp_path: Path) -> None:
    rules = load_rules(config(tmp_path, "severity:\n  critical_ports: [8080]\n"))
    assert rule_added(rule("ingress", "tcp", "0.0.0.0/0", (8000, 8100)), rules) == "critical"
    assert rule_added(rule("ingress", "tcp", "0.0.0.0/0", (22, 22)), rules) == "high"


def test_empty_config_is_the_built_in_table(tmp_path: Path) -> None:
    rules = load_rules(config(tmp_path, "# nothing yet\n"))
    assert rule_added(rule("ingress", "tcp", "0.0.0.0/0", (22, 22)), rules) == "critical"


@pytest.mark.parametrize(
    "text,line,where",
    [
        # an unknown key: the line and path of that key, not of its parent
        (
            "severity:\n  critical_ports: [22]\n  overides:\n    - {severity: low}\n",
            3,
            "$.severity.overides",
        ),
        ("# top\nseverty:\n  critical_ports: [22]\n", 2, "$.severty"),
        # a wrong type
        ("severity:\n  critical_ports: 22\n", 2, "$.severity.critical_ports"),
        ("severity:\n  critical_ports: [22, http]\n", 2, "$.severity.critical_ports[1]"),
        # a severity that does not exist
        (
            "severity:\n  overrides:\n    - type: instances\n      severity: urgent\n",
            4,
            "$.severity.overrides[0].severity",
        ),
    ],
    ids=["unknown-key", "unknown-top-key", "wrong-type", "wrong-item-type", "bad-severity"],
)
def test_bad_config_names_file_line_and_json_path(
    tmp_path: Path, text: str, line: int, where: str
) -> None:
    path = config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: {where}: "), message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = config(tmp_path, "severity:\n  critical_ports: [22, 3389\n  overrides: []\n")
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    message = str(err.value)
    assert message.startswith(f"{path}:"), message
    assert "YAML syntax error" in message
    line = int(message[len(str(path)) + 1 :].split(":", 1)[0])
    assert line in (2, 3)  # where the flow sequence opens or where the parser gave up


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(tmp_path / "nope.yaml")
