"""``driftaudit backfill`` end to end: the moto server for EC2 (the snapshot of now) and the
loopback Config fake (tests/support/configfake.py) for history, one endpoint URL for both
(the fake passes what is not Config to moto), the fault proxy in front where said."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.backfill.convert import without
from driftaudit.backfill.source import backfilled
from driftaudit.canonical import dumps, loads, normalize
from driftaudit.collect.collectors import REGISTRY
from driftaudit.gitrepo import Repo
from tests.support.configfake import ConfigFake, items_from_emulator
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import git, run
from tests.support.motoserver import MotoServer
from tests.support.seed import seed_fleet

pytestmark = pytest.mark.e2e

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def clients(url: str) -> Any:
    session = boto3.Session(region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=url)


@pytest.fixture
def fake(moto: MotoServer) -> Iterator[ConfigFake]:
    with ConfigFake(upstream=moto.url) as config:
        config.recorder(started=NOW - 400 * DAY)
        yield config
    assert config.errors == []


def run_backfill(
    capsys: pytest.CaptureFixture[str],
    out: Path,
    url: str,
    *regions: str,
    since: str = "30 days ago",
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``driftaudit backfill REGIONS -o OUT --since SINCE
    --endpoint-url URL``."""
    return run(
        capsys, "backfill", *regions, "-o", str(out), "--since", since, "--endpoint-url", url
    )


def tree(repo: Path, rev: str) -> dict[str, bytes]:
    """path -> bytes of every file of a commit."""
    names = git(repo, "ls-tree", "-r", "--name-only", rev).split()
    return {
        n: subprocess.run(
            ["git", "show", f"{rev}:{n}"], cwd=repo, capture_output=True, check=True
        ).stdout
        for n in names
    }


