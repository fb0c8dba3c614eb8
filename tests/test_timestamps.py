"""driftaudit parses response timestamps itself (botocore's default goes through dateutil):
whatever the form, the canonical text must be what botocore's own parser gives."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.utils import parse_timestamp

from driftaudit.canonical import iso_utc
from driftaudit.collect.aws import fast_timestamp, prepare_session


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00.123Z",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.000Z",
        "2024-01-01T00:00:00",
        "2024-01-01T05:30:00.5+05:30",
        "2023-12-31T22:00:00-0200",
        "2024-01-01T00:00:00.1234567Z",
        "Mon, 01 Jan 2024 00:00:00 GMT",
        1700000000,
        "1700000000",
    ],
)
def test_same_canonical_time_as_botocore(value: object) -> None:
    assert iso_utc(fast_timestamp(value)) == iso_utc(parse_timestamp(value))


@pytest.mark.e2e  # moto's EC2 backend: over a second
def test_prepared_sessions_use_it_and_refuse_writes() -> None:
    from moto import mock_aws

    from driftaudit.errors import ReadOnlyViolation

    with mock_aws():
        boto3.client("ec2", region_name="us-east-1").create_volume(
            AvailabilityZone="us-east-1a", Size=1
        )
        ec2 = prepare_session(boto3.Session(region_name="us-east-1")).client("ec2")
        (volume,) = ec2.describe_volumes()["Volumes"]
        # botocore's own parser gives tzlocal() for "...Z"; ours gives timezone.utc.
        assert volume["CreateTime"].tzinfo is dt.timezone.utc
        with pytest.raises(ReadOnlyViolation):
            ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
        assert len(ec2.describe_volumes()["Volumes"]) == 1
