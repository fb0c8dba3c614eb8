"""Snapshot files on disk: atomic, minimal writes; a part's directory holds exactly its
resources; names that could escape or confuse the layout are refused."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from driftaudit.canonical import loads
from driftaudit.collect.engine import Part
from driftaudit.collect.store import (
    LEGACY_TEMP_PREFIX,
    StoreError,
    WriteStats,
    atomic_write,
    part_dir,
    remove_stale_temps,
    render_part,
    write_part,
)
from driftaudit.errors import UnsafeName
from driftaudit.layout import TEMP_SUFFIX

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
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


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
    stale = [
        directory / f".vol-1.yaml.4242{TEMP_SUFFIX}",
        directory / f".vol-9.json.1{TEMP_SUFFIX}",
        directory / f"{LEGACY_TEMP_PREFIX}7-vol-3.yaml",  # how earlier versions named them
    ]
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


# --- links and other things where the layout needs a directory ------------------------------

NAMES = (PART.account, PART.region, PART.type)


def lstat_tree(root: Path) -> dict[str, tuple[int, int, int, bytes | str | None]]:
    """Everything under root, links not followed: mode, inode, mtime_ns, content."""
    out: dict[str, tuple[int, int, int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            content: bytes | str | None = None
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            out[str(path.relative_to(root))] = (
                info.st_mode,
                info.st_ino,
                info.st_mtime_ns,
                content,
            )
    return out


def victim(tmp_path: Path, below: tuple[str, ...]) -> tuple[Path, Path]:
    """A directory outside DIR holding what a link into it would expose: ``below`` (the
    layout levels under the link) with a snapshot-named file, one that a prune would remove,
    and a note. Returns (victim root, the directory standing for the part's)."""
    target = tmp_path / "victim"
    inner = target.joinpath(*below)
    inner.mkdir(parents=True)
    (inner / "vol-1.yaml").write_text("someone else's file\n")
    (inner / "vol-old.yaml").write_text("a prune through the link would remove this\n")
    (inner / "notes.txt").write_text("keep\n")
    return target, inner


@pytest.mark.parametrize("level", [1, 2, 3], ids=["account", "region", "type"])
def test_a_symlinked_directory_is_replaced_and_its_target_untouched(
    tmp_path: Path, level: int
) -> None:
    root = tmp_path / "snap"
    target, _ = victim(tmp_path, NAMES[level:])
    link = root.joinpath(*NAMES[:level])
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)
    before = lstat_tree(target)
    stats = write(root, PART, resources("vol-1", "vol-2"))
    assert lstat_tree(target) == before  # nothing written, replaced or pruned there
    assert stats.replaced_links == [str(link)]
    assert (stats.written, stats.unchanged, stats.removed) == (2, 0, 0)
    for depth in range(1, 4):
        assert not root.joinpath(*NAMES[:depth]).is_symlink()
    directory = part_dir(root, PART)
    assert sorted(p.name for p in directory.iterdir()) == ["vol-1.yaml", "vol-2.yaml"]
    assert loads((directory / "vol-1.yaml").read_bytes())["id"] == "vol-1"


def test_an_empty_part_behind_a_link_prunes_nothing_there(tmp_path: Path) -> None:
    # The case: a link committed where the type directory belongs and the type now
    # empty made the run remove the target's files ("2 removed").
    root = tmp_path / "snap"
    target, _ = victim(tmp_path, ())
    link = part_dir(root, PART)
    link.parent.mkdir(parents=True)
    link.symlink_to(target, target_is_directory=True)
    before = lstat_tree(target)
    stats = write(root, PART, {})
    assert (stats.written, stats.unchanged, stats.removed, stats.replaced_links) == (0, 0, 0, [])
    assert lstat_tree(target) == before
    assert link.is_symlink()  # nothing to write there: left alone, never followed


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_a_non_directory_where_a_directory_belongs_is_refused_in_one_line(
    tmp_path: Path, kind: str
) -> None:
    root = tmp_path / "snap"
    blocker = part_dir(root, PART)
    blocker.parent.mkdir(parents=True)
    if kind == "file":
        blocker.write_text("someone's notes\n")
    else:
        os.mkfifo(blocker)
    with pytest.raises(StoreError) as caught:
        write(root, PART, resources("vol-1"))
    message = str(caught.value)
    assert "\n" not in message and str(blocker) in message
    assert "where the layout needs a directory" in message
    if kind == "file":
        assert blocker.read_text() == "someone's notes\n"  # driftaudit deletes only links
    else:
        assert stat.S_ISFIFO(blocker.lstat().st_mode)


def test_a_symlinked_snapshot_file_is_replaced_never_its_target(tmp_path: Path) -> None:
    root = tmp_path / "snap"
    write(root, PART, resources("vol-1", "vol-2"))
    directory = part_dir(root, PART)
    # The target holds exactly the bytes vol-1 would get: a link is still not "unchanged".
    target = tmp_path / "outside.yaml"
    target.write_bytes((directory / "vol-1.yaml").read_bytes())
    for name in ("vol-1.yaml", "vol-2.yaml"):
        (directory / name).unlink()
        (directory / name).symlink_to(target)
    before = lstat_tree(tmp_path)
    stats = write(root, PART, resources("vol-1"))  # vol-2 vanished
    assert (stats.written, stats.unchanged, stats.removed) == (1, 0, 1)
    assert not (directory / "vol-1.yaml").is_symlink()
    assert loads((directory / "vol-1.yaml").read_bytes())["id"] == "vol-1"
    assert not os.path.lexists(directory / "vol-2.yaml")
    after = lstat_tree(tmp_path)
    assert after["outside.yaml"] == before["outside.yaml"]


