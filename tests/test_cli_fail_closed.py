"""The CLI fails closed: a CI gate given a typo or an empty value (an unset variable) stops
with a usage error (exit 1, one line naming the option and the valid values), never quietly
reads it as "every type", "no filter" or "no gate". And one way to choose types: ``--type``,
repeatable and comma-separated, on every command that chooses them."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from driftaudit.collect.collectors import REGISTRY
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    init_repo,
    instance,
    rule,
    run,
    security_group,
    volume,
    write,
)
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    """Two commits; the second changes a group (critical), an instance and a volume."""
    repo = init_repo(tmp_path / "repo")
    (repo / "baselines").mkdir()
    (repo / "baselines" / "b.yaml").write_text("security_groups:\n  - id: sg-0a\n")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "web")])
    write(snaps, "instances", [instance("i-1")])
    write(snaps, "volumes", [volume("vol-1")])
    commit_all(repo, "one", "2024-01-01T00:00:00+00:00")
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22))
    write(snaps, "security_groups", [security_group("sg-0a", "web", [ssh])])
    write(snaps, "instances", [instance("i-1", itype="m5.large")])
    write(snaps, "volumes", [volume("vol-1", size=9)])
    commit_all(repo, "two", "2024-01-02T00:00:00+00:00")
    return snaps


def usage_error(capsys: Capsys, *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, ""), (args, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "args,says",
    [
        (["--type", "security_group"], "did you mean 'security_groups'?"),
        (["--type", "instances", "--type", "volume"], "did you mean 'volumes'?"),
        (["--type", ""], "empty value"),
        (["--type", ","], "empty value"),
        (["--type", "instances,,volumes"], "empty value"),
        (["--fail-on", "critcal"], "did you mean 'critical'?"),
        (["--fail-on", ""], "empty value"),
        (["--fail-on", "high,"], "empty value"),
        (["--since", ""], "must not be empty"),
        (["--since", "  "], "must not be empty"),
        (["--template-dir", ""], "must not be empty"),
        (["--config", ""], "must not be empty"),
        (["-o", ""], "must not be empty"),
    ],
)
def test_diff_refuses_unknown_and_empty_values(
    snaps: Path, capsys: Capsys, args: list[str], says: str
) -> None:
    err = usage_error(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", *args)
    assert says in err and args[0] in err
    if "type" in args[0] or "fail-on" in args[0]:
        assert "valid:" in err or "empty" in err
        if "did you mean" in says:
            assert ", ".join(REGISTRY) in err


@pytest.mark.parametrize("command", ["diff", "report"])
def test_an_empty_revision_is_refused(snaps: Path, capsys: Capsys, command: str) -> None:
    # The cron recipe's `report "$before" HEAD` with $before unset.
    for revisions in ([""], ["", "HEAD"], ["HEAD~1", " "]):
        err = usage_error(capsys, command, "-C", str(snaps), *revisions)
        assert "a revision must not be empty" in err


def test_report_refuses_unknown_and_empty_values(snaps: Path, capsys: Capsys) -> None:
    base = ["report", "-C", str(snaps)]
    assert "did you mean 'security_groups'?" in usage_error(
        capsys, *base, "--type", "security_group"
    )
    for option in ("--since", "--email-to", "--email-from", "--smtp-host", "--smtp-user"):
        assert option in usage_error(capsys, *base, option, "")
    assert "-C" in usage_error(capsys, "report", "-C", "")


def test_history_refuses_empty_filters(snaps: Path, capsys: Capsys) -> None:
    for args in (
        ["ip", "10.0.0.1", "--at", ""],
        ["rule", "--group", ""],
        ["rule", "--source", ""],
        ["exposure", "10.0.0.1", "--at", " "],
    ):
        usage_error(capsys, "history", *args, "-C", str(snaps))


def test_check_and_baseline_init_refuse_unknown_and_empty_values(
    snaps: Path, capsys: Capsys
) -> None:
    usage_error(capsys, "check", "-C", str(snaps), "--baseline", "")
    err = usage_error(capsys, "baseline", "init", "-C", str(snaps), "--type", "security_group")
    assert "did you mean 'security_groups'?" in err
    usage_error(capsys, "baseline", "init", "-C", str(snaps), "--type", ",")


def test_diff_types_are_repeatable_and_comma_separated(snaps: Path, capsys: Capsys) -> None:
    def types(*args: str) -> list[str]:
        code, out, err = run(
            capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--format", "json", *args
        )
        assert code == 2, err
        return sorted(c["type"] for c in json.loads(out)["changes"])

    assert types("--type", "volumes") == ["volumes"]
    assert types("--type", "volumes,instances") == ["instances", "volumes"]
    assert types("--type", "volumes", "--type", " instances ,volumes") == ["instances", "volumes"]
    assert types() == ["instances", "security_groups", "volumes"]


def test_fail_on_takes_lists_and_gates(snaps: Path, capsys: Capsys) -> None:
    base = ["diff", "-C", str(snaps), "HEAD~1", "HEAD"]
    assert run(capsys, *base, "--fail-on", "critical")[0] == 2
    assert run(capsys, *base, "--fail-on", "key_pairs,vpcs")[0] == 0
    assert run(capsys, *base, "--fail-on", "vpcs", "--fail-on", "volumes")[0] == 2


def test_report_types(snaps: Path, capsys: Capsys) -> None:
    code, out, _ = run(
        capsys, "report", "-C", str(snaps), "--type", "instances", "--format", "json"
    )
    assert code == 0 and [c["type"] for c in json.loads(out)["changes"]] == ["instances"]


# --- snapshot ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--only", ","],
        ["--only", ""],
        ["--type", ","],
        ["--type", "security_group"],
        ["--type", "instances", "--only", "volume"],
        ["--endpoint-url", ""],
        ["--profile", ""],
        ["-o", ""],
    ],
)
def test_snapshot_refuses_unknown_and_empty_values(
    moto: MotoServer, tmp_path: Path, capsys: Capsys, args: list[str]
) -> None:
    out = tmp_path / "out"
    endpoint = [] if "--endpoint-url" in args else ["--endpoint-url", moto.url]
    output = [] if "-o" in args else ["-o", str(out)]
    usage_error(capsys, "snapshot", REGION, *output, *endpoint, *args)
    assert not out.exists()


def test_snapshot_collects_the_types_chosen(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url)
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
    ec2.create_key_pair(KeyName="k")

    def collected(*args: str) -> set[str]:
        out = tmp_path / "-".join(args).replace(",", "_")
        code, _, err = run(
            capsys, "snapshot", REGION, "-o", str(out), "--endpoint-url", moto.url, *args
        )
        assert code == 0, err
        return {p.name for p in (out / ACCOUNT / REGION).iterdir()}

    assert collected("--type", "volumes,key_pairs") == {"volumes", "key_pairs"}
    assert collected("--type", "volumes", "--type", "key_pairs") == {"volumes", "key_pairs"}
    # The old spelling still works, and is not advertised.
    assert collected("--only", "volumes") == {"volumes"}
    code, help_text, _ = run(capsys, "snapshot", "--help")
    assert code == 0 and "--type" in help_text and "--only" not in help_text
