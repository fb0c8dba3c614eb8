"""Which accounts a run reads and how (``driftaudit.collect.accounts``: plain data), which
default VPCs ``--skip-default-vpcs`` leaves out (``driftaudit.collect.defaultvpcs``: plain
data, then end to end on the moto server), and how a failed account's parts are named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.change.commit import LEFT_OUT_INTRO
from driftaudit.cli import main
from driftaudit.collect import defaultvpcs
from driftaudit.collect.accounts import (
    AccountSettings,
    AccountsFile,
    CommandLine,
    choose_regions,
    plan,
)
from driftaudit.collect.aws import AccountFailure
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.engine import Part, PartResult
from driftaudit.collect.job import failed_account_parts
from driftaudit.config import load_accounts
from driftaudit.errors import ConfigError, PartFailure
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import git
from tests.support.motoserver import MotoServer

A, B, C = "111111111111", "222222222222", "333333333333"


def file(**data: Any) -> AccountsFile:
    return AccountsFile.from_config(data)


# --- the plan -------------------------------------------------------------------------------


def test_nothing_named_is_the_callers_own_account() -> None:
    assert plan(CommandLine(), AccountsFile()) == [AccountSettings()]


def test_role_arns_replace_the_files_accounts_but_keep_their_settings() -> None:
    f = file(
        accounts=[{"id": A, "alias": "prod", "external_id": "xid-1"}, {"id": B}],
        account_defaults={"session_name": "nightly"},
    )
    got = plan(CommandLine(role_arns=(f"arn:aws:iam::{A}:role/x",)), f)
    assert [(s.account_id, s.role_arn, s.alias, s.external_id, s.session_name) for s in got] == [
        (A, f"arn:aws:iam::{A}:role/x", "prod", "xid-1", "nightly")
    ]


def test_organization_accounts_minus_excluded_plus_listed_ones() -> None:
    f = file(
        organization={"role_name": "audit", "exclude": [B]},
        accounts=[{"id": C, "profile": "c-sso", "role_name": None}],
    )
    got = plan(CommandLine(org_exclude=(A,)), f, organization=[A, B, "444444444444"])
    assert [(s.account_id, s.role_arn, s.profile) for s in got] == [
        (C, None, "c-sso"),  # listed, outside the organization: its own profile, no role
        ("444444444444", "arn:aws:iam::444444444444:role/audit", None),
    ]


def test_organization_role_arns_follow_the_partition() -> None:
    got = plan(CommandLine(org_role="audit"), AccountsFile(), [A], partition="aws-us-gov")
    assert got[0].role_arn == f"arn:aws-us-gov:iam::{A}:role/audit"


def test_settings_command_line_over_entry_over_defaults() -> None:
    f = file(
        account_defaults={
            "role_name": "audit",
            "external_id": "default-xid",
            "duration": 3600,
            "regions": "all",
            "exclude_regions": ["ap-*"],
        },
        accounts=[{"id": A, "duration": 900, "regions": ["eu-west-1"]}, {"id": B}],
    )
    a, b = plan(CommandLine(external_id="cli-xid", skip_default_vpcs=True), f)
    assert (a.role_arn, a.external_id, a.duration, a.regions) == (
        f"arn:aws:iam::{A}:role/audit",
        "cli-xid",
        900,
        ("eu-west-1",),
    )
    assert (b.duration, b.regions, b.exclude_regions, b.skip_default_vpcs) == (
        3600,
        "all",
        ("ap-*",),
        True,
    )
    assert b.via == f"arn:aws:iam::{B}:role/audit"


ENABLED = ["ap-south-1", "eu-west-1", "us-east-1"]
REGION_CASES = {
    "positional-wins": (AccountSettings(regions=("eu-west-1",)), ("us-east-1",), False),
    "own-list": (AccountSettings(regions=("eu-west-1", "us-east-2")), (), False),
    "all-minus-excluded": (AccountSettings(regions="all", exclude_regions=("ap-*",)), (), False),
    "all-regions-flag": (AccountSettings(regions=("eu-west-1",)), (), True),
    "deny-list": (AccountSettings(exclude_regions=("us-*",)), ("us-east-1", "eu-west-1"), False),
    "default": (AccountSettings(), (), False),
}
REGION_EXPECTED = {
    "positional-wins": ["us-east-1"],
    "own-list": ["eu-west-1", "us-east-2"],
    "all-minus-excluded": ["eu-west-1", "us-east-1"],
    "all-regions-flag": ENABLED,
    "deny-list": ["eu-west-1"],
    "default": ["sa-east-1"],
}


@pytest.mark.parametrize("case", list(REGION_CASES))
def test_regions_of_an_account(case: str) -> None:
    settings, requested, all_regions = REGION_CASES[case]
    chosen = choose_regions(settings, requested, all_regions, ENABLED, "sa-east-1")
    assert chosen == REGION_EXPECTED[case]


def test_no_region_anywhere_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="no region"):
        choose_regions(AccountSettings(), (), False, None, None)


def test_a_failed_account_is_named_in_its_own_regions_and_globally() -> None:
    types = [REGISTRY["volumes"], REGISTRY["accounts"]]
    failure = PartFailure("access denied", "sts:AssumeRole for arn:…", "AccessDenied", "no")
    named = AccountFailure(AccountSettings(A, regions=("eu-west-1", "ap-south-1"),
                                           exclude_regions=("ap-*",)), failure)  # fmt: skip
    assert failed_account_parts(named, types, ["us-east-1"]) == [
        Part(A, "eu-west-1", "volumes"),
        Part(A, "global", "accounts"),
    ]
    unnamed = AccountFailure(AccountSettings(B), failure)
    assert failed_account_parts(unnamed, types, ["us-east-1", "us-west-2"]) == [
        Part(B, "us-east-1", "volumes"),
        Part(B, "us-west-2", "volumes"),
        Part(B, "global", "accounts"),
    ]


def test_accounts_file_loads_with_its_lines_checked(tmp_path: Path) -> None:
    path = tmp_path / "driftaudit.yaml"
    path.write_text(
        f'organization: {{role_name: audit, exclude: ["{C}"]}}\n'
        f'accounts:\n  - {{id: "{A}", alias: prod}}\n',
        encoding="utf-8",
    )
    loaded = load_accounts(path)
    assert (loaded.org_role, loaded.org_exclude, loaded.alias(A)) == ("audit", (C,), "prod")
    path.write_text('accounts:\n  - {id: "111111111111", alias: "has space"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"driftaudit\.yaml:2: \$\.accounts\[0\]\.alias"):
        load_accounts(path)


# --- default VPCs: what "nothing of ours" means -----------------------------------------------


VPC, IGW, SG = "vpc-0default", "igw-0default", "sg-0default"


def region(**changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """One region as AWS creates it: a default VPC with two default subnets, its main route
    table (local and a default route to its internet gateway), its default network ACL and
    default security group; ``changes`` replace or add resources of a type."""
    base: dict[str, dict[str, dict[str, Any]]] = {
        "vpcs": {VPC: {"VpcId": VPC, "IsDefault": True}},
        "subnets": {
            f"subnet-{z}": {"SubnetId": f"subnet-{z}", "VpcId": VPC, "DefaultForAz": True}
            for z in "ab"
        },
        "route_tables": {
            "rtb-0main": {
                "VpcId": VPC,
                "Associations": [{"Main": True, "RouteTableAssociationId": "rtbassoc-1"}],
                "Routes": [
                    {"DestinationCidrBlock": "172.31.0.0/16", "GatewayId": "local"},
                    {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": IGW},
                ],
            }
        },
        "network_acls": {
            "acl-0default": {
                "VpcId": VPC,
                "IsDefault": True,
                "Entries": [
                    {"CidrBlock": "0.0.0.0/0", "Egress": e, "Protocol": "-1", "RuleNumber": n}
                    for e in (False, True)
                    for n in (100, 32767)
                ],
            }
        },
        "internet_gateways": {IGW: {"Attachments": [{"VpcId": VPC, "State": "available"}]}},
        "security_groups": {
            SG: {
                "GroupId": SG,
                "GroupName": "default",
                "VpcId": VPC,
                "Rules": [
                    {"Direction": "ingress", "Protocol": "-1", "Source": SG},
                    {"Direction": "egress", "Protocol": "-1", "Source": "0.0.0.0/0"},
                ],
            }
        },
        "network_interfaces": {},
    }
    for name, resources in changes.items():
        base[name] = {**base[name], **resources}
    return base


def test_an_untouched_default_vpc_is_left_out_whole() -> None:
    assert defaultvpcs.left_out(region()) == {
        VPC: {
            "vpcs": {VPC},
            "subnets": {"subnet-a", "subnet-b"},
            "route_tables": {"rtb-0main"},
            "network_acls": {"acl-0default"},
            "internet_gateways": {IGW},
            "security_groups": {SG},
        }
    }


OURS = {
    "an interface": {"network_interfaces": {"eni-1": {"VpcId": VPC}}},
    "a subnet of ours": {"subnets": {"subnet-x": {"VpcId": VPC, "DefaultForAz": False}}},
    "a group of ours": {"security_groups": {"sg-x": {"GroupName": "web", "VpcId": VPC}}},
    "a rule in the default group": {
        "security_groups": {
            SG: {
                "GroupName": "default",
                "VpcId": VPC,
                "Rules": [{"Direction": "ingress", "Protocol": "tcp", "Source": "0.0.0.0/0"}],
            }
        }
    },
    "a peering route": {
        "route_tables": {
            "rtb-0main": {
                "VpcId": VPC,
                "Associations": [{"Main": True}],
                "Routes": [{"DestinationCidrBlock": "10.0.0.0/8", "VpcPeeringConnectionId": "p"}],
            }
        }
    },
    "a table of ours": {
        "route_tables": {"rtb-x": {"VpcId": VPC, "Associations": [{"SubnetId": "subnet-a"}]}}
    },
    "an ACL entry of ours": {
        "network_acls": {
            "acl-0default": {
                "VpcId": VPC,
                "IsDefault": True,
                "Entries": [{"CidrBlock": "10.0.0.0/8", "Protocol": "6", "RuleNumber": 10}],
            }
        }
    },
}


@pytest.mark.parametrize("changes", list(OURS.values()), ids=list(OURS))
def test_anything_of_ours_keeps_the_default_vpc(changes: dict[str, Any]) -> None:
    assert defaultvpcs.left_out(region(**changes)) == {}


def test_a_vpc_that_is_not_default_is_never_left_out() -> None:
    assert defaultvpcs.left_out(region(vpcs={VPC: {"VpcId": VPC, "IsDefault": False}})) == {}


def results(account: str, data: dict[str, dict[str, Any]], failed: str = "") -> list[PartResult]:
    return [
        PartResult(
            Part(account, "us-east-1", name),
            None if name == failed else resources,
            PartFailure("access denied", "ec2:X", "Denied", "no") if name == failed else None,
        )
        for name, resources in data.items()
    ]


def test_settled_leaves_out_only_for_skipping_accounts_and_only_chosen_types() -> None:
    chosen = set(defaultvpcs.LEFT_OUT) | {"instances"}  # network_interfaces read, not chosen
    noted: list[tuple[str, int]] = []
    incoming = results(A, region()) + results(B, region())
    incoming.append(PartResult(Part(A, "us-east-1", "instances"), {}))
    out = list(defaultvpcs.settled(incoming, {A}, chosen, lambda w, n: noted.append((w, n))))
    by = {(r.part.account, r.part.type): r for r in out}
    assert (A, "network_interfaces") not in by and (B, "network_interfaces") not in by
    assert all(by[(A, t)].resources == {} for t in defaultvpcs.LEFT_OUT)
    assert by[(B, "vpcs")].resources == region()["vpcs"]
    assert by[(A, "instances")].resources == {}
    assert noted == [(f"{A}/us-east-1 {VPC}", 7)]  # the VPC, 2 subnets and 4 others


def test_settled_cannot_decide_when_an_evidence_part_failed() -> None:
    out = list(
        defaultvpcs.settled(
            results(A, region(), failed="network_interfaces"),
            {A},
            set(defaultvpcs.EVIDENCE),
            lambda w, n: pytest.fail("nothing can be left out"),
        )
    )
    failed = {r.part.type: r.failure for r in out if r.failure is not None}
    assert set(failed) == set(defaultvpcs.EVIDENCE)  # the unread part, and every one left out
    assert failed["network_interfaces"] is not None
    assert failed["network_interfaces"].kind == "access denied"
    assert failed["vpcs"] is not None and failed["vpcs"].describe() == (
        "default VPCs undecided: network_interfaces could not be read here, so what is in the "
        "default VPC is unknown (--skip-default-vpcs)"
    )


# --- default VPCs end to end ------------------------------------------------------------------


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    def _run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        return code, capsys.readouterr().err

    return _run


def vpc_family(root: Path) -> dict[str, set[str]]:
    return {t: {p.stem for p in root.glob(f"*/eu-west-3/{t}/*.yaml")} for t in defaultvpcs.EVIDENCE}


def test_skip_default_vpcs_end_to_end(
    moto: MotoServer,
    run: Callable[..., tuple[int, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "snaps"
    ec2 = boto3.client("ec2", endpoint_url=moto.url, region_name="eu-west-3")
    default_vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    args = ["snapshot", "eu-west-3", "--endpoint-url", moto.url, "-o", str(out), "--type"]
    # Only subnets and vpcs chosen: the other evidence is read to decide, never written.
    code, err = run(*args, "vpcs,subnets", "--skip-default-vpcs", "--commit")
    assert code == 0, err
    assert vpc_family(out) == {t: set() for t in defaultvpcs.EVIDENCE}
    assert "7 left out in 1 default VPC(s) with nothing of ours" in err  # 1 VPC, 3 subnets...
    # The commit says what was left out, and why: read whole, not "could not read".
    message = git(out, "log", "-1", "--format=%B")
    assert f"{LEFT_OUT_INTRO}\n  123456789012/eu-west-3 {default_vpc} (7 resources)" in message
    assert "Driftaudit-Failed" not in message

    # Without the option, the default VPC is written as it is.
    code, err = run(*args, "vpcs,subnets")
    assert code == 0, err
    assert vpc_family(out)["vpcs"] == {default_vpc} and len(vpc_family(out)["subnets"]) == 3

    # Once something of ours is in it, it is written with the option too.
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet)
    code, err = run(*args, "vpcs,subnets", "--skip-default-vpcs")
    assert code == 0, err
    assert vpc_family(out)["vpcs"] == {default_vpc} and "left out" not in err

    # A part the decision needs could not be read: nothing decided, previous files kept.
    before = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    with FaultProxy(moto.url, deny_actions=["ec2:DescribeNetworkInterfaces"]) as proxy:
        proxied = [a if a != moto.url else proxy.url for a in args]
        code, err = run(*proxied, "vpcs,subnets,volumes", "--skip-default-vpcs")
    assert code == 3, err  # volumes read and written
    assert err.count("default VPCs undecided: network_interfaces could not be read") == 2
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == before


def test_the_accounts_file_setting_skips_too(
    moto: MotoServer,
    run: Callable[..., tuple[int, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "driftaudit.yaml").write_text(
        "account_defaults: {skip_default_vpcs: true, regions: [eu-west-3]}\n", encoding="utf-8"
    )
    out = tmp_path / "snaps"
    code, err = run("snapshot", "--endpoint-url", moto.url, "-o", str(out), "--type", "vpcs")
    assert code == 0, err
    assert vpc_family(out)["vpcs"] == set() and "1 default VPC(s)" in err


# --- README -------------------------------------------------------------------------------------


@pytest.mark.e2e  # a child process
def test_readmes_management_account_policy_is_the_generated_one() -> None:
    import json
    import subprocess
    import sys

    from driftaudit.collect.collectors import CALLER_ACTIONS, caller_policy

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The management account's permissions") :]
    block = section[section.index("```json\n") + 8 : section.index("\n```\n")]
    assert block == json.dumps(caller_policy(), indent=2)
    assert {s["Action"] for s in caller_policy()["Statement"]} == set(CALLER_ACTIONS)
    printed = subprocess.run(
        [sys.executable, "-m", "driftaudit.collect.collectors", "caller"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == block + "\n"


def test_a_set_up_failure_is_one_line_whatever_aws_said() -> None:
    from botocore.exceptions import ClientError

    from driftaudit.collect.aws import _setup_error

    error = ClientError(
        {"Error": {"Code": "403", "Message": '<?xml version="1.0"?>\n<ErrorResponse/>\n'}},
        "ListAccounts",
    )
    message = str(_setup_error(error, "organizations:ListAccounts"))
    assert "\n" not in message
    assert message.startswith("organizations:ListAccounts failed: 403: ")
