"""Data cannot forge the audit trail: a tag, a name or a rule description holding line breaks,
``Driftaudit-Failed:`` lines or Markdown fences stays one visible line of data in the commit
message, in text and Markdown output, and in what ``report``/``diff`` read back from git.

The Markdown is read by a CommonMark parser (markdown-it-py, with GitHub's tables), the way
a job summary or pull-request comment renders it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from driftaudit.change.rangediff import RunRecord, recorded_failures, recorded_run
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    git,
    init_repo,
    rule,
    run,
    security_group,
    write,
)
from tests.support.motoserver import MotoServer

Capsys = pytest.CaptureFixture[str]
FORGED = f"Driftaudit-Failed: {ACCOUNT}/{REGION}/instances forged"
FORGED_RUN = (
    f"Driftaudit-Run: accounts={ACCOUNT} regions={REGION} types=instances parts=1 failed=0"
    " resources=1 dir=snaps"
)
INTRO = "Parts that could not be read or written (their previous files are kept):"
#: Every character Python's str.splitlines() breaks a line at, and two that it does not but
#: that still move the cursor or reorder text.
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
HOSTILE_NAME = "x\n```\n# INJECTED [link](https://evil.example/)\n"
FENCE_BREAKER = "a ```` b ``` c\n````\n# INJECTED"


def forged_lines(text: str) -> list[str]:
    """Lines of ``text`` (as any reader splits them) that data tried to put there."""
    return [
        line
        for line in text.splitlines()
        if line.lstrip().startswith(
            ("Driftaudit-Failed", "Driftaudit-Run", "# INJECTED", "Parts that could")
        )
    ]


# --- commit messages and the failed parts read back from them ------------------------------------


def test_tags_cannot_forge_lines_of_the_commit_message_or_failed_parts(
    moto: MotoServer, tmp_path: Path, capsys: Capsys
) -> None:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto.url)
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snaps = tmp_path / "snaps"
    args = ["snapshot", REGION, "-o", str(snaps), "--commit", "-q", "--type", "volumes"]
    assert run(capsys, *args, "--endpoint-url", moto.url)[0] == 0
    # The breaks an AWS (XML) response can carry; the others are tried through files below.
    tags = [
        {"Key": f"K{n}", "Value": f"x{brk}{FORGED}{brk}{brk}{INTRO}{brk}{FORGED}"}
        for n, brk in enumerate(["\n", "\r\n", "\x85", "\u2028", "\u2029"])
    ]
    tags.append({"Key": "Name", "Value": f"web\n\n{INTRO}\n{FORGED}"})
    tags.append({"Key": f"k\u2028{FORGED}", "Value": "v"})
    tags.append({"Key": "run", "Value": f"x\n\n{FORGED_RUN}"})
    ec2.create_tags(Resources=[vol], Tags=tags)
    code, _, err = run(capsys, *args, "--endpoint-url", moto.url)
    assert code == 0, err

    message = git(snaps, "log", "-1", "--format=%B")
    # The one Driftaudit- line is the run record driftaudit wrote, last.
    assert forged_lines(message) == [message.rstrip("\n").split("\n")[-1]]
    assert recorded_run(message) == RunRecord((ACCOUNT,), (REGION,), ("volumes",), 1, 0, 1, ".")
    assert message.startswith("driftaudit snapshot: ")
    assert f"x\\n\\n{FORGED_RUN}" in message
    # The data is still there, visibly escaped on its own line.
    assert f"{vol} (web\\n\\n{INTRO}\\n{FORGED})" in message
    assert f"\\u2028{FORGED}" in message
    for fmt in ("json", "text", "markdown"):
        code, out, err = run(capsys, "report", "-C", str(snaps), "--format", fmt)
        assert (code, err) == (0, "")
        if fmt == "json":
            assert json.loads(out)["failed_parts"] == []
        else:
            assert forged_lines(out) == []
            assert "Parts that failed" not in out and "**Parts that failed**" not in out


def _message_commit(repo: Path, message: str) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def hand_made(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    write(repo / "snaps", "security_groups", [security_group("sg-0a", "web")])
    commit_all(repo, "driftaudit snapshot: initial, 1 resources")
    return repo


def _failed_parts(capsys: Capsys, snaps: Path) -> list[str]:
    code, out, err = run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", "--format", "json")
    assert code == 0, err
    return list(json.loads(out)["failed_parts"])


@pytest.mark.parametrize(
    "message",
    [
        # Not a commit driftaudit made.
        f"update notes\n\n{INTRO}\n{FORGED}\n",
        # driftaudit's, but the lines are not its final paragraph.
        f"driftaudit snapshot: 1 change(s) (1 info)\n\n{INTRO}\n{FORGED}\n\n[info] x: + tag a\n",
        # The final paragraph, but not in the form driftaudit writes it.
        f"driftaudit snapshot: no changes\n\n{FORGED}\n",
        f"driftaudit snapshot: no changes\n\n{INTRO}\n{FORGED}\nsomething else\n",
        f"driftaudit snapshot: no changes\n\n{INTRO}\nDriftaudit-Failed: not a part\n",
        f"driftaudit snapshot: no changes\n\n{INTRO}\n  {FORGED}\n",
    ],
    ids=["foreign", "middle", "no-intro", "extra-line", "not-a-part", "indented"],
)
def test_failed_parts_are_read_only_as_driftaudit_writes_them(
    hand_made: Path, capsys: Capsys, message: str
) -> None:
    _message_commit(hand_made, message)
    assert _failed_parts(capsys, hand_made / "snaps") == []


def test_failed_parts_written_by_driftaudit_are_read(hand_made: Path, capsys: Capsys) -> None:
    part = f"{ACCOUNT}/{REGION}/volumes access denied in ec2:DescribeVolumes: x"
    other = f"{ACCOUNT}/eu-west-1/key_pairs timed out after 300 s"
    _message_commit(
        hand_made,
        f"driftaudit snapshot: no changes\n\n{INTRO}\n"
        f"Driftaudit-Failed: {part}\nDriftaudit-Failed: {other}\n",
    )
    assert _failed_parts(capsys, hand_made / "snaps") == [part, other]
    # Since every run is recorded, the run record follows the failures as the last paragraph.
    _message_commit(
        hand_made,
        f"driftaudit snapshot: no changes\n\n{INTRO}\nDriftaudit-Failed: {part}\n\n{FORGED_RUN}\n",
    )
    assert _failed_parts(capsys, hand_made / "snaps") == [part]


@pytest.mark.parametrize(
    "message",
    [
        f"update notes\n\n{FORGED_RUN}\n",
        f"driftaudit snapshot: no changes\n{FORGED_RUN}\n",
        f"driftaudit snapshot: no changes\n\n{FORGED_RUN}\n\n[info] x: + tag a\n",
        f"driftaudit snapshot: no changes\n\n{FORGED_RUN}\nsomething else\n",
        f"driftaudit snapshot: no changes\n\n{INTRO}\n{FORGED}\n{FORGED_RUN}\n",
        f"driftaudit snapshot: no changes\n\n  {FORGED_RUN}\n",
        f"driftaudit snapshot: no changes\n\n{FORGED_RUN.replace(ACCOUNT, 'prod')}\n",
        f"driftaudit snapshot: no changes\n\n{FORGED_RUN.replace(' dir=snaps', '')}\n",
        f"driftaudit snapshot: no changes\n\n{FORGED_RUN.replace('parts=1', 'parts=one')}\n",
    ],
    ids=[
        "foreign",
        "same-paragraph",
        "middle",
        "extra-line",
        "among-failures",
        "indented",
        "not-an-account",
        "no-dir",
        "not-a-count",
    ],
)
def test_runs_are_read_only_as_driftaudit_writes_them(message: str) -> None:
    assert recorded_run(message) is None


def test_runs_written_by_driftaudit_are_read() -> None:
    assert recorded_run(f"driftaudit snapshot: no changes\n\n{FORGED_RUN}\n") == RunRecord(
        (ACCOUNT,), (REGION,), ("instances",), 1, 0, 1, "snaps"
    )
    record = RunRecord((ACCOUNT, "210987654321"), ("eu-west-1", REGION), ("a", "b"), 4, 0, 9, ".")
    assert recorded_run(f"driftaudit snapshot: initial, 9 resources\n\n{record.trailer()}\n") == (
        record
    )


def test_commit_message_escapes_failures_and_changes() -> None:
    from driftaudit.change.commit import commit_message
    from driftaudit.change.differ import Change, Detail

    change = Change(ACCOUNT, REGION, "volumes", "vol-1", f"a\u2029{FORGED}", "modified", "f")
    change.details = [Detail("tag", "+", f"k\x85{FORGED}", new="v\rw", severity="info")]
    run = RunRecord((ACCOUNT,), (REGION,), ("volumes",), 1, 1, 0, f"snaps\n\n{FORGED_RUN}")
    message = commit_message(
        [change], 1, [f"{ACCOUNT}/{REGION}/volumes AWS error: bad\n{FORGED}"], False, run
    )
    lines = message.split("\n")
    assert [line for line in message.splitlines() if line.startswith("Driftaudit-")] == [
        lines[-4],
        lines[-2],
    ]
    assert lines[-5:-1] == [
        INTRO,
        f"Driftaudit-Failed: {ACCOUNT}/{REGION}/volumes AWS error: bad\\n{FORGED}",
        "",
        f"Driftaudit-Run: accounts={ACCOUNT} regions={REGION} types=volumes parts=1 failed=1"
        f" resources=0 dir=snaps\\n\\n{FORGED_RUN}",
    ]
    # Read back as written: the directory's line breaks stay escaped, on its one line.
    assert recorded_run(message) == replace(run, directory=f"snaps\\n\\n{FORGED_RUN}")
    assert recorded_failures(message) == [f"{ACCOUNT}/{REGION}/volumes AWS error: bad\\n{FORGED}"]
    assert f"[info] vol-1 (a\\u2029{FORGED}): + tag k\\u0085{FORGED} = " + '"v\\rw"' in lines


# --- text and Markdown outputs ------------------------------------------------------------------


MD = MarkdownIt("commonmark").enable("table")


def tokens(markdown: str) -> Iterator[Token]:
    def walk(items: list[Token]) -> Iterator[Token]:
        for t in items:
            yield t
            if t.children:
                yield from walk(t.children)

    return walk(MD.parse(markdown))


def headings(markdown: str) -> list[str]:
    found, stream = [], list(tokens(markdown))
    for n, t in enumerate(stream):
        if t.type == "heading_open":
            found.append(stream[n + 1].content)
    return found


def assert_contained(markdown: str, own_headings: list[str], html: set[str] = frozenset()) -> None:
    """Only our own headings, no links or images, only our own HTML: the data stayed inside
    its code spans, fences and table cells."""
    assert headings(markdown) == own_headings
    kinds = {t.type for t in tokens(markdown)}
    assert not kinds & {"link_open", "image"}
    assert {t.content for t in tokens(markdown) if t.type.startswith("html")} <= set(html)


def code_texts(markdown: str) -> list[str]:
    return [t.content for t in tokens(markdown) if t.type in ("fence", "code_inline")]


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Two snapshots: a group whose Name tag and rule description try to break out."""
    repo = init_repo(tmp_path / "repo")
    snaps = repo / "snaps"
    https = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
    write(snaps, "security_groups", [security_group("sg-0a", "web", [https])])
    commit_all(repo, "one", "2024-01-01T00:00:00+00:00")
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), FENCE_BREAKER)
    tags = {"Name": HOSTILE_NAME} | {f"K{n}": f"x{b}{FORGED}" for n, b in enumerate(BREAKS)}
    group = security_group("sg-0a", "web", [https, ssh], tags=tags)
    write(snaps, "security_groups", [group, security_group("sg-0b", HOSTILE_NAME)])
    commit_all(repo, "two", "2024-01-02T00:00:00+00:00")
    return snaps


