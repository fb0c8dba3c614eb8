"""The report's changes-per-day chart and the history timelines: counted from real git
histories (first-parent commits, UTC days, gaps as zero), drawn as SVG that survives mail
(no script, no style element, no external reference), escaped, and the same bytes for the
same input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from driftaudit.change.rangediff import RunRecord
from driftaudit.render.charts import COLORS, QUIET, Bar, day_chart, timeline
from driftaudit.schemas import errors
from tests.support.gitsnap import (
    commit_all,
    git,
    init_repo,
    rule,
    run,
    security_group,
    volume,
    write,
)

Capsys = pytest.CaptureFixture[str]
SVG = "{http://www.w3.org/2000/svg}"
HTTPS = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
WORLD_SSH = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "quick fix")


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    # Nothing a mail client would strip or fetch, nothing that runs.
    for element in root.iter():
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}image", f"{SVG}a")
        assert not any("href" in name or name.startswith("on") for name in element.attrib)
    return root


def rects(root: ET.Element, color: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("fill") == color]


# --- the day chart --------------------------------------------------------------------------


DAYS = [
    {"date": "2026-11-01", "total": 3, "by_severity": {"critical": 2, "info": 1}},
    {"date": "2026-11-02", "total": 0, "by_severity": {}},
    {"date": "2026-11-03", "total": 1, "by_severity": {"critical": 1}},
]


def test_day_chart_stacks_severities_to_scale_with_labels_and_legend() -> None:
    root = parse(day_chart(DAYS))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == (
        "Changes per day by severity, 2026-11-01 to 2026-11-03 (4 in all)"
    )
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert "2026-11-02: no changes" in desc.text and "2026-11-01: 2 critical, 1 info" in desc.text
    critical = rects(root, COLORS["critical"])
    bars = [r for r in critical if r.find(f"{SVG}title") is not None]
    heights = sorted(float(r.get("height", "0")) for r in bars)
    assert len(bars) == 2 and heights[1] == pytest.approx(2 * heights[0], abs=0.1)
    # Most severe at the bottom: the critical part of day 1 sits below its info part.
    info = [r for r in rects(root, COLORS["info"]) if r.find(f"{SVG}title") is not None]
    day1_critical = max(bars, key=lambda r: float(r.get("height", "0")))
    assert float(info[0].get("y", "0")) < float(day1_critical.get("y", "0"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"11-01", "11-02", "11-03"} <= set(texts)
    assert "3" in texts and "1" in texts  # totals above the bars
    # The legend names the severities that occur, and only those.
    assert "critical" in texts and "info" in texts and "low" not in texts


RUN_DAYS = [
    {"date": "2026-11-01", "total": 1, "by_severity": {"critical": 1}, "runs": 1},
    {"date": "2026-11-02", "total": 0, "by_severity": {}, "runs": 2},  # quiet
    {"date": "2026-11-03", "total": 0, "by_severity": {}, "runs": 0},  # no run
]


def titled(root: ET.Element, text: str) -> list[ET.Element]:
    return [
        r
        for r in root.iter(f"{SVG}rect")
        if (t := r.find(f"{SVG}title")) is not None and (t.text or "").endswith(text)
    ]


def test_day_chart_marks_a_quiet_day_and_a_day_without_a_run_apart() -> None:
    root = parse(day_chart(RUN_DAYS))
    [quiet] = titled(root, "2026-11-02: ran, no changes")
    [gap] = titled(root, "2026-11-03: no run")
    # A short mark on the axis for the quiet day; a pale dashed column over the whole plot
    # for the day nothing is known of: never the same mark, never a bar of changes.
    assert quiet.get("fill") == QUIET and float(quiet.get("height", "0")) == 4
    assert gap.get("stroke-dasharray") and gap.get("fill") not in (QUIET, *COLORS.values())
    assert float(gap.get("height", "0")) == 150
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"critical", "ran, no changes", "no run"} <= set(texts)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == (
        "2026-11-01: 1 critical; 2026-11-02: no changes; 2026-11-03: no run"
    )
    # Days without the runs field (a template's own data): no run marks at all.
    plain = parse(day_chart([{k: v for k, v in d.items() if k != "runs"} for d in RUN_DAYS]))
    assert titled(plain, "no run") == [] and titled(plain, "ran, no changes") == []


def test_day_chart_is_the_same_bytes_for_the_same_days() -> None:
    assert day_chart(DAYS) == day_chart(json.loads(json.dumps(DAYS)))
    assert day_chart([]) == ""


def test_timeline_bars_show_certain_and_uncertain_parts_and_escape_labels() -> None:
    day = 86400
    start = 1_700_000_000 - 1_700_000_000 % day
    bars = [
        Bar("instance i-1 <b>", "#1565c0", None, start, start + 2 * day, start + 3 * day),
        Bar("rule 'x' & y", "#e65100", start + day, start + 2 * day, start + 4 * day, None),
    ]
    svg = timeline(bars, start, start + 4 * day, "Timeline: <history>", "t1")
    root = parse(svg)
    assert "&lt;b&gt;" in svg and "&amp; y" in svg
    labels = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "instance i-1 <b>  (since the first snapshot or earlier)" in labels
    assert "rule 'x' & y  (still so)" in labels
    first, second = rects(root, "#1565c0"), rects(root, "#e65100")
    # Held from the first snapshot: no pale part before, one after (gone by day 3).
    assert [r.get("fill-opacity") for r in first] == [None, "0.3"]
    assert float(first[0].get("x", "0")) == 12.0
    # Added between day 1 and day 2, still there: pale before, none after, reaching the edge.
    assert [r.get("fill-opacity") for r in second] == ["0.3", None]
    solid = second[1]
    assert float(solid.get("x", "0")) + float(solid.get("width", "0")) == pytest.approx(708)
    assert svg == timeline(bars, start, start + 4 * day, "Timeline: <history>", "t1")


# --- counting per day from git --------------------------------------------------------------


def make_history(root: Path) -> Path:
    """Two commits on one day, a day without a commit, a rule opened and reverted, and a
    branch merged on the last day."""
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS])])
    write(snaps, "volumes", [volume("vol-1")])
    commit_all(repo, "day 1", "2026-11-01T09:00:00+00:00")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS, WORLD_SSH])])
    commit_all(repo, "day 2 morning", "2026-11-02T08:00:00+00:00")
    write(snaps, "volumes", [volume("vol-1", tags={"team": "a"})])
    # 23:30 at -05:00 is already the next UTC day.
    commit_all(repo, "day 2 evening", "2026-11-01T23:30:00-05:00")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS])])
    commit_all(repo, "day 4", "2026-11-04T12:00:00+00:00")
    git(repo, "checkout", "-q", "-b", "side")
    write(snaps, "volumes", [volume("vol-1", tags={"team": "b"}), volume("vol-2")])
    commit_all(repo, "side 1", "2026-11-05T10:00:00+00:00")
    write(snaps, "volumes", [volume("vol-1", tags={"team": "c"}), volume("vol-2")])
    commit_all(repo, "side 2", "2026-11-05T11:00:00+00:00")
    git(repo, "checkout", "-q", "-")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "side", date="2026-11-06T10:00:00+00:00")
    return snaps


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("charts")
    return make_history(root)


def report_json(capsys: Capsys, snaps: Path, *args: str) -> dict[str, object]:
    code, out, err = run(capsys, "report", "-C", str(snaps), *args, "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert errors("report", data) == []
    return data


def test_days_count_each_first_parent_commit_by_utc_day(snaps: Path, capsys: Capsys) -> None:
    data = report_json(capsys, snaps, "HEAD~4", "HEAD")
    assert data["days"] == [
        # The world-open SSH rule (critical) and a tag (info, 23:30 -05:00 is 04:30 UTC).
        # Two runs that day (each commit changing snapshot files is one).
        {"date": "2026-11-02", "total": 2, "by_severity": {"critical": 1, "info": 1}, "runs": 2},
        {"date": "2026-11-03", "total": 0, "by_severity": {}, "runs": 0},
        # Reverted: counted on its day although the period's diff no longer shows the rule.
        {"date": "2026-11-04", "total": 1, "by_severity": {"medium": 1}, "runs": 1},
        # The side branch's commits are not on the first-parent chain: no run that day.
        {"date": "2026-11-05", "total": 0, "by_severity": {}, "runs": 0},
        # The merge counts on its own day, against its first parent: vol-2 added, vol-1
        # retagged; the branch's own commits are not samples.
        {"date": "2026-11-06", "total": 2, "by_severity": {"low": 1, "info": 1}, "runs": 1},
    ]
    assert data["summary"]["total"] == 2  # sg-0a ends as it began: only the volumes changed


def test_days_from_the_first_snapshot_and_not_for_text(snaps: Path, capsys: Capsys) -> None:
    first = git(snaps.parent, "rev-list", "--max-parents=0", "HEAD").strip()
    data = report_json(capsys, snaps, "--since", "2026-11-01T10:00:00Z")
    assert data["from"]["rev"] == first
    assert data["days"][0]["date"] == "2026-11-02"
    # The last commit alone (report's default): from the day after its parent (11-04), so
    # the day without a run between them shows.
    last = report_json(capsys, snaps)
    assert [(d["date"], d["runs"]) for d in last["days"]] == [("2026-11-05", 0), ("2026-11-06", 1)]
    assert last["days_without_run"] == [{"from": "2026-11-05", "to": "2026-11-05", "days": 1}]


def test_html_report_shows_the_chart_and_the_same_bytes_twice(
    snaps: Path, capsys: Capsys, tmp_path: Path
) -> None:
    outputs = []
    for n in range(2):
        target = tmp_path / f"r{n}.html"
        code, _, _ = run(
            capsys,
            "report",
            "-C",
            str(snaps),
            "HEAD~4",
            "HEAD",
            "--format",
            "html",
            "-o",
            str(target),
        )
        assert code == 0
        outputs.append(target.read_text(encoding="utf-8"))
    html = outputs[0]
    assert outputs[0] == outputs[1]
    assert html.count("<svg") == 1 and "<script" not in html and "<style" not in html
    parse(html[html.index("<svg") : html.index("</svg>") + 6])
    assert "Changes per day by severity, 2026-11-02 to 2026-11-06 (5 in all)" in html
    # Text fallback for mail clients that drop SVG: one row per day with changes.
    assert "2026-11-04</td>" in html and "2026-11-03</td>" not in html


def test_text_and_worktree_diffs_have_no_chart(snaps: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "HEAD~4", "HEAD", "--format", "html")
    assert code == 2 and "<svg" in out
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--format", "html")
    assert code == 0 and "<svg" not in out  # working tree against HEAD: no commit in range


# --- runs: a quiet day is not a day without a run ---------------------------------------------


def record(directory: str) -> str:
    run = RunRecord(("123456789012",), ("us-east-1",), ("security_groups",), 1, 0, 1, directory)
    return f"driftaudit snapshot: no changes\n\n{run.trailer()}\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Day 1 a snapshot; day 2 a run that changed nothing; day 3 no run (a commit of notes
    only); day 4 a run of another snapshot directory of the same repository; day 5 a change
    (with another run the same day)."""
    repo = init_repo(tmp_path_factory.mktemp("runs") / "repo")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS])])
    commit_all(repo, "driftaudit snapshot: initial, 1 resources", "2026-11-01T06:00:00+00:00")
    git(repo, "commit", "-q", "--allow-empty", "-m", record("snaps"), date="2026-11-02T06:00:00Z")
    (repo / "notes.txt").write_text("not a run\n", encoding="utf-8")
    commit_all(repo, "notes", "2026-11-03T06:00:00+00:00")
    git(repo, "commit", "-q", "--allow-empty", "-m", record("other"), date="2026-11-04T06:00:00Z")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [HTTPS, WORLD_SSH])])
    commit_all(repo, "driftaudit snapshot: 1 change(s)", "2026-11-05T06:00:00+00:00")
    git(repo, "commit", "-q", "--allow-empty", "-m", record("snaps"), date="2026-11-05T18:00:00Z")
    return snaps


