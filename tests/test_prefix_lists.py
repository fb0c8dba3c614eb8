"""Managed prefix lists: the ``managed_prefix_lists`` collector (Stubber-validated pages and
moto), and a list change seen through by ``diff`` in real git: an entry added to a list is a
change to every rule using it, rated as the worst of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from driftaudit.baseline.evaluate import Snapshot, evaluate
from driftaudit.baseline.load import load_baseline
from driftaudit.canonical import dumps
from driftaudit.change.differ import compare
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.collectors.managed_prefix_lists import RESOURCE, entries_problem
from driftaudit.collect.engine import Part, build_resources
from driftaudit.collect.store import render_part
from tests.support.collector_checks import ACCOUNT, REGION, build_checked, moto_clients
from tests.support.gitsnap import (
    commit_all,
    doc,
    file_of,
    init_repo,
    prefix_list,
    rule,
    run,
    security_group,
    write,
)

OTHER = "210987654321"
OWN, S3, FRONT, SHARED, UNUSED, DELETED, GONE = (f"pl-0{n:016x}" for n in (1, 2, 3, 4, 5, 6, 7))
Capsys = pytest.CaptureFixture[str]


def listed(lid: str, name: str, owner: str, state: str = "create-complete") -> dict[str, Any]:
    return {
        "PrefixListId": lid,
        "PrefixListName": name,
        "OwnerId": owner,
        "AddressFamily": "IPv4",
        "State": state,
        "MaxEntries": 10,
        "Version": 7,
        "PrefixListArn": f"arn:aws:ec2:{REGION}:{owner}:prefix-list/{lid}",
        "Tags": [],
    }


def sg_rule(n: int, prefix_list_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SecurityGroupRuleId": f"sgr-0{n:016x}",
        "GroupId": "sg-0a1b2c3d4e5f60718",
        "IsEgress": False,
        "IpProtocol": "tcp",
        "FromPort": 22,
        "ToPort": 22,
    }
    if prefix_list_id:
        out["PrefixListId"] = prefix_list_id
    else:
        out["CidrIpv4"] = "10.0.0.0/8"
    return out


#: One answer of the fake: (service, boto3 method, response or an AWS error code, params).
Page = tuple[str, str, "dict[str, Any] | str", dict[str, Any]]
WHO = ("sts", "get_caller_identity", {"Account": ACCOUNT}, {})


def stubbed(pages: list[Page]) -> list[dict[str, Any]]:
    """Run the fetch on Stubber-validated answers, in call order (an error code: that AWS
    error), and check every answer was asked for."""
    clients = {s: boto3.client(s, region_name=REGION) for s in ("ec2", "sts")}
    stubs = {s: Stubber(c) for s, c in clients.items()}
    for service, method, response, params in pages:
        if isinstance(response, str):
            stubs[service].add_client_error(method, response, "", expected_params=params)
        else:
            stubs[service].add_response(method, response, params)
    for stub in stubs.values():
        stub.activate()
    try:
        raw = RESOURCE.fetch(lambda service: clients[service])
    finally:
        for stub in stubs.values():
            stub.deactivate()
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    return raw


def paged(method: str, key: str, items: list[Any], **params: Any) -> list[Page]:
    """Two pages of one listing, as botocore's paginator asks for them."""
    return [
        ("ec2", method, {key: items[:1], "NextToken": "t"}, params),
        ("ec2", method, {key: items[1:]}, {**params, "NextToken": "t"}),
    ]


