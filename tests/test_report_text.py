"""The text report is written without Jinja2 (render/text.py) and gives the bytes of the
built-in report.txt.j2, which stays the reference a custom template starts from: both on
reports that take every branch of the template."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from driftaudit.change.rangediff import diff_directory
from driftaudit.render.report import model, render
from tests.support.gitsnap import (
    commit_all,
    init_repo,
    rule,
    security_group,
    volume,
    write,
)

HOSTILE = "x\n```\n# INJECTED\u2028[link](http://e)"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = init_repo(tmp_path_factory.mktemp("text") / "repo")
    snaps = repo / "snaps"
    https = rule("ingress", "tcp", "10.0.0.0/8", (443, 443))
    write(snaps, "security_groups", [security_group("sg-0a", "web", [https])])
    write(snaps, "volumes", [volume("vol-1", tags={"Name": "data"}), volume("vol-2")])
    commit_all(repo, "one", "2024-01-01T00:00:00+00:00")
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22), "temp")
    write(snaps, "security_groups", [security_group("sg-0a", HOSTILE, [https, ssh])])
    write(snaps, "volumes", [volume("vol-1", size=9, tags={"Name": "data", "k": HOSTILE})])
    commit_all(repo, "two", "2024-01-04T00:00:00+00:00")
    return model(diff_directory(snaps, ("HEAD~1", "HEAD"), None, per_day=True))


def variants(base: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as diffed, and changed to take every branch of the template."""
    full = copy.deepcopy(base)
    full["alerts"] = ["the job did not run", HOSTILE]
    full["to"] = {"rev": "WORKTREE", "label": "working tree", "time": ""}
    first = full["changes"][0]
    second = next(c for c in reversed(full["changes"]) if c["details"])
    first["account_alias"] = HOSTILE
    first["attribution"] = [{"text": "at 2024-01-03T10:00:00Z by alice"}, {"text": HOSTILE}]
    derived = copy.deepcopy(second)
    derived.update(relation="its interface", severity="info", derived=[], action="added")
    elsewhere = copy.deepcopy(derived)
    elsewhere.update(region="eu-west-1", relation=HOSTILE, severity=first["severity"])
    elsewhere["action"] = "removed"
    elsewhere["details"][0]["severity"] = "critical"
    first["derived"] = [derived, elsewhere]
    full["ignored"] = {
        "changes": 3,
        "rules": [
            {"rule": "driftaudit.yaml:4", "reason": HOSTILE, "until": "2024-12-31", "changes": 2},
            {"rule": "driftaudit.yaml:6", "reason": "", "until": None, "changes": 1},
        ],
        "expired": [
            {"rule": "driftaudit.yaml:9", "reason": "old", "until": "2023-01-01"},
            {"rule": "driftaudit.yaml:10", "reason": "", "until": "2023-02-01"},
        ],
    }
    undone = {
        "date": "2024-01-02",
        "severity": "critical",
        "type": "security_groups",
        "id": "sg-0a",
        "name": HOSTILE,
        "account": first["account"],
        "account_alias": "prod",
        "region": first["region"],
        "text": "+ ingress tcp/22 from 0.0.0.0/0",
        "undone": "2024-01-03",
    }
    full["undone"] = [undone] * 101
    full["unreadable"] = ["a/b.yaml:3: does not parse", HOSTILE]
    full["failed_parts"] = ["123456789012/us-east-1/volumes: AccessDenied", HOSTILE]
    full["days_without_run"] = [
        {"from": "2024-01-02", "to": "2024-01-02", "days": 1},
        {"from": "2024-01-05", "to": "2024-01-07", "days": 3},
    ]
    none = copy.deepcopy(base)
    none["changes"], none["summary"] = [], {**none["summary"], "total": 0, "by_type": {}}
    none["from"]["time"] = ""
    one_undone = copy.deepcopy(full)
    one_undone["undone"] = [undone]
    return [base, full, none, one_undone]


def test_text_report_is_the_templates_bytes(base: dict[str, Any], tmp_path: Path) -> None:
    assert base["changes"] and base["days"]
    empty = tmp_path / "templates"  # no report.txt.j2 here: the built-in one, through Jinja2
    empty.mkdir()
    for n, data in enumerate(variants(base)):
        for label in ("", "acme/ec2, prod"):
            through_jinja = render(data, "text", empty, label)
            assert render(data, "text", None, label) == through_jinja, n
    assert "... and 1 more" in render(variants(base)[1], "text")