def test_stale_temp_files_are_removed_from_the_layout_only_never_through_links(
    tmp_path: Path,
) -> None:
    root = tmp_path / "snap"
    write(root, PART, resources("vol-1"))
    write(root, OTHER, {"i-1": {"InstanceId": "i-1", "Tags": {}}})
    stale = [
        part_dir(root, PART) / f".vol-1.yaml.4242{TEMP_SUFFIX}",
        part_dir(root, OTHER) / f".i-9.json.77{TEMP_SUFFIX}",
        part_dir(root, OTHER) / f"{LEGACY_TEMP_PREFIX}77-i-1.yaml",
    ]
    for path in stale:
        path.write_bytes(b"half a fi")
    # Not the layout's: a temp-named file at DIR's top, in a notes tree, behind a link.
    kept = [root / f".report.html.1{TEMP_SUFFIX}"]
    notes = root / "notes" / "a" / "b"
    notes.mkdir(parents=True)
    kept.append(notes / f".n.yaml.1{TEMP_SUFFIX}")
    target, inner = victim(tmp_path, ("volumes",))
    kept.append(inner / f".vol-1.yaml.1{TEMP_SUFFIX}")
    (root / PART.account / "us-west-2").symlink_to(target, target_is_directory=True)
    for path in kept:
        path.write_bytes(b"not a leftover of ours")
    assert remove_stale_temps(root) == 3
    assert not any(os.path.lexists(p) for p in stale)
    assert all(p.read_bytes() == b"not a leftover of ours" for p in kept)
    assert remove_stale_temps(tmp_path / "missing") == 0


# --- a write that fails midway ----------------------------------------------------------------

FILL = """
import json, resource, signal, sys
from pathlib import Path
from driftaudit.collect.engine import Part
from driftaudit.collect.store import write_part

root, big = Path(sys.argv[1]), sys.argv[2]
part = Part("123456789012", "eu-west-1", "volumes")
if big == "setup":
    write_part(root, part, {"vol-1.yaml": b"old one\\n", "vol-2.yaml": b"old two\\n"})
    sys.exit(0)
if len(sys.argv) > 3:  # a file size limit: write() then fails with EFBIG (not SIGXFSZ)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    write_part(root, part, {"vol-1.yaml": b"new small\\n", "vol-2.yaml": b"x" * int(big)})
    error = None
except Exception as e:
    error = f"{type(e).__name__}: {e}"
directory = root / "123456789012" / "eu-west-1" / "volumes"
files = {p.name: p.read_bytes().decode() for p in sorted(directory.iterdir())}
print(json.dumps({"error": error, "files": files}))
"""
OLD = {"vol-1.yaml": "old one\n", "vol-2.yaml": "old two\n"}


def fill_script(tmp_path: Path) -> str:
    script = tmp_path / "fill.py"
    script.write_text(FILL)
    return str(script)


@pytest.mark.e2e  # child processes
def test_a_write_failing_midway_leaves_no_temp_file_and_the_old_files(tmp_path: Path) -> None:
    # RLIMIT_FSIZE in a child: the kernel fails the write of the big file partway (EFBIG),
    # as it would with ENOSPC; the half-written temporary file must go too.
    root, script = tmp_path / "snap", fill_script(tmp_path)
    subprocess.run([sys.executable, script, str(root), "setup"], check=True)
    proc = subprocess.run(
        [sys.executable, script, str(root), str(1 << 20), str(64 * 1024)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["files"] == OLD  # no temporary file, each old file whole
    assert result["error"].startswith("StoreError: cannot write ")
    assert "File too large" in result["error"] and "\n" not in result["error"]


def userns_tmpfs(mountpoint: Path, options: str, command: str) -> subprocess.CompletedProcess[str]:
    """Run the shell ``command`` in a user and mount namespace where ``mountpoint`` is a
    fresh tmpfs mounted with ``options``; skips where the system allows no unprivileged
    user namespaces (some CI kernels)."""
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no unprivileged user namespace (unshare -Urm) to mount a small tmpfs")
    script = 'mount -t tmpfs -o "$1" tmpfs "$2" && exec sh -c "$3"'
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", options, str(mountpoint), command],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.e2e  # child processes in a user namespace
def test_enospc_on_a_full_filesystem_leaves_no_temp_file(tmp_path: Path) -> None:
    # A real full filesystem: a 64 kB tmpfs, in a user namespace (no root needed).
    root, script = tmp_path / "small", fill_script(tmp_path)
    root.mkdir()
    run = f"{shlex.quote(sys.executable)} {shlex.quote(script)} {shlex.quote(str(root))}"
    proc = userns_tmpfs(root, "size=64k", f"{run} setup && {run} {1 << 20}")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["files"] == OLD
    assert result["error"].startswith("StoreError: cannot write ")
    assert "No space left on device" in result["error"]
