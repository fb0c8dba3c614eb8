"""``diff --attribute``: the changes between two backdated snapshots, each matched to the
CloudTrail event that made it (the loopback fake, tests/support/cloudtrailfake.py), in every
report format; the JSON validated against schemas/report.schema.json."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftaudit.schemas import errors
from tests.support.cloudtrailfake import CloudTrailFake, assumed_role, event, iam_user
from tests.support.gitsnap import git, init_repo, rule, run, security_group, write
from tests.test_history import instance

Capsys = pytest.CaptureFixture[str]
ADMIN = "sg-0admin00000000001"
EIP, OLD_ASSOC, NEW_ASSOC = (
    "eipalloc-0a1b2c3d4e5f60011",
    "eipassoc-0old",
    "eipassoc-0a1b2c3d4e5f60012",
)
TODAY = dt.datetime.now(dt.timezone.utc).replace(hour=6, minute=0, second=0, microsecond=0)
BEFORE, AFTER = TODAY - dt.timedelta(days=6), TODAY - dt.timedelta(days=5)
SSH = rule("ingress", "tcp", "10.191.12.13/32", (22, 22), "for debugging")
SECONDARY = "+ PrivateIpAddresses[PrivateIpAddress=10.191.12.77]: Primary=false"


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return BEFORE.replace(hour=hour, minute=minute, second=second)


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def address(association: str, instance_id: str) -> dict[str, Any]:
    return {
        "AllocationId": EIP,
        "PublicIp": "203.0.113.25",
        "AssociationId": association,
        "InstanceId": instance_id,
        "Domain": "vpc",
        "Tags": {},
    }


def interface(secondary: bool) -> dict[str, Any]:
    addresses = [{"Primary": True, "PrivateIpAddress": "10.191.12.20"}]
    if secondary:
        addresses.append({"Primary": False, "PrivateIpAddress": "10.191.12.77"})
    return {
        "NetworkInterfaceId": "eni-0web10000000000001",
        "PrivateIpAddress": "10.191.12.20",
        "PrivateIpAddresses": addresses,
        "Status": "in-use",
        "Tags": {},
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    snaps = root / "snaps"
    for when, debug, rules, assoc, secondary in (
        (BEFORE, True, [], OLD_ASSOC, False),
        (AFTER, False, [SSH], NEW_ASSOC, True),
    ):
        write(
            snaps, "instances", [instance("i-0debug0000000001", "10.191.12.13", "eni-0d")] * debug
        )
        write(snaps, "security_groups", [security_group(ADMIN, "admin", rules)])
        write(snaps, "elastic_ips", [address(assoc, "i-0web10000000000001")])
        write(snaps, "network_interfaces", [interface(secondary)])
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "snapshot", date=when.isoformat())
    return snaps


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudTrailFake]:
    with CloudTrailFake() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        yield server
        assert server.errors == []


def story(fake: CloudTrailFake) -> None:
    fake.add(event("AuthorizeSecurityGroupIngress", at(14, 3, 12), iam_user("alice")))
    fake.add(event("TerminateInstances", at(9, 12, 44), iam_user("bob")))
    fake.add(event("DisassociateAddress", at(17, 45), iam_user("carol"),
                   swap={"eipassoc-0a1b2c3d4e5f60012": OLD_ASSOC}))  # fmt: skip
    fake.add(event("AssociateAddress", at(17, 46), iam_user("carol")))
    deploy = assumed_role(
        "cfn-exec", "AWSCloudFormation", invoked_by="cloudformation.amazonaws.com"
    )
    fake.add(event("AssignPrivateIpAddresses", at(15, 2, 9), deploy))


@pytest.mark.e2e  # five lookups in one account and region: two seconds at CloudTrail's pace
def test_each_change_names_the_event_that_made_it(
    repo: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    story(fake)
    code, out, err = run(capsys, "diff", "-C", str(repo), "HEAD~1", "HEAD", "--attribute",
                         "--format", "json")  # fmt: skip
    assert code == 2, err  # changes: the gate's exit code, as without --attribute
    report = json.loads(out)
    assert errors("report", report) == []
    found = {
        (c["type"], a["subject"]): (a["status"], a["event"]["name"] if a["event"] else None,
                                    a["event"]["principal"] if a["event"] else None)
        for c in report["changes"]
        for a in c["attribution"]
    }  # fmt: skip
    user = "arn:aws:iam::123456789012:user/"
    assert found == {
        ("security_groups", '+ ingress tcp/22 from 10.191.12.13/32 "for debugging"'): (
            "exact", "AuthorizeSecurityGroupIngress", user + "alice"),
        ("instances", "instance removed"): ("exact", "TerminateInstances", user + "bob"),
        ("elastic_ips", f"disassociated {OLD_ASSOC}"): ("exact", "DisassociateAddress",
                                                        user + "carol"),
        ("elastic_ips", f"associated {NEW_ASSOC}"): ("exact", "AssociateAddress", user + "carol"),
        ("network_interfaces", SECONDARY): ("exact", "AssignPrivateIpAddresses",
                                            "arn:aws:sts::123456789012:assumed-role/cfn-exec/"
                                            "AWSCloudFormation"),
    }  # fmt: skip
    assert fake.throttled == 0
    # The text report shows each under its change; the second run asks CloudTrail nothing.
    code, out, err = run(capsys, "diff", "-C", str(repo), "HEAD~1", "HEAD", "--attribute")
    assert (
        f'    + ingress tcp/22 from 10.191.12.13/32 "for debugging": by {user}alice at '
        f"{iso(at(14, 3, 12))} (AuthorizeSecurityGroupIngress, event "
    ) in out
    assert (
        "session of arn:aws:iam::123456789012:role/cfn-exec, invoked by "
        "cloudformation.amazonaws.com)"
    ) in out
    assert "0 LookupEvents call(s), 5 answered from .driftaudit/cloudtrail" in err
    html = run(capsys, "diff", "-C", str(repo), "HEAD~1", "HEAD", "--attribute", "--format",
               "html")[1]  # fmt: skip
    assert f"by {user}bob at {iso(at(9, 12, 44))} (TerminateInstances, event" in html
    markdown = run(capsys, "diff", "-C", str(repo), "HEAD~1", "HEAD", "--attribute", "--format",
                   "markdown")[1]  # fmt: skip
    assert f"instance removed: by {user}bob at {iso(at(9, 12, 44))}" in markdown


def test_without_attribute_nothing_is_asked(
    repo: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    code, out, _ = run(capsys, "diff", "-C", str(repo), "HEAD~1", "HEAD", "--format", "json")
    assert code == 2
    assert all("attribution" not in c for c in json.loads(out)["changes"])
    assert sum(fake.calls.values()) == 0


def test_a_change_without_its_event_keeps_its_bounds(
    repo: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    code, out, err = run(capsys, "diff", "-C", str(repo), "HEAD~1", "HEAD", "--attribute",
                         "--type", "security_groups", "--format", "json")  # fmt: skip
    (change,) = json.loads(out)["changes"]
    (only,) = change["attribution"]
    assert only["status"] == "none"
    assert only["reason"] == (
        "no successful AuthorizeSecurityGroupIngress or AuthorizeSecurityGroupEgress or "
        "ModifySecurityGroupRules adding ingress tcp/22 from 10.191.12.13/32 to "
        f"{ADMIN} between {iso(BEFORE - dt.timedelta(minutes=30))} and "
        f"{iso(AFTER + dt.timedelta(minutes=30))}"
    )
