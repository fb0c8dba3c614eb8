"""``driftaudit history`` on a realistic network (issue 11): two accounts whose VPCs have the
same CIDR, a prefix list behind an SSH rule, a group reference, a peering connection made
midway, a network ACL denying one source, and runs that changed nothing recorded as empty
commits. Snapshot files are written with driftaudit's own writer and committed with real git
at backdated dates; every JSON answer is validated against schemas/history.schema.json.

The story, one snapshot a day (prod 123456789012, staging 210987654321, both 10.191.0.0/16):

* prod's admin group lets SSH in from the prefix list ``office`` (holding 10.191.12.40/32),
  from 10.191.12.99/32 ("admin debug") and from 10.191.12.77/32; admin-1 is in it, in a
  subnet whose network ACL denies SSH from 10.191.12.77 (rule 90);
* prod's db group lets 5432 in from the web group; web-1 (10.191.12.40) is in web;
* staging-1 holds 10.191.12.99 in staging's VPC, all along;
* day 2 and day 4: runs that changed nothing (empty commits recording the run);
* day 5: web-1 terminated; prod and staging peered (pcx-1 in both route tables);
* day 6: 0.0.0.0/0 added to the office list; day 7: a run that changed nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftaudit.canonical import normalize
from driftaudit.change.rangediff import RunRecord
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.engine import Part
from driftaudit.collect.store import render_part, write_part
from driftaudit.network import Network
from driftaudit.schemas import errors
from tests.support.gitsnap import git, init_repo, run

Capsys = pytest.CaptureFixture[str]
PROD, STAGING = "123456789012", "210987654321"
REGION = "us-east-1"
PROD_VPC, STAGE_VPC = "vpc-0a000000000000001", "vpc-0b000000000000002"
WEB_IP, STAGE_IP, DENIED_IP = "10.191.12.40", "10.191.12.99", "10.191.12.77"


def day(n: int) -> str:
    return f"2026-11-{n:02d}T06:00:00Z"


def ssh(source: str, kind: str = "cidr", description: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "Direction": "ingress",
        "Protocol": "tcp",
        "FromPort": 22,
        "ToPort": 22,
        "SourceType": kind,
        "Source": source,
    }
    if description:
        rule["Description"] = description
    return rule


def group(gid: str, name: str, rules: list[dict[str, Any]], owner: str = PROD) -> dict[str, Any]:
    return {"GroupId": gid, "GroupName": name, "VpcId": PROD_VPC, "OwnerId": owner, "Rules": rules}


def instance(
    iid: str, name: str, ip: str, vpc: str, subnet: str, groups: list[str]
) -> dict[str, Any]:
    eni = {
        "NetworkInterfaceId": "eni-" + iid[2:],
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
        "SubnetId": subnet,
        "VpcId": vpc,
        "Groups": [{"GroupId": g} for g in groups],
        "Attachment": {"DeviceIndex": 0, "Status": "attached"},
    }
    return {
        "InstanceId": iid,
        "State": {"Name": "running"},
        "PrivateIpAddress": ip,
        "SubnetId": subnet,
        "VpcId": vpc,
        "NetworkInterfaces": [eni],
        "SecurityGroups": [{"GroupId": g} for g in groups],
        "Tags": {"Name": name},
    }


def route_table(rtb: str, vpc: str, peered: bool) -> dict[str, Any]:
    routes = [{"DestinationCidrBlock": "10.191.0.0/16", "GatewayId": "local", "State": "active"}]
    if peered:
        routes.append(
            {
                "DestinationCidrBlock": "10.0.0.0/8",
                "VpcPeeringConnectionId": "pcx-1",
                "State": "active",
            }
        )
    return {"RouteTableId": rtb, "VpcId": vpc, "Routes": routes, "Associations": []}


ADMIN_ACL = {
    "NetworkAclId": "acl-0admin",
    "VpcId": PROD_VPC,
    "IsDefault": False,
    "Associations": [{"SubnetId": "subnet-0admin", "NetworkAclAssociationId": "aclassoc-1"}],
    "Entries": [
        {"Egress": False, "RuleNumber": 90, "RuleAction": "deny", "Protocol": "6",
         "CidrBlock": f"{DENIED_IP}/32", "PortRange": {"From": 22, "To": 22}},
        {"Egress": False, "RuleNumber": 100, "RuleAction": "allow", "Protocol": "-1",
         "CidrBlock": "0.0.0.0/0"},
        {"Egress": True, "RuleNumber": 100, "RuleAction": "allow", "Protocol": "-1",
         "CidrBlock": "0.0.0.0/0"},
    ],
}  # fmt: skip


def prefix_list(entries: list[str]) -> dict[str, Any]:
    return {
        "PrefixListId": "pl-0office",
        "PrefixListName": "office",
        "AddressFamily": "IPv4",
        "OwnerId": PROD,
        "Entries": [{"Cidr": cidr, "Description": "office"} for cidr in entries],
    }


def write(root: Path, account: str, rtype: str, resources: list[dict[str, Any]]) -> None:
    """Make ``root/<account>/us-east-1/<rtype>/`` hold exactly these resources, as snapshot
    writes them."""
    part = Part(account, REGION, rtype)
    spec, id_of = REGISTRY[rtype].spec, REGISTRY[rtype].id_of
    canonical = [normalize(r, spec) for r in resources]
    write_part(root, part, render_part(part, {id_of(r): r for r in canonical}, "yaml"))


def write_day(snaps: Path, web_alive: bool, peered: bool, world_in_list: bool) -> None:
    instances = [
        instance("i-0admin1", "admin-1", "10.191.1.10", PROD_VPC, "subnet-0admin", ["sg-0admin"]),
        instance("i-0db1", "db-1", "10.191.2.10", PROD_VPC, "subnet-0db", ["sg-0db"]),
    ]
    if web_alive:
        instances.append(instance("i-0web1", "web-1", WEB_IP, PROD_VPC, "subnet-0web", ["sg-0web"]))
    write(snaps, PROD, "instances", instances)
    write(
        snaps,
        PROD,
        "security_groups",
        [
            group(
                "sg-0admin",
                "admin",
                [
                    ssh("pl-0office", "prefix_list"),
                    ssh(f"{STAGE_IP}/32", description="admin debug"),
                    ssh(f"{DENIED_IP}/32"),
                ],
            ),
            group("sg-0web", "web", []),
            group(
                "sg-0db",
                "db",
                [
                    {
                        "Direction": "ingress",
                        "Protocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "SourceType": "group",
                        "Source": "sg-0web",
                    }
                ],
            ),  # fmt: skip
        ],
    )
    write(snaps, PROD, "route_tables", [route_table("rtb-0prod", PROD_VPC, peered)])
    write(snaps, PROD, "network_acls", [ADMIN_ACL])
    entries = [f"{WEB_IP}/32"] + (["0.0.0.0/0"] if world_in_list else [])
    write(snaps, PROD, "managed_prefix_lists", [prefix_list(entries)])
    staging = instance("i-0stage1", "staging-1", STAGE_IP, STAGE_VPC, "subnet-0stage", [])
    write(snaps, STAGING, "instances", [staging])
    write(snaps, STAGING, "route_tables", [route_table("rtb-0stage", STAGE_VPC, peered)])


def commit(repo: Path, n: int, message: str = "driftaudit snapshot: day") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message, date=day(n))
    return git(repo, "rev-parse", "HEAD").strip()


def quiet_run(repo: Path, n: int) -> str:
    """An empty commit recording a run that changed nothing, as snapshot --commit makes it."""
    record = RunRecord((PROD, STAGING), (REGION,), ("instances",), 12, 0, 9, "snaps")
    return commit(repo, n, f"driftaudit snapshot: no changes\n\n{record.trailer()}\n")


@dataclass
class Story:
    repo: Path
    snaps: Path
    commits: dict[int, str]  # day -> commit

    def query(self, capsys: Capsys, *args: str) -> dict[str, Any]:
        code, out, err = run(capsys, "history", *args, "-C", str(self.snaps), "--format", "json")
        assert code == 0, err
        result = json.loads(out)
        assert errors("history", result) == [], errors("history", result)[:5]
        return dict(result)

    def text(self, capsys: Capsys, *args: str) -> tuple[str, str]:
        code, out, err = run(capsys, "history", *args, "-C", str(self.snaps))
        assert code == 0, err
        return out, err


PLAN = {  # day -> (web-1 alive, peered, 0.0.0.0/0 in the list); other days: a quiet run
    1: (True, False, False),
    3: (True, False, False),
    5: (False, True, False),
    6: (False, True, True),
}


def play(repo: Path, snaps: Path, n: int) -> str:
    """Day ``n`` of the story, committed."""
    if n not in PLAN:
        return quiet_run(repo, n)
    write_day(snaps, *PLAN[n])
    if n == 3:  # a change elsewhere (not read for history): still a sample
        (snaps / PROD / REGION / "notes.txt").write_text("not a snapshot file\n")
        write(snaps, PROD, "volumes", [{"VolumeId": "vol-1", "Size": 9}])
    return commit(repo, n, f"driftaudit snapshot: day {n}")


def make_story(root: Path, days: int = 7) -> Story:
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    return Story(repo, snaps, {n: play(repo, snaps, n) for n in range(1, days + 1)})


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return make_story(tmp_path_factory.mktemp("network"))


def bounds(item: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    return (
        item["start"]["last_without"],
        item["start"]["first_with"],
        item["end"]["last_with"],
        item["end"]["first_without"],
    )


# --- samples and runs ----------------------------------------------------------------------------


def test_every_run_is_a_sample(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "ip", WEB_IP)
    assert result["index"]["snapshots"] == 7
    assert result["index"]["runs"] == 3
    # web-1 was terminated on day 5; the quiet run of day 4 saw it: the boundary lies
    # between day 4 and day 5, not between day 3 and day 5.
    (web,) = [h for h in result["holders"] if h["type"] == "instances"]
    assert bounds(web) == (None, day(1), day(4), day(5))
    assert web["end"]["commit"] == story.commits[5]


def test_a_run_of_another_directory_or_a_look_alike_is_no_sample(
    tmp_path: Path, capsys: Capsys
) -> None:
    own = make_story(tmp_path, days=1)
    other = RunRecord((PROD,), (REGION,), ("instances",), 1, 0, 1, "elsewhere").trailer()
    commit(own.repo, 2, f"driftaudit snapshot: no changes\n\n{other}\n")
    commit(own.repo, 3, f"notes\n\n{other.replace('elsewhere', 'snaps')}\n")  # not ours
    assert own.query(capsys, "ip", WEB_IP)["index"]["snapshots"] == 1
    quiet_run(own.repo, 4)
    assert own.query(capsys, "ip", WEB_IP)["index"]["snapshots"] == 2


def test_at_warns_when_the_snapshot_in_effect_is_older_than_usual(
    story: Story, capsys: Capsys
) -> None:
    fresh = story.query(capsys, "ip", WEB_IP, "--at", "2026-11-07T20:00:00Z")
    assert fresh["sample"]["warning"] is None
    late = story.query(capsys, "ip", WEB_IP, "--at", "2026-11-10T06:00:00Z")
    assert late["sample"]["warning"] == (
        f"the snapshot in effect at 2026-11-10T06:00:00Z is from {day(7)}, 3 days earlier, "
        "while snapshots are usually 1 day apart: nothing is known of the time since "
        "(did the job run?)"
    )
    out, err = story.text(capsys, "ip", WEB_IP, "--at", "2026-11-10T06:00:00Z")
    assert f"driftaudit: warning: {late['sample']['warning']}" in err
    assert f"# warning: {late['sample']['warning']}" in out


# --- networks ------------------------------------------------------------------------------------


def test_holders_show_account_region_vpc_name_and_kind(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "ip", STAGE_IP)
    assert result["private"] and result["networks"] == [STAGE_VPC]
    holder = next(h for h in result["holders"] if h["type"] == "instances")
    assert {k: holder[k] for k in ("id", "name", "account", "region", "vpc", "kind")} == {
        "id": "i-0stage1",
        "name": "staging-1",
        "account": STAGING,
        "region": REGION,
        "vpc": STAGE_VPC,
        "kind": "primary private",
    }
    out, _ = story.text(capsys, "ip", STAGE_IP)
    assert (
        f"{STAGE_IP}  instance i-0stage1 (staging-1)  primary private {STAGE_IP} via "
        f"eni-0stage1  {STAGING}/{REGION} {STAGE_VPC}"
    ) in out


def test_ip_scoped_to_a_vpc(story: Story, capsys: Capsys) -> None:
    """staging-1's address counts in prod's VPC only once the two are peered (day 5)."""
    scoped = story.query(capsys, "ip", STAGE_IP, "--vpc", PROD_VPC)
    assert {bounds(h) for h in scoped["holders"]} == {(day(4), day(5), day(7), None)}
    assert story.query(capsys, "ip", STAGE_IP, "--vpc", "vpc-0ffffffffffffffff")["holders"] == []
    assert story.query(capsys, "ip", STAGE_IP, "--account", PROD)["holders"] == []
    assert story.query(capsys, "ip", STAGE_IP, "--region", "eu-west-1")["holders"] == []
    assert len(story.query(capsys, "ip", STAGE_IP, "--account", STAGING)["holders"]) == 1


def test_overlapping_private_range_is_exposed_until_peered(story: Story, capsys: Capsys) -> None:
    """prod's "admin debug" rule lets 10.191.12.99 in; staging-1 holds that address in
    another account's VPC with the same CIDR: not ours for prod until the VPCs are peered."""
    result = story.query(capsys, "exposure", STAGE_IP, "--port", "22")
    (window,) = result["windows"]
    assert bounds(window) == (None, day(1), day(4), day(5))
    assert window["closed_by"] == [
        f"connected: {PROD_VPC} and {STAGE_VPC}, where instance i-0stage1 (staging-1) holds it"
    ]
    assert [r["rule"]["Source"] for r in window["rules"]] == [f"{STAGE_IP}/32"]
    # The target: admin-1, whose subnet's ACL lets it through both ways.
    (target,) = window["rules"][0]["targets"]
    assert (target["id"], target["name"], target["subnet"]) == (
        "i-0admin1",
        "admin-1",
        "subnet-0admin",
    )
    assert target["acl"]["text"] == "allowed by acl-0admin (inbound rule 100, outbound rule 100)"


