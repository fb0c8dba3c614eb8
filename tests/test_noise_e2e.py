"""Noise under control, end to end on the moto server (issue 12, "Done means"): what AWS
(as moto serves it) writes when a group is attached, an elastic IP moves and an Auto Scaling
group scales in, read back by ``diff`` as one logical change each; driftaudit.yaml's ignore
rules silencing ``diff`` and the mail (aiosmtpd on 127.0.0.1); ``check``'s severities and
SARIF levels, validated against the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from jsonschema import Draft4Validator

from driftaudit.schemas import errors
from tests.support.gitsnap import ACCOUNT, REGION, git, init_repo, run
from tests.support.motoserver import MotoServer
from tests.test_mail import Handler, smtp_server
from tests.test_noise import mail

Capsys = pytest.CaptureFixture[str]
DATA = Path(__file__).resolve().parent / "data"
AMI = "ami-12c6146b"


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=moto.url, region_name=REGION)


def snapshot(capsys: Capsys, moto: MotoServer, snaps: Path) -> None:
    args = ("snapshot", REGION, "--endpoint-url", moto.url, "-o", str(snaps), "--commit", "-q")
    code, _, err = run(capsys, *args)
    assert code == 0, err


def last_diff(capsys: Capsys, snaps: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(
        capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--format", "json", *extra
    )
    report = json.loads(out)
    assert errors("report", report) == [], err
    return code, report


class Fleet:
    """A VPC with two web instances in one group, an elastic IP on web-1 and an Auto
    Scaling group of three."""

    def __init__(self, moto: MotoServer) -> None:
        self.ec2 = client(moto, "ec2")
        self.autoscaling = client(moto, "autoscaling")
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        self.web = self.group("web", vpc)
        self.extra = self.group("extra", vpc)
        self.web1, self.web2 = (self.launch(name, subnet) for name in ("web-1", "web-2"))
        self.eip = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        self.ec2.associate_address(AllocationId=self.eip, InstanceId=self.web1)
        data = {"ImageId": AMI, "InstanceType": "t3.micro"}
        self.ec2.create_launch_template(LaunchTemplateName="app-tpl", LaunchTemplateData=data)
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="app",
            LaunchTemplate={"LaunchTemplateName": "app-tpl"},
            MinSize=0,
            MaxSize=4,
            DesiredCapacity=3,
            VPCZoneIdentifier=subnet,
        )

    def group(self, name: str, vpc: str) -> str:
        made = self.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)
        return str(made["GroupId"])

    def launch(self, name: str, subnet: str) -> str:
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
        made = self.ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            SecurityGroupIds=[self.web],
            TagSpecifications=tags,
        )
        return str(made["Instances"][0]["InstanceId"])


def test_attach_move_and_scale_in_are_one_logical_change_each(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    fleet = Fleet(moto)
    snaps = init_repo(tmp_path / "repo") / "snaps"
    snapshot(capsys, moto, snaps)

    fleet.ec2.modify_instance_attribute(InstanceId=fleet.web2, Groups=[fleet.web, fleet.extra])
    snapshot(capsys, moto, snaps)
    code, report = last_diff(capsys, snaps)
    [change] = report["changes"]
    assert (code, change["type"], change["id"], change["severity"]) == (
        2,
        "instances",
        fleet.web2,
        "medium",
    )
    assert [d["text"] for d in change["details"]] == [
        f"+ SecurityGroups[GroupId={fleet.extra}] (extra)"
    ]
    assert sorted(p["type"] for p in change["derived"]) == ["instances", "network_interfaces"]
    assert report["summary"]["by_type"] == {
        "instances": {"modified": 1},
        "network_interfaces": {"modified": 1},
    }

    fleet.ec2.associate_address(
        AllocationId=fleet.eip, InstanceId=fleet.web2, AllowReassociation=True
    )
    snapshot(capsys, moto, snaps)
    code, report = last_diff(capsys, snaps)
    [change] = report["changes"]
    assert (change["type"], change["id"]) == ("elastic_ips", fleet.eip)
    assert [d["text"] for d in change["details"]] == [
        f'~ InstanceId: "{fleet.web1}" -> "{fleet.web2}"'
    ]
    folded = {(p["type"], p["id"]) for p in change["derived"]}
    assert ("instances", fleet.web2) in folded and ("elastic_ips", fleet.eip) in folded
    texts = [d["text"] for p in change["derived"] for d in p["details"]]
    assert texts and not any("{" in t for t in texts)  # fields, never JSON blobs

    fleet.autoscaling.set_desired_capacity(AutoScalingGroupName="app", DesiredCapacity=1)
    snapshot(capsys, moto, snaps)
    code, report = last_diff(capsys, snaps)
    [change] = report["changes"]
    assert change["type"] == "auto_scaling_groups"
    assert [d["text"] for d in change["details"]] == ["~ DesiredCapacity: 3 -> 1"]
    terminated = [p for p in change["derived"] if p["type"] == "instances"]
    assert len(terminated) == 2
    assert {p["relation"] for p in terminated} == {"terminated by Auto Scaling group app"}
    assert {p["action"] for p in change["derived"]} == {"removed"}
    # The commit message, the audit trail, still names every resource that changed.
    message = git(snaps.parent, "log", "-1", "--format=%B")
    assert message.startswith("driftaudit snapshot: 1 change(s) (1 low)\n")
    for part in terminated:
        assert f"[low] instances {part['id']}: removed" in message

    # The whole period: three logical changes, the gate on the same severities as before.
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~3", "HEAD", "--fail-on", "medium")
    assert code == 2 and "driftaudit: 3 change(s), highest medium" in out
    assert run(capsys, "diff", "-C", str(snaps), "HEAD~3", "HEAD", "--fail-on", "high")[0] == 0


def test_ignore_rules_silence_diff_and_mail(
    moto: MotoServer, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRIFTAUDIT_SMTP_PASSWORD", raising=False)
    ec2 = client(moto, "ec2")
    made = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[made], Tags=[{"Key": "LastPatched", "Value": "monday"}])
    root = init_repo(tmp_path / "repo")
    snaps = root / "snaps"
    snapshot(capsys, moto, snaps)
    (root / "driftaudit.yaml").write_text(
        "ignore:\n"
        "  - {type: instances, fields: [Tags.LastPatched], reason: the patch bot}\n"
        "report: {repository: acme/ec2-state, environment: prod, min_severity: info}\n",
        encoding="utf-8",
    )
    ec2.create_tags(Resources=[made], Tags=[{"Key": "LastPatched", "Value": "tuesday"}])
    snapshot(capsys, moto, snaps)

    code, report = last_diff(capsys, snaps)
    assert (code, report["changes"], report["ignored"]["changes"]) == (0, [], 1)
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD")
    assert code == 0 and "1 change(s) ignored by driftaudit.yaml" in out

    handler = Handler()
    with smtp_server(handler) as port:
        code, _, err = mail(capsys, snaps, port)
        assert (code, handler.received) == (0, [])
        assert "no changes; no mail sent" in err
        # The rule expires: the same change is mailed, and the expiry is said.
        config = (root / "driftaudit.yaml").read_text(encoding="utf-8")
        (root / "driftaudit.yaml").write_text(
            config.replace("the patch bot}", "the patch bot, until: 2000-01-01}"),
            encoding="utf-8",
        )
        code, _, err = mail(capsys, snaps, port)
    assert code == 0
    assert 'ignore rule driftaudit.yaml:2 (until 2000-01-01, "the patch bot") has expired' in err
    [(_, _, msg)] = handler.received
    assert msg["Subject"] == "[acme/ec2-state, prod] driftaudit: 1 change(s), highest info (1 info)"
    text = msg.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert '~ tag LastPatched: "monday" -> "tuesday"' in body
    assert "Expired ignore rules (they silence nothing now):" in body


BASELINE = """\
manage: {security_groups: exclusive}
policies:
  - {name: no-world, type: security_groups, deny: {from: [world]}}
  - name: imdsv2
    type: instances
    expect: {MetadataOptions.HttpTokens: required}
    severity: medium
  - {name: owner, type: instances, required_tags: [Owner], severity: low}