def test_a_backfilled_day_and_a_collected_day_of_the_same_state_are_the_same_bytes(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every type AWS Config records, seeded on moto: collected by ``snapshot``, and
    recorded by the fake from the same Describe items with Config's quirks, then backfilled:
    the backfilled commit's files are the collected ones, byte for byte, but for what Config
    never records (ConfigRecord.lacks), which the backfill leaves out."""
    seed_fleet(moto.url, ["us-east-1"], 4)
    code, _, err = run(
        capsys,
        "snapshot",
        "us-east-1",
        "-o",
        str(tmp_path / "collected"),
        "--endpoint-url",
        moto.url,
    )
    assert code == 0, err
    fake.add(*items_from_emulator(clients(moto.url), NOW - 3 * DAY))

    code, out, err = run_backfill(
        capsys, tmp_path / "bf", fake.url, "us-east-1", since="10 days ago"
    )
    assert code == 0, err
    repo = tmp_path / "bf"
    ((first, source),) = backfilled(Repo(repo), ".").items()
    assert source == "aws-config"
    backfill = tree(repo, first)
    compared = set()
    for path in sorted((tmp_path / "collected").rglob("*.yaml")):
        rel = path.relative_to(tmp_path / "collected").as_posix()
        doc = loads(path.read_bytes())
        rtype = REGISTRY[doc["type"]]
        if rtype.config is None:
            assert rel not in backfill  # key pairs, AMIs, EBS snapshots, the account
            continue
        if doc["type"] == "managed_prefix_lists" and doc["resource"].get("OwnerId") == "AWS":
            continue  # Config records customer-managed lists
        resource = normalize(without(doc["resource"], rtype.config.lacks), rtype.spec)
        assert backfill.get(rel) == dumps({**doc, "resource": resource}), rel
        compared.add(doc["type"])
    assert compared == {n for n, t in REGISTRY.items() if t.config is not None}
    # The commit is dated at the items' capture time; the snapshot of now follows it.
    assert git(repo, "show", "-s", "--format=%ct", first).strip() == str(
        int((NOW - 3 * DAY).timestamp())
    )
    assert "from AWS Config" in git(repo, "show", "-s", "--format=%s", first)


# --- the story of issue 13, recorded only in AWS Config --------------------------------------

ADDRESS = "10.191.12.13"


def at(days_ago: int, hour: int = 9, minute: int = 0, second: int = 0) -> dt.datetime:
    day = (NOW - days_ago * DAY).date()
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.timezone.utc)


def stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def ssh_from(cidr: str, description: str) -> list[dict[str, Any]]:
    return [
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [{"CidrIp": cidr, "Description": description}],
        }
    ]


def recorded(
    fake: ConfigFake,
    url: str,
    capture: dt.datetime,
    ids: set[str] | None = None,
    status: str = "OK",
    edit: Any = None,
) -> set[str]:
    """Record, at ``capture``, the emulator's resources (those of ``ids``, else every one not
    recorded yet) as Config would; the ids recorded."""
    made = items_from_emulator(clients(url), capture, status)
    known = {rid for (_, rid) in fake.state().items}
    chosen = [
        i
        for i in made
        if (i["resourceId"] in ids if ids is not None else i["resourceId"] not in known)
    ]
    for item in chosen:
        fake.add(edit(item) if edit else item)
    return {i["resourceId"] for i in chosen}


@pytest.fixture
def story(moto: MotoServer, fake: ConfigFake) -> dict[str, str]:
    """Config's history only: the admin hosts from day -25 (their group without the /32
    rule); debug-1 with 10.191.12.13 from day -20; the /32 SSH rule added on day -19 at
    14:03:12, "for debugging"; debug-1 terminated on day -15. The emulator ends in that
    state (the snapshot of now agrees with Config's last items)."""
    ec2 = clients(moto.url)("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.191.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.191.12.0/24")["Subnet"]["SubnetId"]
    admin = ec2.create_security_group(GroupName="admin", Description="admin hosts", VpcId=vpc)[
        "GroupId"
    ]
    debug = ec2.create_security_group(GroupName="debug", Description="debug", VpcId=vpc)["GroupId"]

    def launch(name: str, address: str, group: str) -> dict[str, Any]:
        return ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            PrivateIpAddress=address,
            SecurityGroupIds=[group],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
            ],
        )["Instances"][0]

    admin_1 = launch("admin-1", "10.191.12.5", admin)
    recorded(fake, moto.url, at(25), status="ResourceDiscovered")
    debug_1 = launch("debug-1", ADDRESS, debug)
    created = recorded(fake, moto.url, at(20), status="ResourceDiscovered")
    assert debug_1["InstanceId"] in created
    ec2.authorize_security_group_ingress(
        GroupId=admin, IpPermissions=ssh_from(f"{ADDRESS}/32", "for debugging")
    )
    recorded(fake, moto.url, at(19, 14, 3, 12), {admin})
    ec2.terminate_instances(InstanceIds=[debug_1["InstanceId"]])
    recorded(fake, moto.url, at(15), {debug_1["InstanceId"]})
    interface = debug_1["NetworkInterfaces"][0]["NetworkInterfaceId"]
    from tests.support.configfake import deleted_item

    fake.add(deleted_item("AWS::EC2::NetworkInterface", interface, at(15, 9, 5)))
    fake.add(deleted_item("AWS::EC2::Instance", debug_1["InstanceId"], at(15, 10)))
    return {
        "admin": admin,
        "admin-1": admin_1["InstanceId"],
        "debug-1": debug_1["InstanceId"],
        "interface": interface,
    }