def test_rules_through_a_prefix_list(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "rule", "--source", WEB_IP, "--port", "22")
    vias = [(r["group"]["id"], r["via"]["entry"], bounds(r)) for r in result["rules"]]
    assert vias == [
        ("sg-0admin", f"{WEB_IP}/32", (None, day(1), day(7), None)),
        ("sg-0admin", "0.0.0.0/0", (day(5), day(6), day(7), None)),
    ]
    assert result["rules"][0]["via"] == {
        "kind": "prefix_list",
        "list": "pl-0office",
        "name": "office",
        "entry": f"{WEB_IP}/32",
        "description": "office",
    }
    out, _ = story.text(capsys, "rule", "--source", WEB_IP, "--port", "22")
    assert f'  via prefix list pl-0office (office) entry {WEB_IP}/32 "office"' in out
    assert "  target instance i-0admin1 (admin-1)" in out


def test_rules_through_a_group_reference(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "rule", "--source", WEB_IP, "--port", "5432")
    (db,) = result["rules"]
    assert (db["group"]["id"], db["rule"]["Source"]) == ("sg-0db", "sg-0web")
    # While web-1 held the address and was in web: until it was terminated.
    assert bounds(db) == (None, day(1), day(4), day(5))
    assert db["via"]["group"] == {"id": "sg-0web", "name": "web"}
    assert (db["via"]["holder"]["id"], db["via"]["holder"]["name"]) == ("i-0web1", "web-1")
    assert [t["id"] for t in db["targets"]] == ["i-0db1"]
    out, _ = story.text(capsys, "rule", "--source", WEB_IP, "--port", "5432")
    assert (
        f"  via group sg-0web (web): held by instance i-0web1 (web-1), primary private {WEB_IP}"
    ) in out