def test_keeps_own_lists_and_the_ones_rules_reference() -> None:
    """Ours (OwnerId = the caller's account), and the AWS-managed and shared lists the
    region's rules reference; the others, deleted ones and one deleted since it was listed
    (GetManagedPrefixListEntries: InvalidPrefixListID.NotFound) left out. Every listing is
    paged: lists, rules, and one list's entries."""
    lists = [
        listed(OWN, "office", ACCOUNT),
        listed(S3, "com.amazonaws.us-east-1.s3", "AWS"),
        listed(FRONT, "com.amazonaws.global.cloudfront.origin-facing", "AWS"),
        listed(SHARED, "partner", OTHER),
        listed(UNUSED, "partner-unused", OTHER),
        listed(DELETED, "old", ACCOUNT, "delete-complete"),
        listed(GONE, "racing", ACCOUNT),
    ]
    office = [{"Cidr": "10.191.12.40/32", "Description": "vpn"}, {"Cidr": "0.0.0.0/0"}]
    entries = "get_managed_prefix_list_entries"
    raw = stubbed(
        [
            WHO,
            *paged("describe_managed_prefix_lists", "PrefixLists", lists),
            *paged(
                "describe_security_group_rules",
                "SecurityGroupRules",
                [sg_rule(1, S3), sg_rule(2), sg_rule(3, SHARED)],
            ),
            *paged(entries, "Entries", office, PrefixListId=OWN),
            ("ec2", entries, {"Entries": [{"Cidr": "52.216.0.0/15"}]}, {"PrefixListId": S3}),
            ("ec2", entries, {"Entries": [{"Cidr": "198.51.100.0/24"}]}, {"PrefixListId": SHARED}),
            ("ec2", entries, "InvalidPrefixListID.NotFound", {"PrefixListId": GONE}),
        ]
    )
    resources = build_checked(RESOURCE, raw)
    assert sorted(resources) == sorted([OWN, S3, SHARED])
    own = resources[OWN]
    # Sorted by Cidr, Version dropped (it moves with every change of the entries).
    assert own["Entries"] == [
        {"Cidr": "0.0.0.0/0"},
        {"Cidr": "10.191.12.40/32", "Description": "vpn"},
    ]
    assert "Version" not in own
    text = render_part(Part(ACCOUNT, REGION, "managed_prefix_lists"), {OWN: own}, "yaml")
    lines = text[f"{OWN}.yaml"].decode().splitlines()
    # One line per entry: a diff shows one line per entry added or removed.
    assert "  - {Cidr: 0.0.0.0/0}" in lines
    assert "  - {Cidr: 10.191.12.40/32, Description: vpn}" in lines
    assert REGISTRY["managed_prefix_lists"].name_of(own) == "office"


def test_another_aws_error_fails_the_part() -> None:
    """Only "the list is gone" is expected: anything else is not an empty list."""
    listing = {"PrefixLists": [listed(OWN, "o", ACCOUNT)]}
    own = {"PrefixListId": OWN}
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        stubbed(
            [
                WHO,
                ("ec2", "describe_managed_prefix_lists", listing, {}),
                ("ec2", "describe_security_group_rules", {"SecurityGroupRules": []}, {}),
                ("ec2", "get_managed_prefix_list_entries", "UnauthorizedOperation", own),
            ]
        )


@pytest.mark.parametrize(
    "entries,problem",
    [
        ([{"Cidr": "10.0.0.0/8"}, {"Cidr": "ten"}], "Entries[1].Cidr: 'ten' is not a CIDR"),
        ("10.0.0.0/8", "Entries: '10.0.0.0/8' is not a list of entries"),
        ([5], "Entries[0]: 5 is not an entry (expected a mapping)"),
        ([{"Cidr": "10.0.0.0/8", "Description": 3}], "Entries[0].Description: 3 is not text"),
    ],
)
def test_a_hand_edited_entry_is_named(entries: Any, problem: str) -> None:
    found = entries_problem({"Entries": entries})
    assert found is not None and found[1] == problem


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


