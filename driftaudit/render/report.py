"""Reports: a plain-data model of a diff (pure), rendered by Jinja2 templates shipped in
the package (text, Markdown, HTML, JSON) or the user's own (``--template-dir``).

Identical input gives identical bytes: nothing in a report depends on the clock.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftaudit.change.differ import SEVERITIES, Change, severity_rank
from driftaudit.change.rangediff import DiffResult
from driftaudit.errors import ConfigError
from driftaudit.render import FORMATS
from driftaudit.textsafe import one_line

TEMPLATE_FILES = {
    "text": "report.txt.j2",
    "markdown": "report.md.j2",
    "html": "report.html.j2",
    "json": "report.json.j2",
}
BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


def summary(changes: list[Change]) -> dict[str, Any]:
    """Counts of logical changes (total, by severity); ``by_type`` counts every resource
    that changed, folded ones included, by type and action; ``derived`` the folded parts."""
    by_severity = Counter(c.severity for c in changes)
    by_type: dict[str, Counter[str]] = {}
    resources: dict[tuple[str, str, str, str], str] = {}
    for c in changes:
        for part in c.parts():
            if resources.get(part.key) in (None, "modified"):
                resources[part.key] = part.action
    for key, action in resources.items():
        by_type.setdefault(key[2], Counter())[action] += 1
    highest = max((c.severity for c in changes), key=severity_rank, default=None)
    return {
        "total": len(changes),
        "highest": highest,
        "by_severity": {s: by_severity[s] for s in reversed(SEVERITIES) if by_severity[s]},
        "by_type": {
            t: {a: n for a, n in sorted(counts.items())} for t, counts in sorted(by_type.items())
        },
        "derived": sum(len(c.derived) for c in changes),
    }


def ignored(result: DiffResult) -> dict[str, Any]:
    """What driftaudit.yaml's ignore rules silenced (per rule, in the file's order) and the
    rules past their ``until`` (they silence nothing: named, never quietly dropped)."""
    rules = sorted(result.ignored.by_rule.items(), key=lambda r: r[0].origin.line)
    return {
        "changes": result.ignored.changes,
        "rules": [
            {
                "rule": str(rule.origin),
                "reason": rule.reason,
                "until": rule.until.isoformat() if rule.until else None,
                "changes": n,
            }
            for rule, n in rules
        ],
        "expired": [
            {
                "rule": str(rule.origin),
                "reason": rule.reason,
                "until": rule.until.isoformat() if rule.until else None,
            }
            for rule in result.expired
        ],
    }


def model(result: DiffResult, alerts: list[str] | None = None) -> dict[str, Any]:
    """Everything a template may show, as plain data (also the JSON report). ``alerts``:
    what a mail must say before anything else (the job did not run, parts failed)."""
    return {
        "from": {"rev": result.old.rev, "label": result.old.label, "time": result.old.time},
        "to": {"rev": result.new.rev, "label": result.new.label, "time": result.new.time},
        "summary": summary(result.changes),
        "changes": [_change(c, result.aliases) for c in result.changes],
        "accounts": dict(sorted(result.aliases.items())),
        "unreadable": list(result.unreadable),
        "failed_parts": list(result.failed_parts),
        "days": list(result.days),
        "days_without_run": list(result.days_without_run),
        "undone": [
            {**u, "account_alias": result.aliases.get(u["account"], "")} for u in result.undone
        ],
        "ignored": ignored(result),
        "alerts": list(alerts or ()),
    }


def _change(change: Change, aliases: dict[str, str]) -> dict[str, Any]:
    data = change.as_dict()
    data["account_alias"] = aliases.get(change.account, "")
    for part in data["derived"]:
        part["account_alias"] = aliases.get(part["account"], "")
    return data


def subject(data: dict[str, Any], label: str = "") -> str:
    """``[label] driftaudit: 3 change(s), highest critical (1 critical, 2 low)``; a run that
    did not happen or failed parts come first (``JOB DID NOT RUN``, ``PARTIAL RUN``): a
    mail about them must not read as a quiet day."""
    s = data["summary"]
    head = f"[{one_line(label)}] driftaudit: " if label else "driftaudit: "
    warnings = []
    if data.get("alerts"):
        warnings.append("JOB DID NOT RUN")
    elif data["days_without_run"]:
        days = sum(g["days"] for g in data["days_without_run"])
        warnings.append(f"NO RUN ON {days} DAY(S)")
    if data["failed_parts"]:
        warnings.append(f"PARTIAL RUN ({len(data['failed_parts'])} part(s) failed)")
    head += "".join(f"{w}; " for w in warnings)
    if not s["total"]:
        return f"{head}no changes"
    counts = ", ".join(f"{n} {sev}" for sev, n in s["by_severity"].items())
    return f"{head}{s['total']} change(s), highest {s['highest']} ({counts})"


@dataclass(frozen=True)
class ReportSettings:
    """The ``report:`` section of driftaudit.yaml: what the mail's subject says of the
    repository, and the least severity worth a mail."""

    repository: str = ""
    environment: str = ""
    min_severity: str | None = None

    @property
    def label(self) -> str:
        """``acme/ec2-state, prod``: the subject's label, from the repository and the
        environment (either may be left out)."""
        return ", ".join(p for p in (self.repository, self.environment) if p)


def report_settings(path: Path | None) -> ReportSettings:
    """The ``report:`` section of a config file (validated by schemas/config.schema.json)."""
    if path is None:
        return ReportSettings()
    from driftaudit.config import load_yaml_checked

    section = (load_yaml_checked(path, "config") or {}).get("report") or {}
    return ReportSettings(
        section.get("repository", ""), section.get("environment", ""), section.get("min_severity")
    )


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
    env.filters["tojson_pretty"] = tojson_pretty
    env.filters["one_line"] = one_line
    env.filters["md_code"] = markdown.code_span
    env.filters["md_cell"] = markdown.cell
    env.filters["md_fence"] = markdown.fence
    env.globals["SEVERITIES"] = list(reversed(SEVERITIES))
    env.globals["day_chart"] = _day_chart
    return env


def tojson_pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _day_chart(days: list[dict[str, Any]]) -> Any:
    from markupsafe import Markup

    from driftaudit.render.charts import day_chart

    return Markup(day_chart(days))  # noqa: S704 - built by charts.py, every text escaped


def render(
    data: dict[str, Any], fmt: str, template_dir: Path | None = None, label: str = ""
) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown report format {fmt!r} (expected {', '.join(FORMATS)})")
    if fmt == "json" and template_dir is None:
        # What the built-in report.json.j2 writes, without importing Jinja2 for it.
        return tojson_pretty(data) + "\n"
    if fmt == "text" and template_dir is None:
        from driftaudit.render.text import render_text  # report.txt.j2, without Jinja2

        return render_text(data, subject(data, label))
    from jinja2 import TemplateError

    env = jinja_environment(template_dir)
    try:
        template = env.get_template(TEMPLATE_FILES[fmt])
        return str(template.render(report=data, subject=subject(data, label)))
    except TemplateError as e:
        where = f"{getattr(e, 'filename', None) or TEMPLATE_FILES[fmt]}"
        line = getattr(e, "lineno", None)
        raise ConfigError(
            f"template {where}{':' + str(line) if line else ''}: {one_line(str(e))}"
        ) from e
