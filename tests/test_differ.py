"""The differ on plain documents: rules as whole lines, tags by key, list items by id."""

from __future__ import annotations

from typing import Any

from driftaudit.change.differ import Change, compare
from tests.support.gitsnap import doc, instance, rule, security_group, volume

SSH_DEBUG = rule("ingress", "tcp", "10.191.12.13/32", (22, 22), "temp debugging")
HTTPS_VPC = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
EGRESS_ALL = rule("egress", "-1", "0.0.0.0/0")


def sg_doc(rules: list[dict[str, Any]], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return doc("security_groups", security_group("sg-0abc", "internal", rules, tags))


def changed(old: dict[str, Any] | None, new: dict[str, Any] | None) -> Change:
    change = compare(old, new, "f.yaml")
    assert change is not None
    return change


def texts(change: Change) -> list[str]:
    return [d.text for d in change.details]


def test_rule_added_is_one_whole_line() -> None:
    change = changed(sg_doc([HTTPS_VPC, EGRESS_ALL]), sg_doc([HTTPS_VPC, EGRESS_ALL, SSH_DEBUG]))
    assert change.action == "modified"
    assert change.label == "sg-0abc (internal)"
    assert texts(change) == ['+ ingress tcp/22 from 10.191.12.13/32 "temp debugging"']
    assert change.details[0].rule is not None and change.details[0].rule["FromPort"] == 22


def test_rule_removed_is_one_whole_line() -> None:
    change = changed(sg_doc([HTTPS_VPC, SSH_DEBUG]), sg_doc([HTTPS_VPC]))
    assert texts(change) == ['- ingress tcp/22 from 10.191.12.13/32 "temp debugging"']


def test_rule_description_changed_is_one_line_not_a_remove_and_add() -> None:
    renamed = {**SSH_DEBUG, "Description": "bastion"}
    change = changed(sg_doc([SSH_DEBUG]), sg_doc([renamed]))
    assert texts(change) == [
        '~ ingress tcp/22 from 10.191.12.13/32: description "temp debugging" -> "bastion"'
    ]


def test_rule_lines_for_all_traffic_port_ranges_and_egress() -> None:
    rules = [
        EGRESS_ALL,
        rule("ingress", "udp", "::/0", (1000, 2000)),
        rule("ingress", "tcp", "sg-0def", (0, 65535)),
    ]
    change = changed(None, sg_doc(rules))
    assert sorted(texts(change)) == [
        "+ egress all to 0.0.0.0/0",
        "+ ingress tcp/all from sg-0def",
        "+ ingress udp/1000-2000 from ::/0",
    ]


def test_whole_group_added_counts_its_rules() -> None:
    change = changed(None, sg_doc([HTTPS_VPC, EGRESS_ALL, SSH_DEBUG]))
    assert change.action == "added"
    assert len(change.details) == 3
    assert {d.op for d in change.details} == {"+"}


def test_whole_group_removed_counts_its_rules() -> None:
    change = changed(sg_doc([HTTPS_VPC, SSH_DEBUG]), None)
    assert change.action == "removed"
    assert sorted(texts(change)) == [
        '- ingress tcp/22 from 10.191.12.13/32 "temp debugging"',
        "- ingress tcp/443 from 10.0.0.0/8",
    ]


def test_tags_added_removed_changed_by_key() -> None:
    old = sg_doc([HTTPS_VPC], {"Name": "internal", "Owner": "alice", "Team": "web"})
    new = sg_doc([HTTPS_VPC], {"Name": "internal", "Owner": "bob", "Env": "prod"})
    details = {d.path: (d.kind, d.op, d.old, d.new) for d in changed(old, new).details}
    assert details == {
        "Env": ("tag", "+", None, "prod"),
        "Owner": ("tag", "~", "alice", "bob"),
        "Team": ("tag", "-", "web", None),
    }


def test_field_change_names_path_and_values() -> None:
    old = doc("instances", instance("i-1", itype="t3.micro"))
    new = doc("instances", instance("i-1", itype="m5.large"))
    change = changed(old, new)
    assert [(d.kind, d.op, d.path, d.old, d.new) for d in change.details] == [
        ("field", "~", "InstanceType", "t3.micro", "m5.large")
    ]
    assert texts(change) == ['~ InstanceType: "t3.micro" -> "m5.large"']


def test_list_items_matched_by_id_not_position() -> None:
    old = instance("i-1", groups=["sg-0b", "sg-0c"])
    new = instance("i-1", groups=["sg-0b", "sg-0c"])
    # Put the new group in front: by position every item would have changed.
    new["SecurityGroups"].insert(0, {"GroupId": "sg-0a", "GroupName": "name-0a"})
    # Compare documents as given (not re-sorted), so identity is what has to match them.
    old_doc = doc("instances", old)
    new_doc = {**old_doc, "resource": new}
    change = changed(old_doc, new_doc)
    assert [(d.op, d.path) for d in change.details] == [("+", "SecurityGroups[GroupId=sg-0a]")]
    assert change.details[0].new == {"GroupId": "sg-0a", "GroupName": "name-0a"}


def test_item_changed_inside_list_is_reported_at_its_id() -> None:
    old = instance("i-1", groups=["sg-0a", "sg-0b"])
    new = instance("i-1", groups=["sg-0a", "sg-0b"])
    new["SecurityGroups"][1]["GroupName"] = "renamed"
    change = changed(doc("instances", old), doc("instances", new))
    assert [(d.op, d.path, d.old, d.new) for d in change.details] == [
        ("~", "SecurityGroups[GroupId=sg-0b].GroupName", "name-0b", "renamed")
    ]


def test_unordered_scalar_list_reordered_is_no_change_and_an_addition_is_one() -> None:
    old = {**volume("vol-1"), "Zones": ["a", "b", "c"]}
    shuffled = {**volume("vol-1"), "Zones": ["c", "a", "b"]}
    grown = {**volume("vol-1"), "Zones": ["c", "d", "a", "b"]}
    assert compare({"resource": old}, {"resource": shuffled}, "f") is None
    change = changed({"resource": old}, {"resource": grown})
    assert [(d.op, d.path, d.new) for d in change.details] == [("+", "Zones", "d")]


def test_identical_documents_are_no_change() -> None:
    a = sg_doc([HTTPS_VPC, SSH_DEBUG], {"Name": "internal"})
    b = sg_doc([SSH_DEBUG, HTTPS_VPC], {"Name": "internal"})
    assert compare(a, b, "f.yaml") is None
    assert (
        compare(doc("instances", instance("i-1")), doc("instances", instance("i-1")), "f") is None
    )


def test_added_and_removed_resources_carry_their_place_and_name() -> None:
    new = doc("volumes", volume("vol-9", tags={"Name": "data"}))
    change = changed(None, new)
    assert (change.account, change.region, change.type, change.id, change.name) == (
        "123456789012",
        "us-east-1",
        "volumes",
        "vol-9",
        "data",
    )
    assert change.action == "added" and change.details == []
    assert changed(new, None).action == "removed"


def asg_doc(policies: list[str], overrides: list[str]) -> dict[str, Any]:
    return doc(
        "auto_scaling_groups",
        {
            "AutoScalingGroupARN": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
            "6a3b2c1d-0000-4000-8000-000000000001:autoScalingGroupName/web",
            "AutoScalingGroupName": "web",
            "TerminationPolicies": policies,
            "MixedInstancesPolicy": {
                "LaunchTemplate": {"Overrides": [{"InstanceType": t} for t in overrides]}
            },
            "Tags": [],
        },
    )


def test_ordered_lists_are_compared_by_position() -> None:
    # AWS applies termination policies in list order, and with the "prioritized" strategy the
    # order of instance-type overrides is their priority: a reordering is a change.
    before = asg_doc(["OldestInstance", "Default"], ["m5.large", "c5.large"])
    after = asg_doc(["Default", "OldestInstance"], ["c5.large", "m5.large"])
    change = changed(before, after)
    assert texts(change) == [
        '~ MixedInstancesPolicy.LaunchTemplate.Overrides[0].InstanceType: "m5.large" -> "c5.large"',
        '~ MixedInstancesPolicy.LaunchTemplate.Overrides[1].InstanceType: "c5.large" -> "m5.large"',
        '~ TerminationPolicies[0]: "OldestInstance" -> "Default"',
        '~ TerminationPolicies[1]: "Default" -> "OldestInstance"',
    ]
    # An unordered list of the same type (SuspendedProcesses) reordered is still no change.
    a, b = asg_doc(["Default"], []), asg_doc(["Default"], [])
    a["resource"]["SuspendedProcesses"] = [
        {"ProcessName": "Launch"},
        {"ProcessName": "AZRebalance"},
    ]
    b["resource"]["SuspendedProcesses"] = [
        {"ProcessName": "AZRebalance"},
        {"ProcessName": "Launch"},
    ]
    assert compare(a, b, "f.yaml") is None