@pytest.mark.e2e
def test_moto_own_list_and_the_aws_managed_list_a_rule_references(ec2: Any) -> None:
    """moto lists six AWS-managed lists per region; only the one a rule uses is kept."""
    aws = {
        p["PrefixListName"]: p["PrefixListId"]
        for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
    }
    s3 = aws["com.amazonaws.us-east-1.s3"]
    own = ec2.create_managed_prefix_list(
        PrefixListName="office",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "10.191.12.40/32", "Description": "vpn"}],
    )["PrefixList"]["PrefixListId"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="bastion", Description="b", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": s3}],
            }
        ],
    )
    resources = build_checked(RESOURCE, RESOURCE.fetch(moto_clients))
    assert sorted(resources) == sorted([own, s3])
    assert resources[own]["Entries"] == [{"Cidr": "10.191.12.40/32", "Description": "vpn"}]
    assert resources[s3]["OwnerId"] == "AWS" and len(resources[s3]["Entries"]) >= 1
    # moto's modify forgets the name unless it is given again (AWS keeps it).
    ec2.modify_managed_prefix_list(
        PrefixListId=own,
        CurrentVersion=1,
        PrefixListName="office",
        AddEntries=[{"Cidr": "0.0.0.0/0"}],
    )
    again = build_resources(RESOURCE, RESOURCE.fetch(moto_clients))
    assert [e["Cidr"] for e in again[own]["Entries"]] == ["0.0.0.0/0", "10.191.12.40/32"]
    # Version moved (1 -> 2) too: only the entry and the state show.
    change = compare(
        {"type": "managed_prefix_lists", "resource": resources[own]},
        {"type": "managed_prefix_lists", "resource": again[own]},
        "f.yaml",
    )
    assert change is not None
    assert [d.text for d in change.details] == [
        "+ Entries[Cidr=0.0.0.0/0]",
        '~ State: "create-complete" -> "modify-complete"',
    ]


# --- a list change is a change to every rule that uses it -------------------------------------

PL = "pl-0a1b2c3d4e5f60718"
BASTION, WEB = "sg-0b0b0b0b0b0b0b0b0", "sg-0e0e0e0e0e0e0e0e0"
SSH_FROM_PL = rule("ingress", "tcp", PL, (22, 22), "ssh from the office")
HTTPS_FROM_PL = rule("ingress", "tcp", PL, (443, 443))
T1, T2 = "2026-11-01T06:00:00+00:00", "2026-11-02T06:00:00+00:00"


def fleet(root: Path, entries: list[str], region_of_bastion: str = REGION) -> None:
    write(root, "managed_prefix_lists", [prefix_list(PL, "office", entries)])
    web = security_group(WEB, "web", [HTTPS_FROM_PL])
    bastion = security_group(BASTION, "bastion", [SSH_FROM_PL])
    if region_of_bastion == REGION:
        write(root, "security_groups", [web, bastion])
    else:
        write(root, "security_groups", [web])
        write(root, "security_groups", [bastion], region=region_of_bastion)


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo") / "snapshots"
    fleet(root, ["10.191.12.40/32"])
    commit_all(root.parent, "day 1", T1)
    return root


def diff_json(capsys: Capsys, snaps: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "diff", "-C", str(snaps), "--format", "json", *args)
    assert out, err
    return code, json.loads(out)


def entry_details(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (d["op"], d["severity"], d["text"])
        for c in report["changes"]
        if c["type"] == "managed_prefix_lists"
        for d in c["details"]
    ]


@pytest.mark.parametrize("committed", [True, False], ids=["commits", "working-tree"])
def test_world_added_to_the_list_behind_ssh_fails_the_critical_gate(
    snaps: Path, capsys: Capsys, committed: bool
) -> None:
    fleet(snaps, ["10.191.12.40/32", "0.0.0.0/0"])
    args: tuple[str, ...] = ()
    if committed:
        commit_all(snaps.parent, "day 2", T2)
        args = ("HEAD~1", "HEAD")
    code, report = diff_json(capsys, snaps, *args, "--fail-on", "critical")
    assert code == 2
    widens = f"(widens {BASTION} (bastion) ingress tcp/22 from {PL} and 1 more rule(s))"
    assert entry_details(report) == [("+", "critical", f"+ Entries[Cidr=0.0.0.0/0] {widens}")]
    code, out, _ = run(capsys, "diff", "-C", str(snaps), *args)
    assert code == 2 and f"{PL} (office)" in out and widens in out


