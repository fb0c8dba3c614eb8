"""The snapshot layout, defined once (driftaudit/layout.py): which paths are snapshot files,
what their envelope must hold, and how git is asked for them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from driftaudit import layout


@pytest.mark.parametrize(
    "rel",
    [
        "123456789012/us-east-1/security_groups/sg-0abc.yaml",
        "123456789012/us-gov-west-1/instances/i-0abc.json",
        "123456789012/eusc-de-east-1/volumes/vol-0abc.yaml",
        "123456789012/us-east-1/load_balancers/app.web.50dc6c495c0c9188.yaml",
    ],
)
def test_snapshot_paths(rel: str) -> None:
    found = layout.parse(rel)
    assert found is not None and found.rel == rel


@pytest.mark.parametrize(
    "rel",
    [
        "12345678901/us-east-1/volumes/vol-1.yaml",  # 11 digits
        "123456789012/us-east-1/volume/vol-1.yaml",  # not a registered type
        "123456789012/us-east-1/volumes/vol-1.yml",
        "123456789012/us-east-1/volumes/.vol-1.yaml.4242.driftaudit-tmp",
        "123456789012/us-east-1/volumes/.hidden.yaml",
        "123456789012/us-east-1/volumes/sub/vol-1.yaml",
        "notes/a/b/n.yaml",
        "baselines/team/prod/sgs.yaml",
    ],
)
def test_not_snapshot_paths(rel: str) -> None:
    assert layout.parse(rel) is None


def test_under_a_directory() -> None:
    assert layout.under("snaps/123456789012/us-east-1/vpcs/vpc-1.yaml", "snaps") is not None
    assert layout.under("other/123456789012/us-east-1/vpcs/vpc-1.yaml", "snaps") is None
    assert layout.under("123456789012/us-east-1/vpcs/vpc-1.yaml", ".") is not None


def test_pathspecs_take_the_directory_name_literally(tmp_path: Path) -> None:
    for name in ("snap[1]", "snap1", "snap*"):
        d = tmp_path / name / "123456789012" / "us-east-1" / "volumes"
        d.mkdir(parents=True)
        (d / "vol-1.yaml").write_text("x\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    for name in ("snap[1]", "snap1", "snap*"):
        listed = subprocess.run(
            ["git", "ls-files", "--", *layout.pathspecs(name)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert listed == [f"{name}/123456789012/us-east-1/volumes/vol-1.yaml"], name


@pytest.mark.parametrize(
    "text,problem",
    [
        ("- a\n", "not a driftaudit snapshot document"),
        ("account: '1'\n", "account is missing or not valid"),
        (
            "account: '123456789012'\nregion: us-east-1\ntype: volumes\nid: vol-1\nresource: []\n",
            "resource is missing or not a mapping",
        ),
        (
            "account: '123456789012'\nregion: us-east-1\ntype: nope\nid: vol-1\nresource: {}\n",
            "unknown resource type 'nope'",
        ),
        (
            "account: '123456789012'\nregion: us-east-1\ntype: volumes\nid: vol-1\n"
            "resource: {Tags: [1]}\n",
            "Tags must be a mapping of strings",
        ),
        (
            "account: '123456789012'\nregion: us-east-1\ntype: security_groups\nid: sg-1\n"
            "resource: {Rules: 5}\n",
            "Rules: 5 is not a list of rules",
        ),
        ("a: &x [1]\nb: *x\n", "anchors and aliases are not accepted"),
        # (A repeated key in a snapshot file is not canonical: validate names it.)
    ],
)
def test_parse_document_names_the_problem(text: str, problem: str) -> None:
    doc, message = layout.parse_document(text.encode(), "f.yaml")
    assert doc is None and message is not None
    assert message.startswith("f.yaml:") and problem in message, message


def test_read_regular_refuses_links_fifos_and_oversized_files(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("secret\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.yaml"
    import os

    os.mkfifo(fifo)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 101)
    with pytest.raises(layout.NotReadable, match="symbolic link"):
        layout.read_regular(link)
    with pytest.raises(layout.NotReadable, match="FIFO"):
        layout.read_regular(fifo)
    with pytest.raises(layout.NotReadable, match="larger than"):
        layout.read_regular(big, limit=100)
    assert layout.read_regular(target) == b"secret\n"
