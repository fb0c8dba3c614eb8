"""Issue 11, "Done means": the seed story on a realistic estate, end to end.

Two accounts (snapshot with one ``--role-arn`` each) whose VPCs share the CIDR
10.191.0.0/16, snapshot daily from the moto server and committed at backdated dates:

* day 1: prod's ``bastion`` group allows SSH from the prefix list ``office``, which holds
  ``10.191.12.40/32``, the address of prod's instance web-1 (group ``web``); prod's ``db``
  group allows 5432 from the group ``web``; prod's ``admin`` group allows SSH from
  ``10.191.12.99/32``, which only staging's instance staging-1 holds, in staging's
  unconnected VPC with the same CIDR: not ours for a prod rule;
* day 2: nothing changes (the run is recorded: a quiet day, not a day without a run);
* day 3: web-1 is terminated; its /32 lingers in the list;
* day 4: ``0.0.0.0/0`` is added to the list behind the SSH rule.

Then the exact answers of ``history ip|rule|exposure`` (JSON), ``check`` with an
``unheld-host`` policy and ``diff --fail-on critical``, written from the issue's words first
(as strict xfails until the work landed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.demo import environment
from driftaudit.schemas import errors
from driftaudit.times import iso
from tests.conftest import FAKE_ENV
from tests.support.gitsnap import REGION, git, init_repo, run
from tests.support.motoserver import MotoServer

pytestmark = pytest.mark.e2e
Capsys = pytest.CaptureFixture[str]
PROD, STAGING = "111111111111", "222222222222"
CIDR = "10.191.0.0/16"
WEB_1, STAGING_1 = "10.191.12.40", "10.191.12.99"
DAYS = [f"2026-11-0{n}T06:00:00+00:00" for n in (1, 2, 3, 4)]
BASELINE = """\
policies:
  - name: no-leftover-hosts
    description: A /32 that none of our resources holds in the rule's network is a leftover.
    type: security_groups
    deny: {from: [unheld-host]}