def test_only_rules_of_the_same_account_and_region_are_widened(snaps: Path, capsys: Capsys) -> None:
    """The bastion's group moved to another region: its pl- id names another list there."""
    fleet(snaps, ["10.191.12.40/32"], region_of_bastion="eu-west-1")
    commit_all(snaps.parent, "bastion elsewhere", T1)
    fleet(snaps, ["10.191.12.40/32", "0.0.0.0/0"], region_of_bastion="eu-west-1")
    code, report = diff_json(capsys, snaps, "--fail-on", "critical")
    assert code == 0
    assert [(op, sev) for op, sev, _ in entry_details(report)] == [("+", "high")]  # web's 443


def test_the_new_revision_decides_which_rules_use_the_list(snaps: Path, capsys: Capsys) -> None:
    """The SSH rule stops using the list in the same commit as the entry is added: the new
    revision is what the entry widens."""
    fleet(snaps, ["10.191.12.40/32", "0.0.0.0/0"])
    groups = [security_group(BASTION, "bastion", []), security_group(WEB, "web", [])]
    write(snaps, "security_groups", groups)
    commit_all(snaps.parent, "day 2", T2)
    _, report = diff_json(capsys, snaps, "HEAD~1", "HEAD")
    assert [(op, sev) for op, sev, _ in entry_details(report)] == [("+", "low")]


def test_a_rule_added_from_a_list_holding_the_world_is_critical(
    snaps: Path, capsys: Capsys
) -> None:
    fleet(snaps, ["10.191.12.40/32", "0.0.0.0/0"])
    commit_all(snaps.parent, "the list opens", T2)
    admin = security_group(
        "sg-0adadadadadadadad", "admin", [rule("ingress", "tcp", PL, (3389, 3389))]
    )
    write(snaps, "security_groups", [admin])
    code, report = diff_json(capsys, snaps, "--fail-on", "critical")
    assert code == 2
    [change] = [c for c in report["changes"] if c["id"] == "sg-0adadadadadadadad"]
    assert [d["text"] for d in change["details"]] == [
        f"+ ingress tcp/3389 from {PL} (via prefix list {PL} (office) entry 0.0.0.0/0)"
    ]


def test_a_list_file_that_does_not_parse_is_named(snaps: Path, capsys: Capsys) -> None:
    """The rule added is rated through the list's file: one that cannot be read is an error
    naming it, not a quiet medium."""
    list_file = file_of(snaps, "managed_prefix_lists", PL)
    list_file.write_text(list_file.read_text().replace("10.191.12.40/32", "not-a-cidr"))
    commit_all(snaps.parent, "hand-edited", T1)
    admin = security_group("sg-0adadadadadadadad", "admin", [SSH_FROM_PL])
    write(snaps, "security_groups", [admin])
    code, out, err = run(capsys, "diff", "-C", str(snaps))
    assert code == 1
    assert f"managed_prefix_lists/{PL}.yaml" in err and "is not a CIDR" in err


# --- check sees through lists -------------------------------------------------------------------

NO_WORLD = "policies:\n  - {name: no-world, type: security_groups, deny: {from: [world]}}\n"
SSH_OFFICE_ONLY = (
    "policies:\n  - {name: office-ssh, type: security_groups, deny: {protocol: tcp, ports: 22},"
    " allowed: [10.191.12.0/24]}\n"
)


def checked(tmp_path: Path, baseline: str, entries: list[str] | None, *groups: Any) -> list[str]:
    """The items ``check`` finds, with the list holding ``entries`` (None: no list file)."""
    snaps: list[Snapshot] = []
    if entries is not None:
        snaps.append(snapshot("managed_prefix_lists", prefix_list(PL, "office", entries)))
    snaps += [snapshot("security_groups", g) for g in groups]
    path = tmp_path / "b.yaml"
    path.write_text(baseline, encoding="utf-8")
    result = evaluate(load_baseline([path], tmp_path), snaps)
    return [i.text for f in result.findings for i in f.items]


def snapshot(rtype: str, resource: dict[str, Any]) -> Snapshot:
    d = doc(rtype, resource)
    return Snapshot(f"{ACCOUNT}/{REGION}/{rtype}/{d['id']}.yaml", d, dumps(d).decode())


