"""What ``driftaudit diff`` loads: a text or JSON diff of a repository without driftaudit.yaml
imports neither Jinja2 (only Markdown and HTML need it) nor the config reader's schema
checks, nor DeepDiff when only tags and rules changed; the JSON report is the built-in
template's bytes (the text report's: tests/test_report_text.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from driftaudit.change.rangediff import diff_directory
from driftaudit.render.report import model, render
from tests.support.gitsnap import commit_all, init_repo, rule, security_group, volume, write

SSH = rule("ingress", "tcp", "0.0.0.0/0", (22, 22))


def history(root: Path) -> Path:
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "web")])
    write(snaps, "volumes", [volume("vol-1")])
    commit_all(repo, "one", "2024-01-01T06:00:00+00:00")
    write(snaps, "security_groups", [security_group("sg-0a", "web", [SSH], {"env": "prod"})])
    write(snaps, "volumes", [volume("vol-1"), volume("vol-2")])
    commit_all(repo, "two", "2024-01-02T06:00:00+00:00")
    return snaps


LOADED = """
import sys
from driftaudit.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(sorted(m for m in ("jinja2", "jsonschema", "deepdiff") if m in sys.modules), file=sys.stderr)
"""


def loaded(snaps: Path, *args: str) -> tuple[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", LOADED, "diff", "-C", str(snaps), "HEAD~1", "HEAD", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout, json.loads(proc.stderr.strip().splitlines()[-1].replace("'", '"'))


@pytest.mark.e2e
def test_a_diff_imports_only_what_it_needs(tmp_path: Path) -> None:
    snaps = history(tmp_path)
    out, modules = loaded(snaps, "--format", "json")
    assert json.loads(out)["summary"]["total"] == 2 and modules == []
    out, modules = loaded(snaps)
    assert "ingress tcp/22 from 0.0.0.0/0" in out and modules == []
    out, modules = loaded(snaps, "--format", "markdown")
    assert "ingress tcp/22 from 0.0.0.0/0" in out and modules == ["jinja2"]


def test_json_report_is_the_built_in_templates_bytes(tmp_path: Path) -> None:
    snaps = history(tmp_path)
    data = model(diff_directory(snaps, ("HEAD~1", "HEAD"), None, per_day=True))
    # A template directory without report.json.j2: the built-in template, through Jinja2.
    empty = tmp_path / "templates"
    empty.mkdir()
    through_jinja = render(data, "json", empty)
    assert render(data, "json") == through_jinja
    assert json.loads(through_jinja)["days"][0]["total"] == 2
