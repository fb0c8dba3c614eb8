"""``driftaudit check`` and ``driftaudit baseline init`` through the CLI: exit codes, the five
output formats (SARIF against the official 2.1.0 schema, JUnit as XML), the init round trip,
and one end-to-end run against the moto server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import boto3
import pytest
from jsonschema import Draft4Validator

from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    file_of,
    init_repo,
    instance,
    rule,
    run,
    security_group,
    volume,
    write,
)
from tests.support.motoserver import MotoServer

DATA = Path(__file__).resolve().parent / "data"
Capsys = pytest.CaptureFixture[str]

SSH_WORLD = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "temp debugging")
HTTPS = rule("ingress", "tcp", "0.0.0.0/0", (443, 443))
BASELINE = """\
manage: {security_groups: exclusive}
security_groups:
  - id: sg-0aaa
    ingress:
      - {protocol: tcp, ports: 443, from: [0.0.0.0/0]}
  - id: sg-0ddd
resources:
  - {type: instances, id: i-01, instance_type: t3.micro}
policies:
  - name: no-world-ssh
    type: security_groups
    deny: {from: [world], protocol: tcp, ports: 22}
"""


def fleet(snaps: Path, *, drift: bool) -> None:
    rules = [HTTPS, SSH_WORLD] if drift else [HTTPS]
    groups = [security_group("sg-0aaa", "web", rules)]
    if drift:
        groups.append(security_group("sg-0ccc", "stray"))
    else:
        groups.append(security_group("sg-0ddd", "db"))
    write(snaps, "security_groups", groups)
    write(snaps, "instances", [instance("i-01", "t3.large" if drift else "t3.micro")])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A snapshot repository: snapshots/ and baselines/ at the root."""
    root = init_repo(tmp_path / "repo")
    (root / "baselines").mkdir()
    (root / "baselines" / "main.yaml").write_text(BASELINE, encoding="utf-8")
    return root


def test_in_sync_exits_0_and_drift_exits_2(repo: Path, capsys: Capsys) -> None:
    snaps = repo / "snapshots"
    fleet(snaps, drift=False)
    code, out, err = run(capsys, "check", "-C", str(snaps))
    assert (code, out, err) == (0, "in sync: 3 resources checked\n", "")
    fleet(snaps, drift=True)
    code, out, _ = run(capsys, "check", "-C", str(snaps))
    assert code == 2
    lines = out.splitlines()
    assert "[critical] ~ sg-0aaa (web)  [security_groups 123456789012/us-east-1]" in lines
    assert '    + ingress tcp/22 from 0.0.0.0/0 "temp debugging"  [medium]' in lines
    assert '    ! policy no-world-ssh: ingress tcp/22 from 0.0.0.0/0 "temp debugging"' in lines
    assert "[medium] - sg-0ddd  [security_groups]" in lines
    assert "[low] + sg-0ccc (stray)  [security_groups 123456789012/us-east-1]" in lines
    assert '    ~ InstanceType: expected "t3.micro", found "t3.large"' in lines
    assert (
        lines[-1]
        == "drift: 2 changed, 1 missing, 1 unmanaged, 1 policy violation (4 resources checked)"
    )