def test_a_group_member_and_its_interface_are_one_holder(tmp_path: Path, capsys: Capsys) -> None:
    """The interface of an instance in the referenced group holds the address too: the
    rule is named once, held by the instance; the interface only where it outlives it."""
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    web = instance("i-0web1", "web-1", WEB_IP, PROD_VPC, "subnet-0web", ["sg-0web"])
    interface = {
        **web["NetworkInterfaces"][0],
        "Attachment": {"InstanceId": "i-0web1", "InstanceOwnerId": PROD, "DeviceIndex": 0},
    }
    db_rule = {"Direction": "ingress", "Protocol": "tcp", "FromPort": 5432, "ToPort": 5432,
               "SourceType": "group", "Source": "sg-0web"}  # fmt: skip
    write(snaps, PROD, "security_groups", [group("sg-0db", "db", [db_rule])])
    write(snaps, PROD, "instances", [web])
    write(snaps, PROD, "network_interfaces", [interface])
    commit(repo, 1)
    # Day 2: the interface is detached and kept (still in web, still holding the address).
    write(snaps, PROD, "instances", [])
    write(snaps, PROD, "network_interfaces", [{**interface, "Attachment": {}}])
    commit(repo, 2)
    story = Story(repo, snaps, {})
    rules = story.query(capsys, "rule", "--source", WEB_IP)["rules"]
    assert [(r["via"]["holder"]["type"], bounds(r)) for r in rules] == [
        ("instances", (None, day(1), day(1), day(2))),
        ("network_interfaces", (day(1), day(2), day(2), None)),
    ]


