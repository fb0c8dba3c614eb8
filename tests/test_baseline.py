"""Baseline semantics (evaluate is pure: snapshot documents + baseline -> findings) and every
class of bad baseline, each with its file:line message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftaudit.baseline.evaluate import Result, Snapshot, evaluate
from driftaudit.baseline.load import load_baseline
from driftaudit.baseline.model import Baseline
from driftaudit.canonical import dumps
from driftaudit.collect.collectors import REGISTRY
from driftaudit.errors import ConfigError
from driftaudit.schemas import schema_path
from tests.support.gitsnap import ACCOUNT, REGION, doc, instance, rule, security_group, volume

ROOT = Path(__file__).resolve().parent.parent
OTHER = "111122223333"


def snap(rtype: str, resource: dict[str, Any], fmt: str = "yaml", region: str = REGION) -> Snapshot:
    d = doc(rtype, resource, region)
    path = f"{ACCOUNT}/{region}/{rtype}/{d['id']}.{fmt}"
    return Snapshot(path, d, dumps(d, fmt).decode())


def load(tmp_path: Path, text: str, name: str = "b.yaml") -> Baseline:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_baseline([path], tmp_path)


def check(tmp_path: Path, text: str, *snaps: Snapshot) -> Result:
    return evaluate(load(tmp_path, text), snaps)


def items(result: Result, kind: str | None = None) -> list[str]:
    return [i.text for f in result.findings if kind in (None, f.kind) for i in f.items]


def kinds(result: Result) -> list[tuple[str, str]]:
    return [(f.kind, f.id) for f in result.findings]


SSH_OFFICE = rule("ingress", "tcp", "10.191.12.13/32", (22, 22), "office")
HTTPS_WORLD = rule("ingress", "tcp", "0.0.0.0/0", (443, 443))
HTTPS_WORLD6 = rule("ingress", "tcp", "::/0", (443, 443))
EGRESS_ALL = rule("egress", "-1", "0.0.0.0/0")
WEB = security_group("sg-0aaa", "web", [SSH_OFFICE, HTTPS_WORLD, HTTPS_WORLD6, EGRESS_ALL])

HTTPS_ONLY = """
security_groups:
  - id: sg-0aaa
    exclusive: {exclusive}
    ingress:
      - {{protocol: tcp, ports: 443, from: [0.0.0.0/0, "::/0"]}}
