"""``driftaudit history``: the story of issue 5 in real git with backdated commits, the index
(incremental, rebuilt after a rewrite or damage), the pure parts, and one end-to-end run
against the moto server.

Snapshot files are written with driftaudit's own writer (tests/support/gitsnap.py); every
JSON answer is validated against schemas/history.schema.json.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.history.holders import Holding, attached_instance, holdings, released
from driftaudit.history.queries import subtract, union
from driftaudit.history.rules import rule_allows, span
from driftaudit.rule import Rule
from driftaudit.schemas import errors
from driftaudit.times import BadTime, parse_when
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    git,
    init_repo,
    rule,
    run,
    security_group,
    volume,
    write,
)
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]
ADDRESS, ADDRESS6 = "10.191.12.13", "2001:db8::13"


def day(n: int) -> str:
    return f"2026-11-{n:02d}T00:00:00Z"


def date(n: int) -> str:
    return f"2026-11-{n:02d}T00:00:00+00:00"


# --- resources, as the collectors would write them --------------------------------------------


def instance(iid: str, ip: str, eni: str, ipv6: str | None = None, itype: str = "t3.micro"):
    interface: dict[str, Any] = {
        "NetworkInterfaceId": eni,
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
        "Ipv6Addresses": [{"Ipv6Address": ipv6}] if ipv6 else [],
        "Attachment": {"DeviceIndex": 0, "Status": "attached"},
    }
    return {
        "InstanceId": iid,
        "InstanceType": itype,
        "State": {"Name": "running"},
        "PrivateIpAddress": ip,
        "NetworkInterfaces": [interface],
        "Tags": {},
    }


def interface(eni: str, ip: str, iid: str | None, ipv6: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "NetworkInterfaceId": eni,
        "OwnerId": ACCOUNT,
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
        "Ipv6Addresses": [{"Ipv6Address": ipv6}] if ipv6 else [],
        # The emulator keeps an interface "in-use" on a terminated instance; AWS deletes it.
        "Status": "in-use" if iid else "available",
    }
    if iid:
        out["Attachment"] = {"InstanceId": iid, "InstanceOwnerId": ACCOUNT, "DeviceIndex": 0}
    return out


ELASTIC_IP = {
    "AllocationId": "eipalloc-0story",
    "PublicIp": "203.0.113.13",
    "PrivateIpAddress": ADDRESS,
    "InstanceId": "i-0story",
    "NetworkInterfaceId": "eni-0story",
    "NetworkInterfaceOwnerId": ACCOUNT,
    "Domain": "vpc",
}
WEB_24 = rule("ingress", "tcp", "10.191.12.0/24", (443, 443))
WEB_V6 = rule("ingress", "tcp", "2001:db8::/64", (443, 443))
EGRESS = rule("egress", "-1", "0.0.0.0/0")
SSH_32 = rule("ingress", "tcp", "10.191.12.13/32", (22, 22))
OTHER_SSH = rule("ingress", "tcp", "192.0.2.0/24", (22, 22))
OTHER_PG = rule("ingress", "tcp", "10.9.0.0/16", (5432, 5432))


@dataclass
class Story:
    repo: Path
    snaps: Path
    commits: list[str]  # commits[n] is the snapshot of day n + 1

    def query(self, capsys: Capsys, *args: str) -> dict[str, Any]:
        code, out, err = run(capsys, "history", *args, "-C", str(self.snaps), "--format", "json")
        assert code == 0, err
        result = json.loads(out)
        assert errors("history", result) == [], errors("history", result)[:5]
        return result


def write_day(
    snaps: Path,
    story_alive: bool = True,
    other_type: str = "t3.micro",
    admin: bool = False,
    web: list[dict[str, Any]] | None = None,
    other: list[dict[str, Any]] | None = None,
    vol_size: int = 8,
    other_tags: dict[str, str] | None = None,
) -> None:
    instances = [instance("i-0other", "10.0.0.5", "eni-0other", itype=other_type)]
    instances[0]["Tags"] = other_tags or {}
    if story_alive:
        instances.append(instance("i-0story", ADDRESS, "eni-0story", ADDRESS6))
    write(snaps, "instances", instances)
    write(
        snaps,
        "network_interfaces",
        [
            interface("eni-0story", ADDRESS, "i-0story", ADDRESS6),
            interface("eni-0other", "10.0.0.5", "i-0other"),
        ],
    )
    groups = [
        security_group("sg-0web", "web", web if web is not None else [WEB_24, WEB_V6, EGRESS]),
        security_group("sg-0other", "other", other if other is not None else [OTHER_SSH]),
    ]
    if admin:
        groups.append(security_group("sg-0admin", "admin", [SSH_32]))
    write(snaps, "security_groups", groups)
    write(snaps, "volumes", [volume("vol-1", size=vol_size)])
    # Still associated after the instance is gone, as the emulator shows it.
    write(snaps, "elastic_ips", [ELASTIC_IP])


def make_story(root: Path) -> Story:
    """Day 1: i-0story holds 10.191.12.13 (and 2001:db8::13), sg-0web allows 10.191.12.0/24
    on 443. Day 3: a /32 rule for it on 22 (sg-0admin). Day 5: i-0story terminated (its
    interface stays, attached, as the emulator keeps it). Day 7: the /24 rule removed.
    Days 2, 4 and 6: unrelated churn (day 4 touches only a volume)."""
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    commits = []
    write_day(snaps)
    commits.append(commit_all(repo, "day 1", date(1)))
    write_day(snaps, other_type="m5.large", other=[OTHER_SSH, OTHER_PG])
    commits.append(commit_all(repo, "day 2", date(2)))
    write_day(snaps, other_type="m5.large", other=[OTHER_SSH, OTHER_PG], admin=True)
    commits.append(commit_all(repo, "day 3", date(3)))
    write_day(snaps, other_type="m5.large", other=[OTHER_SSH, OTHER_PG], admin=True, vol_size=9)
    commits.append(commit_all(repo, "day 4", date(4)))
    kw: dict[str, Any] = {"other_type": "m5.large", "other": [OTHER_SSH, OTHER_PG], "admin": True}
    write_day(snaps, story_alive=False, vol_size=9, **kw)
    commits.append(commit_all(repo, "day 5", date(5)))
    relabelled = {**WEB_24, "Description": "office"}  # same rule, new label: window goes on
    write_day(
        snaps, False, vol_size=9, other_tags={"team": "x"}, web=[relabelled, WEB_V6, EGRESS], **kw
    )
    commits.append(commit_all(repo, "day 6", date(6)))
    write_day(snaps, False, vol_size=9, other_tags={"team": "x"}, web=[WEB_V6, EGRESS], **kw)
    commits.append(commit_all(repo, "day 7", date(7)))
    return Story(repo, snaps, commits)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    root = tmp_path_factory.mktemp("story")
    return make_story(root)


@pytest.fixture
def own_story(tmp_path: Path) -> Story:
    return make_story(tmp_path)


def start(last_without: int | None, first_with: int, commit: str) -> dict[str, Any]:
    return {
        "last_without": day(last_without) if last_without else None,
        "first_with": day(first_with),
        "commit": commit,
    }


def end(last_with: int, first_without: int | None, commit: str | None) -> dict[str, Any]:
    return {
        "last_with": day(last_with),
        "first_without": day(first_without) if first_without else None,
        "commit": commit,
    }


def windows(items: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(i[k] for k in keys) for i in items]


# --- the three answers -------------------------------------------------------------------------


def test_ip_timeline_ends_when_the_instance_is_terminated(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "ip", ADDRESS)
    c = story.commits
    assert result["index"]["snapshots"] == 7
    assert (result["index"]["first"], result["index"]["last"]) == (day(1), day(7))
    held = {(h["type"], h["id"]): h for h in result["holders"]}
    # The interface and elastic IP files stay in every snapshot, still attached to the gone
    # instance: they release the address in the snapshot the instance disappears from.
    assert set(held) == {
        ("instances", "i-0story"),
        ("network_interfaces", "eni-0story"),
        ("elastic_ips", "eipalloc-0story"),
    }
    for h in held.values():
        assert h["start"] == start(None, 1, c[0])
        assert h["end"] == end(4, 5, c[4])
        assert (h["address"], h["scope"]) == (ADDRESS, "private")
    assert held[("instances", "i-0story")]["via"] == "eni-0story"
    assert held[("network_interfaces", "eni-0story")]["via"] == "i-0story"
    # The elastic IP stays allocated to us: its public address is ours throughout.
    (public,) = story.query(capsys, "ip", "203.0.113.13")["holders"]
    assert (public["id"], public["end"]) == ("eipalloc-0story", end(7, None, None))


def test_ip_at_a_time_gives_the_snapshot_in_effect(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "ip", ADDRESS, "--at", "2026-11-03T18:00:00Z")
    assert result["sample"] == {
        "time": day(3),
        "commit": story.commits[2],
        "next": day(4),
        "warning": None,  # 18 hours after a snapshot, when they are a day apart
    }
    assert {h["id"] for h in result["holders"]} == {"i-0story", "eni-0story", "eipalloc-0story"}
    after = story.query(capsys, "ip", ADDRESS, "--at", "2026-11-05")
    assert after["sample"]["time"] == day(5)
    assert after["holders"] == []
    last = story.query(capsys, "ip", "10.0.0.5", "--at", "2030-01-01")
    assert {k: v for k, v in last["sample"].items() if k != "warning"} == {
        "time": day(7),
        "commit": story.commits[6],
        "next": None,
    }
    # Years after the last snapshot: the answer says how old the snapshot in effect is.
    assert last["sample"]["warning"].startswith(
        f"the snapshot in effect at 2030-01-01T00:00:00Z is from {day(7)}, 1151 days earlier, "
        "while snapshots are usually 1 day apart"
    )
    assert {h["id"] for h in last["holders"]} == {"i-0other", "eni-0other"}


def test_ip_text_names_the_holder_and_both_boundaries(story: Story, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "history", "ip", ADDRESS, "-C", str(story.snaps))
    assert code == 0
    assert "instance i-0story" in out and "network interface eni-0story" in out
    assert f"between {day(4)} and {day(5)}  commit {story.commits[4][:12]}" in out
    assert f"the first snapshot {day(1)} (or earlier)" in out


def test_ipv6_address_is_held_and_exposed(story: Story, capsys: Capsys) -> None:
    held = story.query(capsys, "ip", "2001:0db8:0000::0013")  # any spelling of it
    assert held["query"]["address"] == ADDRESS6
    assert {(h["id"], h["scope"]) for h in held["holders"]} == {
        ("i-0story", "ipv6"),
        ("eni-0story", "ipv6"),
    }
    assert all(h["end"] == end(4, 5, story.commits[4]) for h in held["holders"])
    exposed = story.query(capsys, "exposure", ADDRESS6)
    assert windows(exposed["windows"], "start", "end") == [
        (start(4, 5, story.commits[4]), end(7, None, None))
    ]
    assert [r["rule"]["Source"] for r in exposed["windows"][0]["rules"]] == ["2001:db8::/64"]
    # An IPv6 rule never allows an IPv4 address, nor the reverse.
    assert story.query(capsys, "rule", "--source", "::/0")["rules"] == []


def test_rules_allowing_an_address_with_windows_and_commits(story: Story, capsys: Capsys) -> None:
    c = story.commits
    result = story.query(capsys, "rule", "--source", ADDRESS)
    found = {(r["group"]["id"], r["rule"]["Source"]): r for r in result["rules"]}
    assert set(found) == {("sg-0web", "10.191.12.0/24"), ("sg-0admin", "10.191.12.13/32")}
    web = found[("sg-0web", "10.191.12.0/24")]
    assert (web["start"], web["end"]) == (start(None, 1, c[0]), end(6, 7, c[6]))
    assert web["rule"]["Description"] == "office"  # the label as last seen
    admin = found[("sg-0admin", "10.191.12.13/32")]
    assert (admin["start"], admin["end"]) == (start(2, 3, c[2]), end(7, None, None))
    assert admin["group"] == {
        "id": "sg-0admin",
        "name": "admin",
        "account": ACCOUNT,
        "region": REGION,
        "vpc": "vpc-0a1b2c3d",
    }


def test_rule_filters_port_group_and_containment(story: Story, capsys: Capsys) -> None:
    def sources(*args: str) -> list[tuple[str, str]]:
        rules = story.query(capsys, "rule", *args)["rules"]
        return [(r["group"]["id"], r["rule"]["Source"]) for r in rules]

    assert sources("--source", ADDRESS, "--port", "22") == [("sg-0admin", "10.191.12.13/32")]
    assert sources("--source", ADDRESS, "--port", "443") == [("sg-0web", "10.191.12.0/24")]
    assert sources("--source", ADDRESS, "--port", "80") == []
    # A /25 lies inside the /24 rule, not inside the /32.
    assert sources("--source", "10.191.12.0/25") == [("sg-0web", "10.191.12.0/24")]
    assert sources("--source", "10.191.13.1") == []
    assert sources("--group", "other") == [  # by protocol, then port
        ("sg-0other", "192.0.2.0/24"),
        ("sg-0other", "10.9.0.0/16"),
    ]
    assert sources("--group", "sg-0web", "--direction", "egress") == [("sg-0web", "0.0.0.0/0")]
    at_day_2 = sources("--source", ADDRESS, "--at", "2026-11-02T12:00:00Z")
    assert at_day_2 == [("sg-0web", "10.191.12.0/24")]


def test_exposure_after_the_instance_is_gone(story: Story, capsys: Capsys) -> None:
    c = story.commits
    result = story.query(capsys, "exposure", ADDRESS)
    assert len(result["windows"]) == 1
    window = result["windows"][0]
    # Ours until day 4; from day 5 the /24 (to day 6) and the /32 (still) let it in.
    assert (window["start"], window["end"]) == (start(4, 5, c[4]), end(7, None, None))
    assert sorted(window["opened_by"]) == [
        "released by elastic IP eipalloc-0story",
        "released by instance i-0story",
        "released by network interface eni-0story",
    ]
    assert window["closed_by"] == []
    assert sorted(r["rule"]["Source"] for r in window["rules"]) == [
        "10.191.12.0/24",
        "10.191.12.13/32",
    ]


def test_exposure_on_a_port_ends_with_its_rule(story: Story, capsys: Capsys) -> None:
    c = story.commits
    https = story.query(capsys, "exposure", ADDRESS, "--port", "443")
    assert windows(https["windows"], "start", "end", "closed_by") == [
        (
            start(4, 5, c[4]),
            end(6, 7, c[6]),
            ["rule removed: sg-0web ingress tcp/443 from 10.191.12.0/24"],
        )
    ]
    ssh = story.query(capsys, "exposure", ADDRESS, "--port", "22")
    assert windows(ssh["windows"], "start", "end") == [(start(4, 5, c[4]), end(7, None, None))]
    assert story.query(capsys, "exposure", ADDRESS, "--port", "80")["windows"] == []
    during = story.query(capsys, "exposure", ADDRESS, "--at", "2026-11-04T12:00:00Z")
    assert during["windows"] == []


def test_exposure_of_an_address_never_ours(story: Story, capsys: Capsys) -> None:
    result = story.query(capsys, "exposure", "10.191.12.14")
    assert windows(result["windows"], "start", "end") == [
        (start(None, 1, story.commits[0]), end(6, 7, story.commits[6]))
    ]
    code, out, _ = run(capsys, "history", "exposure", "10.191.12.14", "-C", str(story.snaps))
    assert code == 0 and "in 1 window" in out and "rule removed: sg-0web" in out


# --- the index -------------------------------------------------------------------------------


def index_file(story: Story) -> Path:
    return story.snaps / ".driftaudit" / "history.sqlite"


def update(story: Story, capsys: Capsys) -> dict[str, Any]:
    return story.query(capsys, "rule", "--group", "none-such")["index"]["update"]


def everything(story: Story, capsys: Capsys) -> list[Any]:
    """Every answer the story's index gives, to compare two indexes."""
    out = [story.query(capsys, "rule", "--direction", "any")["rules"]]
    for address in (ADDRESS, ADDRESS6, "10.0.0.5", "10.191.12.14"):
        out.append(story.query(capsys, "ip", address)["holders"])
        out.append(story.query(capsys, "exposure", address)["windows"])
    return out


