"""Helpers for the change-detection tests: the git sandbox every test runs in, canonical
snapshot documents built from plain data, written with driftaudit's own writer, committed
with real git at chosen dates, and the CLI run in-process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftaudit.canonical import normalize
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.engine import Part, document
from driftaudit.collect.store import render_part, write_part

ACCOUNT = "123456789012"
REGION = "us-east-1"
#: The identity of every commit the tests make (git refuses to commit without one).
IDENTITY = {
    "GIT_AUTHOR_NAME": "driftaudit tests",
    "GIT_AUTHOR_EMAIL": "tests@localhost",
    "GIT_COMMITTER_NAME": "driftaudit tests",
    "GIT_COMMITTER_EMAIL": "tests@localhost",
}


@dataclass(frozen=True)
class GitSandbox:
    """What git sees in every test (tests/conftest.py sets it in ``os.environ``, so a
    subprocess started with ``os.environ`` sees it too): no system configuration, a global
    configuration that is an empty file of the test's own (a regular file: nothing assumes
    ``/dev/null`` is a character device), no repository above the tests' temporary
    directories, the test identity, no preset dates and none of the caller's other ``GIT_*``
    variables (a test run from a git hook inherits ``GIT_DIR``, ``GIT_INDEX_FILE``...)."""

    global_config: Path
    ceiling: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "GIT_CONFIG_GLOBAL": str(self.global_config),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CEILING_DIRECTORIES": str(self.ceiling),
            **IDENTITY,
        }

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in list(os.environ):
            if name.startswith("GIT_") or name == "EMAIL":
                monkeypatch.delenv(name)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    @staticmethod
    def without_identity(monkeypatch: pytest.MonkeyPatch) -> None:
        """A fresh machine: no user.name/user.email anywhere, for this test only."""
        for name in IDENTITY:
            monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    return path


def commit_all(repo: Path, message: str, date: str | None = None) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD").strip()


# --- plain resources, normalized the way a snapshot would write them -------------------------


def rule(
    direction: str,
    protocol: str,
    source: str,
    ports: tuple[int, int] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    source_type = (
        "group"
        if source.startswith("sg-")
        else "prefix_list"
        if source.startswith("pl-")
        else "cidr6"
        if ":" in source
        else "cidr"
    )
    out: dict[str, Any] = {
        "Direction": direction,
        "Protocol": protocol,
        "SourceType": source_type,
        "Source": source,
    }
    if ports is not None:
        out["FromPort"], out["ToPort"] = ports
    if description:
        out["Description"] = description
    return out


def security_group(
    gid: str, name: str, rules: Iterable[dict[str, Any]] = (), tags: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "GroupId": gid,
        "GroupName": name,
        "Description": f"{name} group",
        "VpcId": "vpc-0a1b2c3d",
        "OwnerId": ACCOUNT,
        "Rules": list(rules),
        "Tags": dict(tags or {}),
    }


def instance(
    iid: str,
    itype: str = "t3.micro",
    state: str = "running",
    groups: Iterable[str] = (),
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "InstanceId": iid,
        "InstanceType": itype,
        "ImageId": "ami-12c6146b",
        "State": {"Name": state},
        "SecurityGroups": [{"GroupId": g, "GroupName": g.replace("sg-", "name-")} for g in groups],
        "Tags": dict(tags or {}),
    }


def prefix_list(
    lid: str, name: str, entries: Iterable[str | tuple[str, str]] = (), owner: str = ACCOUNT
) -> dict[str, Any]:
    """A managed prefix list; an entry is a CIDR or (CIDR, description)."""
    listed = [
        {"Cidr": e} if isinstance(e, str) else {"Cidr": e[0], "Description": e[1]} for e in entries
    ]
    return {
        "PrefixListId": lid,
        "PrefixListName": name,
        "AddressFamily": "IPv4",
        "OwnerId": owner,
        "State": "modify-complete",
        "MaxEntries": 10,
        "Entries": listed,
        "Tags": {},
    }


def volume(vid: str, size: int = 8, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "VolumeId": vid,
        "Size": size,
        "VolumeType": "gp3",
        "State": "available",
        "Tags": dict(tags or {}),
    }


def doc(rtype: str, resource: dict[str, Any], region: str = REGION) -> dict[str, Any]:
    """The document of one snapshot file, canonical as ``snapshot`` writes it."""
    canonical = normalize(resource, REGISTRY[rtype].spec)
    rid = REGISTRY[rtype].id_of(canonical)
    return document(Part(ACCOUNT, region, rtype), rid, canonical)


def write(
    root: Path, rtype: str, resources: Iterable[dict[str, Any]], region: str = REGION
) -> None:
    """Make ``root/<account>/<region>/<rtype>/`` hold exactly these resources."""
    part = Part(ACCOUNT, region, rtype)
    spec, id_of = REGISTRY[rtype].spec, REGISTRY[rtype].id_of
    canonical = [normalize(r, spec) for r in resources]
    write_part(root, part, render_part(part, {id_of(r): r for r in canonical}, "yaml"))


def file_of(root: Path, rtype: str, rid: str, region: str = REGION) -> Path:
    return root / ACCOUNT / region / rtype / f"{rid}.yaml"


# --- the CLI, in-process ---------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``driftaudit ARGS``."""
    from driftaudit.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err
