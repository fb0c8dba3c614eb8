"""The loopback Config fake behaves as AWS Config's history API does (tests/support/
configfake.py): what backfill is tested against must itself be held to AWS's realities."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.configfake import ConfigFake, config_item, deleted_item
from tests.support.faultproxy import FaultProxy

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)
SG = "AWS::EC2::SecurityGroup"
DATA = Path(__file__).parent / "data" / "config-items"


@pytest.fixture
def fake() -> Iterator[ConfigFake]:
    with ConfigFake() as config:
        config.recorder()
        config.add(
            config_item(
                SG,
                "sg-01",
                NOW - 20 * DAY,
                {"groupId": "sg-01"},
                status="ResourceDiscovered",
                name="web",
            )
        )
        config.add(
            config_item(
                SG, "sg-01", NOW - 3 * DAY, {"groupId": "sg-01", "description": "x"}, name="web"
            )
        )
        config.add(
            config_item(
                SG, "sg-02", NOW - 9 * DAY, {"groupId": "sg-02"}, status="ResourceDiscovered"
            )
        )
        config.add(deleted_item(SG, "sg-02", NOW - 2 * DAY))
        yield config
    assert config.errors == []


def client(url: str, **kw: Any) -> Any:
    return boto3.client("config", region_name="us-east-1", endpoint_url=url, **kw)


def pages(c: Any, **params: Any) -> list[list[str]]:
    """Each page's capture times (days before now) until there is no nextToken."""
    out = []
    token = None
    while True:
        page = c.get_resource_config_history(**params, **({"nextToken": token} if token else {}))
        out.append(
            [(NOW - i["configurationItemCaptureTime"]) // DAY for i in page["configurationItems"]]
        )
        token = page.get("nextToken")
        if not token:
            return out


def error(call: Any) -> str:
    with pytest.raises(ClientError) as e:
        call()
    return str(e.value.response["Error"]["Code"])


def test_history_is_newest_first_and_quiet_weeks_are_empty_pages(fake: ConfigFake) -> None:
    c = client(fake.url)
    assert pages(c, resourceType=SG, resourceId="sg-01") == [[3], [], [20]]
    assert pages(c, resourceType=SG, resourceId="sg-01", chronologicalOrder="Forward") == [
        [20],
        [],
        [3],
    ]
    week = {"earlierTime": NOW - 7 * DAY, "laterTime": NOW}
    assert pages(c, resourceType=SG, resourceId="sg-01", **week) == [[3]]


def test_a_window_of_more_than_seven_days_and_a_limit_above_100_are_refused(
    fake: ConfigFake,
) -> None:
    c = client(fake.url)
    too_long = {"earlierTime": NOW - 8 * DAY, "laterTime": NOW}
    assert (
        error(
            lambda: c.get_resource_config_history(resourceType=SG, resourceId="sg-01", **too_long)
        )
        == "InvalidTimeRangeException"
    )
    backwards = {"earlierTime": NOW, "laterTime": NOW - DAY}
    assert (
        error(
            lambda: c.get_resource_config_history(resourceType=SG, resourceId="sg-01", **backwards)
        )
        == "InvalidTimeRangeException"
    )
    assert error(
        lambda: c.get_resource_config_history(resourceType=SG, resourceId="sg-01", limit=101)
    ) in (
        "InvalidLimitException",
        "ParamValidationError",
    )


def test_a_page_holds_at_most_limit_items_and_a_token_needs_the_same_question(
    fake: ConfigFake,
) -> None:
    for n in range(1, 6):
        fake.add(
            config_item(
                SG, "sg-01", NOW - 3 * DAY + n * dt.timedelta(minutes=1), {"groupId": "sg-01"}
            )
        )
    c = client(fake.url)
    week = {"earlierTime": NOW - 7 * DAY, "laterTime": NOW}
    assert [len(p) for p in pages(c, resourceType=SG, resourceId="sg-01", limit=2, **week)] == [
        2,
        2,
        2,
    ]
    first = c.get_resource_config_history(resourceType=SG, resourceId="sg-01", limit=2, **week)
    other = {"earlierTime": NOW - 6 * DAY, "laterTime": NOW}
    assert (
        error(
            lambda: c.get_resource_config_history(
                resourceType=SG, resourceId="sg-01", limit=2, nextToken=first["nextToken"], **other
            )
        )
        == "InvalidNextTokenException"
    )


def test_an_unknown_resource_is_not_discovered(fake: ConfigFake) -> None:
    c = client(fake.url)
    assert (
        error(lambda: c.get_resource_config_history(resourceType=SG, resourceId="sg-09"))
        == "ResourceNotDiscoveredException"
    )


def test_deleted_resources_are_listed_only_when_asked_with_their_deletion_time(
    fake: ConfigFake,
) -> None:
    c = client(fake.url)
    listed = c.list_discovered_resources(resourceType=SG)["resourceIdentifiers"]
    assert [(r["resourceId"], r.get("resourceName")) for r in listed] == [("sg-01", "web")]
    both = c.list_discovered_resources(resourceType=SG, includeDeletedResources=True, limit=1)
    assert [r["resourceId"] for r in both["resourceIdentifiers"]] == ["sg-01"]
    rest = c.list_discovered_resources(
        resourceType=SG, includeDeletedResources=True, limit=1, nextToken=both["nextToken"]
    )
    (deleted,) = rest["resourceIdentifiers"]
    assert deleted["resourceId"] == "sg-02"
    assert deleted["resourceDeletionTime"] == NOW - 2 * DAY


def test_the_recorded_fixtures_are_answers_the_model_allows(fake: ConfigFake) -> None:
    """Every fixture of tests/data/config-items/ goes through the fake, validated against
    botocore's output shape on the way out and parsed by botocore on the way in."""
    for path in sorted(DATA.glob("*.json")):
        for item in json.loads(path.read_text())["configurationItems"]:
            for key in ("configurationItemCaptureTime", "resourceCreationTime"):
                if key in item:
                    item[key] = dt.datetime.fromisoformat(item[key].replace("Z", "+00:00"))
            fake.add(item)
    c = client(fake.url)
    for path in sorted(DATA.glob("*.json")):
        for item in json.loads(path.read_text())["configurationItems"]:
            item["configurationItemCaptureTime"] = dt.datetime.fromisoformat(
                item["configurationItemCaptureTime"].replace("Z", "+00:00")
            )
            paginator = c.get_paginator("get_resource_config_history")
            found = [
                i["configuration"]
                for page in paginator.paginate(
                    resourceType=item["resourceType"],
                    resourceId=item["resourceId"],
                    earlierTime=item["configurationItemCaptureTime"] - DAY,
                    laterTime=item["configurationItemCaptureTime"] + DAY,
                )
                for i in page["configurationItems"]
            ]
            assert item["configuration"] in found


@pytest.mark.e2e  # botocore's back-off between retries: seconds
def test_behind_the_fault_proxy_throttling_is_retried_by_botocore(fake: ConfigFake) -> None:
    from botocore.config import Config

    with FaultProxy(fake.url, throttle_rate=0.5, seed=3) as proxy:
        c = client(proxy.url, config=Config(retries={"mode": "adaptive", "total_max_attempts": 20}))
        assert pages(c, resourceType=SG, resourceId="sg-01") == [[3], [], [20]]
        assert proxy.counts["throttled"] > 0
        assert proxy.actions["config:GetResourceConfigHistory"] > 3


def test_recorders_are_described_as_set(fake: ConfigFake) -> None:
    fake.recorder(frequency="DAILY", resource_types=[SG], started=NOW - 100 * DAY)
    c = client(fake.url)
    (recorder,) = c.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingMode"]["recordingFrequency"] == "DAILY"
    assert recorder["recordingGroup"]["resourceTypes"] == [SG]
    (status,) = c.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] and status["lastStartTime"] == NOW - 100 * DAY
    other = boto3.client("config", region_name="eu-west-1", endpoint_url=fake.url)
    assert other.describe_configuration_recorders()["ConfigurationRecorders"] == []