def test_the_story_recorded_only_in_config_is_answered_exactly(
    story: dict[str, str], fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "history"
    code, out, err = run_backfill(capsys, repo, fake.url, "us-east-1")
    assert code == 0, err
    assert "# AWS Config coverage: 123456789012 us-east-1" in out
    # Exactly the calls README's policy for backfill allows.
    from driftaudit.backfill.fetch import OPERATIONS

    assert set(fake.calls) == set(OPERATIONS)

    def answer(*args: str) -> dict[str, Any]:
        import json

        code, out, err = run(capsys, "history", *args, "-C", str(repo), "--format", "json")
        assert code == 0, err
        return dict(json.loads(out))

    held = answer("ip", ADDRESS, "--at", "18 days ago")["holders"]
    assert {(h["type"], h["id"]) for h in held} == {
        ("instances", story["debug-1"]),
        ("network_interfaces", story["interface"]),
    }
    (instance,) = [h for h in held if h["type"] == "instances"]
    assert instance["name"] == "debug-1"
    assert instance["start"] == {
        "last_without": stamp(at(25)),
        "first_with": stamp(at(20)),
        "commit": instance["start"]["commit"],
        "source": "aws-config",
    }

    # One window: the rule Config recorded without an sgr- id is the rule the snapshot of
    # now shows with one (rules are identified by direction, protocol, ports and source).
    (window,) = answer("rule", "--source", ADDRESS, "--port", "22")["rules"]
    assert window["rule"]["Description"] == "for debugging"
    assert (window["start"]["last_without"], window["start"]["first_with"]) == (
        stamp(at(20)),
        stamp(at(19, 14, 3, 12)),
    )
    assert window["start"]["source"] == "aws-config"
    assert window["end"]["first_without"] is None  # still there

    (exposure,) = answer("exposure", ADDRESS, "--port", "22")["windows"]
    assert (exposure["start"]["last_without"], exposure["start"]["first_with"]) == (
        stamp(at(19, 14, 3, 12)),
        stamp(at(15)),
    )
    assert exposure["end"]["first_without"] is None  # still so, in the snapshot of now

    code, text, err = run(
        capsys, "history", "rule", "--source", ADDRESS, "--port", "22", "-C", str(repo)
    )
    assert code == 0, err
    assert f"from   between {stamp(at(20))} and {stamp(at(19, 14, 3, 12))}" in text
    assert "(from AWS Config)" in text
    assert '"for debugging"' in text


# --- interruptions, faults, refusals --------------------------------------------------------------


def groups_only_in_config(fake: ConfigFake, n: int, discovered_days_ago: int = 10) -> list[str]:
    """``n`` security groups Config recorded (created ``discovered_days_ago`` days ago, one
    change since), which the emulator does not have (gone before the snapshot of now)."""
    from tests.support.configfake import config_item

    ids = [f"sg-0{i:016x}" for i in range(1, n + 1)]
    for gid in ids:
        base = {
            "groupId": gid,
            "groupName": gid,
            "description": "x",
            "ownerId": "123456789012",
            "vpcId": "vpc-0000000000000000a",
            "ipPermissions": [],
            "ipPermissionsEgress": [],
        }
        fake.add(
            config_item(
                "AWS::EC2::SecurityGroup",
                gid,
                NOW - discovered_days_ago * DAY,
                base,
                status="ResourceDiscovered",
            )
        )
        rule = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["10.0.0.0/8"]}
        fake.add(
            config_item(
                "AWS::EC2::SecurityGroup", gid, NOW - 2 * DAY, {**base, "ipPermissions": [rule]}
            )
        )
    return ids


def backfill_process(url: str, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "driftaudit",
            "backfill",
            "us-east-1",
            "-o",
            str(out),
            "--since",
            "30 days ago",
            "--endpoint-url",
            url,
            "--workers",
            "2",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ,
    )


def checkpointed(out: Path) -> set[str]:
    import json

    found = set()
    for path in (out / ".driftaudit" / "backfill" / "items").rglob("*.json"):
        with contextlib.suppress(ValueError, OSError):  # being written: read next time
            found.add(json.loads(path.read_text())["resource_id"])
    return found