BASTION_GROUP = security_group(BASTION, "bastion", [SSH_FROM_PL])
#: How a finding names the SSH rule seen through its list, and the rule's description.
VIA, SAYS = f"ingress tcp/22 from {PL} (office)", '"ssh from the office"'


@pytest.mark.parametrize(
    "entries,found",
    [
        (["10.191.12.40/32"], []),
        (
            ["10.191.12.40/32", "0.0.0.0/0"],
            [f"! policy no-world: {VIA} entry 0.0.0.0/0 {SAYS}"],
        ),
        (
            ["::/0", "0.0.0.0/0"],
            [f"! policy no-world: {VIA} entries 0.0.0.0/0, ::/0 {SAYS}"],
        ),
        (None, []),  # the list is not in the snapshot: nothing to see through
    ],
)
def test_world_policies_see_through_the_list(
    tmp_path: Path, entries: list[str] | None, found: list[str]
) -> None:
    assert checked(tmp_path, NO_WORLD, entries, BASTION_GROUP) == found


def test_allowed_sees_through_the_list_too(tmp_path: Path) -> None:
    """Every entry within the allowed network: the rule is as good as one from it."""
    assert checked(tmp_path, SSH_OFFICE_ONLY, ["10.191.12.40/32"], BASTION_GROUP) == []
    assert checked(
        tmp_path, SSH_OFFICE_ONLY, ["10.191.12.40/32", "198.51.100.0/24"], BASTION_GROUP
    ) == [f"! policy office-ssh: {VIA} entry 198.51.100.0/24 {SAYS}"]


def test_public_host_and_cidr_policies_see_through_the_list(tmp_path: Path) -> None:
    policies = (
        "policies:\n"
        "  - {name: hosts, type: security_groups, deny: {from: [public-host]}}\n"
        "  - {name: dns, type: security_groups, deny: {from: [198.51.100.7/32]}}\n"
    )
    found = checked(
        tmp_path, policies, ["10.0.0.0/8", "198.51.100.0/24", "192.0.2.7/32"], BASTION_GROUP
    )
    assert sorted(found) == [
        f"! policy dns: {VIA} entry 198.51.100.0/24 {SAYS}",
        f"! policy hosts: {VIA} entry 192.0.2.7/32 {SAYS}",
    ]


def test_a_list_named_by_id_still_compares_by_id(tmp_path: Path) -> None:
    """``deny: {from: [pl-…]}`` forbids the rule whatever the list holds, and a declared rule
    ``from: [pl-…]`` is the rule from that list."""
    by_id = f"policies:\n  - {{name: no-office, type: security_groups, deny: {{from: [{PL}]}}}}\n"
    assert checked(tmp_path, by_id, ["10.191.12.40/32"], BASTION_GROUP) == [
        f'! policy no-office: ingress tcp/22 from {PL} "ssh from the office"'
    ]
    declared = (
        f"security_groups:\n  - id: {BASTION}\n    ingress:\n"
        f"      - {{protocol: tcp, ports: 22, from: [{PL}], description: ssh from the office}}\n"
    )
    assert checked(tmp_path, declared, ["0.0.0.0/0"], BASTION_GROUP) == []


def test_check_reads_the_lists_whatever_types_the_baseline_names(
    tmp_path: Path, capsys: Capsys
) -> None:
    """The command, on files: the baseline names security groups only."""
    root = tmp_path / "snapshots"
    fleet(root, ["10.191.12.40/32", "0.0.0.0/0"])
    (tmp_path / "baselines").mkdir()
    (tmp_path / "baselines" / "policy.yaml").write_text(NO_WORLD, encoding="utf-8")
    code, out, err = run(
        capsys, "check", "-C", str(root), "--baseline", str(tmp_path / "baselines")
    )
    assert code == 2, err
    assert f"! policy no-world: ingress tcp/22 from {PL} (office) entry 0.0.0.0/0" in out
    assert f"! policy no-world: ingress tcp/443 from {PL} (office) entry 0.0.0.0/0" in out
