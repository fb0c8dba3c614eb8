"""Noise under control (issue 12): derived changes folded under the change they follow from,
list items printed as fields, driftaudit.yaml's ignore rules (counted, expiring), the report's
default range and its undone list, mail thresholds and run alerts, and check's severities.

Snapshot documents are written by driftaudit's own writer and committed with real git; mail
goes to a real SMTP server (aiosmtpd) on 127.0.0.1. The same stories on the moto server are
in tests/test_noise_e2e.py."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from driftaudit.change.rangediff import RunRecord
from driftaudit.schemas import errors
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    git,
    init_repo,
    instance,
    rule,
    run,
    security_group,
    volume,
    write,
)
from tests.test_mail import Handler, smtp_server

Capsys = pytest.CaptureFixture[str]
DATA = Path(__file__).resolve().parent / "data"
ASG_ARN = (
    f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
    "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b:autoScalingGroupName/app"
)


def days_ago(n: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=n)).isoformat()


# --- a small fleet, as DescribeInstances, DescribeNetworkInterfaces... show it ---------------


def eni(eid: str, iid: str | None, groups: list[str], public: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "NetworkInterfaceId": eid,
        "PrivateIpAddress": "10.0.1.5",
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.1.5"}],
        "Groups": [{"GroupId": g, "GroupName": g.replace("sg-", "")} for g in groups],
        "Status": "in-use" if iid else "available",
        "Tags": {},
    }
    if iid:
        out["Attachment"] = {"AttachmentId": f"att-{eid}", "DeviceIndex": 0, "InstanceId": iid}
    if public:
        out["Association"] = {
            "PublicIp": public,
            "IpOwnerId": ACCOUNT,
            "AllocationId": "eipalloc-1",
        }
    return out


def host(iid: str, eid: str, groups: list[str], public: str | None = None) -> dict[str, Any]:
    """An instance with its one interface (copied into NetworkInterfaces as AWS does)."""
    out = instance(iid, groups=groups, tags={"Name": iid.replace("i-", "web-")})
    nic = eni(eid, iid, groups, public)
    nic.pop("Tags")
    out["NetworkInterfaces"] = [nic]
    if public:
        out["PublicIpAddress"] = public
    return out


def address(iid: str | None, eid: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"AllocationId": "eipalloc-1", "PublicIp": "203.0.113.7", "Tags": {}}
    if iid and eid:
        out.update(
            InstanceId=iid,
            NetworkInterfaceId=eid,
            AssociationId=f"eipassoc-{iid[2:]}",
            PrivateIpAddress="10.0.1.5",
        )
    return out


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo") / "snaps"


def day(snaps: Path, message: str, date: str | None = None) -> str:
    return commit_all(snaps.parent, message, date)


def diff_json(capsys: Capsys, snaps: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(
        capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--format", "json", *args
    )
    report = json.loads(out)
    assert errors("report", report) == []
    return code, report, err


# --- derived changes fold ---------------------------------------------------------------------


def test_a_group_attached_is_one_logical_change_with_its_copies_folded(
    snaps: Path, capsys: Capsys
) -> None:
    write(snaps, "instances", [host("i-1", "eni-1", ["sg-0a"])])
    write(snaps, "network_interfaces", [eni("eni-1", "i-1", ["sg-0a"])])
    day(snaps, "one")
    write(snaps, "instances", [host("i-1", "eni-1", ["sg-0a", "sg-0b"])])
    write(snaps, "network_interfaces", [eni("eni-1", "i-1", ["sg-0a", "sg-0b"])])
    day(snaps, "two")
    code, report, _ = diff_json(capsys, snaps)
    assert (code, report["summary"]["total"], report["summary"]["derived"]) == (2, 1, 2)
    assert report["summary"]["by_type"] == {
        "instances": {"modified": 1},
        "network_interfaces": {"modified": 1},
    }
    [change] = report["changes"]
    assert (change["type"], change["id"], change["severity"]) == ("instances", "i-1", "medium")
    assert [d["text"] for d in change["details"]] == ["+ SecurityGroups[GroupId=sg-0b] (name-0b)"]
    folded = [
        (p["type"], p["relation"], [d["text"] for d in p["details"]]) for p in change["derived"]
    ]
    assert folded == [
        (
            "instances",
            "the same groups on its interfaces",
            ["+ NetworkInterfaces[NetworkInterfaceId=eni-1].Groups[GroupId=sg-0b] (0b)"],
        ),
        (
            "network_interfaces",
            "interface attached to i-1 (web-1)",
            ["+ Groups[GroupId=sg-0b] (0b)"],
        ),
    ]
    # One line in text, the derived ones folded under it; no JSON blob anywhere.
    _, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD")
    assert "driftaudit: 1 change(s), highest medium (1 medium)" in out
    assert out.count("[medium]") == 1 and "{" not in out
    assert (
        "    follows from it:\n      instances i-1 (web-1): the same groups on its interfaces\n"
        in out
    )
    # The gate sees the same severities, and a type gate sees the folded interface.
    for gate, expected in (("medium", 2), ("high", 0), ("network_interfaces", 2), ("volumes", 0)):
        assert (
            run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--fail-on", gate)[0]
            == expected
        )


def test_an_elastic_ip_moved_is_one_line_its_traces_folded(snaps: Path, capsys: Capsys) -> None:
    write(
        snaps,
        "instances",
        [host("i-1", "eni-1", ["sg-0a"], "203.0.113.7"), host("i-2", "eni-2", ["sg-0a"])],
    )
    write(
        snaps,
        "network_interfaces",
        [eni("eni-1", "i-1", ["sg-0a"], "203.0.113.7"), eni("eni-2", "i-2", ["sg-0a"])],
    )
    write(snaps, "elastic_ips", [address("i-1", "eni-1")])
    day(snaps, "one")
    write(
        snaps,
        "instances",
        [host("i-1", "eni-1", ["sg-0a"]), host("i-2", "eni-2", ["sg-0a"], "203.0.113.7")],
    )
    write(
        snaps,
        "network_interfaces",
        [eni("eni-1", "i-1", ["sg-0a"]), eni("eni-2", "i-2", ["sg-0a"], "203.0.113.7")],
    )
    write(snaps, "elastic_ips", [address("i-2", "eni-2")])
    day(snaps, "two")
    code, report, _ = diff_json(capsys, snaps)
    [change] = report["changes"]
    assert (change["type"], change["id"]) == ("elastic_ips", "eipalloc-1")
    assert [d["text"] for d in change["details"]] == ['~ InstanceId: "i-1" -> "i-2"']
    assert {(p["type"], p["id"]) for p in change["derived"]} == {
        ("elastic_ips", "eipalloc-1"),
        ("instances", "i-1"),
        ("instances", "i-2"),
        ("network_interfaces", "eni-1"),
        ("network_interfaces", "eni-2"),
    }
    texts = [d["text"] for p in change["derived"] for d in p["details"]]
    assert '- PublicIpAddress (was "203.0.113.7")' in texts
    assert (
        "+ Association: AllocationId=eipalloc-1, IpOwnerId=123456789012, PublicIp=203.0.113.7"
        in texts
    )
    assert not any("{" in t for t in texts)


def test_a_change_of_its_own_stays_beside_the_folded_traces(snaps: Path, capsys: Capsys) -> None:
    write(snaps, "instances", [host("i-1", "eni-1", ["sg-0a"])])
    write(snaps, "elastic_ips", [address(None, None)])
    day(snaps, "one")
    moved = host("i-1", "eni-1", ["sg-0a"], "203.0.113.7")
    moved["InstanceType"] = "t3.large"
    write(snaps, "instances", [moved])
    write(snaps, "elastic_ips", [address("i-1", "eni-1")])
    day(snaps, "two")
    _, report, _ = diff_json(capsys, snaps)
    by_type = {c["type"]: c for c in report["changes"]}
    assert set(by_type) == {"elastic_ips", "instances"}
    assert [d["path"] for d in by_type["instances"]["details"]] == ["InstanceType"]
    assert [p["id"] for p in by_type["elastic_ips"]["derived"]] == ["eipalloc-1", "i-1"]


def asg(desired: int) -> dict[str, Any]:
    return {
        "AutoScalingGroupARN": ASG_ARN,
        "AutoScalingGroupName": "app",
        "DesiredCapacity": desired,
        "MinSize": 0,
        "MaxSize": 4,
        "Tags": {},
    }


def member(n: int) -> dict[str, Any]:
    out = instance(f"i-a{n}", tags={"aws:autoscaling:groupName": "app"})
    out["BlockDeviceMappings"] = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": f"vol-a{n}"}}]
    return out


def root_volume(n: int) -> dict[str, Any]:
    out = volume(f"vol-a{n}")
    out["Attachments"] = [{"InstanceId": f"i-a{n}", "Device": "/dev/xvda", "VolumeId": f"vol-a{n}"}]
    return out


def test_a_scale_in_reads_as_the_group_changing_not_as_deletions(
    snaps: Path, capsys: Capsys
) -> None:
    write(snaps, "auto_scaling_groups", [asg(3)])
    write(snaps, "instances", [member(n) for n in (1, 2, 3)] + [instance("i-lone")])
    write(snaps, "volumes", [root_volume(n) for n in (1, 2, 3)])
    day(snaps, "one")
    write(snaps, "auto_scaling_groups", [asg(1)])
    write(snaps, "instances", [member(1)])  # i-lone removed too: not the group's doing
    write(snaps, "volumes", [root_volume(1)])
    day(snaps, "two")
    _, report, _ = diff_json(capsys, snaps)
    assert report["summary"]["total"] == 2
    group = next(c for c in report["changes"] if c["type"] == "auto_scaling_groups")
    assert [d["text"] for d in group["details"]] == ["~ DesiredCapacity: 3 -> 1"]
    assert [(p["action"], p["id"], p["relation"]) for p in group["derived"]] == [
        ("removed", "i-a2", "terminated by Auto Scaling group app"),
        ("removed", "i-a3", "terminated by Auto Scaling group app"),
        ("removed", "vol-a2", "volume attached to i-a2"),
        ("removed", "vol-a3", "volume attached to i-a3"),
    ]
    lone = next(c for c in report["changes"] if c["type"] == "instances")
    assert (lone["id"], lone["action"], lone["derived"]) == ("i-lone", "removed", [])
    # The severity of a logical change is its worst part's: a removal is low.
    assert group["severity"] == "low"


# --- driftaudit.yaml: ignore ---------------------------------------------------------------


def tagged_fleet(snaps: Path, stamp: str, size: int = 8) -> None:
    write(snaps, "instances", [instance("i-1", tags={"Name": "web-1", "LastPatched": stamp})])
    write(snaps, "volumes", [volume("vol-1", size)])


def config(snaps: Path, text: str) -> None:
    (snaps.parent / "driftaudit.yaml").write_text(text, encoding="utf-8")


IGNORE = """\
ignore:
  - {type: instances, fields: [Tags.LastPatched], reason: the patch bot}