"""


# --- security-group rules ----------------------------------------------------------------------


def test_exclusive_reports_each_undeclared_rule(tmp_path: Path) -> None:
    result = check(tmp_path, HTTPS_ONLY.format(exclusive="true"), snap("security_groups", WEB))
    assert items(result) == ['+ ingress tcp/22 from 10.191.12.13/32 "office"']
    assert kinds(result) == [("changed", "sg-0aaa")]


def test_minimum_accepts_extra_rules_and_only_listed_directions_are_checked(
    tmp_path: Path,
) -> None:
    # The egress rule is not declared either: without an egress key it is not checked.
    result = check(tmp_path, HTTPS_ONLY.format(exclusive="false"), snap("security_groups", WEB))
    assert result.in_sync


def test_a_declared_rule_that_is_absent_is_reported_in_both_modes(tmp_path: Path) -> None:
    for exclusive in ("true", "false"):
        text = (
            HTTPS_ONLY.format(exclusive=exclusive)
            + "      - {protocol: tcp, ports: 80, from: [0.0.0.0/0]}\n"
        )
        result = check(tmp_path, text, snap("security_groups", WEB))
        assert "- ingress tcp/80 from 0.0.0.0/0" in items(result)


def test_an_empty_declared_direction_means_none_allowed(tmp_path: Path) -> None:
    text = "security_groups:\n  - {id: sg-0aaa, egress: []}\n"
    assert items(check(tmp_path, text, snap("security_groups", WEB))) == [
        "+ egress all to 0.0.0.0/0"
    ]


@pytest.mark.parametrize(
    "declared,actual,same",
    [
        # IPv6 is compared as a network: case and zero compression do not matter.
        (
            '{protocol: tcp, ports: 443, from: ["2001:DB8:0::/32"]}',
            ("tcp", "2001:db8::/32", (443, 443)),
            True,
        ),
        # A narrower or wider CIDR is another rule.
        (
            "{protocol: tcp, ports: 443, from: [10.0.0.0/8]}",
            ("tcp", "10.0.0.0/16", (443, 443)),
            False,
        ),
        (
            '{protocol: tcp, ports: "8000-8080", from: [10.0.0.0/8]}',
            ("tcp", "10.0.0.0/8", (8000, 8080)),
            True,
        ),
        (
            "{protocol: tcp, ports: 8000, from: [10.0.0.0/8]}",
            ("tcp", "10.0.0.0/8", (8000, 8080)),
            False,
        ),
        (
            "{protocol: tcp, ports: [8000, 8080], from: [10.0.0.0/8]}",
            ("tcp", "10.0.0.0/8", (8000, 8080)),
            True,
        ),
        (
            "{protocol: tcp, ports: all, from: [10.0.0.0/8]}",
            ("tcp", "10.0.0.0/8", (0, 65535)),
            True,
        ),
        ("{protocol: 6, ports: 22, from: [10.0.0.0/8]}", ("tcp", "10.0.0.0/8", (22, 22)), True),
        ("{protocol: udp, ports: 22, from: [10.0.0.0/8]}", ("tcp", "10.0.0.0/8", (22, 22)), False),
        (
            "{protocol: icmp, ports: [8, -1], from: [10.0.0.0/8]}",
            ("icmp", "10.0.0.0/8", (8, -1)),
            True,
        ),
        ("{protocol: icmp, from: [10.0.0.0/8]}", ("icmp", "10.0.0.0/8", (-1, -1)), True),
        ("{protocol: all, from: [10.0.0.0/8]}", ("-1", "10.0.0.0/8", None), True),
        ("{protocol: -1, from: [10.0.0.0/8]}", ("-1", "10.0.0.0/8", None), True),
        ("{protocol: 50, from: [10.0.0.0/8]}", ("50", "10.0.0.0/8", None), True),
        # Group references: a same-account reference may carry its owner or not.
        ("{protocol: tcp, ports: 5432, from: [sg-0bbb]}", ("tcp", "sg-0bbb", (5432, 5432)), True),
        (
            f"{{protocol: tcp, ports: 5432, from: [{ACCOUNT}/sg-0bbb]}}",
            ("tcp", "sg-0bbb", (5432, 5432)),
            True,
        ),
        (
            f"{{protocol: tcp, ports: 5432, from: [{OTHER}/sg-0bbb]}}",
            ("tcp", f"{OTHER}/sg-0bbb", (5432, 5432)),
            True,
        ),
        (
            f"{{protocol: tcp, ports: 5432, from: [{OTHER}/sg-0bbb]}}",
            ("tcp", "sg-0bbb", (5432, 5432)),
            False,
        ),
        ("{protocol: tcp, ports: 443, from: [pl-0ccc]}", ("tcp", "pl-0ccc", (443, 443)), True),
    ],
)
def test_rule_identity(tmp_path: Path, declared: str, actual: tuple[Any, ...], same: bool) -> None:
    protocol, source, ports = actual
    r = rule("ingress", protocol, source, ports)
    if source.startswith("pl-"):
        r["SourceType"] = "prefix_list"
    if "/sg-" in source:
        r["SourceType"] = "group"
    text = f"security_groups:\n  - id: sg-0aaa\n    ingress:\n      - {declared}\n"
    result = check(tmp_path, text, snap("security_groups", security_group("sg-0aaa", "x", [r])))
    assert result.in_sync is same, items(result)


def test_rule_description_is_checked_only_when_declared(tmp_path: Path) -> None:
    base = "security_groups:\n  - id: sg-0aaa\n    exclusive: false\n    ingress:\n"
    rule_yaml = "      - {protocol: tcp, ports: 22, from: [10.191.12.13/32]%s}\n"
    group = snap("security_groups", WEB)
    assert check(tmp_path, base + rule_yaml % "", group).in_sync
    assert check(tmp_path, base + rule_yaml % ", description: office", group).in_sync
    result = check(tmp_path, base + rule_yaml % ", description: home", group)
    assert items(result) == [
        '~ ingress tcp/22 from 10.191.12.13/32: description expected "home", found "office"'
    ]


def test_group_by_name_and_vpc_and_expected_name_with_an_id(tmp_path: Path) -> None:
    group = snap("security_groups", WEB)  # VpcId vpc-0a1b2c3d
    by_name = "security_groups:\n  - {name: web, vpc: vpc-0a1b2c3d, ingress: []}\n"
    assert len(items(check(tmp_path, by_name, group))) == 3
    wrong_vpc = "security_groups:\n  - {name: web, vpc: vpc-0ffff}\n"
    assert kinds(check(tmp_path, wrong_vpc, group)) == [("missing", "web in vpc-0ffff")]
    renamed = "security_groups:\n  - {id: sg-0aaa, name: api}\n"
    assert items(check(tmp_path, renamed, group)) == ['~ GroupName: expected "api", found "web"']


# --- policies ------------------------------------------------------------------------------------

WORLD_EXCEPT_WEB = """
policies:
  - name: no-world-ingress
    type: security_groups
    deny:
      from: [world]
      except: [{protocol: tcp, ports: 80}, {protocol: tcp, ports: 443}]