def test_exposure_through_a_prefix_list_most_specific_first(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "exposure", WEB_IP, "--port", "22")
    (window,) = result["windows"]
    assert bounds(window) == (day(4), day(5), day(7), None)
    assert window["opened_by"] == ["released by instance i-0web1 (web-1)"]
    # The /32 entry first, the world entry (added day 6) after it.
    assert [r["via"]["entry"] for r in window["rules"]] == [f"{WEB_IP}/32", "0.0.0.0/0"]
    # Each rule with its own window (the entry's, for the world entry) and its targets then.
    narrowest, widest = window["rules"]
    assert bounds(narrowest) == (None, day(1), day(7), None)
    assert bounds(widest) == (day(5), day(6), day(7), None)
    assert [bounds(t) for t in narrowest["targets"]] == [(day(4), day(5), day(7), None)]
    assert [bounds(t) for t in widest["targets"]] == [(day(5), day(6), day(7), None)]
    narrow = story.query(capsys, "exposure", WEB_IP, "--port", "22", "--no-world")
    assert [r["via"]["entry"] for r in narrow["windows"][0]["rules"]] == [f"{WEB_IP}/32"]
    # A public address only the world entry lets in: nothing without world rules.
    assert story.query(capsys, "exposure", "8.8.8.8", "--no-world")["windows"] == []
    world = story.query(capsys, "exposure", "8.8.8.8", "--port", "22")["windows"]
    assert [bounds(w) for w in world] == [(day(5), day(6), day(7), None)]
    assert world[0]["opened_by"] == ["entry added: prefix list pl-0office entry 0.0.0.0/0"]