@pytest.mark.parametrize(
    "text",
    [
        "security_groups:\n  - {id: sg-0aaa, exclusive: maybe}\n",
        "security_groups:\n"
        "  - {id: sg-0aaa, ingress: [{protocol: tcp, ports: 22, from: [10.0.0.1/8]}]}\n",
        "security_groups: [\n",
    ],
)
def test_an_invalid_baseline_is_an_error_never_in_sync(
    repo: Path, capsys: Capsys, text: str
) -> None:
    snaps = repo / "snapshots"
    fleet(snaps, drift=False)
    (repo / "baselines" / "zz-broken.yaml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "check", "-C", str(snaps))
    assert code == 1 and out == ""
    assert err.startswith(f"driftaudit: {repo / 'baselines' / 'zz-broken.yaml'}:")


def test_explicit_baselines_replace_the_default(repo: Path, tmp_path: Path, capsys: Capsys) -> None:
    snaps = repo / "snapshots"
    fleet(snaps, drift=True)
    other = tmp_path / "other.yaml"
    other.write_text("resources:\n  - {type: instances, id: i-01, instance_type: t3.large}\n")
    assert run(capsys, "check", "-C", str(snaps), "--baseline", str(other))[0] == 0


def test_no_baseline_no_snapshot_and_unreadable_files_are_errors(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = init_repo(tmp_path / "bare")
    snaps = root / "snapshots"
    fleet(snaps, drift=False)
    code, out, err = run(capsys, "check", "-C", str(snaps))
    assert code == 1 and "no baseline" in err and out == ""
    (root / "baselines").mkdir()
    (root / "baselines" / "b.yaml").write_text(BASELINE)
    empty = root / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "check", "-C", str(empty))
    assert code == 1 and "no snapshot files" in err
    broken = file_of(snaps, "instances", "i-01")
    broken.write_text("account: '123456789012'\nresource: {InstanceId: [\n")
    code, out, err = run(capsys, "check", "-C", str(snaps))
    assert code == 1 and out == ""
    assert f"{ACCOUNT}/{REGION}/instances/i-01.yaml:" in err and "does not parse" in err


def _sarif(repo: Path, capsys: Capsys) -> dict[str, Any]:
    snaps = repo / "snapshots"
    fleet(snaps, drift=True)
    code, out, _ = run(capsys, "check", "-C", str(snaps), "--format", "sarif")
    assert code == 2
    return dict(json.loads(out))


def test_sarif_validates_against_the_sarif_2_1_0_schema(repo: Path, capsys: Capsys) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    log = _sarif(repo, capsys)
    errors = sorted(Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, errors[0]
    # The schema itself must be able to fail: a result with an invalid level is refused.
    log["runs"][0]["results"][0]["level"] = "critical"
    assert list(Draft4Validator(schema).iter_errors(log))


def test_sarif_results_point_at_the_offending_line(repo: Path, capsys: Capsys) -> None:
    log = _sarif(repo, capsys)
    results = log["runs"][0]["results"]
    rule_ids = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert set(rule_ids) == {
        "drift/changed",
        "drift/missing",
        "drift/unmanaged",
        "policy/no-world-ssh",
    }
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
        by_rule.setdefault(r["ruleId"], []).append(r)

    def line_at(result: dict[str, Any]) -> str:
        location = result["locations"][0]["physicalLocation"]
        path = repo / location["artifactLocation"]["uri"]  # relative to the repository root
        return path.read_text().splitlines()[location["region"]["startLine"] - 1]

    violation = by_rule["policy/no-world-ssh"][0]
    assert violation["level"] == "error"
    assert violation["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        f"snapshots/{ACCOUNT}/{REGION}/security_groups/sg-0aaa.yaml"
    )
    assert "FromPort: 22" in line_at(violation) and "0.0.0.0/0" in line_at(violation)
    changed = {r["message"]["text"]: line_at(r) for r in by_rule["drift/changed"]}
    assert any(
        "InstanceType" in text and "InstanceType: t3.large" in line
        for text, line in changed.items()
    )
    missing = by_rule["drift/missing"][0]
    assert (
        missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "baselines/main.yaml"
    )
    assert "sg-0ddd" in line_at(missing)


def test_junit_has_one_test_case_per_checked_resource(repo: Path, capsys: Capsys) -> None:
    snaps = repo / "snapshots"
    fleet(snaps, drift=True)
    output = repo / "out" / "drift.xml"
    code, out, _ = run(capsys, "check", "-C", str(snaps), "--format", "junit", "-o", str(output))
    assert code == 2 and out == ""
    suite = ET.parse(output).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == sorted(
        f"{ACCOUNT}/{REGION}/{rid}" for rid in ("sg-0aaa (web)", "sg-0ccc (stray)", "i-01")
    ) + ["sg-0ddd"]
    assert suite.get("tests") == "4" and suite.get("failures") == "4"
    failure = cases[f"{ACCOUNT}/{REGION}/sg-0aaa (web)"].find("failure")
    assert failure is not None and failure.get("type") == "changed,violation"
    assert "+ ingress tcp/22 from 0.0.0.0/0" in (failure.text or "")
    fleet(snaps, drift=False)
    run(capsys, "check", "-C", str(snaps), "--format", "junit", "-o", str(output))
    suite = ET.parse(output).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert all(c.find("failure") is None for c in suite.findall("testcase"))


def test_json_and_markdown(repo: Path, capsys: Capsys) -> None:
    snaps = repo / "snapshots"
    fleet(snaps, drift=True)
    code, out, _ = run(capsys, "check", "-C", str(snaps), "--format", "json")
    doc = json.loads(out)
    assert code == 2 and doc["status"] == "drift"
    assert doc["summary"] == {
        "checked": 4,
        "changed": 2,
        "missing": 1,
        "unmanaged": 1,
        "violations": 1,
        "highest": "critical",
        "by_severity": {"critical": 1, "medium": 3, "low": 1},
        "ignored": {"resources": 0, "findings": 0},
    }
    i01 = next(r for r in doc["resources"] if r["id"] == "i-01")
    item = i01["findings"][0]["items"][0]
    assert (item["path"], item["expected"], item["actual"]) == (
        "InstanceType",
        "t3.micro",
        "t3.large",
    )
    code, out, _ = run(capsys, "check", "-C", str(snaps), "--format", "markdown")
    assert out.startswith("## driftaudit check: drift\n")
    assert "| medium | missing | sg-0ddd | security_groups |" in out
    assert "```diff\n" in out
    assert '\n+     ingress tcp/22 from 0.0.0.0/0 "temp debugging"  [medium]\n' in out


def _varied_fleet(snaps: Path) -> None:
    rules = [
        HTTPS,
        rule("ingress", "tcp", "::/0", (443, 443)),
        rule("ingress", "tcp", "10.0.0.0/8", (8000, 8080), "app | tier"),
        rule("ingress", "tcp", "10.0.0.0/8", (0, 65535)),
        rule("ingress", "icmp", "10.0.0.0/8", (8, -1)),
        rule("ingress", "udp", "sg-0bbb", (53, 53)),
        {**rule("ingress", "tcp", "111122223333/sg-0eee", (5432, 5432)), "SourceType": "group"},
        {**rule("ingress", "tcp", "pl-0fff", (443, 443)), "SourceType": "prefix_list"},
        rule("egress", "-1", "0.0.0.0/0"),
        rule("egress", "50", "10.0.0.0/8"),
    ]
    write(snaps, "security_groups", [security_group("sg-0aaa", "web: yes", rules, {"Team": "no"})])
    web = instance("i-01", groups=["sg-0aaa"], tags={"Name": "web-1", "Version": "1.10"})
    web.update(SubnetId="subnet-0a", VpcId="vpc-0a")
    write(snaps, "instances", [web])
    write(snaps, "volumes", [{**volume("vol-01", tags={"Backup": "true"}), "Encrypted": True}])


def test_baseline_init_round_trips_in_sync(tmp_path: Path, capsys: Capsys) -> None:
    snaps = tmp_path / "snapshots"
    _varied_fleet(snaps)
    out_file = tmp_path / "baselines" / "current.yaml"
    code, out, err = run(capsys, "baseline", "init", "-C", str(snaps), "-o", str(out_file))
    assert (code, out, err) == (0, "", "")
    text = out_file.read_text()
    assert (
        "manage:\n  security_groups: exclusive\n  instances: exclusive\n  volumes: exclusive\n"
        in text
    )
    code, out, _ = run(capsys, "check", "-C", str(snaps), "--baseline", str(out_file))
    assert (code, out) == (0, "in sync: 3 resources checked\n")
    # Any change is then drift: the init baseline pins every rule, field and tag it wrote.
    _varied_fleet(snaps)
    write(snaps, "volumes", [{**volume("vol-01", tags={"Backup": "false"}), "Encrypted": True}])
    code, out, _ = run(capsys, "check", "-C", str(snaps), "--baseline", str(out_file))
    assert code == 2 and '~ tag Backup: expected "true", found "false"' in out
    # init does not overwrite a curated baseline by accident.
    code, _, err = run(capsys, "baseline", "init", "-C", str(snaps), "-o", str(out_file))
    assert code == 1 and "--force" in err


def test_baseline_init_types(tmp_path: Path, capsys: Capsys) -> None:
    snaps = tmp_path / "snapshots"
    _varied_fleet(snaps)
    code, out, _ = run(capsys, "baseline", "init", "-C", str(snaps), "--type", "volumes")
    assert code == 0 and "type: volumes" in out and "sg-0aaa" not in out and "i-01" not in out
    code, _, err = run(capsys, "baseline", "init", "-C", str(snaps), "--type", "bananas")
    assert code == 1 and "bananas" in err


def test_end_to_end_against_the_moto_server(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2 = boto3.client(
        "ec2",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    root = init_repo(tmp_path / "repo")
    snaps = root / "snapshots"

    def snapshot() -> None:
        args = (
            "snapshot",
            REGION,
            "--endpoint-url",
            moto.url,
            "-o",
            str(snaps),
            "--only",
            "security_groups",
        )
        assert run(capsys, *args)[0] == 0

    snapshot()
    (root / "baselines").mkdir()
    code, _, _ = run(
        capsys,
        "baseline",
        "init",
        "-C",
        str(snaps),
        "--type",
        "security_groups",
        "-o",
        str(root / "baselines" / "groups.yaml"),
    )
    assert code == 0
    assert run(capsys, "check", "-C", str(snaps))[:2] == (0, "in sync: 3 resources checked\n")
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "203.0.113.9/32"}],
            }
        ],
    )
    snapshot()
    code, out, _ = run(capsys, "check", "-C", str(snaps))
    assert code == 2
    assert f"[medium] ~ {group} (web)  [security_groups {ACCOUNT}/{REGION}]" in out
    assert "    + ingress tcp/22 from 203.0.113.9/32" in out.splitlines()


def test_snapshots_at_the_repository_root_beside_baselines(tmp_path: Path, capsys: Capsys) -> None:
    # `snapshot -o .` in a snapshot repository: only <account>/<region>/<type>/<id> files are
    # snapshot files, not deep baseline files, notes or reports.
    root = init_repo(tmp_path / "repo")
    fleet(root, drift=False)
    (root / "baselines" / "team" / "web").mkdir(parents=True)
    (root / "baselines" / "main.yaml").write_text(BASELINE)
    (root / "baselines" / "team" / "web" / "extra.yaml").write_text("resources: []\n")
    (root / "README.md").write_text("# snapshots\n")
    code, out, err = run(capsys, "check", "-C", str(root))
    assert (code, out, err) == (0, "in sync: 3 resources checked\n", "")
