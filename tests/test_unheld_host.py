"""The ``unheld-host`` policy source: a /32 or /128 (a rule's own source or an entry of its
prefix list) that none of our resources holds in the rule's network at this snapshot, with
since when from the history when DIR has one.

Semantics on plain documents (evaluate is pure); since-when through ``driftaudit check`` on
files committed with real git at chosen dates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftaudit.baseline.evaluate import Snapshot, evaluate
from driftaudit.baseline.load import load_baseline
from driftaudit.canonical import dumps
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    doc,
    init_repo,
    prefix_list,
    rule,
    run,
    security_group,
    write,
)

OTHER = "210987654321"
VPC, PEER, ELSEWHERE = "vpc-0a0a0a0a0a0a0a0a0", "vpc-0b0b0b0b0b0b0b0b0", "vpc-0c0c0c0c0c0c0c0c0"
ADMIN = "sg-0adadadadadadadad"
HOST = "10.191.12.13"
DEBUG = rule("ingress", "tcp", f"{HOST}/32", (22, 22), "for debugging")
POLICY = (
    "policies:\n  - {name: no-unheld-hosts, type: security_groups, deny: {from: [unheld-host]}}\n"
)
NOTE = f"{HOST} held by none of our resources in {VPC} or a VPC connected to it"
Capsys = pytest.CaptureFixture[str]


def group(*rules: dict[str, Any], vpc: str = VPC) -> dict[str, Any]:
    return {**security_group(ADMIN, "admin", rules), "VpcId": vpc}


def instance(iid: str, address: str, vpc: str, state: str = "running") -> dict[str, Any]:
    """An instance holding ``address`` on its primary interface in ``vpc``."""
    eni = f"eni-{iid[2:]}"
    return {
        "InstanceId": iid,
        "InstanceType": "t3.micro",
        "State": {"Name": state},
        "VpcId": vpc,
        "PrivateIpAddress": address,
        "NetworkInterfaces": [
            {
                "NetworkInterfaceId": eni,
                "PrivateIpAddress": address,
                "VpcId": vpc,
                "Attachment": {"DeviceIndex": 0},
            }
        ],
        "Tags": {"Name": f"host-{iid[-4:]}"},
    }


def peering(table: str, vpc: str, pcx: str) -> dict[str, Any]:
    return {
        "RouteTableId": table,
        "VpcId": vpc,
        "Routes": [{"DestinationCidrBlock": "10.0.0.0/8", "VpcPeeringConnectionId": pcx}],
        "Tags": {},
    }


def snap(rtype: str, resource: dict[str, Any], account: str = ACCOUNT) -> Snapshot:
    d = {**doc(rtype, resource), "account": account}
    return Snapshot(f"{account}/{REGION}/{rtype}/{d['id']}.yaml", d, dumps(d).decode())


def found(tmp_path: Path, *snaps: Snapshot, policy: str = POLICY) -> list[str]:
    path = tmp_path / "b.yaml"
    path.write_text(policy, encoding="utf-8")
    result = evaluate(load_baseline([path], tmp_path), snaps)
    return [i.text for f in result.findings for i in f.items]


def violation(note: str = NOTE) -> list[str]:
    return [f'! policy no-unheld-hosts: ingress tcp/22 from {HOST}/32 "for debugging" ({note})']


def test_a_host_held_in_the_groups_vpc_is_ours(tmp_path: Path) -> None:
    held = snap("instances", instance("i-0000000000000aaaa", HOST, VPC))
    assert found(tmp_path, snap("security_groups", group(DEBUG)), held) == []


def test_the_instance_is_gone_and_its_rule_lingers(tmp_path: Path) -> None:
    """The seed story: debug-1 terminated (it holds nothing), the /32 rule stays."""
    gone = snap("instances", instance("i-0000000000000aaaa", HOST, VPC, "terminated"))
    assert found(tmp_path, snap("security_groups", group(DEBUG)), gone) == violation()
    assert found(tmp_path, snap("security_groups", group(DEBUG))) == violation()


def test_a_host_held_in_another_accounts_unconnected_vpc_is_not_ours(tmp_path: Path) -> None:
    """Overlapping address spaces: staging's 10.191.12.13 says nothing about prod's rule."""
    staging = snap("instances", instance("i-0000000000000bbbb", HOST, ELSEWHERE), OTHER)
    assert found(tmp_path, snap("security_groups", group(DEBUG)), staging) == violation()


def test_a_host_held_in_a_peered_vpc_is_ours(tmp_path: Path) -> None:
    peer = snap("instances", instance("i-0000000000000cccc", HOST, PEER), OTHER)
    routes = [
        snap("route_tables", peering("rtb-0000000000000000a", VPC, "pcx-0000000000000000a")),
        snap(
            "route_tables", peering("rtb-0000000000000000b", PEER, "pcx-0000000000000000a"), OTHER
        ),
    ]
    assert found(tmp_path, snap("security_groups", group(DEBUG)), peer, *routes) == []
    assert found(tmp_path, snap("security_groups", group(DEBUG)), peer, routes[0]) == violation()


def test_a_public_host_is_ours_wherever_we_hold_it(tmp_path: Path) -> None:
    public = rule("ingress", "tcp", "203.0.113.7/32", (443, 443))
    eip = {"AllocationId": "eipalloc-0000000000000000a", "PublicIp": "203.0.113.7", "Tags": {}}
    rules = snap("security_groups", group(public))
    assert found(tmp_path, rules, snap("elastic_ips", eip, OTHER)) == []
    assert found(tmp_path, rules) == [
        "! policy no-unheld-hosts: ingress tcp/443 from 203.0.113.7/32"
        " (203.0.113.7 held by none of our resources)"
    ]


@pytest.mark.parametrize("source", ["10.191.12.0/24", "10.191.12.12/31", "0.0.0.0/0", "sg-0abc"])
def test_only_hosts_are_asked_about(tmp_path: Path, source: str) -> None:
    assert (
        found(tmp_path, snap("security_groups", group(rule("ingress", "tcp", source, (22, 22)))))
        == []
    )


def test_a_list_entry_is_a_source_too(tmp_path: Path) -> None:
    pl = "pl-0a1b2c3d4e5f60718"
    office = prefix_list(pl, "office", [f"{HOST}/32", "10.191.12.40/32", "10.0.0.0/8"])
    held = snap("instances", instance("i-0000000000000aaaa", "10.191.12.40", VPC))
    rules = snap("security_groups", group(rule("ingress", "tcp", pl, (22, 22))))
    assert found(tmp_path, rules, held, snap("managed_prefix_lists", office)) == [
        f"! policy no-unheld-hosts: ingress tcp/22 from {pl} (office) entry {HOST}/32 ({NOTE})"
    ]


def test_allowed_exempts_a_known_partner_host(tmp_path: Path) -> None:
    policy = (
        "policies:\n  - {name: no-unheld-hosts, type: security_groups,"
        " deny: {from: [unheld-host]}, allowed: [10.191.12.13/32]}\n"
    )
    assert found(tmp_path, snap("security_groups", group(DEBUG)), policy=policy) == []


# --- since when, from the history ---------------------------------------------------------------

DAY = "2026-11-{:02d}T06:00:00+00:00"


def story(root: Path) -> None:
    """Day 1: debug-1 holds the address and the rule lets it in; day 2: nothing changes;
    day 3: debug-1 is gone, the rule stays."""
    write(root, "security_groups", [group(DEBUG)])
    write(root, "instances", [instance("i-0000000000000aaaa", HOST, VPC)])
    commit_all(root.parent, "day 1", DAY.format(1))
    write(root, "instances", [instance("i-0000000000000dddd", "10.191.12.14", VPC)])
    commit_all(root.parent, "day 2", DAY.format(2))
    write(root, "instances", [])
    commit_all(root.parent, "day 3", DAY.format(3))


def check(capsys: Capsys, root: Path, tmp_path: Path) -> tuple[int, str, str]:
    baseline = tmp_path / "policy.yaml"
    baseline.write_text(POLICY, encoding="utf-8")
    return run(capsys, "check", "-C", str(root), "--baseline", str(baseline))


def test_since_when_comes_from_the_history(tmp_path: Path, capsys: Capsys) -> None:
    root = init_repo(tmp_path / "repo") / "snapshots"
    story(root)
    code, out, err = check(capsys, root, tmp_path)
    assert code == 2, err
    since = "unheld since between 2026-11-01T06:00:00Z and 2026-11-02T06:00:00Z"
    assert violation(f"{NOTE}, {since}")[0] in out


def test_without_a_history_nothing_is_said_about_since_when(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "plain" / "snapshots"
    write(root, "security_groups", [group(DEBUG)])
    code, out, err = check(capsys, root, tmp_path)
    assert code == 2, err
    assert violation()[0] in out


def test_never_held_in_the_history_says_so(tmp_path: Path, capsys: Capsys) -> None:
    root = init_repo(tmp_path / "repo") / "snapshots"
    write(root, "security_groups", [group(DEBUG)])
    commit_all(root.parent, "day 1", DAY.format(1))
    code, out, _ = check(capsys, root, tmp_path)
    assert (
        violation(f"{NOTE}, never held in the 1 snapshot(s) since 2026-11-01T06:00:00Z")[0] in out
    )


def test_held_at_the_last_commit_but_gone_from_the_working_tree(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = init_repo(tmp_path / "repo") / "snapshots"
    write(root, "security_groups", [group(DEBUG)])
    write(root, "instances", [instance("i-0000000000000aaaa", HOST, VPC)])
    commit_all(root.parent, "day 1", DAY.format(1))
    write(root, "instances", [])  # today's snapshot, not committed yet
    code, out, _ = check(capsys, root, tmp_path)
    assert (
        violation(f"{NOTE}, held until the last committed snapshot 2026-11-01T06:00:00Z")[0] in out
    )