"""
WORLD_SSH = """
policies:
  - name: no-world-ssh
    type: security_groups
    deny: {from: [0.0.0.0/0, "::/0"], protocol: tcp, ports: 22}
"""
PUBLIC_HOSTS = """
policies:
  - name: known-hosts
    type: security_groups
    deny: {from: [public-host]}
    allowed: [203.0.113.10/32, 198.51.100.0/24]
"""


@pytest.mark.parametrize(
    "policy,r,violates",
    [
        (WORLD_EXCEPT_WEB, rule("ingress", "tcp", "0.0.0.0/0", (443, 443)), False),
        (WORLD_EXCEPT_WEB, rule("ingress", "tcp", "::/0", (80, 80)), False),
        # An exception must hold the rule's whole range: 80-443 opens 81-442 too.
        (WORLD_EXCEPT_WEB, rule("ingress", "tcp", "0.0.0.0/0", (80, 443)), True),
        (WORLD_EXCEPT_WEB, rule("ingress", "udp", "0.0.0.0/0", (443, 443)), True),
        (WORLD_EXCEPT_WEB, rule("ingress", "-1", "::/0"), True),
        (WORLD_EXCEPT_WEB, rule("ingress", "tcp", "10.0.0.0/8", (22, 22)), False),
        # world means the whole internet; half of it is not "world".
        (WORLD_EXCEPT_WEB, rule("ingress", "tcp", "0.0.0.0/1", (22, 22)), False),
        (WORLD_EXCEPT_WEB, rule("egress", "tcp", "0.0.0.0/0", (22, 22)), False),
        (WORLD_SSH, rule("ingress", "tcp", "0.0.0.0/0", (22, 22)), True),
        (WORLD_SSH, rule("ingress", "tcp", "::/0", (0, 65535)), True),
        (WORLD_SSH, rule("ingress", "tcp", "0.0.0.0/0", (20, 21)), False),
        (WORLD_SSH, rule("ingress", "udp", "0.0.0.0/0", (22, 22)), False),
        (WORLD_SSH, rule("ingress", "-1", "0.0.0.0/0"), True),
        (WORLD_SSH, rule("ingress", "tcp", "10.0.0.0/8", (22, 22)), False),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "203.0.113.10/32", (22, 22)), False),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "198.51.100.7/32", (22, 22)), False),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "192.0.2.7/32", (22, 22)), True),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "2001:db8::7/128", (22, 22)), True),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "10.1.2.3/32", (22, 22)), False),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "fd00::1/128", (22, 22)), False),
        (PUBLIC_HOSTS, rule("ingress", "tcp", "192.0.2.0/24", (22, 22)), False),
    ],
)
def test_deny_policies(tmp_path: Path, policy: str, r: dict[str, Any], violates: bool) -> None:
    result = check(tmp_path, policy, snap("security_groups", security_group("sg-0aaa", "x", [r])))
    assert (not result.in_sync) is violates, items(result)
    if violates:
        name = policy.split("name: ")[1].split()[0]
        assert [f.kind for f in result.findings] == ["violation"]
        assert items(result)[0].startswith(f"! policy {name}: ingress ")


def test_a_cidr_in_deny_matches_rules_whose_source_covers_it(tmp_path: Path) -> None:
    policy = "policies:\n  - {name: dns, type: security_groups, deny: {from: [8.8.8.8/32]}}\n"
    covering = rule("ingress", "tcp", "8.0.0.0/8", (53, 53))
    inside = rule("ingress", "tcp", "8.8.8.8/32", (53, 53))
    elsewhere = rule("ingress", "tcp", "9.9.9.9/32", (53, 53))
    group = security_group("sg-0aaa", "x", [covering, inside, elsewhere])
    assert items(check(tmp_path, policy, snap("security_groups", group))) == [
        "! policy dns: ingress tcp/53 from 8.0.0.0/8",
        "! policy dns: ingress tcp/53 from 8.8.8.8/32",
    ]


def test_tag_encryption_and_field_policies(tmp_path: Path) -> None:
    text = """