def test_index_is_git_ignored_and_reused(own_story: Story, capsys: Capsys) -> None:
    first = update(own_story, capsys)
    assert (first["mode"], first["commits"], first["reason"]) == ("full", 7, "no index yet")
    assert (own_story.snaps / ".driftaudit" / ".gitignore").read_text() == "*\n"
    assert git(own_story.repo, "status", "--porcelain") == ""
    assert update(own_story, capsys)["mode"] == "none"


def test_a_new_commit_costs_only_its_files(own_story: Story, capsys: Capsys) -> None:
    assert update(own_story, capsys)["mode"] == "full"
    kw: dict[str, Any] = {"other_type": "m5.large", "other": [OTHER_SSH, OTHER_PG]}
    write_day(own_story.snaps, False, vol_size=10, other_tags={"team": "x"}, web=[EGRESS], **kw)
    commit_all(own_story.repo, "day 8: sg-0admin deleted, sg-0web changed", date(8))
    stats = update(own_story, capsys)
    # One commit, one changed file (sg-0web) read, one deletion; the untracked volume is
    # never read.
    assert (stats["mode"], stats["commits"], stats["files"]) == ("incremental", 1, 1)
    incremental = everything(own_story, capsys)
    index_file(own_story).unlink()
    assert update(own_story, capsys)["mode"] == "full"
    assert everything(own_story, capsys) == incremental
    head = git(own_story.repo, "rev-parse", "HEAD").strip()
    v6 = own_story.query(capsys, "rule", "--source", ADDRESS6)["rules"]
    assert v6[0]["end"] == end(7, 8, head)
    admin = own_story.query(capsys, "rule", "--group", "sg-0admin")["rules"]
    assert [r["end"] for r in admin] == [end(7, 8, head)]