def backfilled_tree(out: Path) -> list[tuple[str, dict[str, bytes]]]:
    """(committer time, files) of every backfilled commit, oldest first."""
    shas = list(backfilled(Repo(out), ".").keys())
    return [(git(out, "show", "-s", "--format=%ct", s).strip(), tree(out, s)) for s in shas]


def test_a_killed_backfill_continues_from_its_checkpoints(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path
) -> None:
    """SIGKILL in the middle of reading (a real child process), then the same command: the
    resources read before the kill are not asked again, and the history is the one an
    uninterrupted run writes."""
    groups_only_in_config(fake, 40)
    with FaultProxy(fake.url, latency=0.05) as proxy:
        out = tmp_path / "killed"
        child = backfill_process(proxy.url, out)
        deadline = time.monotonic() + 60
        while len(checkpointed(out)) < 8 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        done = checkpointed(out)
        assert 8 <= len(done) < 40
        assert (
            not (out / ".git" / "refs" / "heads").exists()
            or not git(out, "rev-list", "--all").strip()
        )
        asked = {rid: n for (_, rid), n in fake.history_calls.items()}

        again = backfill_process(proxy.url, out)
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err.decode()
        assert b"continuing the backfill started earlier" in err
        for rid in done:
            assert fake.history_calls[("AWS::EC2::SecurityGroup", rid)] == asked[rid], rid
        assert not (out / ".driftaudit" / "backfill").exists()  # done: checkpoints gone

        whole = tmp_path / "whole"
        clean = backfill_process(proxy.url, whole)
        _, err = clean.communicate(timeout=300)
        assert clean.returncode == 0, err.decode()
    assert backfilled_tree(out) == backfilled_tree(whole)


