"""``driftaudit validate`` and its pre-commit hook, on a real snapshot taken from the moto
server and on tampered copies of it. Expected lines are found in the tampered file itself."""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from driftaudit.canonical import format_of, loads, normalize
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.engine import Part
from driftaudit.collect.store import render_part
from tests.conftest import FAKE_ENV
from tests.support.gitsnap import run
from tests.support.motoserver import MotoServer

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
Capsys = pytest.CaptureFixture[str]
# AWS's documented example credentials: never valid, always secret-shaped.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtest\n-----END RSA PRIVATE KEY-----\n"
)
USER_DATA = base64.b64encode(b"#!/bin/bash\necho 'hello from user data'\n").decode()


# --- a clean snapshot, taken once -----------------------------------------------------------


def seed(url: str) -> None:
    """A small fleet with the things a careless snapshot could leak: user data on an
    instance and in a launch template, and tag values that look like other YAML types."""
    ec2 = boto3.client("ec2", endpoint_url=url, region_name=REGION)
    web = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "public"}]},
        ],
    )  # fmt: skip
    tags = [{"Key": "Name", "Value": "app"}, {"Key": "yes", "Value": "1e3"}]
    ec2.run_instances(
        ImageId="ami-12c6146b",
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=[web],
        UserData="#!/bin/sh\necho not in any snapshot\n",
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, VolumeType="gp3")
    ec2.create_launch_template(
        LaunchTemplateName="app-template",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": USER_DATA},
    )


def cli(*args: str) -> int:
    from driftaudit.cli import main

    try:
        main(list(args))
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0


@pytest.fixture(scope="module")
def snapshots(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """fmt -> a directory written by ``driftaudit snapshot`` (every type, one region)."""
    root = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        moto_server.reset()
        seed(moto_server.url)
        out = {}
        for fmt in ("yaml", "json"):
            out[fmt] = root / fmt
            argv = ["snapshot", REGION, "--endpoint-url", moto_server.url, "-f", fmt, "-q"]
            assert cli(*argv, "-o", str(out[fmt])) == 0
        yield out


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own directory (the current one), so paths print as ``snaps/...``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def copy_snapshot(snapshots: dict[str, Path], work: Path, fmt: str = "yaml") -> Path:
    dest = work / "snaps"
    shutil.copytree(snapshots[fmt], dest)
    return dest


def part_dir(root: Path, rtype: str, region: str = REGION) -> Path:
    return root / ACCOUNT / region / rtype


def one_file(root: Path, rtype: str, keep: Callable[[dict[str, Any]], bool] = bool) -> Path:
    for path in sorted(part_dir(root, rtype).iterdir()):
        if keep(loads(path.read_bytes(), format_of(path.name))["resource"]):
            return path
    raise AssertionError(f"no {rtype} file in the snapshot")


def snapshot_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / ACCOUNT).rglob("*") if p.is_file())


def validate(capsys: Capsys, *paths: str) -> tuple[int, list[str], str]:
    code, out, err = run(capsys, "validate", *paths)
    return code, out.splitlines(), err


def line_of(path: Path, pattern: str) -> int:
    """The 1-based line of the first match of ``pattern`` in the file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(n for n, text in enumerate(lines, 1) if re.search(pattern, text))


def envelope_line(path: Path, key: str) -> int:
    """Line of a top-level key: column 0 in YAML, two spaces in JSON."""
    return line_of(path, rf'^(?:{key}|  "{key}"):')


def rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the resource and write it back with driftaudit's own writer (so the file
    stays canonical and only what ``change`` did is wrong)."""
    fmt = format_of(path.name)
    doc = loads(path.read_bytes(), fmt)
    change(doc["resource"])
    part = Part(doc["account"], doc["region"], doc["type"])
    resource = normalize(doc["resource"], REGISTRY[doc["type"]].spec)
    (data,) = render_part(part, {doc["id"]: resource}, fmt).values()
    path.write_bytes(data)


def shown(path: Path, work: Path) -> str:
    return path.relative_to(work).as_posix()