def test_network_acl_denial_is_not_an_exposure(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "exposure", DENIED_IP, "--port", "22")
    assert result["windows"] == []
    (stopped,) = result["stopped"]
    assert bounds(stopped) == (None, day(1), day(7), None)
    assert stopped["denied_by"] == ["denied by acl-0admin inbound rule 90"]
    out, _ = story.text(capsys, "exposure", DENIED_IP, "--port", "22")
    assert (
        "not an exposure 1: allowed by sg-0admin (admin) but denied by acl-0admin inbound rule 90"
    ) in out
    # Another port of the same address is not denied by rule 90 (nor allowed by a rule).
    assert story.query(capsys, "exposure", DENIED_IP, "--port", "443")["stopped"] == []


def test_filters_on_rules_and_exposure(story: Story, capsys: Capsys) -> None:
    assert story.query(capsys, "rule", "--source", WEB_IP, "--account", STAGING)["rules"] == []
    assert story.query(capsys, "rule", "--source", WEB_IP, "--vpc", STAGE_VPC)["rules"] == []
    prod = story.query(capsys, "rule", "--source", WEB_IP, "--vpc", PROD_VPC)["rules"]
    assert {r["group"]["id"] for r in prod} == {"sg-0admin", "sg-0db"}
    assert story.query(capsys, "exposure", STAGE_IP, "--account", STAGING)["windows"] == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["ip", WEB_IP, "--account", "prod"], "'prod' is not an account id (12 digits)"),
        (["rule", "--region", "moon-1"], "'moon-1' is not a region (us-east-1)"),
    ],
)
def test_bad_filters_exit_with_a_usage_error(
    story: Story, capsys: Capsys, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "history", *args, "-C", str(story.snaps))
    assert code == 1 and out == "" and message in err and "Traceback" not in err