def test_throttling_and_resets_give_the_same_history_as_a_clean_run(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups_only_in_config(fake, 6)
    code, _, err = run_backfill(capsys, tmp_path / "clean", fake.url, "us-east-1")
    assert code == 0, err
    with FaultProxy(fake.url, throttle_rate=0.04, reset_rate=0.05, seed=4) as proxy:
        code, _, err = run_backfill(capsys, tmp_path / "faulty", proxy.url, "us-east-1")
        assert code == 0, err
        assert proxy.counts["throttled"] > 0 and proxy.counts["reset"] > 0
    assert backfilled_tree(tmp_path / "faulty") == backfilled_tree(tmp_path / "clean")


def test_history_that_cannot_be_read_fails_the_run_naming_it_and_a_rerun_continues(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups_only_in_config(fake, 3)
    out = tmp_path / "denied"
    with FaultProxy(fake.url, deny_actions=["config:GetResourceConfigHistory"]) as proxy:
        code, _, err = run_backfill(capsys, out, proxy.url, "us-east-1")
    assert code == 1
    assert (
        "AWS::EC2::SecurityGroup sg-00000000000000001: access denied in "
        "config:GetResourceConfigHistory" in err
    )
    assert "could not be read (named above)" in err and "run the same command again" in err
    assert "Traceback" not in err
    assert not git(out, "rev-list", "--all").strip()  # no history written, none half-written
    code, _, err = run_backfill(capsys, out, fake.url, "us-east-1")
    assert code == 0, err


def test_a_directory_with_history_or_files_is_refused(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "snapshot",
        "us-east-1",
        "-o",
        str(tmp_path / "old"),
        "--commit",
        "--endpoint-url",
        moto.url,
    )
    assert code == 0, err
    code, _, err = run_backfill(capsys, tmp_path / "old", fake.url, "us-east-1")
    assert code == 1
    assert "git cannot put commits before its first" in err and err.count("\n") == 1
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    code, _, err = run_backfill(capsys, tmp_path / "notes", fake.url)
    assert code == 1 and "is not empty (todo.txt)" in err
    assert (tmp_path / "notes" / "todo.txt").read_text() == "x"


def test_no_recorder_means_no_history_said_in_one_line(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ConfigFake(upstream=moto.url) as bare:
        code, out, err = run_backfill(capsys, tmp_path / "x", bare.url, "us-east-1")
    assert code == 1
    assert "no configuration recorder: no history to read here" in out
    assert err.strip() == (
        "driftaudit: AWS Config has no configuration recorder in any region asked: there is no "
        "history to read"
    )


def test_a_region_without_a_recorder_is_said_and_left_out(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups_only_in_config(fake, 2)
    code, out, err = run_backfill(capsys, tmp_path / "h", fake.url, "us-east-1", "eu-west-1")
    assert code == 0, err
    assert "# AWS Config coverage: 123456789012 eu-west-1\n  no configuration recorder" in out
    assert len(backfilled(Repo(tmp_path / "h"), ".")) == 2  # the groups' two items


def test_progress_is_drawn_on_a_terminal_and_not_otherwise(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path
) -> None:
    import pty

    groups_only_in_config(fake, 3)
    primary, secondary = pty.openpty()
    with FaultProxy(fake.url, latency=0.3) as proxy:  # slow enough for a redraw
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "driftaudit",
                "backfill",
                "us-east-1",
                "-o",
                str(tmp_path / "tty"),
                "--since",
                "30 days ago",
                "--endpoint-url",
                proxy.url,
            ],
            stdout=subprocess.PIPE,
            stderr=secondary,
            env=os.environ,
        )
        os.close(secondary)
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the child is gone
            while chunk := os.read(primary, 4096):
                drawn += chunk
        child.wait(timeout=120)
    os.close(primary)
    assert child.returncode == 0, drawn.decode(errors="replace")
    assert b"\r\x1b[K[" in drawn and b"resources]" in drawn and b"calls" in drawn
    quiet = backfill_process(fake.url, tmp_path / "piped")
    _, err = quiet.communicate(timeout=120)
    assert quiet.returncode == 0 and b"\x1b[K" not in err


def test_a_run_killed_after_writing_its_commits_finishes_without_reading_again(
    moto: MotoServer, fake: ConfigFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The state a kill between git fast-import and the snapshot of now leaves: backfilled
    commits, no files checked out, the checkpoints' run record. The same command finishes."""
    import shutil

    groups_only_in_config(fake, 2)
    out = tmp_path / "h"
    code, _, err = run_backfill(capsys, out, fake.url, "us-east-1")
    assert code == 0, err
    tip = list(backfilled(Repo(out), "."))[-1]
    git(out, "update-ref", "HEAD", tip)
    git(out, "read-tree", "--empty")
    shutil.rmtree(out / "123456789012")
    record = out / ".driftaudit" / "backfill"
    record.mkdir(parents=True)
    import json

    (record / "run.json").write_text(
        json.dumps(
            {
                "since_text": "30 days ago",
                "since": "2026-01-01T00:00:00Z",
                "until": "2026-01-31T00:00:00Z",
                "regions": ["us-east-1"],
                "accounts": ["123456789012"],
                "types": list(REGISTRY),
                "lookback_days": 90,
            }
        )
    )
    asked = sum(fake.history_calls.values())

    code, _, err = run_backfill(capsys, out, fake.url, "us-east-1")
    assert code == 0, err
    assert sum(fake.history_calls.values()) == asked  # nothing read again
    assert git(out, "rev-parse", "HEAD~1").strip() == tip
    assert git(out, "log", "-1", "--format=%s").startswith("driftaudit snapshot:")
    assert git(out, "status", "--porcelain").strip() == ""

    # Killed after that last commit, before its checkpoints went: said, nothing else done.
    head = git(out, "rev-parse", "HEAD").strip()
    record.mkdir(parents=True)
    (record / "run.json").write_text("{}")
    code, _, err = run_backfill(capsys, out, fake.url, "us-east-1")
    assert code == 0 and "was complete; checkpoints removed" in err
    assert git(out, "rev-parse", "HEAD").strip() == head and not record.exists()