"""


def test_an_ignore_rule_silences_and_is_counted(snaps: Path, capsys: Capsys) -> None:
    tagged_fleet(snaps, "monday")
    day(snaps, "one")
    tagged_fleet(snaps, "tuesday")
    day(snaps, "two")
    assert diff_json(capsys, snaps)[1]["summary"]["total"] == 1
    config(snaps, IGNORE)
    code, report, err = diff_json(capsys, snaps)
    assert (code, report["changes"], err) == (0, [], "")
    assert report["ignored"] == {
        "changes": 1,
        "rules": [
            {"rule": "driftaudit.yaml:2", "reason": "the patch bot", "until": None, "changes": 1}
        ],
        "expired": [],
    }
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD")
    assert code == 0
    assert (
        '1 change(s) ignored by driftaudit.yaml:\n    driftaudit.yaml:2: 1 "the patch bot"' in out
    )
    # Only that tag: a resize beside it is shown, the tag still left out.
    tagged_fleet(snaps, "wednesday", size=16)
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--format", "json")
    report = json.loads(out)
    assert code == 2 and [c["id"] for c in report["changes"]] == ["vol-1"]
    assert report["ignored"]["changes"] == 1


def test_an_expired_ignore_rule_silences_nothing_and_says_so(snaps: Path, capsys: Capsys) -> None:
    tagged_fleet(snaps, "monday")
    day(snaps, "one", "2026-01-01T06:00:00+00:00")
    tagged_fleet(snaps, "tuesday")
    day(snaps, "two", "2026-01-02T06:00:00+00:00")
    config(snaps, IGNORE.replace("the patch bot}", "the patch bot, until: 2026-01-01}"))
    # The newer snapshot (2 January) is after the rule's last day: it has expired.
    code, report, err = diff_json(capsys, snaps)
    assert code == 2 and [c["id"] for c in report["changes"]] == ["i-1"]
    assert report["ignored"]["expired"] == [
        {"rule": "driftaudit.yaml:2", "reason": "the patch bot", "until": "2026-01-01"}
    ]
    assert err == (
        'driftaudit: ignore rule driftaudit.yaml:2 (until 2026-01-01, "the patch bot") has '
        "expired: it silences nothing now\n"
    )
    # Quoted or not, a date; until the last day it silences.
    config(snaps, IGNORE.replace("the patch bot}", "the patch bot, until: '2026-01-02'}"))
    code, report, err = diff_json(capsys, snaps)
    assert (code, report["ignored"]["changes"], err) == (0, 1, "")


@pytest.mark.parametrize(
    "text,message",
    [
        ("ignore:\n  - {type: instances, until: 2026-13-01}\n", "month must be in 1..12"),
        ("ignore:\n  - {type: instances, until: tomorrow}\n", "$.ignore[0].until"),
        ("ignore:\n  - {type: instances, fields: ['a..b']}\n", "$.ignore[0].fields[0]"),
        ("ignore:\n  - {typ: instances}\n", "'typ' was unexpected"),
        ('report: {repository: "a\\nb"}\n', "$.report.repository"),
    ],
)
def test_a_bad_ignore_or_report_section_is_one_line_naming_it(
    snaps: Path, capsys: Capsys, text: str, message: str
) -> None:
    tagged_fleet(snaps, "monday")
    day(snaps, "one")
    config(snaps, text)
    code, out, err = run(capsys, "diff", "-C", str(snaps))
    assert (code, out) == (1, "")
    assert err.startswith(f"driftaudit: {snaps.parent / 'driftaudit.yaml'}:2: ") or err.startswith(
        f"driftaudit: {snaps.parent / 'driftaudit.yaml'}:1: "
    )
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_one_ignore_language_for_baselines_and_driftaudit_yaml() -> None:
    root = Path(__file__).resolve().parent.parent / "schemas"
    config_defs = json.loads((root / "config.schema.json").read_text())["$defs"]
    baseline_defs = json.loads((root / "baseline.schema.json").read_text())["$defs"]
    for name in ("ignore", "glob", "account", "region"):
        assert config_defs[name] == baseline_defs[name], name


# --- report: its default range, what was undone --------------------------------------------


def test_report_without_a_range_is_the_last_snapshot_commit(snaps: Path, capsys: Capsys) -> None:
    tagged_fleet(snaps, "monday")
    day(snaps, "one")
    tagged_fleet(snaps, "monday", size=16)
    day(snaps, "two")
    (snaps.parent / "baselines").mkdir()
    (snaps.parent / "baselines" / "main.yaml").write_text("manage: {volumes: exclusive}\n")
    baseline = day(snaps, "a baseline: not a snapshot")
    code, out, _ = run(capsys, "report", "-C", str(snaps), "--format", "json")
    report = json.loads(out)
    assert code == 0 and [c["id"] for c in report["changes"]] == ["vol-1"]
    assert report["to"]["rev"] != baseline and report["to"]["label"] == report["to"]["rev"][:12]
    # A run record (a run that changed nothing) is a snapshot commit: nothing changed then.
    trailer = RunRecord((ACCOUNT,), (REGION,), ("instances",), 1, 0, 1, "snaps").trailer()
    git(
        snaps.parent,
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        f"driftaudit snapshot: no changes\n\n{trailer}",
    )
    code, out, _ = run(capsys, "report", "-C", str(snaps), "--format", "json")
    report = json.loads(out)
    assert (code, report["changes"], report["to"]["label"]) == (0, [], "HEAD")


def test_the_report_text_lists_changes_undone_in_the_period(snaps: Path, capsys: Capsys) -> None:
    https = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "quick fix")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [https])])
    day(snaps, "one", "2026-11-01T06:00:00+00:00")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [https, ssh])])
    day(snaps, "two", "2026-11-02T06:00:00+00:00")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [https])])
    day(snaps, "three", "2026-11-03T06:00:00+00:00")
    code, out, _ = run(capsys, "report", "-C", str(snaps), "HEAD~2", "HEAD")
    assert code == 0 and "No changes." in out
    assert (
        "Changes undone later in the period (the period's diff no longer shows them):\n"
        f"    2026-11-02 [critical] security_groups sg-0a (web) {ACCOUNT}/{REGION}: "
        '+ ingress tcp/22 from 0.0.0.0/0 "quick fix" (undone 2026-11-03)\n'
    ) in out
    # The undoing itself is not listed; every format and the JSON schema carry it.
    assert out.count("sg-0a") == 1
    _, out, _ = run(capsys, "report", "-C", str(snaps), "HEAD~2", "HEAD", "--format", "json")
    [entry] = json.loads(out)["undone"]
    assert (entry["date"], entry["undone"], entry["severity"]) == (
        "2026-11-02",
        "2026-11-03",
        "critical",
    )
    assert errors("report", json.loads(out)) == []
    _, out, _ = run(capsys, "report", "-C", str(snaps), "HEAD~2", "HEAD", "--format", "markdown")
    assert '`+ ingress tcp/22 from 0.0.0.0/0 "quick fix"` (undone 2026-11-03)' in out


# --- mail ------------------------------------------------------------------------------------


def mail(capsys: Capsys, snaps: Path, port: int, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "report",
        "-C",
        str(snaps),
        "--email-to",
        "secops@example.com",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        *extra,
    )


@pytest.fixture
def info_only(snaps: Path) -> Path:
    """Yesterday's snapshot, then today's: only a tag changed (info)."""
    tagged_fleet(snaps, "monday")
    day(snaps, "one", days_ago(1))
    tagged_fleet(snaps, "tuesday")
    day(snaps, "two")
    return snaps


def test_no_mail_for_an_info_only_day_unless_asked(info_only: Path, capsys: Capsys) -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        code, _, err = mail(capsys, info_only, port)
        assert (code, handler.received) == (0, [])
        assert "no change at or above low (the highest is info); no mail sent" in err
        assert mail(capsys, info_only, port, "--min-severity", "info")[0] == 0
        config(info_only, "report: {min_severity: info}\n")
        assert mail(capsys, info_only, port)[0] == 0
        assert mail(capsys, info_only, port, "--min-severity", "medium")[0] == 0
    assert [m["Subject"] for _, _, m in handler.received] == [
        "driftaudit: 1 change(s), highest info (1 info)",
        "driftaudit: 1 change(s), highest info (1 info)",
    ]


def test_the_subject_carries_a_label(info_only: Path, capsys: Capsys) -> None:
    handler = Handler()
    config(info_only, "report: {repository: acme/ec2-state, environment: prod}\n")
    with smtp_server(handler) as port:
        mail(capsys, info_only, port, "--min-severity", "info")
        mail(capsys, info_only, port, "--min-severity", "info", "--subject-label", "staging")
    subjects = [m["Subject"] for _, _, m in handler.received]
    assert subjects == [
        "[acme/ec2-state, prod] driftaudit: 1 change(s), highest info (1 info)",
        "[staging] driftaudit: 1 change(s), highest info (1 info)",
    ]
    text = handler.received[1][2].get_body(("plain",))
    assert text is not None and text.get_content().startswith("[staging] driftaudit:")


def test_a_label_cannot_inject_a_header(info_only: Path, capsys: Capsys) -> None:
    code, out, err = mail(capsys, info_only, 9, "--subject-label", "x\r\nBcc: evil@example.com")
    assert (code, out) == (1, "")
    assert "--subject-label" in err and "line break" in err and err.count("\n") == 1


def test_min_severity_needs_a_mail(info_only: Path, capsys: Capsys) -> None:
    code, _, err = run(capsys, "report", "-C", str(info_only), "--min-severity", "high")
    assert code == 1 and "need --email-to" in err
    code, _, err = mail(capsys, info_only, 9, "--min-severity", "hihg")
    assert code == 1 and "did you mean 'high'" in err


def test_a_job_that_did_not_run_is_mailed_not_silence(snaps: Path, capsys: Capsys) -> None:
    # Daily runs that stopped three days ago: nothing changed since, but that is not quiet.
    for n, stamp in ((6, "a"), (5, "b"), (4, "c"), (3, "d")):
        tagged_fleet(snaps, stamp)
        day(snaps, stamp, days_ago(n))
    handler = Handler()
    with smtp_server(handler) as port:
        code, _, err = mail(capsys, snaps, port, "HEAD", "HEAD")
    assert code == 0
    [(_, _, msg)] = handler.received
    assert msg["Subject"] == "driftaudit: JOB DID NOT RUN; no changes"
    text = msg.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "!! no snapshot run is recorded from HEAD to HEAD: the snapshot did not commit" in body
    assert "!! the last snapshot run is from " in body and "3 days ago" in body
    assert "did the job run?" in err
    # A report written to a file says nothing of the clock: the same bytes whenever it runs.
    _, out, _ = run(capsys, "report", "-C", str(snaps), "HEAD", "HEAD", "--format", "json")
    assert json.loads(out)["alerts"] == []


def test_a_partial_run_is_mailed_whatever_its_changes(snaps: Path, capsys: Capsys) -> None:
    tagged_fleet(snaps, "monday")
    day(snaps, "one", days_ago(1))
    failed = (
        "driftaudit snapshot: no changes\n\n"
        "Parts that could not be read or written (their previous files are kept):\n"
        f"Driftaudit-Failed: {ACCOUNT}/{REGION}/volumes access denied in ec2:DescribeVolumes\n\n"
        + RunRecord((ACCOUNT,), (REGION,), ("instances", "volumes"), 2, 1, 1, "snaps").trailer()
    )
    git(snaps.parent, "commit", "-q", "--allow-empty", "-m", failed)
    handler = Handler()
    with smtp_server(handler) as port:
        assert mail(capsys, snaps, port)[0] == 0
    [(_, _, msg)] = handler.received
    assert msg["Subject"] == "driftaudit: PARTIAL RUN (1 part(s) failed); no changes"


# --- check: severities, --fail-on, SARIF levels ---------------------------------------------

BASELINE = """\
manage: {security_groups: exclusive}
security_groups:
  - id: sg-0b0b
    ingress: []
  - id: sg-0e0e
    ingress: []