policies:
  - {name: owner, type: instances, required_tags: [Owner, Team]}
  - {name: ebs-encrypted, type: volumes, require_encryption: true}
  - {name: imdsv2, type: instances, expect: {MetadataOptions.HttpTokens: required}}
  - name: prod-only
    type: instances
    select: {tags: {Environment: prod}}
    expect: {InstanceType: m5.large}
"""
    web = {**instance("i-0aaa", tags={"Owner": "ops", "Environment": "dev"})}
    web["MetadataOptions"] = {"HttpTokens": "required"}
    db = {**instance("i-0bbb", tags={"Team": "db", "Environment": "prod"})}
    plain = {**volume("vol-0aaa"), "Encrypted": False}
    sealed = {**volume("vol-0bbb"), "Encrypted": True}
    result = check(
        tmp_path,
        text,
        *(snap("instances", i) for i in (web, db)),
        snap("volumes", plain),
        snap("volumes", sealed),
    )
    by_id = {}
    for f in result.findings:
        by_id.setdefault(f.id, []).extend(i.text for i in f.items)
    assert by_id == {
        "i-0aaa": ["! policy owner: tag Team missing"],
        "i-0bbb": [
            "! policy owner: tag Owner missing",
            '! policy imdsv2: MetadataOptions.HttpTokens: expected "required", found nothing',
            '! policy prod-only: InstanceType: expected "m5.large", found "t3.micro"',
        ],
        "vol-0aaa": ["! policy ebs-encrypted: not encrypted (Encrypted is false)"],
    }
    assert result.counts["violation"] == 5


def test_image_encryption_is_checked_per_device(tmp_path: Path) -> None:
    image = {
        "ImageId": "ami-0aaa",
        "Name": "base",
        "State": "available",
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True}},
            {"DeviceName": "/dev/xvdb", "Ebs": {"Encrypted": False}},
            {"DeviceName": "/dev/xvdc", "VirtualName": "ephemeral0"},
        ],
        "Tags": {},
    }
    text = "policies:\n  - {name: enc, type: images, require_encryption: true}\n"
    result = check(tmp_path, text, snap("images", image))
    assert items(result) == ["! policy enc: /dev/xvdb is not encrypted"]


# --- resources -----------------------------------------------------------------------------------


def test_instance_convenience_keys_and_expect(tmp_path: Path) -> None:
    i = instance("i-0aaa", "t3.large", groups=["sg-0aaa", "sg-0ccc"], tags={"Name": "web-1"})
    i.update(
        SubnetId="subnet-0a",
        VpcId="vpc-0a",
        Placement={"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
    )
    text = """
