"""Reports: a plain-data model of a diff (pure), rendered by Jinja2 templates shipped in
the package (text, Markdown, HTML, JSON) or the user's own (``--template-dir``).

Identical input gives identical bytes: nothing in a report depends on the clock.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from driftaudit.change.differ import SEVERITIES, Change, severity_rank
from driftaudit.change.rangediff import DiffResult
from driftaudit.errors import ConfigError
from driftaudit.textsafe import one_line

FORMATS = ("text", "markdown", "html", "json")
TEMPLATE_FILES = {
    "text": "report.txt.j2",
    "markdown": "report.md.j2",
    "html": "report.html.j2",
    "json": "report.json.j2",
}
BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


def summary(changes: list[Change]) -> dict[str, Any]:
    by_severity = Counter(c.severity for c in changes)
    by_type: dict[str, Counter[str]] = {}
    for c in changes:
        by_type.setdefault(c.type, Counter())[c.action] += 1
    highest = max((c.severity for c in changes), key=severity_rank, default=None)
    return {
        "total": len(changes),
        "highest": highest,
        "by_severity": {s: by_severity[s] for s in reversed(SEVERITIES) if by_severity[s]},
        "by_type": {
            t: {a: n for a, n in sorted(counts.items())} for t, counts in sorted(by_type.items())
        },
    }


def model(result: DiffResult) -> dict[str, Any]:
    """Everything a template may show, as plain data (also the JSON report)."""
    return {
        "from": {"rev": result.old.rev, "label": result.old.label, "time": result.old.time},
        "to": {"rev": result.new.rev, "label": result.new.label, "time": result.new.time},
        "summary": summary(result.changes),
        "changes": [
            {**c.as_dict(), "account_alias": result.aliases.get(c.account, "")}
            for c in result.changes
        ],
        "accounts": dict(sorted(result.aliases.items())),
        "unreadable": list(result.unreadable),
        "failed_parts": list(result.failed_parts),
        "days": list(result.days),
        "days_without_run": list(result.days_without_run),
    }


def subject(data: dict[str, Any]) -> str:
    s = data["summary"]
    if not s["total"]:
        return "driftaudit: no changes"
    counts = ", ".join(f"{n} {sev}" for sev, n in s["by_severity"].items())
    return f"driftaudit: {s['total']} change(s), highest {s['highest']} ({counts})"


def jinja_environment(template_dir: Path | None = None) -> Any:
    """The Jinja2 environment of every report and page: the built-in templates, preceded by
    ``template_dir``'s when given, with driftaudit's filters (``one_line``, ``md_code``,
    ``md_cell``, ``md_fence``, ``tojson_pretty``).

    User templates run in Jinja2's sandbox: a template is not a program, and a report job
    given a template directory from a pull request must not run what it holds (no
    ``__globals__``, no attributes starting with ``_``, bounded ``range``). The built-in
    templates render the same in it."""
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        StrictUndefined,
        select_autoescape,
    )
    from jinja2.sandbox import SandboxedEnvironment

    from driftaudit.render import markdown

    loaders = [FileSystemLoader(str(BUILTIN_TEMPLATES))]
    kind: type[Environment] = Environment
    if template_dir is not None:
        if not template_dir.is_dir():
            raise ConfigError(f"--template-dir {template_dir}: not a directory")
        loaders.insert(0, FileSystemLoader(str(template_dir)))
        kind = SandboxedEnvironment
    env = kind(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson_pretty"] = lambda v: json.dumps(
        v, indent=2, sort_keys=True, ensure_ascii=False
    )
    env.filters["one_line"] = one_line
    env.filters["md_code"] = markdown.code_span
    env.filters["md_cell"] = markdown.cell
    env.filters["md_fence"] = markdown.fence
    env.globals["SEVERITIES"] = list(reversed(SEVERITIES))
    env.globals["day_chart"] = _day_chart
    return env


def _day_chart(days: list[dict[str, Any]]) -> Any:
    from markupsafe import Markup

    from driftaudit.render.charts import day_chart

    return Markup(day_chart(days))  # noqa: S704 - built by charts.py, every text escaped


def render(data: dict[str, Any], fmt: str, template_dir: Path | None = None) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r} (expected {', '.join(FORMATS)})")
    from jinja2 import TemplateError

    env = jinja_environment(template_dir)
    try:
        return str(env.get_template(TEMPLATE_FILES[fmt]).render(report=data, subject=subject(data)))
    except TemplateError as e:
        where = f"{getattr(e, 'filename', None) or TEMPLATE_FILES[fmt]}"
        line = getattr(e, "lineno", None)
        raise ConfigError(
            f"template {where}{':' + str(line) if line else ''}: {one_line(str(e))}"
        ) from e
