"""Issue 13's end-to-end story, its attribution half: the 10.191.12.13 story recorded only in
AWS Config's history (the Config fake's story of tests/test_backfill_e2e.py: debug-1 with the
address from day -20, the /32 SSH rule added on day -19 at 14:03:12, debug-1 terminated on
day -15) and in CloudTrail (the CloudTrail fake: alice's AuthorizeSecurityGroupIngress, after
a failed try; bob's TerminateInstances). ``backfill`` into an empty directory, then
``history … --attribute`` names alice at 14:03:12 and bob, each beside the boundary AWS
Config bounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.schemas import errors
from tests.support.cloudtrailfake import CloudTrailFake, event, iam_user
from tests.support.configfake import ConfigFake
from tests.support.gitsnap import run
from tests.support.motoserver import MotoServer
from tests.test_backfill_e2e import ADDRESS, at, stamp
from tests.test_backfill_e2e import fake as fake  # noqa: F401 - the Config fake fixture
from tests.test_backfill_e2e import story as story  # noqa: F401 - the story fixture

pytestmark = pytest.mark.e2e

Capsys = pytest.CaptureFixture[str]
ALICE, BOB = "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"
#: The ids of the recorded-shape fixtures, replaced by the story's.
FIXTURE_GROUP, FIXTURE_RULE = "sg-0admin00000000001", "sgr-0a1b2c3d4e5f60001"
FIXTURE_INSTANCE = "i-0debug0000000001"


def test_history_attribute_names_alice_at_140312_and_bob(
    story: dict[str, str],  # noqa: F811
    fake: ConfigFake,  # noqa: F811
    moto: MotoServer,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = tmp_path / "history"
    code, _, err = run(capsys, "backfill", "us-east-1", "-o", str(repo), "--since",
                       "30 days ago", "--endpoint-url", fake.url)  # fmt: skip
    assert code == 0, err
    ec2 = boto3.client("ec2", endpoint_url=moto.url, region_name="us-east-1")
    (ssh,) = [
        r
        for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [story["admin"]]}]
        )["SecurityGroupRules"]
        if r.get("CidrIpv4") == f"{ADDRESS}/32"
    ]
    swap = {FIXTURE_GROUP: story["admin"], FIXTURE_RULE: ssh["SecurityGroupRuleId"]}
    with CloudTrailFake(upstream=moto.url) as trail:
        failed = ("Client.InvalidPermission.Malformed", "Invalid IPv4 CIDR 10.191.12.13/33")
        trail.add(event("AuthorizeSecurityGroupIngress", at(19, 14, 1, 40), iam_user("alice"),
                        swap=swap, error=failed))  # fmt: skip
        trail.add(event("AuthorizeSecurityGroupIngress", at(19, 14, 3, 12), iam_user("alice"),
                        swap=swap))  # fmt: skip
        trail.add(event("TerminateInstances", at(15, 8, 41, 7), iam_user("bob"),
                        swap={FIXTURE_INSTANCE: story["debug-1"]}))  # fmt: skip
        monkeypatch.setenv("AWS_ENDPOINT_URL", trail.url)

        def answer(*args: str) -> dict[str, Any]:
            code, out, err = run(capsys, "history", *args, "--attribute", "-C", str(repo),
                                 "--format", "json")  # fmt: skip
            assert code == 0, err
            data = json.loads(out)
            assert errors("history", data) == []
            return dict(data)

        (window,) = answer("rule", "--source", ADDRESS, "--port", "22")["rules"]
        assert window["rule"]["Description"] == "for debugging"
        assert window["start"]["source"] == "aws-config"
        start = window["attribution"]["start"]
        assert start["status"] == "exact"
        assert (start["event"]["principal"], start["event"]["time"]) == (
            ALICE,
            stamp(at(19, 14, 3, 12)),
        )
        assert window["attribution"]["end"] is None  # still there

        (exposure,) = answer("exposure", ADDRESS, "--port", "22")["windows"]
        causes = dict(zip(exposure["opened_by"], exposure["attribution"]["opened_by"], strict=True))
        released = causes[f"released by instance {story['debug-1']} (debug-1)"]
        assert (released["event"]["name"], released["event"]["principal"]) == (
            "TerminateInstances",
            BOB,
        )

        code, text, err = run(capsys, "history", "rule", "--source", ADDRESS, "--port", "22",
                              "--attribute", "-C", str(repo))  # fmt: skip
        assert code == 0, err
        lines = text.splitlines()
        n = next(i for i, line in enumerate(lines) if line.startswith("  from   between"))
        assert lines[n].endswith("(from AWS Config)")
        assert lines[n + 1].startswith(
            f"         by {ALICE} at {stamp(at(19, 14, 3, 12))} (AuthorizeSecurityGroupIngress"
        )
        assert trail.errors == [] and trail.throttled == 0
