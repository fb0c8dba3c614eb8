"""How the history index is built (issue 14): streamed from git a group of files at a time,
the tool's own YAML read by the fast reader (driftaudit/canonread.py), anything else
by the full parser, large builds spread over worker processes. None of that may change an
answer: the index must be the same row for row whichever way its files were read.

The story is tests/test_history_network.py's (every type the index reads: instances, groups,
route tables, a network ACL, a prefix list; two accounts; quiet runs). Its files are written
by driftaudit's own writer; a second history holds the same data edited by hand (comments,
another indentation and quoting, JSON instead of YAML), so that none of it is canonical.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest
import yaml

from driftaudit import canonread
from driftaudit.history import extract, gitlog
from tests.support.gitsnap import git, init_repo, run
from tests.test_history_network import (
    PLAN,
    PROD,
    WEB_IP,
    Story,
    commit,
    make_story,
    quiet_run,
    write,
    write_day,
)

Capsys = pytest.CaptureFixture[str]
TABLES = (
    "held",
    "rules",
    "groups",
    "members",
    "entries",
    "links",
    "acl_subnets",
    "acl_entries",
)


def index_rows(story: Story, capsys: Capsys) -> dict[str, list[str]]:
    """Every interval row of the story's index (built by a query), without row ids, and the
    samples without their commits (two histories of the same story differ in those)."""
    code, _, err = run(capsys, "history", "ip", WEB_IP, "-C", str(story.snaps))
    assert code == 0, err
    db = sqlite3.connect(story.snaps / ".driftaudit" / "history.sqlite")
    out = {}
    for table in (*TABLES, "samples"):
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        kept = [c for c in columns if c not in ("id", "sha")]
        out[table] = sorted(map(repr, db.execute(f"SELECT {', '.join(kept)} FROM {table}")))
    db.close()
    return out


def by_hand(snaps: Path) -> None:
    """Rewrite every snapshot file as someone editing it might: same data, not the
    emitter's text (instances re-dumped by PyYAML with four-space indents and a comment,
    groups in PyYAML's flow style, route tables as JSON, the rest with a comment at the end)."""
    for path in sorted(snaps.glob("*/*/*/*.yaml")):
        data = yaml.safe_load(path.read_text())
        rtype = path.parent.name
        if rtype == "instances":
            text = "# checked by hand\n" + yaml.safe_dump(data, indent=4, sort_keys=False)
        elif rtype == "security_groups":
            text = yaml.safe_dump(data, default_flow_style=None, width=60)
        elif rtype == "route_tables":
            path.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
            path.unlink()
            continue
        else:
            text = path.read_text() + "# end\n"
        path.write_text(text)


def hand_edited_story(root: Path) -> Story:
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    commits = {}
    for n in range(1, 8):
        if n in PLAN:
            write_day(snaps, *PLAN[n])
            if n == 3:  # as play() does: a change to a type history does not read
                write(snaps, PROD, "volumes", [{"VolumeId": "vol-1", "Size": 9}])
            by_hand(snaps)
            commits[n] = commit(repo, n)
        else:
            commits[n] = quiet_run(repo, n)
    return Story(repo, snaps, commits)


def test_hand_edited_files_give_the_index_of_the_tools_own(tmp_path: Path, capsys: Capsys) -> None:
    own = make_story(tmp_path / "own")
    edited = hand_edited_story(tmp_path / "edited")
    # The edited files really are left to the full parser ...
    for path in edited.snaps.glob("*/*/*/*.*"):
        if path.suffix == ".yaml":
            with pytest.raises(canonread.NotCanonical):
                canonread.read(path.read_text())
    # ... and the tool's own are not.
    for path in own.snaps.glob("*/*/*/*.yaml"):
        canonread.read(path.read_text())
    assert (edited.snaps / "123456789012/us-east-1/route_tables/rtb-0prod.json").is_file()
    assert index_rows(edited, capsys) == index_rows(own, capsys)


def test_a_file_renamed_to_json_is_the_same_resource(tmp_path: Path, capsys: Capsys) -> None:
    """From YAML to JSON in one commit (a deletion and an addition of the same resource):
    its windows go on; and when the new file does not parse, the resource keeps its state."""
    story = make_story(tmp_path / "s", days=1)
    before = index_rows(story, capsys)["held"]
    web = story.snaps / "123456789012/us-east-1/instances/i-0web1.yaml"
    web.with_suffix(".json").write_text(json.dumps(yaml.safe_load(web.read_text())))
    web.unlink()
    commit(story.repo, 2)
    assert index_rows(story, capsys)["held"] == before  # still open, nothing closed
    admin = story.snaps / "123456789012/us-east-1/instances/i-0admin1.yaml"
    admin.with_suffix(".json").write_text("{not json")
    admin.unlink()
    commit(story.repo, 3)
    code, out, err = run(capsys, "history", "ip", "10.191.1.10", "-C", str(story.snaps))
    assert code == 0 and "i-0admin1.json:1: does not parse" in err
    assert "until  the last snapshot" in out  # kept, not taken for deleted
    assert index_rows(story, capsys)["held"] == before


@pytest.mark.e2e  # forks worker processes
@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods(),
    reason="worker processes need two cores and fork",
)
def test_worker_processes_and_small_reads_give_the_same_index(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batching is tuning, never meaning: files read by worker processes, in groups of
    two, the log read a few bytes at a time, blobs asked three at a time, give the index of
    the ordinary build (a large build uses the workers; a test story is far too small)."""
    ordinary = index_rows(make_story(tmp_path / "a"), capsys)
    monkeypatch.setattr(extract, "PARALLEL_FROM", 1)
    monkeypatch.setattr(extract, "GROUP", 2)
    monkeypatch.setattr(gitlog, "_CHUNK", 7)
    monkeypatch.setattr(gitlog.BlobReader, "GROUP", 3)
    story = make_story(tmp_path / "b")
    assert index_rows(story, capsys) == ordinary
    assert git(story.repo, "status", "--porcelain") == ""


def test_an_index_changed_behind_driftaudits_back_is_checked_whole(
    tmp_path: Path, capsys: Capsys
) -> None:
    """A run that finds the index as driftaudit last left it skips the whole-file checks;
    any other write is caught, even one that puts the size and modification time back."""
    story = make_story(tmp_path / "s", days=3)
    index_rows(story, capsys)
    index = story.snaps / ".driftaudit" / "history.sqlite"
    checked = index.with_name("history.sqlite.checked")
    assert checked.is_file()
    before = index.stat()
    db = sqlite3.connect(index)
    db.execute("UPDATE held SET to_seq = 99")
    db.commit()
    db.close()
    os.utime(index, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert index.stat().st_size == before.st_size
    code, out, err = run(
        capsys, "history", "ip", WEB_IP, "-C", str(story.snaps), "--format", "json"
    )
    assert code == 0, err
    update = json.loads(out)["index"]["update"]
    assert update["mode"] == "full" and "bad intervals" in update["reason"]


def test_the_check_record_is_never_written_through_a_link(tmp_path: Path, capsys: Capsys) -> None:
    story = make_story(tmp_path / "s", days=2)
    index_rows(story, capsys)
    checked = story.snaps / ".driftaudit" / "history.sqlite.checked"
    target = tmp_path / "elsewhere.txt"
    target.write_text("not driftaudit's\n")
    checked.unlink()
    checked.symlink_to(target)
    commit(story.repo, 3)  # an update, then a record
    assert index_rows(story, capsys)["samples"]
    assert target.read_text() == "not driftaudit's\n" and checked.is_symlink()
