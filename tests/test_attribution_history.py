"""``history ip|rule|exposure --attribute`` and ``history ip --ipam``, on real git (snapshots
committed at backdated dates, one a day at 06:00 UTC) against the loopback CloudTrail fake
(tests/support/cloudtrailfake.py: LookupEvents with its paging, 90 days and 2 requests a
second; STS and EC2's IPAM calls), through the fault proxy where AWS misbehaves. Every JSON
answer is validated against schemas/history.schema.json.

The story (days before today): debug-1 holds 10.191.12.13 from day -20; alice adds
``tcp/22 from 10.191.12.13/32`` to the admin group on day -19 at 14:03:12 (after a failed
try); bob terminates debug-1 on day -15 at 09:12:44.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from driftaudit.schemas import errors
from tests.support.cloudtrailfake import CloudTrailFake, IpamRecord, event, iam_user
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import git, init_repo, rule, run, security_group, write
from tests.test_history import instance

Capsys = pytest.CaptureFixture[str]
ADDRESS = "10.191.12.13"
ADMIN = "sg-0admin00000000001"
DEBUG = "i-0debug0000000001"
RUN = (
    "driftaudit snapshot: day\n\nDriftaudit-Run: accounts=123456789012 regions=us-east-1 "
    "types=instances,security_groups parts=2 failed=0 resources=2 dir=snaps\n"
)
TODAY = dt.datetime.now(dt.timezone.utc).replace(hour=6, minute=0, second=0, microsecond=0)


def day(n: int, hour: int = 6, minute: int = 0, second: int = 0) -> dt.datetime:
    return (TODAY + dt.timedelta(days=n)).replace(hour=hour, minute=minute, second=second)


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


SSH = rule("ingress", "tcp", f"{ADDRESS}/32", (22, 22), "for debugging")
DEBUG_1 = instance(DEBUG, ADDRESS, "eni-0debug0000000001")
DEBUG_1["Tags"] = {"Name": "debug-1"}


def snapshots(repo: Path, days: list[tuple[int, list[Any], list[Any]]]) -> Path:
    """One snapshot a day: (day, instances, rules of the admin group)."""
    init_repo(repo)
    snaps = repo / "snaps"
    for n, instances, rules in days:
        write(snaps, "instances", instances)
        write(snaps, "security_groups", [security_group(ADMIN, "admin", rules)])
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", RUN, date=day(n).isoformat())
    return snaps


STORY = [
    (-20, [DEBUG_1], []),
    (-19, [DEBUG_1], []),
    (-18, [DEBUG_1], [SSH]),
    (-16, [DEBUG_1], [SSH]),
    (-15, [DEBUG_1], [SSH]),
    (-14, [], [SSH]),
]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudTrailFake]:
    with CloudTrailFake() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        yield server
        assert server.errors == []


def story_events(fake: CloudTrailFake) -> None:
    fake.add(event("AuthorizeSecurityGroupIngress-failed", day(-19, 14, 1, 40), iam_user("alice")))
    fake.add(event("AuthorizeSecurityGroupIngress", day(-19, 14, 3, 12), iam_user("alice")))
    fake.add(event("TerminateInstances", day(-15, 9, 12, 44), iam_user("bob")))


def answer(capsys: Capsys, *args: str) -> tuple[dict[str, Any], str]:
    """The JSON answer (schema-checked) and stderr of ``driftaudit history ARGS``."""
    code, out, err = run(capsys, "history", *args, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert errors("history", data) == []
    return data, err


def test_the_rule_added_by_alice_at_140312(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    story_events(fake)
    args = ("rule", "--source", ADDRESS, "--port", "22", "--attribute", "-C", str(snaps))
    code, out, err = run(capsys, "history", *args)
    assert code == 0, err
    alice = (
        f"by arn:aws:iam::123456789012:user/alice at {iso(day(-19, 14, 3, 12))} "
        "(AuthorizeSecurityGroupIngress, event "
    )
    lines = out.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("  from   between"))
    assert lines[start + 1].startswith(f"         {alice}")
    assert "CloudTrail: 1 lookup(s), 1 LookupEvents call(s)" in err
    data, _ = answer(capsys, *args)
    found = data["rules"][0]["attribution"]
    assert found["end"] is None  # still so: nothing to look between
    assert found["start"]["status"] == "exact"
    assert found["start"]["event"]["principal"] == "arn:aws:iam::123456789012:user/alice"
    assert found["start"]["event"]["time"] == iso(day(-19, 14, 3, 12))
    assert found["start"]["window"] == {
        "from": iso(day(-19) - dt.timedelta(minutes=30)),
        "to": iso(day(-18) + dt.timedelta(minutes=30)),
    }
    # The second run was answered from DIR/.driftaudit/cloudtrail: one call in all.
    assert fake.calls["LookupEvents"] == 1
    assert (snaps / ".driftaudit" / "cloudtrail").is_dir()


def test_bob_terminated_the_holder_and_opened_the_exposure(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    story_events(fake)
    bob = f"by arn:aws:iam::123456789012:user/bob at {iso(day(-15, 9, 12, 44))} (TerminateInstances"
    ip, _ = answer(capsys, "ip", ADDRESS, "--attribute", "-C", str(snaps))
    (holder,) = ip["holders"]
    assert holder["attribution"]["start"] is None  # in the first snapshot
    assert (
        holder["attribution"]["end"]["event"]["principal"] == "arn:aws:iam::123456789012:user/bob"
    )
    code, out, _ = run(capsys, "history", "exposure", ADDRESS, "--port", "22", "--attribute",
                       "-C", str(snaps))  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    released = lines.index(f"         released by instance {DEBUG} (debug-1)")
    assert lines[released + 1].startswith(f"           {bob}")
    exposure, _ = answer(
        capsys, "exposure", ADDRESS, "--port", "22", "--attribute", "-C", str(snaps)
    )
    (window,) = exposure["windows"]
    assert [a["event"]["name"] for a in window["attribution"]["opened_by"]] == [
        "TerminateInstances"
    ]
    assert window["attribution"]["closed_by"] == []
    assert fake.calls["LookupEvents"] == 1  # the same lookup each time, cached


def test_several_matching_events_keep_the_snapshot_bounds(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    fake.add(event("AuthorizeSecurityGroupIngress", day(-19, 9), iam_user("alice")))
    fake.add(event("RevokeSecurityGroupIngress", day(-19, 10), iam_user("carol")))
    fake.add(event("AuthorizeSecurityGroupIngress", day(-19, 14, 3, 12), iam_user("alice")))
    data, _ = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    start = data["rules"][0]["attribution"]["start"]
    assert start["status"] == "several" and start["event"] is None
    assert [c["time"] for c in start["candidates"]] == [iso(day(-19, 9)), iso(day(-19, 14, 3, 12))]
    code, out, _ = run(
        capsys, "history", "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps)
    )
    assert "CloudTrail: several events: 2 events made this change" in out
    assert "(the snapshot bounds stand)" in out


def test_a_revoke_that_removed_nothing_and_a_failed_call_are_not_the_change(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    gone = [(-20, [DEBUG_1], [SSH]), (-19, [DEBUG_1], [SSH]), (-18, [DEBUG_1], [])]
    snaps = snapshots(tmp_path / "repo", gone)
    swap = {"10.191.12.31/32": f"{ADDRESS}/32"}  # the fixture's unknown rule made ours
    fake.add(
        event("RevokeSecurityGroupIngress-unknown", day(-19, 10), iam_user("carol"), swap=swap)
    )
    fake.add(
        event(
            "RevokeSecurityGroupIngress",
            day(-19, 11),
            iam_user("carol"),
            error=("Client.UnauthorizedOperation", "You are not authorized"),
        )
    )
    data, _ = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    end = data["rules"][0]["attribution"]["end"]
    assert end["status"] == "none"
    assert "1 failed call(s) ignored (Client.UnauthorizedOperation)" in end["reason"]
    assert f"a RevokeSecurityGroupIngress at {iso(day(-19, 10))} removed nothing" in end["reason"]


def test_a_window_older_than_90_days_is_not_asked(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    old = [(-120, [DEBUG_1], []), (-119, [DEBUG_1], [SSH]), (-10, [DEBUG_1], [SSH])]
    snaps = snapshots(tmp_path / "repo", old)
    data, err = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    start = data["rules"][0]["attribution"]["start"]
    assert start["status"] == "unavailable"
    assert "more than 90 days ago: CloudTrail's event history keeps 90 days" in start["reason"]
    assert fake.calls["LookupEvents"] == 0 and fake.calls["GetCallerIdentity"] == 0
    assert "0 lookup(s), 0 LookupEvents call(s)" in err


def test_pages_are_followed_with_the_same_parameters(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    # 60 failed tries around the real one: two pages of at most 50, newest first.
    for n in range(60):
        fake.add(
            event(
                "AuthorizeSecurityGroupIngress",
                day(-19, 12) + dt.timedelta(seconds=n),
                iam_user("alice"),
                error=("Client.InvalidPermission.Duplicate", "exists"),
            )
        )
    fake.add(event("AuthorizeSecurityGroupIngress", day(-19, 14, 3, 12), iam_user("alice")))
    data, _ = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    assert data["rules"][0]["attribution"]["start"]["status"] == "exact"
    first, second = fake.lookups
    assert first["MaxResults"] == 50 and "NextToken" not in first
    assert {k: v for k, v in second.items() if k != "NextToken"} == first


@pytest.mark.e2e
def test_lookups_stay_within_two_a_second_per_account_and_region(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    # Eight boundaries, each a lookup of its own, one account and region: the fake refuses
    # a third request within a second; driftaudit never makes it refuse one.
    days = [(-30 + 2 * n, [DEBUG_1], [SSH] if n % 2 else []) for n in range(9)]
    snaps = snapshots(tmp_path / "repo", days)
    data, err = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    assert len(data["rules"]) == 4
    assert fake.calls["LookupEvents"] == 8 and fake.throttled == 0
    # The fake does throttle: the same lookups in a burst, without retries, are refused.
    client = boto3.client(
        "cloudtrail", endpoint_url=fake.url, config=Config(retries={"total_max_attempts": 1})
    )
    refused = 0
    for _ in range(6):
        try:
            client.lookup_events(
                LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": ADMIN}]
            )
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ThrottlingException"
            refused += 1
    assert refused >= 3


@pytest.mark.e2e
def test_throttling_on_the_way_is_retried(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    story_events(fake)
    with FaultProxy(fake.url, throttle_rate=0.5, seed=3) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        data, _ = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    assert data["rules"][0]["attribution"]["start"]["status"] == "exact"
    assert proxy.counts["throttled"] >= 1


def test_lookup_events_denied_is_said_and_the_answer_still_given(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    with FaultProxy(fake.url, deny_actions=["cloudtrail:LookupEvents"]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        code, out, err = run(capsys, "history", "rule", "--source", ADDRESS, "--attribute",
                             "-C", str(snaps))  # fmt: skip
    assert code == 0, err
    assert (
        "CloudTrail: not looked up: cloudtrail:LookupEvents in 123456789012/us-east-1 failed: "
        "AccessDeniedException: User is not authorized to perform: cloudtrail:LookupEvents "
        "(the snapshot bounds stand)"
    ) in out
    assert "Traceback" not in err


def test_an_account_without_credentials_is_named(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    fake.account = "210987654321"  # the caller's credentials reach another account
    data, _ = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    start = data["rules"][0]["attribution"]["start"]
    assert start["status"] == "unavailable"
    assert start["reason"] == (
        "no credentials for account 123456789012: the credentials reach account 210987654321, "
        "and driftaudit.yaml names no way to reach 123456789012 (an accounts entry, or an "
        "organization role)"
    )


def test_the_accounts_file_role_is_assumed_for_its_account(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    story_events(fake)
    fake.account = "210987654321"
    (tmp_path / "repo" / "driftaudit.yaml").write_text(
        "accounts:\n  - id: '123456789012'\n    role_arn: arn:aws:iam::123456789012:role/audit\n"
    )
    data, _ = answer(capsys, "rule", "--source", ADDRESS, "--attribute", "-C", str(snaps))
    assert data["rules"][0]["attribution"]["start"]["status"] == "exact"
    assert fake.calls["AssumeRole"] == 1


def test_nothing_to_look_between_asks_nothing(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", [(-3, [DEBUG_1], [SSH]), (-2, [DEBUG_1], [SSH])])
    data, _ = answer(capsys, "ip", ADDRESS, "--attribute", "-C", str(snaps))
    assert data["holders"][0]["attribution"] == {"start": None, "end": None}
    assert sum(fake.calls.values()) == 0


# --- IPAM ----------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_ipam_answers_beside_the_snapshots(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    fake.add_ipam(
        "ipam-0a1b2c3d4e5f60001", {"private": "ipam-scope-0priv", "public": "ipam-scope-0pub"}
    )
    fake.ipam_records += [
        IpamRecord("ipam-scope-0priv", f"{ADDRESS}/32", "instance", DEBUG,
                   day(-40, 7, 10), day(-15, 9, 20), vpc="vpc-0a1b2c3d", name="debug-1"),
        IpamRecord("ipam-scope-0priv", f"{ADDRESS}/32", "network-interface",
                   "eni-0debug0000000001", day(-40, 7, 10), day(-15, 9, 20)),
        IpamRecord("ipam-scope-0priv", "10.191.12.0/24", "subnet", "subnet-0a", day(-90)),
        IpamRecord("ipam-scope-0pub", f"{ADDRESS}/32", "eip", "eipalloc-0x", day(-5)),
    ]  # fmt: skip
    data, _ = answer(capsys, "ip", ADDRESS, "--ipam", "-C", str(snaps))
    ipam = data["ipam"]
    assert ipam["cidr"] == f"{ADDRESS}/32" and ipam["scope"] == "private"
    assert ipam["asked"] == [
        {"account": "123456789012", "region": "us-east-1", "ipam": "ipam-0a1b2c3d4e5f60001",
         "scope": "ipam-scope-0priv"}
    ]  # fmt: skip
    # The exact CIDR, in the private scope: not the subnet holding it, not the public scope.
    assert [(r["type"], r["id"]) for r in ipam["records"]] == [
        ("instance", DEBUG),
        ("network-interface", "eni-0debug0000000001"),
    ]
    assert ipam["records"][0]["sampled_start"] == iso(day(-40, 7, 10))
    # Asked at a time: only what IPAM saw then.
    at, _ = answer(capsys, "ip", ADDRESS, "--ipam", "--at", "2 days ago", "-C", str(snaps))
    assert at["ipam"]["records"] == []
    code, out, _ = run(capsys, "history", "ip", ADDRESS, "--ipam", "-C", str(snaps))
    assert (
        f"{ADDRESS}/32  instance {DEBUG} (debug-1)  123456789012/us-east-1 vpc-0a1b2c3d  "
        f"(from IPAM ipam-0a1b2c3d4e5f60001) sampled from {iso(day(-40, 7, 10))} "
        f"until {iso(day(-15, 9, 20))}"
    ) in out
    assert "times are IPAM's samples (a change may be earlier than its sampled start)" in out


@pytest.mark.e2e
def test_no_ipam_is_said(tmp_path: Path, fake: CloudTrailFake, capsys: Capsys) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    code, out, _ = run(capsys, "history", "ip", ADDRESS, "--ipam", "-C", str(snaps))
    assert code == 0
    assert (
        out.splitlines()[-1] == "# IPAM: no Amazon VPC IPAM in the snapshotted accounts and regions"
    )
    assert fake.calls["DescribeIpams"] == 1 and fake.calls["GetIpamAddressHistory"] == 0


@pytest.mark.e2e
def test_an_ipam_that_cannot_be_asked_is_named(
    tmp_path: Path, fake: CloudTrailFake, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    snaps = snapshots(tmp_path / "repo", STORY)
    with FaultProxy(fake.url, deny_actions=["ec2:DescribeIpams"]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        data, err = answer(capsys, "ip", ADDRESS, "--ipam", "-C", str(snaps))
    assert data["ipam"]["asked"] == [] and data["ipam"]["records"] == []
    assert data["ipam"]["problems"] == [
        "123456789012/us-east-1: ec2:DescribeIpams failed: UnauthorizedOperation: "
        "You are not authorized to perform this operation."
    ]
    assert f"driftaudit: IPAM: {data['ipam']['problems'][0]}" in err