# --- clean -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_fresh_snapshot_passes(
    snapshots: dict[str, Path], work: Path, capsys: Capsys, fmt: str
) -> None:
    root = copy_snapshot(snapshots, work, fmt)
    files = snapshot_files(root)
    assert {p.parent.name for p in files} >= {"instances", "security_groups", "launch_templates"}
    code, out, err = validate(capsys, "snaps")
    assert (code, out) == (0, [])
    assert err.strip() == f"driftaudit: {len(files)} file(s) checked, 0 problem(s)"
    # The user data given to the instance and the template is in no file.
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    assert USER_DATA not in text and "not in any snapshot" not in text


def test_only_snapshot_files_are_checked(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    files = snapshot_files(root)
    garbage = "key: value: other\n"
    # Beside the snapshot: a report, notes, a baseline four levels deep, CI files, git's and
    # driftaudit's own directories holding account-shaped paths.
    (work / "README.md").write_text("# snapshots\n")
    (root / "report.html").write_text("<html></html>\n")
    for other in (
        "baselines/prod/web/groups.yaml",
        "driftaudit.yaml",
        ".github/workflows/drift.yml",
        f".git/{ACCOUNT}/{REGION}/volumes/vol-1.yaml",
        f".driftaudit/{ACCOUNT}/{REGION}/volumes/vol-1.yaml",
        f"snaps/.cache/{ACCOUNT}/{REGION}/volumes/vol-1.yaml",
    ):
        (work / other).parent.mkdir(parents=True, exist_ok=True)
        (work / other).write_text(garbage)
    (part_dir(root, "volumes") / "notes.txt").write_text(garbage)
    code, out, err = validate(capsys)  # default: "."
    assert (code, out) == (0, [])
    assert f"{len(files)} file(s) checked" in err
    # The same garbage where a snapshot file belongs is checked, and fails.
    (part_dir(root, "volumes") / "vol-1.yaml").write_text(garbage)
    code, out, _ = validate(capsys)
    assert code == 1
    assert len(out) == 1
    assert out[0].startswith(
        f"snaps/{ACCOUNT}/{REGION}/volumes/vol-1.yaml:1: does not parse: mapping values are not"
    )


# --- tampered --------------------------------------------------------------------------------


def test_reordered_keys(snapshots: dict[str, Path], work: Path, capsys: Capsys) -> None:
    for fmt in ("yaml", "json"):
        root = copy_snapshot(snapshots, work / fmt, fmt)
        path = one_file(root, "security_groups")
        lines = path.read_text(encoding="utf-8").split("\n")
        a, b = envelope_line(path, "account"), envelope_line(path, "id")
        original = lines[a - 1]
        lines[a - 1], lines[b - 1] = lines[b - 1], lines[a - 1]
        path.write_text("\n".join(lines), encoding="utf-8")
        assert loads(path.read_bytes(), fmt)["account"] == ACCOUNT  # same data, other order
        code, out, _ = validate(capsys, str(root))
        assert code == 1
        first = min(a, b)
        assert out == [
            f"{path}:{first}: not in canonical form: driftaudit would write {original!r}"
        ]


def test_not_canonical_whitespace(snapshots: dict[str, Path], work: Path, capsys: Capsys) -> None:
    root = copy_snapshot(snapshots, work)
    crlf, bare, spaced = (one_file(root, t) for t in ("volumes", "vpcs", "subnets"))
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    bare.write_bytes(bare.read_bytes().rstrip(b"\n"))
    line = envelope_line(spaced, "region")
    spaced.write_text(spaced.read_text().replace("region: ", "region:   "))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert sorted(out) == sorted(
        [
            f"{shown(crlf, work)}:1: not in canonical form: CRLF line endings "
            "(driftaudit writes LF)",
            f"{shown(bare, work)}:{bare.read_text().count(chr(10)) + 1}: not in canonical form: "
            "no newline at the end of the file",
            f"{shown(spaced, work)}:{line}: not in canonical form: driftaudit would write "
            f"'region: {REGION}'",
        ]
    )


@pytest.mark.parametrize(
    ("move_to", "key"),
    [(("volumes", REGION), "type"), (("security_groups", "eu-west-1"), "region")],
    ids=["other-type", "other-region"],
)
def test_wrong_path(
    snapshots: dict[str, Path], work: Path, capsys: Capsys, move_to: tuple[str, str], key: str
) -> None:
    root = copy_snapshot(snapshots, work)
    source = one_file(root, "security_groups")
    target = part_dir(root, *move_to) / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    have = move_to[0] if key == "type" else move_to[1]
    want = "security_groups" if key == "type" else REGION
    right = f"{ACCOUNT}/{REGION}/security_groups/{source.name}"
    assert out == [
        f"{shown(target, work)}:{envelope_line(target, key)}: {key} is {want!r} but the {key} "
        f"directory is {have!r} (expected .../{right})"
    ]


def test_file_named_after_another_id(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    source = one_file(root, "volumes")
    target = source.with_name("vol-0000000000000000f.yaml")
    source.rename(target)
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [
        f"{shown(target, work)}:{envelope_line(target, 'id')}: id is {source.stem!r} but the file "
        f"is named {target.name!r} (expected .../{ACCOUNT}/{REGION}/volumes/{source.name})"
    ]


def test_envelope_id_that_is_not_the_resources_own(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    source = one_file(root, "instances")
    forged = "i-0000000000000000f"
    target = source.with_name(f"{forged}.yaml")
    target.write_text(source.read_text().replace(f"id: {source.stem}\n", f"id: {forged}\n"))
    source.unlink()
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [
        f"{shown(target, work)}:{envelope_line(target, 'id')}: id is {forged!r} but the "
        f"resource's own id is {source.stem!r}"
    ]


#: name -> (tag value, the part that must not be echoed, the problem reported)
SECRETS: dict[str, tuple[str, str, str]] = {
    "access-key-id": (
        ACCESS_KEY_ID, ACCESS_KEY_ID[4:], "looks like an AWS access key id (AKIA...)"
    ),
    "temporary-key-id": (
        "ASIA" + ACCESS_KEY_ID[4:], ACCESS_KEY_ID[4:], "looks like an AWS access key id (ASIA...)"
    ),
    "secret-key": (
        f"aws_secret_access_key={SECRET_KEY}",
        SECRET_KEY,
        'looks like a secret access key (40 base64 characters beside "secret")',
    ),
    "private-key": (
        PRIVATE_KEY,
        "MIIEowIBAAKCAQEAtest",
        "holds a private key block (-----BEGIN RSA PRIVATE KEY-----)",
    ),
    "user-data": (USER_DATA, USER_DATA[:12], "holds base64 user data"),
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("secret", list(SECRETS))
def test_embedded_secret(
    snapshots: dict[str, Path], work: Path, capsys: Capsys, fmt: str, secret: str
) -> None:
    value, sensitive, problem = SECRETS[secret]
    root = copy_snapshot(snapshots, work, fmt)
    path = one_file(root, "security_groups")
    rewrite(path, lambda r: r["Tags"].update({"Note": value}))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [f"{shown(path, work)}:{line_of(path, 'Note')}: {problem}"]
    # The secret itself is not repeated into the CI log.
    assert sensitive not in "\n".join(out)


def test_user_data_field(snapshots: dict[str, Path], work: Path, capsys: Capsys) -> None:
    root = copy_snapshot(snapshots, work)
    instance = one_file(root, "instances")
    rewrite(instance, lambda r: r.update({"UserData": {"Value": "plain text"}}))
    template = one_file(root, "launch_templates")
    data = ["DefaultVersionData", "LaunchTemplateData"]
    rewrite(template, lambda r: r[data[0]][data[1]].update({"UserData": "plain text"}))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [
        f"{shown(instance, work)}:{line_of(instance, '^  UserData:')}: schema: "
        "$.resource.UserData: must not be stored",
        f"{shown(template, work)}:{line_of(template, '^      UserData:')}: schema: "
        "$.resource.DefaultVersionData.LaunchTemplateData.UserData: must not be stored",
    ]


def test_secret_shaped_text_that_is_no_secret_passes(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    path = one_file(root, "volumes")
    harmless = {
        "InstanceProfileId": "AIPAIOSFODNN7EXAMPLE",  # an id, not a credential
        "secret-rotation-commit": "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # hex SHA-1
        "KeyLongerThanAnId": "AKIAIOSFODNN7EXAMPLEANDMORE",
        "Comment": "see docs: user data is not snapshotted",
    }
    rewrite(path, lambda r: r["Tags"].update(harmless))
    assert validate(capsys, "snaps")[:2] == (0, [])


def test_broken_yaml_names_the_line(snapshots: dict[str, Path], work: Path, capsys: Capsys) -> None:
    root = copy_snapshot(snapshots, work)
    path = one_file(root, "security_groups")
    line = line_of(path, "^  GroupName: ")
    lines = path.read_text().split("\n")
    lines[line - 1] += ": oops"
    path.write_text("\n".join(lines))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert len(out) == 1
    # The wording is PyYAML's (libyaml says "... in this context", pure Python "... here").
    assert out[0].startswith(f"{shown(path, work)}:{line}: does not parse: mapping values")


def test_broken_json_names_the_line(snapshots: dict[str, Path], work: Path, capsys: Capsys) -> None:
    root = copy_snapshot(snapshots, work, "json")
    path = one_file(root, "security_groups")
    line = line_of(path, '^    "GroupName": ')
    lines = path.read_text().split("\n")
    lines[line - 1] = lines[line - 1].rstrip(",")
    path.write_text("\n".join(lines))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    # json reports the missing comma where the next key starts.
    assert out == [f"{shown(path, work)}:{line + 1}: does not parse: Expecting ',' delimiter"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_schema_violation_in_the_resource(
    snapshots: dict[str, Path], work: Path, capsys: Capsys, fmt: str
) -> None:
    root = copy_snapshot(snapshots, work, fmt)
    path = one_file(root, "volumes", lambda r: r["Size"] == 8)
    rewrite(path, lambda r: r.update({"Size": "eight"}))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [
        f"{shown(path, work)}:{line_of(path, 'Size')}: schema: $.resource.Size: "
        "'eight' is not of type 'integer'"
    ]


def test_schema_violation_in_the_envelope(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    path = one_file(root, "vpcs")
    path.write_text(path.read_text().replace(f'account: "{ACCOUNT}"', "account: acme-prod"))
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [
        f"{shown(path, work)}:{envelope_line(path, 'account')}: schema: $.account: "
        "'acme-prod' does not match '^[0-9]{12}$'"
    ]


def test_schema_messages_do_not_repeat_secrets(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    path = one_file(root, "volumes", lambda r: r["Size"] == 8)
    rewrite(path, lambda r: r.update({"Size": f"key {ACCESS_KEY_ID} secret {SECRET_KEY}"}))
    code, out, _ = validate(capsys, "snaps")
    line = line_of(path, "Size")
    assert code == 1
    assert sorted(out) == sorted(
        f"{shown(path, work)}:{line}: {problem}"
        for problem in (
            f"schema: $.resource.Size: 'key AKIA{'*' * 16} secret {'*' * 40}' is not of type "
            "'integer'",
            SECRETS["access-key-id"][2],
            SECRETS["secret-key"][2],
        )
    )


def test_unknown_type_and_wrong_extension(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    path = one_file(root, "vpcs")
    yml = path.with_suffix(".yml")
    path.rename(yml)
    # "report" has a schema in schemas/ but is no resource type.
    other = part_dir(root, "report") / "b-1.yaml"
    other.parent.mkdir()
    other.write_text(
        f'account: "{ACCOUNT}"\nid: b-1\nregion: {REGION}\nresource:\n  Tags: {{}}\ntype: report\n'
    )
    code, out, _ = validate(capsys, "snaps")
    assert code == 1
    assert out == [
        f"{shown(other, work)}:6: unknown resource type 'report'",
        f"{shown(yml, work)}:1: not a snapshot file name: driftaudit writes .yaml or .json",
        f"{shown(yml, work)}:{envelope_line(yml, 'id')}: id is {path.stem!r} but the file is "
        f"named {yml.name!r} (expected .../{ACCOUNT}/{REGION}/vpcs/{path.name})",
    ]


def test_every_problem_of_every_file_one_line_each(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    root = copy_snapshot(snapshots, work)
    volume = one_file(root, "volumes", lambda r: r["Size"] == 8)
    rewrite(volume, lambda r: r.update({"Size": "eight"}))
    rewrite(volume, lambda r: r["Tags"].update({"k": ACCESS_KEY_ID}))
    group = one_file(root, "security_groups")
    group.write_bytes(group.read_bytes() + b"\n")
    code, out, err = validate(capsys, "snaps", str(volume))  # a file named twice: once
    assert code == 1
    assert len(out) == 3 and all(re.match(r"^snaps/\S+:\d+: \S", line) for line in out)
    assert [line.split(":")[0] for line in out] == [shown(group, work)] + [shown(volume, work)] * 2
    assert err.strip().endswith(", 3 problem(s)")


def test_usage(work: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "validate", "--help")
    assert code == 0 and "Example:" in out and "driftaudit validate" in out
    code, _, err = run(capsys, "validate", "no-such-dir")
    assert code == 1 and "does not exist" in err
    code, out, err = run(capsys, "validate")
    assert (code, out, err.strip()) == (0, "", "driftaudit: no snapshot files to check")


# --- hostile trees: links, FIFOs, devices --------------------------------------------------


def validate_process(cwd: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    """``driftaudit validate`` as a child process: a FIFO that blocked it, or a device read
    until memory runs out, ends in the timeout (a failure) instead of hanging the suite."""
    return subprocess.run(
        [sys.executable, "-m", "driftaudit", "validate", *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_not_leaked(proc: subprocess.CompletedProcess[str]) -> None:
    both = proc.stdout + proc.stderr
    assert "root:" not in both  # no line of /etc/passwd
    assert "internal error" not in both and "Traceback" not in both


def test_links_fifos_and_devices_in_a_tree_are_problems_never_followed(
    snapshots: dict[str, Path], work: Path
) -> None:
    root = copy_snapshot(snapshots, work)
    clean = len(snapshot_files(root))
    elsewhere = work / "elsewhere" / ACCOUNT / REGION / "vpcs"
    shutil.copytree(part_dir(root, "vpcs"), elsewhere)
    bad = {
        "volumes/vol-0evil.yaml": "/etc/passwd",  # must not print part of it
        "instances/i-0zero.yaml": "/dev/zero",  # must not read until MemoryError
        "subnets/subnet-0loop1.yaml": "subnet-0loop2.yaml",  # a loop: not an internal error
        "subnets/subnet-0loop2.yaml": "subnet-0loop1.yaml",
    }
    for rel, target in bad.items():
        os.symlink(target, part_dir(root, "x").parent / rel)
    os.mkfifo(part_dir(root, "vpcs") / "vpc-0fifo.yaml")  # must not hang
    # Symbolic links to directories: never walked through, never skipped silently.
    os.symlink(elsewhere.parent, root / ACCOUNT / "us-west-2")
    os.symlink(work / "elsewhere", root / "210987654321")
    os.symlink(work / "elsewhere", work / "linked-snapshots")
    # Links that lead nowhere a snapshot could be are none of validate's business.
    os.symlink("README.md", work / "README-link.md")
    proc = validate_process(work)
    assert_not_leaked(proc)
    assert proc.returncode == 1
    prefix = f"snaps/{ACCOUNT}/{REGION}/"
    link = "is a symbolic link; not followed (snapshot files and directories never are links)"
    assert sorted(proc.stdout.splitlines()) == sorted(
        [f"{prefix}{rel}:1: {link}" for rel in bad]
        + [
            f"{prefix}vpcs/vpc-0fifo.yaml:1: is a FIFO, not a regular file",
            f"snaps/{ACCOUNT}/us-west-2:1: {link}",
            f"snaps/210987654321:1: {link}",
            "linked-snapshots:1: is a symbolic link to a directory; not followed "
            "(snapshot directories never are links)",
        ]
    )
    # The files of the tree (and only those) were still checked; elsewhere/ itself is a
    # real directory of this tree and is checked as such.
    found = clean + len(bad) + 4 + len(list(elsewhere.iterdir()))
    assert proc.stderr.strip() == f"driftaudit: {found} file(s) checked, 8 problem(s)"


def test_named_links_fifos_and_devices_are_problems(snapshots: dict[str, Path], work: Path) -> None:
    root = copy_snapshot(snapshots, work)
    group = one_file(root, "security_groups")
    (work / "passwd.yaml").symlink_to("/etc/passwd")
    (work / "group-link.yaml").symlink_to(group)
    (work / "dir-link").symlink_to(root)
    (work / "loop.yaml").symlink_to("loop.yaml")
    os.mkfifo(work / "fifo.yaml")
    proc = validate_process(
        work, "passwd.yaml", "group-link.yaml", "dir-link", "loop.yaml", "fifo.yaml", "/dev/zero"
    )
    assert_not_leaked(proc)
    assert proc.returncode == 1
    link = "is a symbolic link, not a file (snapshot files never are)"
    assert proc.stdout.splitlines() == [
        "/dev/zero:1: is a device, not a regular file",
        f"dir-link:1: {link}",
        "fifo.yaml:1: is a FIFO, not a regular file",
        f"group-link.yaml:1: {link}",
        f"loop.yaml:1: {link}",
        f"passwd.yaml:1: {link}",
    ]
    # The file itself, named, is clean.
    assert validate_process(work, shown(group, work)).returncode == 0


def test_an_oversized_snapshot_file_is_not_read(snapshots: dict[str, Path], work: Path) -> None:
    root = copy_snapshot(snapshots, work)
    big = part_dir(root, "volumes") / "vol-0big.yaml"
    with big.open("wb") as f:
        f.truncate(9 * 1024 * 1024)  # sparse: over the 8 MB cap, nothing to parse
    proc = validate_process(work)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"snaps/{ACCOUNT}/{REGION}/volumes/vol-0big.yaml:1: is larger than 8 MB; not read"
    ]


# --- the pre-commit hook -------------------------------------------------------------------


def hook() -> dict[str, Any]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list)
    (only,) = (h for h in hooks if h["id"] == "driftaudit-validate")
    return dict(only)


def test_hook_file_declares_the_hook() -> None:
    h = hook()
    assert h["language"] == "python" and h["entry"].split() == ["driftaudit", "validate"]
    files = re.compile(h["files"])
    for path in (
        f"{ACCOUNT}/{REGION}/volumes/vol-1.yaml",
        f"snapshots/{ACCOUNT}/{REGION}/security_groups/sg-1.json",
        # In a type directory it is not its content's: passed, and validate says so.
        f"{ACCOUNT}/{REGION}/volumes/sg-0abc.yaml",
    ):
        assert files.search(path), path
    for path in (
        "README.md",
        "driftaudit.yaml",
        "baselines/prod/web/groups.yaml",
        ".github/workflows/drift.yml",
        f"{ACCOUNT}/{REGION}/volumes/report.html",
        # Not snapshot files by the layout (driftaudit/layout.py): nothing reads them.
        f"{ACCOUNT}/{REGION}/misplaced.yml",
        f"{ACCOUNT}/{REGION}/volumes/.vol-1.yaml.4242.driftaudit-tmp",
    ):
        assert not files.search(path), path


def test_hook_entry_fails_a_tampered_commit(
    snapshots: dict[str, Path], work: Path, capsys: Capsys
) -> None:
    """What pre-commit does: pick staged files by ``files``, run ``entry`` with them as
    arguments from the repository root. ``driftaudit`` is run as ``python -m driftaudit``
    (pre-commit installs the console script; this checkout may not have it)."""
    h = hook()
    root = copy_snapshot(snapshots, work)
    (work / "README.md").write_text("not yaml: [\n")
    tampered = one_file(root, "security_groups")
    rewrite(tampered, lambda r: r["Tags"].update({"Pem": PRIVATE_KEY}))
    staged = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    chosen = [p for p in staged if re.search(h["files"], p)]
    assert "README.md" not in chosen and len(chosen) == len(snapshot_files(root))
    entry = shlex.split(h["entry"])
    assert entry[0] == "driftaudit"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }

    def run_hook(files: list[str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "driftaudit", *entry[1:], *h.get("args", []), *files]
        return subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, check=False
        )

    proc = run_hook(chosen)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{shown(tampered, work)}:{line_of(tampered, 'Pem')}: holds a private key block "
        "(-----BEGIN RSA PRIVATE KEY-----)"
    ]
    tampered.unlink()
    chosen.remove(shown(tampered, work))
    proc = run_hook(chosen)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stdout