"""


@dataclass
class Story:
    repo: Path
    snaps: Path
    times: list[str]  # the snapshot time of day n + 1
    ids: dict[str, str]

    def json(self, capsys: Capsys, *args: str, code: int = 0) -> dict[str, Any]:
        got, out, err = run(capsys, *args, "-C", str(self.snaps), "--format", "json")
        assert got == code, err
        return dict(json.loads(out))

    def history(self, capsys: Capsys, *args: str) -> dict[str, Any]:
        result = self.json(capsys, "history", *args)
        assert errors("history", result) == [], errors("history", result)[:5]
        return result


def ec2_of(url: str, account: str) -> Any:
    """An EC2 client acting in ``account`` (moto answers an assumed role of any account)."""
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION)
    role = f"arn:aws:iam::{account}:role/audit"
    c = sts.assume_role(RoleArn=role, RoleSessionName="story")["Credentials"]
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )


def ssh(**source: Any) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, **source}]


@pytest.fixture(scope="module")
def story(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    with environment(FAKE_ENV):
        yield play(moto_server, init_repo(tmp_path_factory.mktemp("story") / "repo"))


def play(moto_server: MotoServer, repo: Path) -> Story:
    moto_server.reset()
    url = moto_server.url
    prod, staging = ec2_of(url, PROD), ec2_of(url, STAGING)
    ids: dict[str, str] = {}

    def network(ec2: Any, name: str) -> tuple[str, str]:
        vpc = ec2.create_vpc(CidrBlock=CIDR)["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": name}])
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.191.12.0/24")["Subnet"]["SubnetId"]
        return vpc, subnet

    def group(ec2: Any, vpc: str, name: str) -> str:
        gid = str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"])
        ids[name] = gid
        return gid

    def launch(ec2: Any, subnet: str, name: str, address: str, groups: list[str]) -> None:
        made = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            PrivateIpAddress=address,
            SecurityGroupIds=groups,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
            ],
        )["Instances"][0]
        ids[name] = made["InstanceId"]
        ids[f"{name} interface"] = made["NetworkInterfaces"][0]["NetworkInterfaceId"]

    ids["prod vpc"], prod_subnet = network(prod, "prod")
    ids["staging vpc"], staging_subnet = network(staging, "staging")
    office = prod.create_managed_prefix_list(
        PrefixListName="office",
        AddressFamily="IPv4",
        MaxEntries=10,
        Entries=[{"Cidr": f"{WEB_1}/32", "Description": "web-1, for debugging"}],
    )["PrefixList"]["PrefixListId"]
    ids["office"] = office
    web, db = group(prod, ids["prod vpc"], "web"), group(prod, ids["prod vpc"], "db")
    bastion, admin = group(prod, ids["prod vpc"], "bastion"), group(prod, ids["prod vpc"], "admin")
    prod.authorize_security_group_ingress(
        GroupId=bastion, IpPermissions=ssh(PrefixListIds=[{"PrefixListId": office}])
    )
    prod.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": web}],
            }
        ],
    )
    prod.authorize_security_group_ingress(
        GroupId=admin,
        IpPermissions=ssh(IpRanges=[{"CidrIp": f"{STAGING_1}/32", "Description": "admin"}]),
    )
    launch(prod, prod_subnet, "web-1", WEB_1, [web])
    launch(prod, prod_subnet, "bastion-1", "10.191.12.5", [bastion])
    launch(prod, prod_subnet, "db-1", "10.191.12.6", [db])
    staging_group = group(staging, ids["staging vpc"], "staging")
    launch(staging, staging_subnet, "staging-1", STAGING_1, [staging_group])

    snaps = repo / "snaps"

    def snapshot(day: int) -> None:
        roles = [a for account in (PROD, STAGING) for a in ("--role-arn", role_of(account))]
        with environment({"GIT_AUTHOR_DATE": DAYS[day], "GIT_COMMITTER_DATE": DAYS[day]}):
            proc = subprocess.run(
                [sys.executable, "-m", "driftaudit", "snapshot", REGION, *roles,
                 "--endpoint-url", url, "-o", str(snaps), "--commit", "-q"],
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
        assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr

    snapshot(0)
    snapshot(1)  # a quiet day: nothing changed
    prod.terminate_instances(InstanceIds=[ids["web-1"]])
    snapshot(2)
    version = prod.describe_managed_prefix_lists(PrefixListIds=[office])["PrefixLists"][0]
    prod.modify_managed_prefix_list(
        PrefixListId=office,
        # moto forgets the name when a modification does not repeat it (AWS keeps it).
        PrefixListName="office",
        CurrentVersion=version["Version"],
        AddEntries=[{"Cidr": "0.0.0.0/0", "Description": "temporary"}],
    )
    snapshot(3)
    (repo / "baselines").mkdir()
    (repo / "baselines" / "story.yaml").write_text(BASELINE, encoding="utf-8")
    times = [iso(int(t)) for t in git(repo, "log", "--reverse", "--format=%ct").split()]
    return Story(repo, snaps, times, ids)


def role_of(account: str) -> str:
    return f"arn:aws:iam::{account}:role/audit"


# --- the history in git ---------------------------------------------------------------------


def test_every_day_is_a_commit_and_the_quiet_day_a_run_record(story: Story) -> None:
    from driftaudit.change.rangediff import recorded_run

    assert story.times == [f"2026-11-0{n}T06:00:00Z" for n in (1, 2, 3, 4)]
    quiet = git(story.repo, "log", "-1", "--format=%B", "HEAD~2")
    record = recorded_run(quiet)
    assert quiet.startswith("driftaudit snapshot: no changes\n")
    assert record is not None and record.accounts == (PROD, STAGING) and record.failed == 0
    assert git(story.repo, "diff", "--name-only", "HEAD~3", "HEAD~2") == ""


def test_the_report_tells_the_quiet_day_from_a_day_without_a_run(
    story: Story, capsys: Capsys
) -> None:
    first = git(story.repo, "rev-list", "--max-parents=0", "HEAD").strip()
    days = story.json(capsys, "report", first, "HEAD")["days"]
    # A run every day; day 2 changed nothing, day 3 terminated web-1.
    assert [(d["date"], d["runs"]) for d in days] == [
        ("2026-11-02", 1),
        ("2026-11-03", 1),
        ("2026-11-04", 1),
    ]
    assert (days[0]["total"], days[1]["total"] > 0) == (0, True)


def test_diff_of_a_range_with_the_run_record_equals_the_range_without(
    story: Story, capsys: Capsys
) -> None:
    with_record = story.json(capsys, "diff", "HEAD~3", "HEAD~1", code=2)
    without = story.json(capsys, "diff", "HEAD~2", "HEAD~1", code=2)
    assert with_record["changes"] == without["changes"] and with_record["changes"]


# --- history ip -----------------------------------------------------------------------------


def holders(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(h["type"], h["id"]): h for h in result["holders"]}


def test_ip_names_web_1_with_its_network_until_the_run_after_it(
    story: Story, capsys: Capsys
) -> None:
    t, ids = story.times, story.ids
    found = holders(story.history(capsys, "ip", WEB_1))
    assert set(found) == {
        ("instances", ids["web-1"]),
        ("network_interfaces", ids["web-1 interface"]),
    }
    web_1 = found[("instances", ids["web-1"])]
    assert (web_1["account"], web_1["region"], web_1["vpc"], web_1["name"]) == (
        PROD,
        REGION,
        ids["prod vpc"],
        "web-1",
    )
    assert web_1["kind"] == "primary private"
    for h in found.values():
        assert (h["start"]["last_without"], h["start"]["first_with"]) == (None, t[0])
        # Bounded by the runs: seen on the quiet day's run, gone by the next one.
        assert (h["end"]["last_with"], h["end"]["first_without"]) == (t[1], t[2])


def test_ip_at_the_quiet_day_answers_from_its_run(story: Story, capsys: Capsys) -> None:
    t, ids = story.times, story.ids
    result = story.history(capsys, "ip", WEB_1, "--at", "2026-11-02T18:00:00Z")
    assert result["sample"]["time"] == t[1] and result["sample"]["warning"] is None
    assert ("instances", ids["web-1"]) in holders(result)


def test_ip_of_an_overlapping_address_names_the_other_accounts_holder(
    story: Story, capsys: Capsys
) -> None:
    ids = story.ids
    result = story.history(capsys, "ip", STAGING_1)
    staging_1 = holders(result)[("instances", ids["staging-1"])]
    assert (staging_1["account"], staging_1["vpc"], staging_1["name"]) == (
        STAGING,
        ids["staging vpc"],
        "staging-1",
    )
    assert result["private"] is True
    # Prod's network holds nothing at that address.
    assert story.history(capsys, "ip", STAGING_1, "--account", PROD)["holders"] == []
    assert story.history(capsys, "ip", STAGING_1, "--vpc", ids["prod vpc"])["holders"] == []


# --- history rule ---------------------------------------------------------------------------


def rule_windows(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in result["rules"]:
        out.setdefault(r["group"]["name"], []).append(r)
    return out


def test_rule_finds_the_ssh_rule_through_the_prefix_list(story: Story, capsys: Capsys) -> None:
    t, ids = story.times, story.ids
    bastion = rule_windows(story.history(capsys, "rule", "--source", WEB_1, "--port", "22"))
    assert set(bastion) == {"bastion"}
    through_entry = [w for w in bastion["bastion"] if w["via"]["entry"] == f"{WEB_1}/32"]
    assert len(through_entry) == 1
    window = through_entry[0]
    assert window["rule"]["Source"] == ids["office"]
    assert window["via"] == {
        "kind": "prefix_list",
        "list": ids["office"],
        "name": "office",
        "entry": f"{WEB_1}/32",
        "description": "web-1, for debugging",
    }
    assert window["start"]["first_with"] == t[0] and window["end"]["first_without"] is None


def test_rule_finds_the_group_reference_while_web_1_was_a_member(
    story: Story, capsys: Capsys
) -> None:
    t, ids = story.times, story.ids
    found = rule_windows(story.history(capsys, "rule", "--source", WEB_1))
    assert set(found) == {"bastion", "db"}
    # One window per member of web holding the address: web-1 and its interface.
    members = {(w["via"]["holder"]["type"], w["via"]["holder"]["id"]) for w in found["db"]}
    assert ("instances", ids["web-1"]) in members
    for db in found["db"]:
        assert db["rule"]["Source"] == ids["web"] and db["rule"]["FromPort"] == 5432
        assert db["via"]["kind"] == "group"
        assert db["via"]["group"] == {"id": ids["web"], "name": "web"}
        # The membership's window within the rule's: until web-1 was terminated.
        assert (db["start"]["last_without"], db["start"]["first_with"]) == (None, t[0])
        assert (db["end"]["last_with"], db["end"]["first_without"]) == (t[1], t[2])
    by_instance = next(w for w in found["db"] if w["via"]["holder"]["type"] == "instances")
    assert by_instance["via"]["holder"]["name"] == "web-1"


def test_rule_for_the_staging_address_is_prods_admin_rule(story: Story, capsys: Capsys) -> None:
    found = rule_windows(story.history(capsys, "rule", "--source", STAGING_1))
    # (And, once prefix lists are read, bastion's from day 4, through the list's 0.0.0.0/0.)
    assert [w["rule"]["Source"] for w in found["admin"]] == [f"{STAGING_1}/32"]


# --- history exposure ---------------------------------------------------------------------


def test_exposure_after_web_1_is_gone_through_the_list_entry_first(
    story: Story, capsys: Capsys
) -> None:
    t, ids = story.times, story.ids
    result = story.history(capsys, "exposure", WEB_1, "--port", "22")
    [window] = result["windows"]
    # Opened between the quiet day's run and the run that saw web-1 gone; still open.
    assert (window["start"]["last_without"], window["start"]["first_with"]) == (t[1], t[2])
    assert window["end"]["first_without"] is None
    # The /32 entry first; the world entry added on day 4 after it.
    entries = [r["via"]["entry"] for r in window["rules"]]
    assert entries == [f"{WEB_1}/32", "0.0.0.0/0"]
    assert {r["group"]["id"] for r in window["rules"]} == {ids["bastion"]}
    # Without world-open sources: the /32 alone.
    quiet = story.history(capsys, "exposure", WEB_1, "--port", "22", "--no-world")
    assert [r["via"]["entry"] for r in quiet["windows"][0]["rules"]] == [f"{WEB_1}/32"]


def test_exposure_of_the_staging_address_to_prods_admin_rule(story: Story, capsys: Capsys) -> None:
    t, ids = story.times, story.ids
    result = story.history(capsys, "exposure", STAGING_1, "--port", "22")
    [window] = result["windows"]
    # Held all along, but only in staging's unconnected VPC: never ours for prod's rule.
    assert (window["start"]["last_without"], window["start"]["first_with"]) == (None, t[0])
    assert window["end"]["first_without"] is None
    # Prod's /32 first, then bastion's list since 0.0.0.0/0 joined it; without world: the /32.
    assert [r["group"]["id"] for r in window["rules"]] == [ids["admin"], ids["bastion"]]
    quiet = story.history(capsys, "exposure", STAGING_1, "--port", "22", "--no-world")
    assert [r["group"]["id"] for r in quiet["windows"][0]["rules"]] == [ids["admin"]]


def test_no_exposure_through_the_group_reference_once_web_1_is_gone(
    story: Story, capsys: Capsys
) -> None:
    assert story.history(capsys, "exposure", WEB_1, "--port", "5432")["windows"] == []


# --- check and diff -------------------------------------------------------------------------


def test_check_finds_the_unheld_hosts_with_since_when(story: Story, capsys: Capsys) -> None:
    t, ids = story.times, story.ids
    baseline = str(story.repo / "baselines" / "story.yaml")
    result = story.json(capsys, "check", "--baseline", baseline, code=2)
    violations = {r["id"]: r["findings"] for r in result["resources"] if r["status"] == "drift"}
    assert set(violations) == {ids["bastion"], ids["admin"]}
    bastion = json.dumps(violations[ids["bastion"]])
    assert f"{WEB_1}/32" in bastion and ids["office"] in bastion
    assert f"unheld since between {t[1]} and {t[2]}" in bastion
    admin = json.dumps(violations[ids["admin"]])
    assert f"{STAGING_1}/32" in admin


def test_diff_fails_on_critical_for_the_world_added_to_the_list(
    story: Story, capsys: Capsys
) -> None:
    ids = story.ids
    result = story.json(capsys, "diff", "HEAD~1", "HEAD", "--fail-on", "critical", code=2)
    assert [(c["type"], c["id"], c["severity"]) for c in result["changes"]] == [
        ("managed_prefix_lists", ids["office"], "critical")
    ]


def test_diff_does_not_fail_on_critical_for_the_terminated_instance(
    story: Story, capsys: Capsys
) -> None:
    result = story.json(capsys, "diff", "HEAD~2", "HEAD~1", "--fail-on", "critical")
    assert {(c["type"], c["id"]) for c in result["changes"]} >= {("instances", story.ids["web-1"])}
