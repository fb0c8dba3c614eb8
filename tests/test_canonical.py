"""The canonical serializer: identical state gives identical bytes whatever the order AWS
returns it in; every string survives a YAML round trip; times are UTC; rules are lines."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from driftaudit.canonical import Spec, dumps, iso_utc, loads, normalize
from driftaudit.collect.collectors import (
    REGISTRY,
    instances,
    security_groups,
)
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.collect.engine import build_resources

TYPES = (instances.RESOURCE, security_groups.RESOURCE, REGISTRY["volumes"])

HOSTILE = [
    "yes", "no", "on", "off", "y", "n", "True", "FALSE", "~", "null", "Null", "NULL",
    "0x10", "1e3", "-1E-3", "0o17", "017", "0b101", "1_000", ".5", "+1", "1:30", "190:20:30",
    ".inf", "-.Inf", ".nan", "2024-01-01", "2024-01-01T12:00:00Z", "2024-01-01 12:00",
    "", " ", "  lead", "trail  ", "\tx", "x\t", "a\tb", "multi\nline", "trailing\n", "\n",
    "a\r\nb", "🚀 émoji ünïcødé", "nul\x00byte", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85",
    "line\u2028sep", "para\u2029sep", "\ufeffbom", "- x", ": x", "x: y", "#", "# comment",
    "x #y", "&anchor", "*alias", "!tag", "!!str", "%YAML", "@at", "`tick", "|", ">", "[a]",
    "{a: 1}", "'single'", '"double"', "?", "? x", ",", "---", "...", "=", "<<",
    "../../etc/passwd", "a/b", "\\", "x" * 10240, "é" * 5000,
]  # fmt: skip

# Strings that some YAML reader (1.1 or 1.2) would take for something else when plain.
MUST_BE_QUOTED = [
    "yes", "no", "on", "off", "y", "n", "True", "~", "null", "0x10", "1e3", "0o17", "017",
    "0b101", "1_000", "1:30", ".inf", ".nan", "2024-01-01", "2024-01-01T12:00:00Z", "",
]  # fmt: skip


# --- realistic raw data, as boto3 returns it ---------------------------------------------


@pytest.fixture(scope="module")
def raw_items() -> Iterator[dict[str, list[Raw]]]:
    """Raw describe output of a tiny fleet, recorded from moto in-process (real shapes)."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="eu-west-1")
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
        web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
        db = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=web,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}],
                    "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                },
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [{"CidrIp": "192.0.2.0/24", "Description": "office"}],
                },
            ],
        )
        ec2.authorize_security_group_ingress(
            GroupId=db,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": web}],
                },
            ],
        )
        run = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=2,
            MaxCount=2,
            SubnetId=subnet,
            SecurityGroupIds=[web, db],
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": f"k{i}", "Value": str(i)} for i in range(6)],
                }
            ],
        )
        for n in range(3):
            vol = ec2.create_volume(AvailabilityZone="eu-west-1a", Size=n + 1)["VolumeId"]
            ec2.create_tags(Resources=[vol], Tags=[{"Key": "Name", "Value": f"v{n}"}])
        ec2.attach_volume(
            VolumeId=vol, InstanceId=run["Instances"][0]["InstanceId"], Device="/dev/sdf"
        )

        def clients(service: str) -> Any:
            return boto3.client(service, region_name="eu-west-1")

        yield {t.name: t.fetch(clients) for t in TYPES}


def shuffled(value: Any, rng: random.Random, spec: Spec, path: str = "") -> Any:
    """The same state as AWS might return it: every unordered list and every mapping's
    insertion order permuted."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: shuffled(value[k], rng, spec, f"{path}.{k}" if path else k) for k in keys}
    if isinstance(value, list):
        items = [shuffled(v, rng, spec, path) for v in value]
        if path not in spec.ordered:
            rng.shuffle(items)
        return items
    return value


def render(rtype: ResourceType, raw: list[Raw], fmt: str) -> bytes:
    return dumps(build_resources(rtype, raw), fmt)


@pytest.mark.e2e  # the fleet recorded from moto in-process: seconds of CPU
@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("rtype", TYPES, ids=lambda t: t.name)
def test_shuffled_input_gives_identical_bytes(
    raw_items: dict[str, list[Raw]], rtype: ResourceType, fmt: str
) -> None:
    raw = raw_items[rtype.name]
    assert raw, "the fixture fleet has some of every type"
    expected = render(rtype, raw, fmt)
    for seed in range(40):
        rng = random.Random(seed)
        pages = [shuffled(item, rng, rtype.spec) for item in raw]
        rng.shuffle(pages)  # API page order
        assert render(rtype, pages, fmt) == expected, f"seed {seed}"


@pytest.mark.e2e  # the fleet recorded from moto in-process: seconds of CPU
def test_shuffling_really_reorders(raw_items: dict[str, list[Raw]]) -> None:
    """Guard for the test above: the shuffle changes the raw data's own serialization."""
    raw = raw_items["security_groups"]
    plain = json.dumps(raw, default=str)
    assert any(
        json.dumps(shuffled(raw, random.Random(s), Spec()), default=str) != plain for s in range(5)
    )