resources:
  - type: instances
    id: i-0aaa
    instance_type: t3.micro
    image: ami-12c6146b
    subnet: subnet-0a
    vpc: vpc-0b
    state: running
    security_groups: [sg-0aaa, sg-0bbb]
    tags: {Name: web-1, Team: web}
    required_tags: [Owner]
    expect:
      Placement: {AvailabilityZone: us-east-1a}
      SecurityGroups.GroupId: [sg-0ccc, sg-0aaa]
      BlockDeviceMappings[DeviceName=/dev/xvda].Ebs.DeleteOnTermination: true
"""
    assert sorted(items(check(tmp_path, text, snap("instances", i)))) == sorted(
        [
            '~ InstanceType: expected "t3.micro", found "t3.large"',
            '~ VpcId: expected "vpc-0b", found "vpc-0a"',
            '- tag Team (expected "web", not found)',
            "- tag Owner (required, not found)",
            "- security group sg-0bbb (not attached)",
            "+ security group sg-0ccc attached",
            "~ BlockDeviceMappings[DeviceName=/dev/xvda].Ebs.DeleteOnTermination: "
            "expected true, found nothing",
        ]
    )


def test_numbers_and_numeric_strings_match_but_booleans_are_strict(tmp_path: Path) -> None:
    v = {**volume("vol-0aaa", size=100), "Encrypted": True, "Iops": "3000"}
    ok = (
        "resources:\n"
        "  - {type: volumes, id: vol-0aaa, expect: {Size: '100', Iops: 3000}, encrypted: true}\n"
    )
    assert check(tmp_path, ok, snap("volumes", v)).in_sync
    bad = "resources:\n  - {type: volumes, id: vol-0aaa, expect: {Encrypted: 1}}\n"
    assert items(check(tmp_path, bad, snap("volumes", v))) == [
        "~ Encrypted: expected 1, found true"
    ]


def test_selectors_by_tag_and_name(tmp_path: Path) -> None:
    fleet = [
        instance("i-01", "t3.micro", tags={"Name": "web-1", "role": "web"}),
        instance("i-02", "t3.large", tags={"Name": "web-2", "role": "web"}),
        instance("i-03", "t3.large", tags={"Name": "db-1", "role": "db"}),
    ]
    snaps = [snap("instances", i) for i in fleet]
    by_tag = (
        "resources:\n  - {type: instances, select: {tags: {role: web}}, instance_type: t3.micro}\n"
    )
    assert kinds(check(tmp_path, by_tag, *snaps)) == [("changed", "i-02")]
    by_name = "resources:\n  - {type: instances, select: {name: 'db-*'}, instance_type: t3.micro}\n"
    assert kinds(check(tmp_path, by_name, *snaps)) == [("changed", "i-03")]
    tag_glob = (
        "resources:\n"
        "  - {type: instances, select: {tags: {Name: '*-1'}}, instance_type: t3.micro}\n"
    )
    assert kinds(check(tmp_path, tag_glob, *snaps)) == [("changed", "i-03")]
    nothing = "resources:\n  - {type: instances, select: {name: 'cache-*'}}\n"
    result = check(tmp_path, nothing, *snaps)
    assert [f.kind for f in result.findings] == ["missing"]
    assert "nothing matches" in result.findings[0].message


def test_missing_and_unmanaged(tmp_path: Path) -> None:
    text = """
manage: {instances: exclusive}
resources:
  - {type: instances, id: i-01}
  - {type: instances, id: i-09}
  - {type: volumes, id: vol-0aaa}