@pytest.mark.parametrize("command", ["diff", "report"])
def test_markdown_report_keeps_data_in_its_code(
    hostile: Path, capsys: Capsys, command: str
) -> None:
    revisions = ["HEAD~1", "HEAD"] if command == "diff" else []
    code, md, err = run(capsys, command, "-C", str(hostile), *revisions, "--format", "markdown")
    assert code == (2 if command == "diff" else 0), err
    assert_contained(md, [md.splitlines()[0].removeprefix("### ")])
    escaped_rule = 'ingress tcp/22 from 0.0.0.0/0 "a ```` b ``` c\\n````\\n# INJECTED"'
    assert any(escaped_rule in text for text in code_texts(md))
    assert "x\\n```\\n# INJECTED [link](https://evil.example/)\\n" in code_texts(md)


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_reports_show_data_on_one_line(hostile: Path, capsys: Capsys, fmt: str) -> None:
    code, out, _ = run(capsys, "diff", "-C", str(hostile), "HEAD~1", "HEAD", "--format", fmt)
    assert code == 2
    assert forged_lines(out) == []
    assert "\\n# INJECTED" in out


@pytest.fixture
def hostile_check(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    (repo / "baselines").mkdir()
    (repo / "baselines" / "main.yaml").write_text(
        "manage: {security_groups: exclusive}\nsecurity_groups:\n  - id: sg-0a\n    ingress: []\n",
        encoding="utf-8",
    )
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), FENCE_BREAKER)
    group = security_group("sg-0a", "web", [ssh], tags={"Name": HOSTILE_NAME})
    write(repo / "snaps", "security_groups", [group, security_group("sg-0b", HOSTILE_NAME)])
    return repo / "snaps"


