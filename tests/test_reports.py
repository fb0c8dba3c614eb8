"""Reports: every format renders, identical input gives identical bytes, HTML escapes what
AWS users can write (tags), the JSON report follows its schema, templates can be replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftaudit.change.rangediff import diff_directory
from driftaudit.render.report import FORMATS, model, render
from driftaudit.schemas import errors
from tests.support.gitsnap import (
    commit_all,
    init_repo,
    rule,
    run,
    security_group,
    volume,
    write,
)

XSS = "<script>alert(1)</script>"
Capsys = pytest.CaptureFixture[str]


def make_history(root: Path) -> Path:
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    https = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [https])])
    write(snaps, "volumes", [volume("vol-1", tags={"Name": "data"})])
    commit_all(repo, "one", "2024-01-01T00:00:00+00:00")
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "temp | `debugging`")
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [https, ssh])])
    write(snaps, "volumes", [volume("vol-1", tags={"Name": XSS, "Owner": XSS})])
    commit_all(repo, "two", "2024-01-02T00:00:00+00:00")
    return snaps


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("reports")
    yield make_history(root)


def diff(capsys: Capsys, snaps: Path, *args: str) -> tuple[int, str, str]:
    return run(capsys, "diff", "-C", str(snaps), "HEAD~1", "HEAD", *args)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders(snaps: Path, capsys: Capsys, fmt: str) -> None:
    code, out, err = diff(capsys, snaps, "--format", fmt)
    assert (code, err) == (2, "")
    assert "sg-0a" in out and "vol-1" in out
    assert "ingress tcp/22 from 0.0.0.0/0" in out
    subject = "driftaudit: 2 change(s), highest critical (1 critical, 1 info)"
    if fmt == "json":
        assert json.loads(out)["summary"]["highest"] == "critical"
    elif fmt == "html":
        assert out.startswith("<!DOCTYPE html>") and f"<title>{subject}</title>" in out
    elif fmt == "markdown":
        assert out.startswith(f"### {subject}\n")
    else:
        assert out.startswith(f"{subject}\n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_same_bytes(snaps: Path, capsys: Capsys, tmp_path: Path, fmt: str) -> None:
    diffs, reports = [], []
    for n in range(2):
        out = tmp_path / f"{n}.{fmt}"
        assert diff(capsys, snaps, "--format", fmt, "-o", str(out))[0] == 2
        diffs.append(out.read_bytes())
        out = tmp_path / f"report-{n}.{fmt}"
        assert run(capsys, "report", "-C", str(snaps), "--format", fmt, "-o", str(out))[0] == 0
        reports.append(out.read_bytes())
    assert diffs[0] == diffs[1] and reports[0] == reports[1]
    per_day = fmt in ("html", "json")  # the formats that show changes per day
    data = model(diff_directory(snaps, ("HEAD~1", "HEAD"), None, per_day=per_day))
    assert render(data, fmt) == render(data, fmt) == diffs[0].decode("utf-8")


def test_working_tree_report_is_stable_too(tmp_path: Path, capsys: Capsys) -> None:
    snaps = make_history(tmp_path)
    write(snaps, "volumes", [volume("vol-1", size=99, tags={"Name": XSS, "Owner": XSS})])
    first = run(capsys, "diff", "-C", str(snaps), "--format", "html")
    second = run(capsys, "diff", "-C", str(snaps), "--format", "html")
    assert first == second and first[0] == 2 and "Size" in first[1]


def test_html_escapes_tag_values_text_and_markdown_keep_them(snaps: Path, capsys: Capsys) -> None:
    html = diff(capsys, snaps, "--format", "html")[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    for fmt in ("text", "markdown"):
        assert XSS in diff(capsys, snaps, "--format", fmt)[1]
    data = json.loads(diff(capsys, snaps, "--format", "json")[1])
    vol = next(c for c in data["changes"] if c["id"] == "vol-1")
    assert vol["name"] == XSS
    assert {d["path"]: d["new"] for d in vol["details"]} == {"Name": XSS, "Owner": XSS}


def test_markdown_keeps_rule_text_inside_its_code_block(snaps: Path, capsys: Capsys) -> None:
    md = diff(capsys, snaps, "--format", "markdown")[1]
    assert '  + ingress tcp/22 from 0.0.0.0/0 "temp | `debugging`"\n' in md
    assert md.count("```") % 2 == 0


@pytest.mark.parametrize("revs", [("HEAD~1", "HEAD"), ("HEAD", "HEAD"), ("HEAD~1",)])
def test_json_report_follows_its_schema(snaps: Path, capsys: Capsys, revs: tuple[str, ...]) -> None:
    code, out, _ = run(capsys, "diff", "-C", str(snaps), *revs, "--format", "json")
    data = json.loads(out)
    assert errors("report", data) == []
    assert (code == 2) == bool(data["changes"])
    # The schema is not vacuous: a report with an unknown severity fails it.
    if data["changes"]:
        data["changes"][0]["severity"] = "urgent"
        assert errors("report", data) == [
            "$.changes[0].severity: 'urgent' is not one of "
            "['info', 'low', 'medium', 'high', 'critical']"
        ]


def test_json_report_with_unreadable_file_follows_its_schema(
    tmp_path: Path, capsys: Capsys
) -> None:
    snaps = make_history(tmp_path)
    next(snaps.rglob("vol-1.yaml")).write_text("id: vol-1\nresource: a: b\n")
    code, out, _ = run(capsys, "diff", "-C", str(snaps), "--format", "json")
    data = json.loads(out)
    assert code == 1 and len(data["unreadable"]) == 1
    assert errors("report", data) == []


def test_template_dir_overrides_one_template(snaps: Path, capsys: Capsys, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.txt.j2").write_text(
        "CUSTOM {{ report.summary.total }} {{ report.summary.highest }}\n"
    )
    code, out, _ = diff(capsys, snaps, "--template-dir", str(templates))
    assert (code, out) == (2, "CUSTOM 2 critical\n")
    builtin = diff(capsys, snaps, "--format", "markdown")[1]
    assert diff(capsys, snaps, "--format", "markdown", "--template-dir", str(templates))[1] == (
        builtin
    )


@pytest.mark.parametrize(
    "text,where",
    [
        ("{% for c in report.changes %}\n{{ c.id }\n", "report.md.j2:2"),  # syntax
        ("ok\n{{ report.no_such_field.x }}\n", "report.md.j2"),  # undefined
    ],
    ids=["syntax", "undefined"],
)
def test_broken_template_is_an_error_naming_it(
    snaps: Path, capsys: Capsys, tmp_path: Path, text: str, where: str
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.md.j2").write_text(text)
    code, out, err = diff(capsys, snaps, "--format", "markdown", "--template-dir", str(templates))
    assert (code, out) == (1, "")
    assert where in err and "Traceback" not in err
    # The other formats still render from the package.
    assert diff(capsys, snaps, "--template-dir", str(templates))[0] == 2


@pytest.mark.parametrize(
    "expression",
    [
        "cycler.__init__.__globals__.os.popen('touch {marker}').read()",
        "joiner.__init__.__globals__['os'].system('touch {marker}')",
        "report.__class__.__mro__[1].__subclasses__()",
    ],
    ids=["cycler-globals", "joiner-globals", "subclasses"],
)
def test_user_templates_run_in_a_sandbox(
    snaps: Path, capsys: Capsys, tmp_path: Path, expression: str
) -> None:
    marker = tmp_path / "ran"
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.txt.j2").write_text(
        "{{ " + expression.format(marker=marker) + " }}\n", encoding="utf-8"
    )
    for command in (["diff", "-C", str(snaps), "HEAD~1", "HEAD"], ["report", "-C", str(snaps)]):
        code, out, err = run(capsys, *command, "--template-dir", str(templates))
        assert (code, out) == (1, "")
        assert err.count("\n") == 1 and "report.txt.j2" in err and "unsafe" in err, err
        assert not marker.exists()


def test_template_dir_that_does_not_exist_is_an_error(
    snaps: Path, capsys: Capsys, tmp_path: Path
) -> None:
    code, _, err = diff(capsys, snaps, "--template-dir", str(tmp_path / "nope"))
    assert code == 1 and "not a directory" in err


def test_report_defaults_to_the_last_commit_and_exits_0(snaps: Path, capsys: Capsys) -> None:
    code, out, _ = run(capsys, "report", "-C", str(snaps), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert (data["from"]["label"], data["to"]["label"]) == ("HEAD^", "HEAD")
    assert {c["id"] for c in data["changes"]} == {"sg-0a", "vol-1"}