def test_a_commit_outside_the_snapshots_is_no_sample(own_story: Story, capsys: Capsys) -> None:
    update(own_story, capsys)
    (own_story.repo / "README").write_text("notes\n")
    commit_all(own_story.repo, "notes", date(9))
    stats = update(own_story, capsys)
    assert (stats["mode"], stats["commits"], stats["files"]) == ("incremental", 0, 0)
    assert own_story.query(capsys, "ip", ADDRESS)["index"]["snapshots"] == 7


def test_an_unreadable_file_keeps_its_resource_as_before(own_story: Story, capsys: Capsys) -> None:
    update(own_story, capsys)
    path = own_story.snaps / ACCOUNT / REGION / "instances" / "i-0other.yaml"
    path.write_text("resource: [unclosed\n")
    commit_all(own_story.repo, "broken", date(8))
    stats = update(own_story, capsys)
    assert (stats["mode"], stats["files"], stats["unreadable"]) == ("incremental", 1, 1)
    (other,) = [
        h for h in own_story.query(capsys, "ip", "10.0.0.5")["holders"] if h["type"] == "instances"
    ]
    assert other["end"] == end(8, None, None)


def test_unreadable_files_and_links_are_named_on_stderr(own_story: Story, capsys: Capsys) -> None:
    update(own_story, capsys)
    broken = own_story.snaps / ACCOUNT / REGION / "instances" / "i-0other.yaml"
    broken.write_text("resource: [unclosed\n")
    link = own_story.snaps / ACCOUNT / REGION / "instances" / "i-0link.yaml"
    link.symlink_to("/etc/passwd")
    sha = commit_all(own_story.repo, "broken", date(8))
    code, _, err = run(capsys, "history", "ip", ADDRESS, "-C", str(own_story.snaps))
    assert code == 0, err
    rel = f"snaps/{ACCOUNT}/{REGION}/instances"
    assert f"driftaudit: {rel}/i-0other.yaml:1: does not parse" in err
    assert f"driftaudit: {rel}/i-0link.yaml:1: is a symbolic link in git (mode 120000)" in err
    assert f"(commit {sha[:12]})" in err and "root:" not in err