def test_days_count_runs_and_the_days_without_one(runs: Path, capsys: Capsys) -> None:
    first = git(runs.parent, "rev-list", "--max-parents=0", "HEAD").strip()
    data = report_json(capsys, runs, first, "HEAD")
    assert [(d["date"], d["runs"], d["total"]) for d in data["days"]] == [
        ("2026-11-02", 1, 0),  # quiet: a run, no change
        ("2026-11-03", 0, 0),  # notes are not a run
        ("2026-11-04", 0, 0),  # nor is another directory's run
        ("2026-11-05", 2, 1),
    ]
    assert data["days_without_run"] == [{"from": "2026-11-03", "to": "2026-11-04", "days": 2}]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_format_names_the_days_without_a_run(runs: Path, capsys: Capsys, fmt: str) -> None:
    first = git(runs.parent, "rev-list", "--max-parents=0", "HEAD").strip()
    code, out, _ = run(capsys, "report", "-C", str(runs), first, "HEAD", "--format", fmt)
    assert code == 0
    assert "Days without a snapshot run" in out and "2026-11-03 to 2026-11-04 (2 days)" in out
    # A period with a run every day says nothing of it.
    code, out, _ = run(capsys, "report", "-C", str(runs), "HEAD~1", "HEAD", "--format", fmt)
    assert code == 0 and "Days without a snapshot run" not in out


def test_run_records_leave_diff_ranges_and_since_as_they_were(runs: Path, capsys: Capsys) -> None:
    first = git(runs.parent, "rev-list", "--max-parents=0", "HEAD").strip()
    change = git(runs.parent, "rev-parse", "HEAD~1").strip()
    # A range holding run records compares the same trees as one without them.
    through_records = report_json(capsys, runs, first, "HEAD")
    direct = report_json(capsys, runs, first, change)
    assert through_records["changes"] == direct["changes"] and direct["changes"]
    assert report_json(capsys, runs, first, "HEAD~4")["changes"] == []
    # --since still starts at the last commit that changed a snapshot file.
    since = report_json(capsys, runs, "--since", "2026-11-04T12:00:00Z")
    assert since["from"]["rev"] == first and since["changes"] == direct["changes"]