"""
    snaps = [snap("instances", instance(i)) for i in ("i-01", "i-02")]
    snaps.append(snap("volumes", volume("vol-0aaa")))
    snaps.append(snap("volumes", volume("vol-0bbb")))  # volumes are not managed exclusively
    result = check(tmp_path, text, *snaps)
    # worst first: a missing resource (medium) before an unmanaged one (low)
    assert kinds(result) == [("missing", "i-09"), ("unmanaged", "i-02")]
    missing = result.findings[0]
    assert missing.origin is not None and missing.origin.line == 5 and missing.file is None
    assert [c.id for c in result.checked] == ["i-09", "i-02", "i-01", "vol-0aaa"]


def test_scope_limits_accounts_and_regions(tmp_path: Path) -> None:
    text = "scope: {regions: [eu-west-1]}\nmanage: {instances: exclusive}\n"
    here = snap("instances", instance("i-01"), region="eu-west-1")
    elsewhere = snap("instances", instance("i-02"), region="us-east-1")
    assert kinds(check(tmp_path, text, here, elsewhere)) == [("unmanaged", "i-01")]


# --- ignore rules --------------------------------------------------------------------------------


def test_ignore_fields_whole_resources_and_single_rules(tmp_path: Path) -> None:
    group = snap("security_groups", WEB)
    eks = snap("security_groups", security_group("sg-0eee", "eks-cluster-sg-1", [EGRESS_ALL]))
    i = snap("instances", instance("i-01", "t3.large", tags={"Name": "web-1", "LastPatched": "x"}))
    text = """
manage: {security_groups: exclusive}
security_groups:
  - {id: sg-0aaa, ingress: []}
resources:
  - {type: instances, id: i-01, instance_type: t3.micro, tags: {Name: web-1, LastPatched: y}}
ignore:
  - {type: security_groups, name: "eks-*"}
  - {type: security_groups, id: sg-0aaa, fields: ["Rules[ingress tcp/22 *]"]}
  - {type: instances, fields: [InstanceType, Tags.LastPatched]}