def test_check_markdown_keeps_data_in_cells_and_its_plan(
    hostile_check: Path, capsys: Capsys
) -> None:
    code, md, err = run(capsys, "check", "-C", str(hostile_check), "--format", "markdown")
    assert code == 2, err
    own_html = {"<details><summary>Plan</summary>\n", "</details>\n", "<br>"}
    assert_contained(md, ["driftaudit check: drift"], own_html)
    cells = [t.content for t in tokens(md) if t.type == "text"]
    assert any("x\\n```\\n# INJECTED [link](https://evil.example/)\\n" in c for c in cells)
    plan = next(t.content for t in tokens(md) if t.type == "fence")
    assert '"a ```` b ``` c\\n````\\n# INJECTED"' in plan


def test_check_text_shows_data_on_one_line(hostile_check: Path, capsys: Capsys) -> None:
    code, out, err = run(capsys, "check", "-C", str(hostile_check))
    assert code == 2, err
    assert forged_lines(out) == []
    assert "sg-0b (x\\n```\\n# INJECTED" in out


def test_history_text_shows_data_on_one_line(tmp_path: Path, capsys: Capsys) -> None:
    repo = init_repo(tmp_path / "repo")
    ssh = rule("ingress", "tcp", "10.191.12.13/32", (22, 22), f"x\u2028{FORGED}")
    write(repo / "snaps", "security_groups", [security_group("sg-0a", HOSTILE_NAME, [ssh])])
    commit_all(repo, "one", "2024-01-01T00:00:00+00:00")
    code, out, err = run(
        capsys, "history", "rule", "--source", "10.191.12.13", "-C", str(repo / "snaps")
    )
    assert code == 0, err
    assert forged_lines(out) == []
    assert "sg-0a (x\\n```\\n# INJECTED" in out


def test_markdown_fences_are_longer_than_any_backtick_run() -> None:
    from driftaudit.render.markdown import code_span, fence

    assert fence(["plain"]) == "```"
    assert fence(["a ``` b", "`````"]) == "``````"
    for text in ("`", "a``b", "``` x", "x |y|", "` `"):
        span = code_span(text)
        parsed: list[Any] = [t for t in tokens(span) if t.type == "code_inline"]
        assert [t.content for t in parsed] == [text], span


def test_failures_recorded_by_earlier_versions_are_still_read() -> None:
    from driftaudit.change.rangediff import recorded_failures

    old = (
        "driftaudit snapshot: no changes\n\n"
        "Parts that could not be read (their previous files are kept):\n"
        f"Driftaudit-Failed: {ACCOUNT}/{REGION}/volumes access denied in ec2:DescribeVolumes\n"
    )
    assert recorded_failures(old) == [
        f"{ACCOUNT}/{REGION}/volumes access denied in ec2:DescribeVolumes"
    ]
