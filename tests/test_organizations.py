"""Many accounts end to end, on the moto server: an organization of a management account and
two member accounts (moto's Organizations: ``create_organization``, ``create_account``;
sts:AssumeRole into any of its accounts gives that account's credentials), the accounts file
of ``driftaudit.yaml``, ``--org-role`` discovery, and one account's role denied through the
fault proxy: that account's parts fail with the role named, the others are written, exit 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftaudit.canonical import loads
from driftaudit.cli import main
from driftaudit.schemas import document_errors
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import git
from tests.support.motoserver import MotoServer

pytestmark = pytest.mark.e2e

MANAGEMENT = "123456789012"  # moto's account for plain credentials
REGION = "us-east-1"
ROLE = "driftaudit-audit"
TYPES = "volumes,accounts"


@dataclass
class Org:
    url: str
    members: list[str]  # the two member accounts, sorted
    volumes: dict[str, str]  # account -> the volume seeded in it


@dataclass
class Result:
    code: int
    out: str
    err: str


def client(service: str, url: str, account: str | None = None) -> Any:
    """A boto3 client of the management account, or, through AssumeRole, of ``account``."""
    kwargs: dict[str, Any] = {}
    if account is not None and account != MANAGEMENT:
        sts = boto3.client("sts", endpoint_url=url, region_name=REGION)
        arn = f"arn:aws:iam::{account}:role/seed"
        creds = sts.assume_role(RoleArn=arn, RoleSessionName="seed")["Credentials"]
        kwargs = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    return boto3.client(service, endpoint_url=url, region_name=REGION, **kwargs)


@pytest.fixture
def org(moto: MotoServer) -> Org:
    organizations = client("organizations", moto.url)
    organizations.create_organization(FeatureSet="ALL")
    members = sorted(
        organizations.create_account(AccountName=f"member-{n}", Email=f"m{n}@example.com")[
            "CreateAccountStatus"
        ]["AccountId"]
        for n in (1, 2)
    )
    volumes = {}
    for account in (MANAGEMENT, *members):
        ec2 = client("ec2", moto.url, account)
        volumes[account] = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"]
    client("iam", moto.url, members[0]).create_account_alias(AccountAlias="payments-prod")
    return Org(moto.url, members, volumes)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def _run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


def snapshot_files(root: Path) -> dict[str, dict[str, Any]]:
    """relative path -> document of every snapshot file, each checked against its schema."""
    found = {}
    for path in sorted(root.glob("*/*/*/*.yaml")):
        doc = loads(path.read_bytes(), "yaml")
        assert document_errors(doc) == [], path
        found[path.relative_to(root).as_posix()] = doc
    return found


def volume_ids(root: Path, account: str) -> set[str]:
    return {p.stem for p in (root / account / REGION / "volumes").glob("*.yaml")}


@pytest.fixture
def chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current directory of the test's own: no driftaudit.yaml but the test's."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# --- organization discovery -----------------------------------------------------------------


def test_org_role_discovers_every_active_account_and_assumes_its_role(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    out = tmp_path / "snaps"
    with FaultProxy(org.url) as proxy:
        result = run(
            "snapshot", REGION, "--endpoint-url", proxy.url, "-o", str(out),
            "--type", TYPES, "--org-role", ROLE,
        )  # fmt: skip
    assert result.code == 0, result.err
    every = sorted([MANAGEMENT, *org.members])
    assert sorted(p.name for p in out.iterdir() if p.name != ".driftaudit") == every
    for account in every:
        assert volume_ids(out, account) == {org.volumes[account]}
    assert proxy.actions["organizations:ListAccounts"] == 1
    assert proxy.actions["sts:AssumeRole"] == 3
    assert "3 account(s)" in result.err
    docs = snapshot_files(out)
    # Each account's own file, in the region "global": its alias where it has one.
    account_doc = docs[f"{org.members[0]}/global/accounts/{org.members[0]}.yaml"]
    assert account_doc["resource"]["AccountAliases"] == ["payments-prod"]
    assert docs[f"{MANAGEMENT}/global/accounts/{MANAGEMENT}.yaml"]["resource"] == {
        "AccountAliases": [],
        "AccountId": MANAGEMENT,
        "Tags": {},
    }


def test_org_exclude_leaves_an_account_out(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    out = tmp_path / "snaps"
    result = run(
        "snapshot", REGION, "--endpoint-url", org.url, "-o", str(out), "--type", TYPES,
        "--org-role", ROLE, "--org-exclude", MANAGEMENT,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir() if p.name != ".driftaudit") == org.members


# --- no single point of failure -------------------------------------------------------------


def test_one_denied_role_fails_its_account_only(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    out = tmp_path / "snaps"
    denied = org.members[1]
    role = f"arn:aws:iam::{denied}:role/{ROLE}"
    argv = ["snapshot", REGION, "-o", str(out), "--type", TYPES, "--org-role", ROLE, "--commit"]
    first = run(*argv, "--endpoint-url", org.url)
    assert first.code == 0, first.err
    before = {p: p.read_bytes() for p in (out / denied).rglob("*.yaml")}
    assert before

    # A volume added everywhere: the denied account's cannot be seen, the others' must.
    added = {a: client("ec2", org.url, a).create_volume(AvailabilityZone=f"{REGION}a", Size=2)
             for a in (MANAGEMENT, *org.members)}  # fmt: skip
    with FaultProxy(org.url, deny_params={"RoleArn": role}) as proxy:
        second = run(*argv, "--endpoint-url", proxy.url)
    assert proxy.counts["denied"] == 1
    assert second.code == 3, second.err
    assert "Traceback" not in second.err
    lines = [line for line in second.err.splitlines() if denied in line]
    assert lines == [
        f"driftaudit: {denied}: could not read any part (access denied in sts:AssumeRole for "
        f"{role}: AccessDenied: User is not authorized to perform: sts:AssumeRole); "
        "previous files kept"
    ]
    # The others are written; the denied account's files are exactly as they were.
    for account in (MANAGEMENT, org.members[0]):
        assert volume_ids(out, account) == {org.volumes[account], added[account]["VolumeId"]}
    assert {p: p.read_bytes() for p in (out / denied).rglob("*.yaml")} == before
    # The commit records each of its parts as failed, naming the role.
    message = git(out, "log", "-1", "--format=%B")
    failed = [line for line in message.splitlines() if line.startswith("Driftaudit-Failed:")]
    assert sorted(f.split()[1] for f in failed) == [
        f"{denied}/global/accounts",
        f"{denied}/{REGION}/volumes",
    ]
    assert all(role in f and "AccessDenied" in f for f in failed)


def test_every_role_denied_exits_1_naming_each(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    out = tmp_path / "snaps"
    with FaultProxy(org.url, deny_actions=["sts:AssumeRole"]) as proxy:
        result = run(
            "snapshot", REGION, "--endpoint-url", proxy.url, "-o", str(out), "--type", TYPES,
            "--role-arn", f"arn:aws:iam::{org.members[0]}:role/{ROLE}",
            "--role-arn", f"arn:aws:iam::{org.members[1]}:role/{ROLE}",
        )  # fmt: skip
    assert result.code == 1
    assert [line.split(":")[1].strip() for line in result.err.splitlines()[:2]] == org.members
    assert all("sts:AssumeRole for arn:aws:iam::" in line for line in result.err.splitlines()[:2])
    assert not list(out.glob("*/*/*/*.yaml"))


# --- the accounts file ----------------------------------------------------------------------


def test_accounts_file_reaches_each_account_its_own_way(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    """The file's accounts (a role ARN, a role name from the defaults, the caller's own
    credentials for the management account), each with its external id, session name and
    regions; aliases from the file are not written into snapshot files."""
    (chdir / "driftaudit.yaml").write_text(
        f"""\