"""
    result = check(tmp_path, text, group, eks, i)
    assert items(result) == ["+ ingress tcp/443 from 0.0.0.0/0", "+ ingress tcp/443 from ::/0"]
    # eks group left out whole; drift first, then what is in sync
    assert [c.id for c in result.checked] == ["sg-0aaa", "i-01"]
    # A parent path ignores everything under it; another type's ignore does not apply.
    text2 = text.replace('fields: ["Rules[ingress tcp/22 *]"]', "fields: [Rules]")
    text2 = text2.replace("type: instances, fields", "type: volumes, fields")
    result = check(tmp_path, text2, group, eks, i)
    assert items(result) == [
        '~ InstanceType: expected "t3.micro", found "t3.large"',
        '~ tag LastPatched: expected "y", found "x"',
    ]


def test_an_ignored_declared_resource_is_not_missing(tmp_path: Path) -> None:
    text = (
        "resources:\n  - {type: volumes, id: vol-0aaa}\nignore:\n  - {type: volumes, id: 'vol-*'}\n"
    )
    assert check(tmp_path, text).in_sync


# --- lines in the snapshot file ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_items_point_at_the_rule_or_field_line(tmp_path: Path, fmt: str) -> None:
    world_ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22))
    group = snap(
        "security_groups", security_group("sg-0aaa", "web", [*WEB["Rules"], world_ssh]), fmt
    )
    i = snap("instances", instance("i-01", "t3.large"), fmt)
    result = check(
        tmp_path,
        WORLD_SSH + "resources:\n  - {type: instances, id: i-01, instance_type: t3.micro}\n",
        group,
        i,
    )
    lines = {f.id: (f.items[0].line, f.line) for f in result.findings}
    group_lines = group.text.splitlines()
    rule_line = group_lines[lines["sg-0aaa"][0] - 1]
    assert "0.0.0.0/0" in rule_line and "22" in rule_line and "ingress" in rule_line
    assert "InstanceType" in i.text.splitlines()[lines["i-01"][0] - 1]


# --- loading -------------------------------------------------------------------------------------


def test_schema_types_are_the_registered_types() -> None:
    schema = json.loads(schema_path("baseline").read_text(encoding="utf-8"))
    assert set(schema["$defs"]["type"]["enum"]) == set(REGISTRY)


def test_the_example_baseline_validates_and_uses_every_section() -> None:
    baseline = load_baseline([ROOT / "baselines"], ROOT)
    assert "baselines/example.yaml" in baseline.files
    assert baseline.manage and baseline.ignores and baseline.accounts and baseline.regions
    assert {d.type for d in baseline.declarations} >= {"security_groups", "instances", "volumes"}
    assert any(not d.exclusive for d in baseline.declarations)
    policies = {p.name: p for p in baseline.policies}
    assert policies["no-unlisted-public-hosts"].allowed
    assert any(p.require_encryption for p in policies.values())


def test_files_are_merged_and_a_directory_is_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "b" / "team").mkdir(parents=True)
    (tmp_path / "b" / "groups.yaml").write_text("security_groups:\n  - {id: sg-0aaa}\n")
    (tmp_path / "b" / "team" / "policies.yml").write_text(WORLD_SSH)
    (tmp_path / "b" / "notes.txt").write_text("not a baseline")
    baseline = load_baseline([tmp_path / "b"], tmp_path)
    assert baseline.files == ["b/groups.yaml", "b/team/policies.yml"]
    assert len(baseline.declarations) == 1 and len(baseline.policies) == 1


RULE = (
    "security_groups:\n  - id: sg-0abc\n    ingress:\n"
    "      - protocol: tcp\n        ports: {ports}\n        from: [{source}]\n"
)


@pytest.mark.parametrize(
    "text,line,fragments",
    [
        ("security_groups:\n  - id: sg-0abc\n    ingress: [\n", 3, ["YAML syntax error"]),
        (
            "security_groups:\n  - id: sg-0abc\n    exclusive: 'yes'\n",
            3,
            ["$.security_groups[0].exclusive", "'yes' is not of type 'boolean'"],
        ),
        ("security_groups: {id: sg-0abc}\n", 1, ["$.security_groups", "is not of type 'array'"]),
        (
            "security_groups:\n  - id: sg-0abc\n    exlusive: true\n",
            3,
            ["$.security_groups[0].exlusive", "'exlusive' was unexpected"],
        ),
        ("polices: []\n", 1, ["$.polices", "'polices' was unexpected"]),
        (
            RULE.format(ports=22, source="10.0.0.300/32"),
            6,
            ["from[0]", "'10.0.0.300/32' is not a valid CIDR"],
        ),
        (RULE.format(ports=22, source="10.0.0.1/8"), 6, ["host bits set", "10.0.0.0/8"]),
        (RULE.format(ports=22, source='"2001:db8::/129"'), 6, ["is not a valid CIDR"]),
        (RULE.format(ports=22, source="10.0.0/8"), 6, ["'10.0.0/8' is not valid: expected a CIDR"]),
        (
            RULE.format(ports=70000, source="10.0.0.0/8"),
            5,
            ["ports", "70000 is greater than the maximum of 65535"],
        ),
        (
            RULE.format(ports='"80-70000"', source="10.0.0.0/8"),
            5,
            ["port 70000 is out of range 0-65535"],
        ),
        (
            RULE.format(ports='"443-80"', source="10.0.0.0/8"),
            5,
            ["443-80 runs backwards (from > to)"],
        ),
        (
            RULE.format(ports="[443, 80]", source="10.0.0.0/8"),
            5,
            ["443-80 runs backwards (from > to)"],
        ),
        (RULE.format(ports="[-1, 80]", source="10.0.0.0/8"), 5, ["port -1 is out of range"]),
        (
            RULE.replace("tcp", "all").format(ports=22, source="10.0.0.0/8"),
            5,
            ["protocol all covers every port"],
        ),
        (
            RULE.replace("tcp", "bogus").format(ports=22, source="10.0.0.0/8"),
            4,
            ["expected tcp, udp, icmp"],
        ),
        (
            "security_groups:\n  - id: sg-0abc\n    ingress: []\n    ingress: []\n",
            4,
            ["duplicate key 'ingress'"],
        ),
        (
            "security_groups:\n  - name: web\n",
            2,
            ["expected a security group selected by id, or by name and vpc"],
        ),
        (
            "resources:\n  - {type: instances, id: i-1, encrypted: true}\n",
            2,
            ["encrypted does not apply to instances"],
        ),
        (
            "resources:\n  - {type: bananas, id: x-1}\n",
            2,
            ["$.resources[0].type", "'bananas' is not one of"],
        ),
        (
            "policies:\n  - {name: p, type: instances, deny: {from: [world]}}\n",
            2,
            ["deny applies to security_groups"],
        ),
        ("policies:\n  - {name: p, type: volumes}\n", 2, ["the policy checks nothing"]),
        (
            "policies:\n  - {name: p, type: instances, require_encryption: true}\n",
            2,
            ["instances record no encryption"],
        ),
        (
            "policies:\n  - {name: p, type: security_groups, deny: {from: [everywhere]}}\n",
            2,
            ["expected a CIDR, a security group"],
        ),
        (
            "resources:\n  - {type: instances, id: i-1, expect: {'Tags[Name': x}}\n",
            2,
            ["cannot read field path"],
        ),
    ],
)
def test_bad_baselines_name_file_line_and_problem(
    tmp_path: Path, text: str, line: int, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'b.yaml'}:{line}: "), message
    for fragment in fragments:
        assert fragment in message, message


def test_conflicts_between_files_name_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("security_groups:\n  - {id: sg-0abc}\n")
    (tmp_path / "b.yaml").write_text("# another team\nsecurity_groups:\n  - {id: sg-0abc}\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:3: sg-0abc is already declared at a\.yaml:2"):
        load_baseline([tmp_path / "a.yaml", tmp_path / "b.yaml"], tmp_path)
    (tmp_path / "b.yaml").write_text("manage: {instances: declared}\n")
    (tmp_path / "a.yaml").write_text("manage: {instances: exclusive}\n")
    with pytest.raises(
        ConfigError, match=r"b\.yaml:1: \$\.manage\.instances: instances is already"
    ):
        load_baseline([tmp_path / "a.yaml", tmp_path / "b.yaml"], tmp_path)
    (tmp_path / "b.yaml").write_text(WORLD_SSH)
    (tmp_path / "a.yaml").write_text(WORLD_SSH)
    with pytest.raises(ConfigError, match="policy 'no-world-ssh' is already defined at a.yaml:3"):
        load_baseline([tmp_path / "a.yaml", tmp_path / "b.yaml"], tmp_path)


def test_missing_baseline_paths_and_empty_directories_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such baseline"):
        load_baseline([tmp_path / "nope.yaml"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no baseline files"):
        load_baseline([tmp_path / "empty"])


@pytest.mark.parametrize(
    "texts",
    [
        {"a.yaml": ""},
        {"a.yaml": "# to be written\n\n# later\n"},
        {"a.yaml": "{}\n"},
        {"a.yaml": "version: 1\n", "b.yaml": "ignore:\n  - {type: instances}\n"},
        {"a.yaml": "scope: {regions: [us-east-1]}\nsecurity_groups: []\nresources: []\n"},
    ],
    ids=["empty", "comments-only", "empty-mapping", "nothing-declared", "empty-lists"],
)
def test_a_baseline_that_declares_nothing_is_an_error(
    tmp_path: Path, texts: dict[str, str]
) -> None:
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as err:
        load_baseline([tmp_path], tmp_path)
    message = str(err.value)
    assert str(tmp_path / "a.yaml") in message
    assert "empty" in message or "declares nothing" in message
    # One declaration anywhere in the set is a baseline (an empty file beside it is not).
    if len(texts) > 1:
        (tmp_path / "c.yaml").write_text("manage: {instances: exclusive}\n")
        assert load_baseline([tmp_path], tmp_path).manage == {"instances": "exclusive"}