def test_ordered_lists_keep_their_order() -> None:
    spec = Spec(ordered=frozenset({"Steps"}))
    value = {"Steps": ["b", "a", "c"], "Set": ["b", "a", "c"]}
    assert normalize(value, spec) == {"Steps": ["b", "a", "c"], "Set": ["a", "b", "c"]}


# --- strings ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_hostile_strings_round_trip_as_values_and_tag_keys(fmt: str) -> None:
    resource = normalize(
        {
            "Values": {f"v{i:03d}": s for i, s in enumerate(HOSTILE)},
            "List": list(HOSTILE),
            "Tags": [{"Key": s, "Value": s} for s in HOSTILE],
        }
    )
    data = dumps(resource, fmt)
    back = loads(data, fmt)
    assert back["Values"] == {f"v{i:03d}": s for i, s in enumerate(HOSTILE)}
    assert sorted(back["List"]) == sorted(HOSTILE)
    assert back["Tags"] == {s: s for s in HOSTILE}
    assert data.endswith(b"\n") and not data.endswith(b"\n\n")
    data.decode("utf-8")  # valid UTF-8 throughout


@pytest.mark.parametrize("text", HOSTILE, ids=lambda s: repr(s)[:20])
def test_each_hostile_string_alone(text: str) -> None:
    for fmt in ("yaml", "json"):
        doc = {"Tags": {text: text}, "v": text}
        assert loads(dumps(normalize(doc), fmt), fmt) == doc


def _scalar_styles(data: bytes) -> dict[str, str | None]:
    """value -> YAML scalar style (None = plain) of every scalar in a document."""
    styles: dict[str, str | None] = {}

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            styles[node.value] = node.style
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(k)
                walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v)

    root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    assert root is not None
    walk(root)
    return styles


def test_ambiguous_strings_are_quoted_for_every_yaml_reader() -> None:
    """PyYAML (YAML 1.1) reads 0o17 or 1e3 back as strings even unquoted, so the round trip
    alone would not notice; a YAML 1.2 reader (yq, Go) would see numbers. Check the style."""
    data = dumps(normalize({"Tags": [{"Key": s, "Value": s} for s in MUST_BE_QUOTED]}))
    styles = _scalar_styles(data)
    unquoted = [s for s in MUST_BE_QUOTED if styles[s] not in ("'", '"')]
    assert unquoted == []
    # ...while ordinary ids and words stay plain, so files read naturally.
    styles = _scalar_styles(dumps({"a": "i-0abc123", "b": "sg-1", "c": "web server"}))
    assert styles["i-0abc123"] is None and styles["web server"] is None


def test_multi_line_text_is_one_quoted_scalar() -> None:
    data = dumps({"v": "line1\nline2\n"})
    assert data == b'v: "line1\\nline2\\n"\n'


# --- times -----------------------------------------------------------------------------


def test_timestamps_become_utc_iso_z() -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    minus5 = dt.timezone(dt.timedelta(hours=-5, minutes=-30))
    value = {
        "LaunchTime": dt.datetime(2024, 5, 1, 14, 0, 0, tzinfo=plus2),
        "Nested": [{"AttachTime": dt.datetime(2023, 12, 31, 20, 45, 1, 250000, tzinfo=minus5)}],
        "Naive": dt.datetime(2024, 1, 1, 0, 0, 0),
    }
    out = normalize(value)
    assert out == {
        "LaunchTime": "2024-05-01T12:00:00Z",
        "Nested": [{"AttachTime": "2024-01-01T02:15:01.25Z"}],
        "Naive": "2024-01-01T00:00:00Z",
    }
    # The same instant in different zones is the same text.
    instant = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert iso_utc(instant.astimezone(plus2)) == iso_utc(instant) == "2024-05-01T12:00:00Z"
    # Written quoted in YAML, read back as the same string (not a datetime).
    assert loads(dumps(out)) == out


@pytest.mark.e2e  # the fleet recorded from moto in-process: seconds of CPU
def test_boto3_timestamps_from_moto_are_utc_z(raw_items: dict[str, list[Raw]]) -> None:
    resources = build_resources(instances.RESOURCE, raw_items["instances"])
    for resource in resources.values():
        assert resource["LaunchTime"].endswith("Z")
        dt.datetime.strptime(resource["LaunchTime"], "%Y-%m-%dT%H:%M:%SZ")


# --- security-group rules --------------------------------------------------------------


@pytest.mark.e2e  # the fleet recorded from moto in-process: seconds of CPU
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_security_group_rules_one_per_line(raw_items: dict[str, list[Raw]], fmt: str) -> None:
    groups = build_resources(security_groups.RESOURCE, raw_items["security_groups"])
    web = next(g for g in groups.values() if g["GroupName"] == "web")
    rules = web["Rules"]
    # 443 from two IPv4 ranges and ::/0, 22 from the office, plus the default egress rule.
    assert len([r for r in rules if r["Direction"] == "ingress"]) == 4
    text = dumps(web, fmt).decode("utf-8")
    lines = [line for line in text.splitlines() if '"Direction"' in line or "Direction:" in line]
    assert len(lines) == len(rules)
    for line, rule in zip(lines, rules, strict=True):
        item = line.strip().removeprefix("- ").rstrip(",")
        assert loads(item, fmt) == rule  # the whole rule, alone on its line