"""


def test_check_severities_and_sarif_levels(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2 = client(moto, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    bastion = ec2.create_security_group(GroupName="bastion", Description="b", VpcId=vpc)
    everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.authorize_security_group_ingress(GroupId=bastion["GroupId"], IpPermissions=[everything])
    web = ec2.create_security_group(GroupName="web", Description="w", VpcId=vpc)
    https = {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    }
    ec2.authorize_security_group_ingress(GroupId=web["GroupId"], IpPermissions=[https])
    ec2.run_instances(ImageId=AMI, MinCount=3, MaxCount=3)
    root = init_repo(tmp_path / "repo")
    snaps = root / "snaps"
    snapshot(capsys, moto, snaps)
    (root / "baselines").mkdir()
    (root / "baselines" / "main.yaml").write_text(BASELINE, encoding="utf-8")

    code, out, _ = run(capsys, "check", "-C", str(snaps))
    headers = [line.split("] ", 1)[0] + "]" for line in out.splitlines() if line.startswith("[")]
    assert code == 2
    assert headers[:2] == ["[critical]", "[high]"]  # the world-open bastion first, then web
    assert headers[2:5] == ["[medium]"] * 3  # the instances without IMDSv2
    assert set(headers[5:]) == {"[low]"}  # the groups nobody declared
    assert f"[critical] + {bastion['GroupId']} (bastion)" in out  # unmanaged, and open

    code, out, _ = run(capsys, "check", "-C", str(snaps), "--format", "sarif")
    log = json.loads(out)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    assert code == 2 and not sorted(Draft4Validator(schema).iter_errors(log), key=str)
    levels = {(r["properties"]["severity"], r["level"]) for r in log["runs"][0]["results"]}
    assert levels == {
        ("critical", "error"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "note"),
    }
    bastion_results = [
        r
        for r in log["runs"][0]["results"]
        if r["ruleId"] == "policy/no-world" and bastion["GroupId"] in r["message"]["text"]
    ]
    assert [r["level"] for r in bastion_results] == ["error"]
    uri = bastion_results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == f"snaps/{ACCOUNT}/{REGION}/security_groups/{bastion['GroupId']}.yaml"

    assert run(capsys, "check", "-C", str(snaps), "--fail-on", "critical")[0] == 2
    ec2.revoke_security_group_ingress(GroupId=bastion["GroupId"], IpPermissions=[everything])
    snapshot(capsys, moto, snaps)
    assert run(capsys, "check", "-C", str(snaps), "--fail-on", "critical")[0] == 0
    assert run(capsys, "check", "-C", str(snaps), "--fail-on", "high")[0] == 2