# --- the index ------------------------------------------------------------------------------------


def everything(story: Story, capsys: Capsys) -> list[Any]:
    out: list[Any] = [story.query(capsys, "rule", "--direction", "any")["rules"]]
    for address in (WEB_IP, STAGE_IP, DENIED_IP, "8.8.8.8"):
        out.append(story.query(capsys, "ip", address)["holders"])
        out.append(story.query(capsys, "exposure", address)["windows"])
        out.append(story.query(capsys, "exposure", address, "--port", "22")["stopped"])
        out.append(story.query(capsys, "rule", "--source", address)["rules"])
        out.append(story.query(capsys, "ip", address, "--vpc", PROD_VPC)["holders"])
    return out


def test_incremental_updates_give_the_answers_of_a_full_build(
    tmp_path: Path, capsys: Capsys
) -> None:
    """Built day by day (each run updates the index by the commits since the last), the
    index answers as one built at once."""
    built = make_story(tmp_path / "full")
    full = everything(built, capsys)
    story = make_story(tmp_path / "steps", days=1)
    assert story.query(capsys, "ip", WEB_IP)["index"]["update"]["mode"] == "full"
    for n in range(2, 8):
        play(story.repo, story.snaps, n)
        update = story.query(capsys, "ip", WEB_IP)["index"]["update"]
        assert update["mode"] == "incremental" and update["commits"] == 1
    assert everything(story, capsys) == full


def test_one_snapshot_network_agrees(story: Story) -> None:
    """driftaudit.network on the last snapshot's files says what the history says of it."""
    from driftaudit import layout

    docs = []
    for found in layout.scan(story.snaps):
        if found.location is not None:
            doc, problem = layout.parse_document(layout.read_regular(found.path), found.rel)
            assert problem is None
            docs.append(doc)
    net = Network.of(d for d in docs if d is not None)
    assert [h.id for h in net.ours_for(STAGE_IP, PROD_VPC)] == ["i-0stage1", "eni-0stage1"][:1]
    assert net.ours_for(WEB_IP, PROD_VPC) == []
    assert [m.id for m in net.members_of("sg-0admin")] == ["i-0admin1"]
    assert net.lists["pl-0office"] == [("0.0.0.0/0", "office"), (f"{WEB_IP}/32", "office")]


