"""AWS Config's configuration items, as recorded (tests/data/config-items/), converted into
the documents the collectors write: each quirk put right, each document valid against its
type's schema, what Config never records left out (ResourceType.config)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from driftaudit import schemas
from driftaudit.backfill.convert import Converted, ItemProblem, convert, parse_time, without
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.collectors.base import ResourceType
from driftaudit.layout import Location, document

DATA = Path(__file__).parent / "data" / "config-items"
FILES = sorted(p.name for p in DATA.glob("*.json"))
#: Config type -> our type, from the registry (the only place that says it).
BY_CONFIG = {c: t for t in REGISTRY.values() if t.config for c in t.config.types}


def items(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / name).read_text())["configurationItems"])


def rtype_of(item: dict[str, Any]) -> ResourceType:
    return BY_CONFIG[item["resourceType"]]


def converted(name: str, n: int = 0) -> Converted:
    item = items(name)[n]
    return convert(rtype_of(item), item)


def resource(name: str, n: int = 0) -> dict[str, Any]:
    found = converted(name, n).resource
    assert found is not None
    return found


@pytest.mark.parametrize("name", FILES)
def test_every_recorded_item_gives_a_valid_document_or_says_it_is_gone(name: str) -> None:
    for item in items(name):
        rtype = rtype_of(item)
        result = convert(rtype, item)
        if result.gone:
            continue
        assert result.resource is not None and result.id is not None
        doc = document(
            Location("123456789012", "us-east-1", rtype.name, result.id), result.resource
        )
        assert schemas.document_errors(doc) == []
        assert rtype.check(result.resource) is None


def test_every_type_config_records_is_one_config_knows_with_a_real_shape() -> None:
    session = botocore.session.get_session()
    known = set(session.get_service_model("config").shape_for("ResourceType").enum)
    for rtype in REGISTRY.values():
        if rtype.config is None:
            continue
        for config_type, (service, shape) in rtype.config.types.items():
            assert config_type in known
            assert shape in session.get_service_model(service).shape_names
        for service, shape in rtype.config.extra.values():
            assert shape in session.get_service_model(service).shape_names


def test_what_config_cannot_back_is_said() -> None:
    """Key pairs, AMIs, EBS snapshots and the account itself: no Config type records them."""
    assert sorted(n for n, t in REGISTRY.items() if t.config is None) == [
        "accounts",
        "images",
        "key_pairs",
        "snapshots",
    ]


def test_a_version_1_3_group_keeps_descriptions_references_and_all_traffic_without_ports() -> None:
    rules = resource("security-group-v1.3.json")["Rules"]
    assert {
        "Direction": "egress",
        "Protocol": "-1",
        "Source": "0.0.0.0/0",
        "SourceType": "cidr",
    } in rules
    debug = [r for r in rules if r["Source"] == "10.191.12.13/32"]
    assert debug == [
        {
            "Description": "for debugging",
            "Direction": "ingress",
            "FromPort": 22,
            "Protocol": "tcp",
            "Source": "10.191.12.13/32",
            "SourceType": "cidr",
            "ToPort": 22,
        }
    ]
    # The plain string of a range that ipv4Ranges also gives is the same rule, not a second.
    assert len([r for r in rules if r["Source"] == "10.0.0.0/8"]) == 1
    sources = {r["Source"] for r in rules}
    assert {
        "sg-051fb738a97a92262",
        "210987654321/sg-08bcc75d6c92c15e1",
        "pl-0e31f4bb79d92c1ce",
        "2001:db8::/32",
    } <= sources
    assert all("RuleId" not in r for r in rules)  # Config's items have no sgr- ids


def test_a_version_1_2_group_reads_its_plain_string_ranges() -> None:
    rules = resource("security-group-v1.2.json")["Rules"]
    assert [(r["Direction"], r["Protocol"], r.get("FromPort"), r["Source"]) for r in rules] == [
        ("egress", "-1", None, "0.0.0.0/0"),
        ("ingress", "tcp", 22, "0.0.0.0/0"),
        ("ingress", "tcp", 3389, "207.171.160.0/19"),
    ]


def test_an_instance_is_owned_by_the_items_account_and_its_reservation_is_not_guessed() -> None:
    instance = resource("instance.json")
    assert instance["OwnerId"] == "123456789012"
    assert "ReservationId" not in instance and "RequesterId" not in instance
    assert instance["Tags"] == {"Name": "debug-1"}
    assert instance["State"] == {"Name": "running"}  # State.Code dropped, as collected
    assert instance["NetworkInterfaces"][0]["PrivateIpAddress"] == "10.191.12.13"
    assert instance["LaunchTime"] == "2026-11-12T08:58:31Z"
    assert "Platform" not in instance and "KernelId" not in instance  # explicit nulls


def test_a_terminated_instance_and_a_deleted_one_are_gone() -> None:
    terminated, deleted = converted("instance.json", 1), converted("instance.json", 2)
    assert terminated.gone and terminated.status == "OK"
    assert deleted.gone and deleted.status == "ResourceDeleted"
    assert converted("volume.json", 1).gone


def test_an_interfaces_tag_set_becomes_its_tags() -> None:
    eni = resource("network-interface.json")
    assert eni["Tags"] == {"Name": "web-1 eth0"} and "TagSet" not in eni
    assert eni["Association"]["PublicIp"] == "203.0.113.10"


def test_epoch_milliseconds_are_times() -> None:
    assert resource("nat-gateway.json")["CreateTime"] == "2026-11-10T06:00:00Z"
    assert parse_time(1794290400000) == parse_time("2026-11-10T06:00:00Z")
    assert parse_time(1794290400) == parse_time("2026-11-10T06:00:00.000Z")


def test_load_balancers_take_their_tags_from_the_item_and_odd_key_case() -> None:
    v2 = converted("load-balancer-v2.json")
    assert v2.id == "net.edge.50dc6c495c0c9188"
    assert v2.resource is not None
    assert v2.resource["DNSName"].startswith("edge-")  # from dNSName
    assert v2.resource["Tags"] == {"Name": "edge", "team": "net"}
    assert v2.resource["Kind"] == "network" and "Listeners" not in v2.resource
    classic = converted("load-balancer-classic.json")
    assert classic.id == "classic.legacy-web"
    assert classic.resource is not None and classic.resource["VPCId"] == "vpc-026eacd8dfc0767d3"


def test_an_auto_scaling_group_reads_vpczone_identifier_and_keeps_no_propagation_it_lacks() -> None:
    group = converted("auto-scaling-group.json")
    assert group.id == "86c5d1d6-9ea9-4508-b122-75923db02235"
    assert group.resource is not None
    assert (
        group.resource["VPCZoneIdentifier"] == "subnet-09b317e26d7d3d5a8,subnet-00d92e1d75f84f8e1"
    )
    assert "TagsPropagateAtLaunch" not in group.resource
    assert "Instances" not in group.resource  # volatile, as collected
    assert group.resource["TerminationPolicies"] == ["OldestInstance", "Default"]  # ordered


def test_cloudformation_shaped_items_become_describe_shaped() -> None:
    template = resource("launch-template.json")
    assert template["LaunchTemplateId"] == "lt-09099c71c25d93841"
    assert (template["DefaultVersionNumber"], template["LatestVersionNumber"]) == (3, 4)
    data = template["DefaultVersionData"]["LaunchTemplateData"]
    assert data["SecurityGroupIds"] == ["sg-051fb738a97a92262"] and "UserDataPresent" not in data
    prefix_list = resource("prefix-list.json")
    assert prefix_list["PrefixListArn"].endswith(":prefix-list/pl-0e31f4bb79d92c1ce")
    assert prefix_list["Entries"] == [
        {"Cidr": "10.191.12.40/32", "Description": "office"},
        {"Cidr": "198.51.100.0/24"},
    ]
    assert "Version" not in prefix_list and "State" not in prefix_list


@pytest.mark.parametrize(
    "change,problem",
    [
        ({"configuration": "{not json"}, "not JSON"),
        ({"configurationItemCaptureTime": None}, "no configurationItemCaptureTime"),
        ({"configuration": "null"}, "configuration is None"),
        ({"resourceType": "AWS::EC2::Volume"}, "is not one of security_groups'"),
        ({"configuration": json.dumps({"groupName": "no id"})}, "lacks what"),
    ],
)
def test_an_item_that_cannot_be_read_is_named_never_an_internal_error(
    change: dict[str, Any], problem: str
) -> None:
    item = {**items("security-group-v1.3.json")[0], **change}
    with pytest.raises(ItemProblem, match=problem):
        convert(REGISTRY["security_groups"], item)


def test_values_of_the_wrong_kind_are_left_out_not_trusted() -> None:
    item = items("security-group-v1.2.json")[0]
    configuration = json.loads(item["configuration"])
    configuration["ipPermissions"][0]["fromPort"] = "twenty-two"
    configuration["ipPermissions"][0]["toPort"] = {"odd": 1}
    configuration["tags"] = "not a list"
    result = convert(
        REGISTRY["security_groups"], {**item, "configuration": json.dumps(configuration)}
    )
    assert result.resource is not None
    ssh = [
        r
        for r in result.resource["Rules"]
        if r["Source"] == "0.0.0.0/0" and r["Direction"] == "ingress"
    ]
    assert ssh[0].get("FromPort") is None and ssh[0].get("ToPort") is None
    assert result.resource["Tags"] == {}


def test_without_drops_nested_paths_and_keeps_one_line_rules() -> None:
    from driftaudit.canonical import Line, dumps

    rules = [Line({"Direction": "ingress", "RuleId": "sgr-1", "Source": "0.0.0.0/0"})]
    out = without({"Rules": rules, "Keep": 1}, ("Rules.RuleId", "Absent.Path"))
    assert out == {"Rules": [{"Direction": "ingress", "Source": "0.0.0.0/0"}], "Keep": 1}
    assert dumps(out).decode().splitlines()[2] == "- {Direction: ingress, Source: 0.0.0.0/0}"


# --- README's section, kept true -----------------------------------------------------------------


def test_readmes_coverage_table_is_what_the_types_declare() -> None:
    from tests.support import readme

    rows = readme.table(readme.section(r"^What AWS Config covers$"))
    assert rows[0] == ["AWS Config resource type", "type", "what Config's items lack"]
    expected = [
        [", ".join(t.config.types), f"`{n}`", t.config.lacks_doc or "—"]
        for n, t in REGISTRY.items()
        if t.config is not None
    ]
    assert rows[1:] == expected


def test_readmes_backfill_policy_is_the_calls_backfill_makes() -> None:
    from driftaudit.backfill.fetch import iam_policy
    from tests.support import readme

    text = readme.section(r"^What AWS Config covers$").text
    block = text[text.index("```json\n") + 8 : text.index("\n```", text.index("```json\n"))]
    assert json.loads(block) == iam_policy()
