"""The fault-injecting proxy: each injected fault is what botocore would get from AWS (it
parses as the intended error code and botocore's retry logic treats it as such), and a
clean pass-through changes nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.support.faultproxy import FaultProxy
from tests.support.motoserver import MotoServer

# (boto3 service, a read-only call, SigV4 signing name): every service driftaudit reads.
CALLS = [
    ("ec2", "describe_volumes", "ec2"),
    ("sts", "get_caller_identity", "sts"),
    ("elbv2", "describe_load_balancers", "elasticloadbalancing"),
    ("elb", "describe_load_balancers", "elasticloadbalancing"),
    ("autoscaling", "describe_auto_scaling_groups", "autoscaling"),
]


def client(service: str, url: str, attempts: int = 1) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", config=config)


def call_error(service: str, method: str, url: str, attempts: int = 1) -> ClientError:
    with pytest.raises(ClientError) as info:
        getattr(client(service, url, attempts), method)()
    return info.value


@pytest.mark.parametrize(("service", "method", "signing"), CALLS)
def test_throttling_parses_as_the_services_throttling_code_and_is_retried(
    moto: MotoServer, service: str, method: str, signing: str
) -> None:
    with FaultProxy(moto.url, throttle_rate=1.0) as proxy:
        err = call_error(service, method, proxy.url, attempts=2)
    code = "RequestLimitExceeded" if service == "ec2" else "Throttling"
    assert err.response["Error"]["Code"] == code
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == (503 if service == "ec2" else 400)
    # botocore recognised it as retryable: both attempts reached the proxy.
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.counts["throttled"] == proxy.counts["requests"] == 2
    assert set(proxy.actions) == {f"{signing}:{err.operation_name}"}


@pytest.mark.parametrize(("service", "method", "signing"), CALLS)
def test_denied_action_parses_as_the_services_access_error(
    moto: MotoServer, service: str, method: str, signing: str
) -> None:
    operation = client(service, moto.url).meta.method_to_api_mapping[method]
    with FaultProxy(moto.url, deny_actions=[f"{signing}:{operation}"]) as proxy:
        err = call_error(service, method, proxy.url, attempts=3)
    assert err.response["Error"]["Code"] == (
        "UnauthorizedOperation" if service == "ec2" else "AccessDenied"
    )
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # An access error is final: botocore does not retry it.
    assert proxy.counts["denied"] == proxy.counts["requests"] == 1


def test_deny_patterns_match_action_or_service_action(moto: MotoServer) -> None:
    with FaultProxy(moto.url, deny_actions=["DescribeVolumes", "elasticloadbalancing:*"]) as proxy:
        ec2 = client("ec2", proxy.url)
        assert ec2.describe_instances()["Reservations"] == []
        with pytest.raises(ClientError, match="UnauthorizedOperation"):
            ec2.describe_volumes()
        with pytest.raises(ClientError, match="AccessDenied"):
            client("elbv2", proxy.url).describe_target_groups()
        assert client("sts", proxy.url).get_caller_identity()["Account"] == "123456789012"
    assert proxy.counts["denied"] == 2
    assert proxy.counts["requests"] == 4


def test_reset_closes_the_connection_and_botocore_retries(moto: MotoServer) -> None:
    with FaultProxy(moto.url, reset_rate=1.0) as proxy, pytest.raises(ConnectionClosedError):
        client("ec2", proxy.url, attempts=2).describe_vpcs()
    assert proxy.counts["reset"] == proxy.counts["requests"] == 2


def test_clean_pass_through_relays_the_upstream_answer(moto: MotoServer) -> None:
    direct = client("ec2", moto.url)
    vpc = direct.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    direct.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "through ü 🚀"}])
    with FaultProxy(moto.url) as proxy:
        proxied = client("ec2", proxy.url)
        # Several calls on one kept-alive connection, each answered in full.
        for _ in range(3):
            assert proxied.describe_vpcs()["Vpcs"] == direct.describe_vpcs()["Vpcs"]
    assert proxy.counts == {"requests": 3}


def test_same_seed_same_faults() -> None:
    def sequence(seed: int) -> list[str]:
        proxy = FaultProxy("http://127.0.0.1:9", throttle_rate=0.3, reset_rate=0.2, seed=seed)
        return [proxy.decide("ec2", "DescribeVolumes") for _ in range(200)]

    first = sequence(7)
    assert first == sequence(7)
    assert first != sequence(8)
    assert {"throttle", "reset", "forward"} == set(first)


def test_rejects_a_non_http_upstream() -> None:
    with pytest.raises(ValueError, match="http://"):
        FaultProxy("https://example.invalid")