policies:
  - {name: no-world, type: security_groups, deny: {from: [world]}}
  - name: imdsv2
    type: instances
    expect: {MetadataOptions.HttpTokens: required}
    severity: medium
  - {name: owner, type: instances, required_tags: [Owner], severity: low}
"""


@pytest.fixture
def checked(tmp_path: Path) -> Path:
    """A world-open bastion (all traffic: critical), a world-open HTTPS group (high), 3
    instances without IMDSv2 (medium) or an owner (low), a group nobody declared (low)."""
    root = init_repo(tmp_path / "repo")
    (root / "baselines").mkdir()
    (root / "baselines" / "main.yaml").write_text(BASELINE, encoding="utf-8")
    snaps = root / "snaps"
    groups = [
        security_group("sg-0b0b", "bastion", [rule("ingress", "-1", "0.0.0.0/0")]),
        security_group("sg-0e0e", "web", [rule("ingress", "tcp", "0.0.0.0/0", (443, 443))]),
        security_group("sg-0f0f", "stray"),
    ]
    write(snaps, "security_groups", groups)
    write(snaps, "instances", [instance(f"i-0{n}") for n in (1, 2, 3)])
    return snaps


def test_check_findings_have_severities_worst_first(checked: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "check", "-C", str(checked))
    headers = [line for line in out.splitlines() if line.startswith("[")]
    assert code == 2
    assert headers == [
        f"[critical] ~ sg-0b0b (bastion)  [security_groups {ACCOUNT}/{REGION}]",
        f"[high] ~ sg-0e0e (web)  [security_groups {ACCOUNT}/{REGION}]",
        f"[medium] ! i-01  [instances {ACCOUNT}/{REGION}]",
        f"[medium] ! i-02  [instances {ACCOUNT}/{REGION}]",
        f"[medium] ! i-03  [instances {ACCOUNT}/{REGION}]",
        f"[low] + sg-0f0f (stray)  [security_groups {ACCOUNT}/{REGION}]",
    ]
    assert "    ! policy owner: tag Owner missing  [low]" in out.splitlines()


@pytest.mark.parametrize("level,code", [("info", 2), ("high", 2), ("critical", 2)])
def test_check_fail_on_gates_on_severity(
    checked: Path, capsys: Capsys, level: str, code: int
) -> None:
    assert run(capsys, "check", "-C", str(checked), "--fail-on", level)[0] == code


def test_check_fail_on_passes_below_it(checked: Path, capsys: Capsys) -> None:
    write(
        checked,
        "security_groups",
        [security_group("sg-0b0b", "bastion"), security_group("sg-0e0e", "web")],
    )
    code, out, _ = run(capsys, "check", "-C", str(checked), "--fail-on", "high")
    assert code == 0 and out.startswith("[medium] ! i-01")  # still printed
    assert run(capsys, "check", "-C", str(checked), "--fail-on", "medium")[0] == 2


def test_sarif_levels_follow_severity_and_validate(checked: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "check", "-C", str(checked), "--format", "sarif")
    log = json.loads(out)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    assert code == 2 and not list(Draft4Validator(schema).iter_errors(log))
    levels = {
        (r["ruleId"], r["properties"]["severity"], r["level"]) for r in log["runs"][0]["results"]
    }
    assert levels == {
        ("policy/no-world", "critical", "error"),
        ("policy/no-world", "high", "error"),
        ("policy/imdsv2", "medium", "warning"),
        ("policy/owner", "low", "note"),
        ("drift/changed", "medium", "warning"),
        ("drift/unmanaged", "low", "note"),
    }
    rules = {
        r["id"]: r["defaultConfiguration"]["level"]
        for r in log["runs"][0]["tool"]["driver"]["rules"]
    }
    assert rules["policy/owner"] == "note" and rules["policy/no-world"] == "error"


def test_junit_puts_the_worst_first(checked: Path, capsys: Capsys) -> None:
    _, out, _ = run(capsys, "check", "-C", str(checked), "--format", "junit")
    cases = ET.fromstring(out).iter("testcase")
    failures = [c.find("failure") for c in cases]
    messages = [f.get("message", "") for f in failures if f is not None]
    assert [m.split("]")[0] + "]" for m in messages] == [
        "[critical]",
        "[high]",
        "[medium]",
        "[medium]",
        "[medium]",
        "[low]",
    ]


def test_check_honours_driftaudit_yaml_ignore_and_reports_expired_rules(
    checked: Path, capsys: Capsys
) -> None:
    config(
        checked,
        "ignore:\n"
        "  - {type: instances, fields: [Tags.Owner]}\n"
        "  - {type: security_groups, id: sg-0f0f, reason: the other team's}\n"
        "  - {type: security_groups, id: sg-0e0e, until: 2000-01-01}\n",
    )
    code, out, err = run(capsys, "check", "-C", str(checked))
    assert code == 2
    assert "sg-0f0f" not in out and "tag Owner" not in out and "sg-0e0e" in out
    assert out.splitlines()[-1].endswith("(5 resources checked; 1 resource and 3 findings ignored)")
    assert err == (
        "driftaudit: ignore rule driftaudit.yaml:4 (until 2000-01-01) has expired: it "
        "silences nothing now\n"
    )
    _, out, _ = run(capsys, "check", "-C", str(checked), "--format", "json")
    doc = json.loads(out)
    assert doc["summary"]["ignored"] == {"resources": 1, "findings": 3}
    assert doc["expired_ignores"] == [
        {"rule": "driftaudit.yaml:4", "until": "2000-01-01", "reason": ""}
    ]


def test_policy_severity_is_validated(checked: Path, capsys: Capsys) -> None:
    baseline = checked.parent / "baselines" / "main.yaml"
    baseline.write_text(BASELINE.replace("severity: low", "severity: urgent"), encoding="utf-8")
    code, out, err = run(capsys, "check", "-C", str(checked))
    assert (code, out) == (1, "")
    assert f"{baseline}:13: $.policies[2].severity: 'urgent' is not one of" in err


@pytest.fixture(autouse=True)
def _no_password(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DRIFTAUDIT_SMTP_PASSWORD", raising=False)
    yield


# --- validate: -C DIR, a file that is not a snapshot ----------------------------------------


def test_validate_takes_the_snapshot_directory_as_the_other_commands(
    snaps: Path, capsys: Capsys
) -> None:
    write(snaps, "volumes", [volume("vol-1"), volume("vol-2")])
    broken = snaps / ACCOUNT / REGION / "volumes" / "vol-2.yaml"
    broken.write_text("account: 1\n")
    code, out, err = run(capsys, "validate", "-C", str(snaps), "-j", "1")
    assert code == 1 and f"{broken}:1: " in out
    assert err.startswith("driftaudit: 2 file(s) checked, ")
    # exactly what naming the directory says
    assert run(capsys, "validate", str(snaps), "-j", "1") == (code, out, err)
    code, _, err = run(capsys, "validate", "-C", str(snaps), str(snaps))
    assert code == 1 and "give either -C DIR or PATHs" in err


def test_validate_says_in_one_line_that_a_file_is_no_snapshot(
    tmp_path: Path, capsys: Capsys
) -> None:
    baseline = tmp_path / "main.yml"
    baseline.write_text("manage: {volumes: exclusive}\npolicies: []\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(baseline))
    assert (code, out) == (
        1,
        f"{baseline}:1: not a snapshot document: it has none of the envelope's keys "
        "(account, id, region, resource, type); validate checks snapshot files only\n",
    )
    # Its secrets are still named; a file with some of the envelope is checked in full.
    baseline.write_text("notes: AKIAABCDEFGHIJKLMNOP\n", encoding="utf-8")
    out = run(capsys, "validate", str(baseline))[1]
    assert "looks like an AWS access key id (AKIA...)" in out and "not a snapshot document" in out
    baseline.write_text('account: "123456789012"\n', encoding="utf-8")
    out = run(capsys, "validate", str(baseline))[1]
    assert "'id' is a required property" in out and "not a snapshot document" not in out