def test_rewritten_history_is_rebuilt(own_story: Story, capsys: Capsys) -> None:
    update(own_story, capsys)
    # Amend day 7: the /24 rule stays after all.
    kw: dict[str, Any] = {"other_type": "m5.large", "other": [OTHER_SSH, OTHER_PG], "admin": True}
    write_day(own_story.snaps, False, vol_size=9, other_tags={"team": "x"}, **kw)
    git(own_story.repo, "add", "-A")
    git(own_story.repo, "commit", "-q", "--amend", "--no-edit", date=date(7))
    stats = update(own_story, capsys)
    assert (stats["mode"], stats["commits"]) == ("full", 7)
    assert "rewritten" in stats["reason"]
    web = own_story.query(capsys, "rule", "--source", ADDRESS, "--port", "443")["rules"]
    assert web[0]["end"] == end(7, None, None)
    # Back to day 3: HEAD is now an ancestor of the indexed commit.
    git(own_story.repo, "reset", "-q", "--hard", own_story.commits[2])
    assert update(own_story, capsys)["mode"] == "full"
    result = own_story.query(capsys, "ip", ADDRESS)
    assert result["index"]["snapshots"] == 3
    assert result["holders"][0]["end"] == end(3, None, None)


@pytest.mark.parametrize(
    "damage,reason",
    [
        (lambda p: p.write_bytes(b"\x00garbage, not SQLite" * 100), "damaged"),
        (lambda p: p.write_bytes(p.read_bytes()[:3000]), "damaged"),
        (lambda p: _sql(p, "UPDATE meta SET value = '0' WHERE key = 'schema'"), "schema"),
        (lambda p: _sql(p, "DELETE FROM samples WHERE seq = 3"), "inconsistent"),
        (lambda p: _sql(p, "UPDATE held SET to_seq = 99"), "inconsistent"),
    ],
    ids=["garbage", "truncated", "schema-version", "missing-sample", "bad-interval"],
)
def test_damaged_index_is_rebuilt(
    own_story: Story, capsys: Capsys, damage: Any, reason: str
) -> None:
    expected = everything(own_story, capsys)
    damage(index_file(own_story))
    stats = update(own_story, capsys)
    assert stats["mode"] == "full" and reason in stats["reason"]
    assert everything(own_story, capsys) == expected