def test_html_shows_the_network_answers(story: Story, capsys: Capsys, tmp_path: Path) -> None:
    page = tmp_path / "exposure.html"
    code, _, err = run(
        capsys, "history", "exposure", DENIED_IP, "--port", "22", "--no-world",
        "--account", PROD, "-C", str(story.snaps), "--format", "html", "-o", str(page),
    )  # fmt: skip
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert f"driftaudit history exposure {DENIED_IP} --port 22 --account {PROD} --no-world" in html
    # The stopped window is a row of the timeline, and its text is under it.
    assert "not an exposure 1: let in, but every target&#x27;s network ACL denied it" in html
    assert "denied by acl-0admin inbound rule 90" in html
    rules = tmp_path / "rules.html"
    code, _, err = run(
        capsys, "history", "rule", "--source", WEB_IP, "-C", str(story.snaps),
        "--format", "html", "-o", str(rules),
    )  # fmt: skip
    assert code == 0, err
    html = rules.read_text(encoding="utf-8")
    assert f"via pl-0office entry {WEB_IP}/32" in html and "via sg-0web: held by i-0web1" in html


def test_a_broad_answer_names_no_targets(tmp_path: Path, capsys: Capsys) -> None:
    """More than 100 rule windows: who each could reach is not looked up (null count), and
    the text says how to narrow the question; a narrower one names them again."""
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    wide = [
        {"Direction": "ingress", "Protocol": "tcp", "FromPort": port, "ToPort": port,
         "SourceType": "cidr", "Source": "10.0.0.0/8"}
        for port in range(8000, 8101)
    ]  # fmt: skip
    write(snaps, PROD, "security_groups", [group("sg-0app", "app", wide)])
    write(
        snaps,
        PROD,
        "instances",
        [instance("i-0app1", "app-1", "10.9.0.1", PROD_VPC, "s", ["sg-0app"])],
    )
    commit(repo, 1)
    story = Story(repo, snaps, {})
    broad = story.query(capsys, "rule", "--source", "10.1.2.3")["rules"]
    assert len(broad) == 101
    assert all(r["targets"] == [] and r["more_targets"] is None for r in broad)
    out, _ = story.text(capsys, "rule", "--source", "10.1.2.3")
    assert out.splitlines()[1] == (
        "# targets not named: 101 rule windows (more than 100); narrow the question "
        "(--port, --group, --vpc, --at) to see who each could reach"
    )
    (narrow,) = story.query(capsys, "rule", "--source", "10.1.2.3", "--port", "8080")["rules"]
    assert [t["name"] for t in narrow["targets"]] == ["app-1"] and narrow["more_targets"] == 0


def test_a_holder_in_another_network_is_no_cause(tmp_path: Path, capsys: Capsys) -> None:
    """Both a prod and a staging instance give 10.191.12.55 up on day 2: only prod's opened
    the window of prod's rule (staging's VPC is another network)."""
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    rule = ssh("10.191.12.55/32")
    write(snaps, PROD, "security_groups", [group("sg-0admin", "admin", [rule])])
    for n, alive in ((1, True), (2, False)):
        prod = [instance("i-0p", "prod-1", "10.191.12.55", PROD_VPC, "s-1", [])] * alive
        staging = [instance("i-0s", "staging-1", "10.191.12.55", STAGE_VPC, "s-2", [])] * alive
        write(snaps, PROD, "instances", prod)
        write(snaps, STAGING, "instances", staging)
        commit(repo, n)
    story = Story(repo, snaps, {})
    (window,) = story.query(capsys, "exposure", "10.191.12.55")["windows"]
    assert window["opened_by"] == ["released by instance i-0p (prod-1)"]
