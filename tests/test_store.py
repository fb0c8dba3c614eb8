"""Snapshot files on disk: atomic, minimal writes; a part's directory holds exactly its
resources; names that could escape or confuse the layout are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftaudit.canonical import loads
from driftaudit.collect.engine import Part
from driftaudit.collect.store import (
    TEMP_PREFIX,
    WriteStats,
    atomic_write,
    part_dir,
    render_part,
    write_part,
)
from driftaudit.errors import UnsafeName

PART = Part("123456789012", "eu-west-1", "volumes")
OTHER = Part("123456789012", "eu-west-1", "instances")


def volume(vid: str, size: int = 8) -> dict[str, object]:
    return {"VolumeId": vid, "Size": size, "State": "available", "Tags": {"Name": vid}}


def resources(*ids: str, size: int = 8) -> dict[str, dict[str, object]]:
    return {i: volume(i, size) for i in ids}


def write(
    root: Path, part: Part, res: dict[str, dict[str, object]], fmt: str = "yaml"
) -> WriteStats:
    return write_part(root, part, render_part(part, res, fmt))


def tree(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: bytes, mtime_ns and inode."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout_and_content(tmp_path: Path) -> None:
    stats = write(tmp_path, PART, resources("vol-1", "vol-2"))
    assert (stats.written, stats.unchanged, stats.removed) == (2, 0, 0)
    directory = tmp_path / "123456789012" / "eu-west-1" / "volumes"
    assert sorted(p.name for p in directory.iterdir()) == ["vol-1.yaml", "vol-2.yaml"]
    doc = loads((directory / "vol-1.yaml").read_bytes())
    assert doc == {
        "account": "123456789012",
        "region": "eu-west-1",
        "type": "volumes",
        "id": "vol-1",
        "resource": volume("vol-1"),
    }


def test_rewrite_of_unchanged_state_touches_nothing(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1", "vol-2"))
    before = tree(tmp_path)
    stats = write(tmp_path, PART, resources("vol-2", "vol-1"))
    assert (stats.written, stats.unchanged, stats.removed) == (0, 2, 0)
    assert tree(tmp_path) == before  # same bytes, same mtime_ns, same inode


def test_changed_resource_is_replaced_whole_and_only_it(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1", "vol-2"))
    before = tree(tmp_path)
    path = part_dir(tmp_path, PART) / "vol-1.yaml"
    with open(path, "rb") as reader:  # a reader that opened the old file...
        changed = {**resources("vol-1", size=100), **resources("vol-2")}
        stats = write(tmp_path, PART, changed)
        assert reader.read() == before[str(path.relative_to(tmp_path))][0]  # ...sees it whole
    assert (stats.written, stats.unchanged) == (1, 1)
    after = tree(tmp_path)
    key1, key2 = (str((part_dir(tmp_path, PART) / n).relative_to(tmp_path)) for n in
                  ("vol-1.yaml", "vol-2.yaml"))  # fmt: skip
    assert after[key2] == before[key2]
    # Replaced by rename (new inode), never truncated in place.
    assert after[key1][2] != before[key1][2]
    assert loads(after[key1][0])["resource"]["Size"] == 100
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def test_vanished_resources_are_removed(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1", "vol-2", "vol-3"))
    stats = write(tmp_path, PART, resources("vol-2", "vol-4"))
    assert (stats.written, stats.unchanged, stats.removed) == (1, 1, 2)
    assert sorted(p.name for p in part_dir(tmp_path, PART).iterdir()) == [
        "vol-2.yaml",
        "vol-4.yaml",
    ]


def test_empty_part_removes_its_directories_but_not_the_root(tmp_path: Path) -> None:
    root = tmp_path / "snap"
    write(root, PART, resources("vol-1"))
    stats = write(root, PART, {})
    assert stats.removed == 1
    assert root.is_dir() and list(root.iterdir()) == []  # git keeps no empty directories


def test_other_parts_and_foreign_files_are_untouched(tmp_path: Path) -> None:
    write(tmp_path, OTHER, {"i-1": {"InstanceId": "i-1", "Tags": {}}})
    other_region = Part(PART.account, "us-east-1", PART.type)
    write(tmp_path, other_region, resources("vol-9"))
    (tmp_path / "README.md").write_text("mine\n")
    foreign = part_dir(tmp_path, OTHER).parent / "notes.txt"
    foreign.write_text("keep\n")
    write(tmp_path, PART, resources("vol-1"))
    keep = tree(tmp_path)
    write(tmp_path, PART, resources("vol-5"))
    write(tmp_path, PART, {})
    after = tree(tmp_path)
    assert {k: v for k, v in keep.items() if "/volumes/" not in k or "us-east-1" in k} == after
    assert "README.md" in after and str(foreign.relative_to(tmp_path)) in after


def test_non_snapshot_files_in_a_part_directory_are_kept(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1"))
    note = part_dir(tmp_path, PART) / "NOTES.md"
    note.write_text("hand-written\n")
    write(tmp_path, PART, {})
    assert note.read_text() == "hand-written\n"


def test_stale_temp_files_are_cleaned(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1"))
    directory = part_dir(tmp_path, PART)
    stale = [directory / f"{TEMP_PREFIX}4242-vol-1.yaml", directory / f"{TEMP_PREFIX}1-vol-9.json"]
    for path in stale:
        path.write_bytes(b"half a fi")
    stats = write(tmp_path, PART, resources("vol-1"))
    assert stats.unchanged == 1 and stats.removed == 0  # temp files are not resources
    assert not any(p.exists() for p in stale)
    assert [p.name for p in directory.iterdir()] == ["vol-1.yaml"]


def test_failed_atomic_write_leaves_no_temp_file_and_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "vol-1.yaml"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        atomic_write(target, b"new\n")
    assert target.is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["vol-1.yaml"]


def test_format_switch_replaces_yaml_by_json(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1", "vol-2"), "yaml")
    stats = write(tmp_path, PART, resources("vol-1", "vol-2"), "json")
    assert (stats.written, stats.removed) == (2, 2)
    files = sorted(p.name for p in part_dir(tmp_path, PART).iterdir())
    assert files == ["vol-1.json", "vol-2.json"]
    doc = loads((part_dir(tmp_path, PART) / "vol-1.json").read_bytes(), "json")
    assert doc["resource"] == volume("vol-1")


UNSAFE = ["../x", "a/b", ".hidden", "x\0y", "", ".", "..", "/abs", "a\\b", "i-1\n", "-x", "x" * 256]


@pytest.mark.parametrize("bad", UNSAFE, ids=repr)
def test_unsafe_resource_id_is_refused_and_nothing_written(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "snap"
    with pytest.raises(UnsafeName):
        write(root, PART, {"vol-ok": volume("vol-ok"), bad: volume(bad)})
    assert not root.exists()


@pytest.mark.parametrize("field", ["account", "region", "type"])
@pytest.mark.parametrize("bad", ["..", "../x", "a/b", ".hidden", ""], ids=repr)
def test_unsafe_part_names_are_refused(tmp_path: Path, field: str, bad: str) -> None:
    root = tmp_path / "snap"
    part = Part(**{**PART.__dict__, field: bad})
    with pytest.raises(UnsafeName):
        write(root, part, resources("vol-1"))
    assert not root.exists()


def test_unsafe_id_does_not_disturb_existing_files(tmp_path: Path) -> None:
    write(tmp_path, PART, resources("vol-1"))
    before = tree(tmp_path)
    with pytest.raises(UnsafeName):
        write(tmp_path, PART, {"../../evil": volume("x")})
    assert tree(tmp_path) == before