def _sql(path: Path, statement: str) -> None:
    db = sqlite3.connect(path)
    db.execute(statement)
    db.commit()
    db.close()


def test_merge_counts_at_the_merge_commit(tmp_path: Path, capsys: Capsys) -> None:
    story = make_story(tmp_path)
    repo = story.repo
    git(repo, "checkout", "-q", "-b", "side", story.commits[3])  # from day 4
    kw: dict[str, Any] = {"other_type": "m5.large", "other": [OTHER_SSH], "admin": True}
    write_day(story.snaps, vol_size=9, **kw)  # the 5432 rule dropped on the side branch
    commit_all(repo, "side", date(4).replace("T00", "T12"))
    git(repo, "checkout", "-q", "-")
    git(repo, "merge", "-q", "--no-edit", "side", date=date(8))
    merge = git(repo, "rev-parse", "HEAD").strip()
    result = story.query(capsys, "rule", "--source", "10.9.1.1")
    assert result["index"]["snapshots"] == 8  # the side commit is not a sample
    (pg,) = result["rules"]
    assert pg["end"] == end(7, 8, merge)
    assert story.query(capsys, "ip", ADDRESS)["holders"][0]["end"] == end(4, 5, story.commits[4])


def test_relative_time(tmp_path: Path, capsys: Capsys) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    write(snaps, "instances", [instance("i-0a", ADDRESS, "eni-0a")])
    commit_all(repo, "ten days ago", (now - dt.timedelta(days=10)).isoformat())
    write(snaps, "instances", [instance("i-0b", ADDRESS, "eni-0b")])
    commit_all(repo, "three days ago", (now - dt.timedelta(days=3)).isoformat())
    story = Story(repo, snaps, [])
    week = story.query(capsys, "ip", ADDRESS, "--at", "7 days ago")
    assert [h["id"] for h in week["holders"]] == ["i-0a"]
    assert story.query(capsys, "ip", ADDRESS, "--at", "now")["holders"][0]["id"] == "i-0b"


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["ip", "10.191.12.300"], "bad address '10.191.12.300'"),
        (["exposure", "web-server"], "bad address 'web-server'"),
        (["rule", "--source", "office"], "bad source 'office'"),
        (["ip", ADDRESS, "--at", "last tuesday-ish"], "cannot read the time 'last tuesday-ish'"),
        (["ip", ADDRESS, "--at", "2026-10-01"], "no snapshot at or before 2026-10-01T00:00:00Z"),
        (["rule", "--port", "70000"], "70000"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(
    story: Story, capsys: Capsys, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "history", *args, "-C", str(story.snaps))
    assert (code, out) == (1, "")
    assert message in err
    assert "Traceback" not in err


def test_not_a_repository_or_no_snapshots(tmp_path: Path, capsys: Capsys) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = run(capsys, "history", "ip", ADDRESS, "-C", str(plain))
    assert code == 1 and "is not in a git repository" in err
    repo = init_repo(tmp_path / "repo")
    (repo / "README").write_text("x\n")
    commit_all(repo, "no snapshots", date(1))
    code, _, err = run(capsys, "history", "ip", ADDRESS, "-C", str(repo))
    assert code == 1 and "no snapshot commits" in err


# --- the pure parts -----------------------------------------------------------------------------


def test_cidr_containment_and_ports() -> None:
    net, host = span("10.191.12.0/24"), span(ADDRESS)
    assert net and host and net.contains(host) and not host.contains(net)
    assert span("10.191.12.99/24") == net  # host bits ignored, as AWS does
    wide6, one6 = span("2001:db8::/32"), span("2001:db8:0:1::5")
    assert wide6 and one6 and wide6.contains(one6)
    any6, any4 = span("::/0"), span("0.0.0.0/0")
    assert any6 and any4 and not any6.contains(host) and not any4.contains(one6)
    assert span("nonsense") is None
    assert rule_allows(Rule.from_dict(WEB_24), host, 443)
    assert not rule_allows(Rule.from_dict(WEB_24), host, 22)
    assert not rule_allows(Rule.from_dict(EGRESS), host)


def test_holdings_of_each_type() -> None:
    inst = instance("i-1", "10.0.0.1", "eni-1", "2001:db8::1")
    inst["PublicIpAddress"] = "203.0.113.7"
    inst["NetworkInterfaces"][0]["Association"] = {"PublicIp": "203.0.113.7"}
    inst["NetworkInterfaces"][0]["Ipv4Prefixes"] = [{"Ipv4Prefix": "10.0.8.16/28"}]
    assert holdings("instances", inst) == [
        Holding("10.0.0.1", "private", "eni-1", "primary private"),
        Holding("10.0.8.16/28", "private-prefix", "eni-1", "delegated IPv4 prefix"),
        Holding("2001:db8::1", "ipv6", "eni-1", "IPv6"),
        Holding("203.0.113.7", "public", "eni-1", "public"),
    ]
    assert holdings("instances", {**inst, "State": {"Name": "terminated"}}) == []
    eip = {"AllocationId": "eipalloc-1", "PublicIp": "203.0.113.9", "InstanceId": "i-1"}
    assert holdings("elastic_ips", {**eip, "PrivateIpAddress": "10.0.0.1"}) == [
        Holding("10.0.0.1", "private", "i-1", "associated private"),
        Holding("203.0.113.9", "public", "i-1", "elastic IP"),
    ]
    nat = {"NatGatewayAddresses": [{"PrivateIp": "10.0.1.5", "NetworkInterfaceId": "eni-n"}]}
    assert holdings("nat_gateways", nat) == [
        Holding("10.0.1.5", "private", "eni-n", "primary private")
    ]
    nlb = {
        "AvailabilityZones": [
            {"ZoneName": "a", "LoadBalancerAddresses": [{"IpAddress": "198.51.100.4"}]},
            {"ZoneName": "b"},
        ]
    }
    assert holdings("load_balancers", nlb) == [Holding("198.51.100.4", "public", "", "public")]
    assert holdings("load_balancers", {"Kind": "classic", "AvailabilityZones": []}) == []
    assert holdings("network_interfaces", {"PrivateIpAddress": "not-an-ip"}) == []
    eni = interface("eni-2", "10.0.0.2", "i-2")
    assert attached_instance("network_interfaces", eni, ACCOUNT) == "i-2"
    elb_eni = {**eni, "Attachment": {"InstanceOwnerId": "amazon-elb"}}
    assert attached_instance("network_interfaces", elb_eni, ACCOUNT) is None
    assert attached_instance("elastic_ips", eip, ACCOUNT) == "i-1"
    assert attached_instance("elastic_ips", {**eip, "InstanceId": ""}, ACCOUNT) is None
    # Once its instance is gone: an interface holds nothing, an elastic IP its public address.
    both = holdings("elastic_ips", {**eip, "PrivateIpAddress": "10.0.0.1"})
    assert released("elastic_ips", both) == [Holding("203.0.113.9", "public", "i-1", "elastic IP")]
    assert released("network_interfaces", holdings("network_interfaces", eni)) == []


def test_interval_arithmetic() -> None:
    assert union([(4, 5), (1, 3), (8, 9), (9, 12)]) == [(1, 5), (8, 12)]
    assert subtract([(1, 10)], [(3, 4), (6, 6)]) == [(1, 2), (5, 5), (7, 10)]
    assert subtract([(1, 3)], [(1, 5)]) == []


def test_times() -> None:
    now = dt.datetime(2026, 3, 31, 15, 30, tzinfo=dt.timezone.utc)
    assert parse_when("7 days ago", now) == now - dt.timedelta(days=7)
    assert parse_when("7.days.ago", now) == now - dt.timedelta(days=7)
    assert parse_when("3h ago", now) == now - dt.timedelta(hours=3)
    assert parse_when("1 month ago", now) == dt.datetime(2026, 2, 28, 15, 30, tzinfo=now.tzinfo)
    assert parse_when("yesterday", now) == dt.datetime(2026, 3, 30, tzinfo=now.tzinfo)
    assert parse_when("2026-11-20", now) == dt.datetime(2026, 11, 20, tzinfo=now.tzinfo)
    assert parse_when("2026-11-20T10:00:00+02:00", now).hour == 8
    for bad in ("7 fortnights ago", "soon", "20-11-2026", ""):
        with pytest.raises(BadTime):
            parse_when(bad, now)


# --- end to end: snapshot --commit twice against the moto server --------------------------------


def test_end_to_end_with_snapshot_commit(moto: MotoServer, tmp_path: Path, capsys: Capsys) -> None:
    ec2 = boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.191.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.191.12.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"]
    iid = ec2.run_instances(
        ImageId=image[0]["ImageId"] if image else "ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        PrivateIpAddress=ADDRESS,
    )["Instances"][0]["InstanceId"]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.191.12.0/24"}],
            }
        ],
    )
    snaps = tmp_path / "snaps"
    only = "instances,network_interfaces,security_groups"

    def snapshot() -> None:
        code, _, err = run(
            capsys,
            "snapshot",
            REGION,
            "--endpoint-url",
            moto.url,
            "-o",
            str(snaps),
            "--commit",
            "--only",
            only,
        )
        assert code == 0, err

    snapshot()
    ec2.terminate_instances(InstanceIds=[iid])
    snapshot()
    story = Story(snaps, snaps, [])
    times = git(snaps, "log", "--reverse", "--format=%H %ct").split()
    first, second = times[0], times[2]
    held = story.query(capsys, "ip", ADDRESS)["holders"]
    assert {h["type"] for h in held} == {"instances", "network_interfaces"}
    assert {h["end"]["commit"] for h in held} == {second}
    exposed = story.query(capsys, "exposure", ADDRESS, "--port", "443")["windows"]
    assert len(exposed) == 1 and exposed[0]["start"]["commit"] == second
    assert exposed[0]["rules"][0]["group"]["id"] == sg
    assert story.query(capsys, "rule", "--source", ADDRESS)["rules"][0]["start"]["commit"] == first
