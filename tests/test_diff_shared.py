"""A report's range diff and its per-commit diffs (the chart, the undone list) share what
they read and compare: no blob is read or parsed twice, no pair compared twice, and the
results are those of separate diffs."""

from __future__ import annotations

from pathlib import Path

from driftaudit.change.rangediff import Revision, diff, diff_directory, period
from driftaudit.gitrepo import open_repo
from tests.support.gitsnap import (
    commit_all,
    git,
    init_repo,
    instance,
    rule,
    security_group,
    volume,
    write,
)

SSH = rule("ingress", "tcp", "0.0.0.0/0", (22, 22))
HTTPS = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))


def history(root: Path) -> Path:
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS])])
    write(snaps, "volumes", [volume("vol-1"), volume("vol-2")])
    commit_all(repo, "day 0", "2024-01-01T06:00:00+00:00")
    # day 1: a rule opened, a volume grown, another tagged
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS, SSH])])
    write(snaps, "volumes", [volume("vol-1", size=20), volume("vol-2", tags={"a": "b"})])
    commit_all(repo, "day 1", "2024-01-02T06:00:00+00:00")
    # day 2: an instance launched
    write(snaps, "instances", [instance("i-0a", groups=["sg-0a"])])
    commit_all(repo, "day 2", "2024-01-03T06:00:00+00:00")
    # day 3: the rule closed again (undone), the volume grown again
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS])])
    write(snaps, "volumes", [volume("vol-1", size=30), volume("vol-2", tags={"a": "b"})])
    commit_all(repo, "day 3", "2024-01-04T06:00:00+00:00")
    return snaps


def blobs(repo: Path, *pairs: tuple[str, str]) -> set[str]:
    """Every blob id on either side of the snapshot files changed by these pairs."""
    found = set()
    for a, b in pairs:
        for line in git(repo, "diff", "--raw", "--no-abbrev", "--no-renames", a, b).splitlines():
            old, new = line.split()[2:4]
            found |= {old, new} - {"0" * 40}
    return found


def test_one_day_range_reads_parses_and_compares_each_file_once(tmp_path: Path) -> None:
    snaps = history(tmp_path)
    result = diff_directory(snaps, ("HEAD~1", "HEAD"), None, per_day=True)
    changed = blobs(snaps.parent, ("HEAD~1", "HEAD"))
    assert len(changed) == 4  # sg-0a and vol-1, both sides
    assert result.stats == {"blobs_read": 4, "parsed": 4, "compared": 2, "reused": 2}
    assert [d["total"] for d in result.days] == [2]
    # Without the chart: the same diff, once.
    alone = diff_directory(snaps, ("HEAD~1", "HEAD"), None, per_day=False)
    assert alone.stats == {"blobs_read": 4, "parsed": 4, "compared": 2}
    assert [c.as_dict() for c in alone.changes] == [c.as_dict() for c in result.changes]


def test_longer_range_reads_each_blob_once_and_gives_what_separate_diffs_give(
    tmp_path: Path,
) -> None:
    snaps = history(tmp_path)
    repo_dir = snaps.parent
    result = diff_directory(snaps, ("HEAD~3", "HEAD"), None, per_day=True)
    days = [(f"HEAD~{n + 1}", f"HEAD~{n}") for n in range(3)]
    every = blobs(repo_dir, ("HEAD~3", "HEAD"), *days)
    assert result.stats["blobs_read"] == result.stats["parsed"] == len(every)
    # Pairs: the range's 3 (vol-1 8->30, vol-2, i-0a; sg-0a is the same at both ends) and
    # the days' 6 (sg-0a twice, vol-1 twice, vol-2, i-0a): vol-2 and i-0a are the same pair
    # in the range and in their day, compared once.
    assert result.stats["compared"] == 7 and result.stats["reused"] == 2
    # The same answers as diffs that share nothing.
    repo, rel = open_repo(snaps)
    sha = {r: repo.resolve(r) for r in ("HEAD~3", "HEAD")}
    old, new = Revision(sha["HEAD~3"], "HEAD~3", ""), Revision(sha["HEAD"], "HEAD", "")
    separate = diff(repo, rel, old, new)
    assert [c.as_dict() for c in result.changes] == [c.as_dict() for c in separate.changes]
    days_alone, undone_alone = period(repo, rel, old, new, final=separate.changes)
    assert (result.days, result.undone) == (days_alone, undone_alone)
    assert [d["total"] for d in result.days] == [3, 1, 2]
    assert [u["text"] for u in result.undone] == ["+ ingress tcp/22 from 0.0.0.0/0"]