account_defaults:
  role_name: {ROLE}
  session_name: nightly-audit
  regions: [{REGION}]
  exclude_regions: ["ap-*"]
accounts:
  - id: "{MANAGEMENT}"
    alias: management
    role_name: null
  - id: "{org.members[0]}"
    alias: payments
    external_id: the-external-id
  - id: "{org.members[1]}"
    role_arn: arn:aws:iam::{org.members[1]}:role/other-role
    duration: 900
""",
        encoding="utf-8",
    )
    out = tmp_path / "snaps"
    with FaultProxy(org.url) as proxy:
        result = run("snapshot", "--endpoint-url", proxy.url, "-o", str(out), "--type", TYPES)
    assert result.code == 0, result.err
    for account in (MANAGEMENT, *org.members):
        assert volume_ids(out, account) == {org.volumes[account]}
    assert proxy.actions["sts:AssumeRole"] == 2
    assert proxy.actions["organizations:ListAccounts"] == 0
    docs = snapshot_files(out)
    # AWS's alias is written; the file's alias is configuration and is not.
    assert docs[f"{org.members[0]}/global/accounts/{org.members[0]}.yaml"]["resource"][
        "AccountAliases"
    ] == ["payments-prod"]


def test_accounts_file_errors_name_the_file_and_line(
    run: Callable[..., Result], tmp_path: Path, chdir: Path, moto: MotoServer
) -> None:
    config = chdir / "driftaudit.yaml"
    cases = {
        "accounts:\n  - id: 111111111111\n": (
            ":2: $.accounts[0].id: 111111111111 is not valid: expected a 12-digit AWS account id"
        ),
        'accounts:\n  - id: "111111111111"\n    role_arn: arn:aws:iam::222222222222:role/x\n': (
            ":3: $.accounts[0].role_arn: arn:aws:iam::222222222222:role/x is a role of account "
            "222222222222, not of 111111111111"
        ),
        'accounts:\n  - {id: "111111111111"}\n  - {id: "111111111111"}\n': (
            ":3: $.accounts[1].id: account 111111111111 is listed twice (first at line 2)"
        ),
        "account_defaults:\n  duration: 60\n": ":2: $.account_defaults.duration: 60 is less",
        "account_defaults:\n  regoins: [us-east-1]\n": ":2: $.account_defaults.regoins:",
    }
    for text, says in cases.items():
        config.write_text(text, encoding="utf-8")
        result = run("snapshot", REGION, "--endpoint-url", moto.url, "-o", str(tmp_path / "o"))
        assert result.code == 1, (text, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
        assert f"{config}{says}" in result.err, (text, result.err)
    assert not (tmp_path / "o").exists()


def test_a_linked_driftaudit_yaml_is_named_not_followed(
    run: Callable[..., Result], tmp_path: Path, chdir: Path, moto: MotoServer
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("accounts: [{id: '123456789012', alias: SECRET-TEXT}]\n", encoding="utf-8")
    (chdir / "driftaudit.yaml").symlink_to(secret)
    result = run("snapshot", REGION, "--endpoint-url", moto.url, "-o", str(tmp_path / "o"))
    assert result.code == 1
    assert "driftaudit.yaml: is a symbolic link; not followed" in result.err
    assert "SECRET-TEXT" not in result.err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--org-exclude", MANAGEMENT], "--org-exclude needs --org-role"),
        (["--org-role", ROLE, "--role-arn", f"arn:aws:iam::{MANAGEMENT}:role/x"], "cannot be"),
        (["--org-role", ROLE, "--org-exclude", "12345"], "'12345' is not a 12-digit account id"),
        (["--org-role", ""], "'' is not an IAM role name"),
        (["--external-id", "x"], "'x' is not an sts:AssumeRole external id"),
        (["--role-session-name", "has space"], "is not an sts:AssumeRole session name"),
    ],
)
def test_bad_account_options_are_usage_errors(
    run: Callable[..., Result],
    tmp_path: Path,
    chdir: Path,
    moto: MotoServer,
    args: list[str],
    says: str,
) -> None:
    result = run("snapshot", REGION, "--endpoint-url", moto.url, "-o", str(tmp_path / "o"), *args)
    assert result.code == 1, result.err
    assert says in result.err and "Traceback" not in result.err
    assert not (tmp_path / "o").exists()


# --- aliases beside account ids, from the repository alone ------------------------------------


def test_aliases_are_shown_in_reports_and_history_answers(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    import json

    from jsonschema import Draft202012Validator

    from driftaudit.schemas import schema_path

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    snaps = repo / "snaps"
    member = org.members[0]
    argv = ["snapshot", REGION, "--endpoint-url", org.url, "-o", str(snaps), "--commit",
            "--type", "volumes,network_interfaces,accounts", "--org-role", ROLE]  # fmt: skip
    assert run(*argv).code == 0
    ec2 = client("ec2", org.url, member)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=3)
    second = run(*argv)
    assert second.code == 0, second.err

    def report(*args: str) -> str:
        result = run("report", "-C", str(snaps), *args)
        assert result.code == 0, result.err
        return result.out

    where = f"{member} (payments-prod)/{REGION}"
    assert where in report()
    assert f"in {member} (`payments-prod`)/{REGION}" in report("--format", "markdown")
    assert f"{member} (payments-prod)<br>{REGION}" in report("--format", "html")
    data = json.loads(report("--format", "json"))
    schema = json.loads(schema_path("report").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(data)) == []
    assert data["accounts"] == {member: "payments-prod"}
    assert {c["account_alias"] for c in data["changes"]} == {"payments-prod"}

    address = eni["PrivateIpAddress"]
    answer = run("history", "ip", address, "-C", str(snaps))
    assert answer.code == 0, answer.err
    assert where in answer.out
    as_json = json.loads(run("history", "ip", address, "-C", str(snaps), "--format", "json").out)
    assert {h["account_alias"] for h in as_json["holders"]} == {"payments-prod"}
    history_schema = json.loads(schema_path("history").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(history_schema).iter_errors(as_json)) == []

    # The accounts file's alias, at the repository's root, is shown instead of AWS's.
    (repo / "driftaudit.yaml").write_text(
        f'accounts:\n  - {{id: "{member}", alias: payments}}\n', encoding="utf-8"
    )
    assert f"{member} (payments)/{REGION}" in report()
    assert f"{member} (payments)/{REGION}" in run("history", "ip", address, "-C", str(snaps)).out


# --- IAM: the audit role's policy and the caller's ---------------------------------------------


def test_the_caller_only_lists_and_assumes_and_the_roles_only_read(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    """README's two policies are what an organization run calls: the credentials that run it
    (the management account's, access key ``testing``) list the organization and assume the
    roles; everything else is called with the roles' credentials, within the audit role's
    policy generated from the types."""
    from driftaudit.collect.collectors import CALLER_ACTIONS, iam_policy

    # Every region enabled (DescribeRegions), then all but us-east-1 excluded: a short run.
    (chdir / "driftaudit.yaml").write_text(
        'account_defaults: {regions: all, exclude_regions: ["[!u]*", "us-[!e]*", "us-east-2"]}\n',
        encoding="utf-8",
    )
    with FaultProxy(org.url) as proxy:
        result = run(
            "snapshot", "--endpoint-url", proxy.url, "-o", str(tmp_path / "s"),
            "--org-role", ROLE, "--skip-default-vpcs",
        )  # fmt: skip
    assert result.code == 0, result.err
    assert "3 account(s), 1 region(s)" in result.err
    by_caller = {a for (key, a), n in proxy.signed.items() if key == "testing" and n}
    by_roles = {a for (key, a), n in proxy.signed.items() if key != "testing" and n}
    assert by_caller == set(CALLER_ACTIONS)
    # Within the audit role's policy (tests/test_iam.py seeds what makes every call of it).
    assert by_roles <= set(iam_policy()["Statement"][0]["Action"])
    assert {"iam:ListAccountAliases", "ec2:DescribeRegions", "sts:GetCallerIdentity"} <= by_roles


def test_profiles_per_account_a_wrong_account_and_a_failed_first_call(
    org: Org,
    run: Callable[..., Result],
    tmp_path: Path,
    chdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An SSO setup's profile per account: its credentials are used for that account (the
    recording proxy sees its key), and when they reach another account than the entry's id,
    that account fails ("wrong account") instead of having another account's resources
    written under its id. A role assumed, then its first call (DescribeRegions) denied:
    that account fails alone."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[sandbox]\naws_access_key_id = sandboxkey\naws_secret_access_key = sandboxsecret\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    wrong, denied = org.members
    (chdir / "driftaudit.yaml").write_text(
        f"""\
account_defaults: {{regions: [{REGION}]}}
accounts:
  - {{id: "{MANAGEMENT}", profile: sandbox}}
  - {{id: "{wrong}", profile: sandbox}}
  - {{id: "{denied}", role_name: {ROLE}, regions: all}}
""",
        encoding="utf-8",
    )
    out = tmp_path / "snaps"
    with FaultProxy(org.url, deny_actions=["ec2:DescribeRegions"]) as proxy:
        result = run("snapshot", "--endpoint-url", proxy.url, "-o", str(out), "--type", TYPES)
    assert result.code == 3, result.err
    lines = result.err.splitlines()
    assert (
        f"driftaudit: {wrong}: could not read any part (wrong account: with profile sandbox, "
        f"sts:GetCallerIdentity says account {MANAGEMENT}, not {wrong}); previous files kept"
    ) in lines
    role = f"arn:aws:iam::{denied}:role/{ROLE}"
    assert (
        f"driftaudit: {denied}: could not read any part (access denied in ec2:DescribeRegions "
        f"with {role}: UnauthorizedOperation: You are not authorized to perform this "
        "operation.); previous files kept"
    ) in lines
    assert volume_ids(out, MANAGEMENT) == {org.volumes[MANAGEMENT]}
    assert not (out / wrong).exists() and not (out / denied).exists()
    assert proxy.signed[("sandboxkey", "ec2:DescribeVolumes")] == 1
    assert proxy.signed[("testing", "ec2:DescribeVolumes")] == 0


def test_organization_not_listed_stops_the_run_with_one_line(
    org: Org, run: Callable[..., Result], tmp_path: Path, chdir: Path
) -> None:
    """Without the organization's list no account is known to be missing: exit 1, nothing
    written, the call named."""
    out = tmp_path / "snaps"
    with FaultProxy(org.url, deny_actions=["organizations:ListAccounts"]) as proxy:
        result = run(
            "snapshot", REGION, "--endpoint-url", proxy.url, "-o", str(out), "--type", TYPES,
            "--org-role", ROLE,
        )  # fmt: skip
    assert result.code == 1
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    assert result.err.startswith("driftaudit: organizations:ListAccounts failed: ")
    assert proxy.actions["sts:AssumeRole"] == 0
    assert not out.exists()
