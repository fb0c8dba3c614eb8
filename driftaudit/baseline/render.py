"""A check's result as text (like ``terraform plan``), Markdown, JSON, JUnit XML or SARIF 2.1.0
(pure: result in, text out)."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

from driftaudit import __version__
from driftaudit.baseline.findings import DEFAULT_SEVERITY, Checked, Finding, Result
from driftaudit.change.differ import SEVERITIES
from driftaudit.render.markdown import cell, code_span, fence
from driftaudit.textsafe import one_line

FORMATS = ("text", "markdown", "json", "junit", "sarif")
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEGEND = "+ exists, not in the baseline   - in the baseline, not found   ~ differs   ! policy"
# Header symbol of a resource: the most telling of its findings.
SYMBOLS = (("missing", "-"), ("unmanaged", "+"), ("changed", "~"), ("violation", "!"))
DRIFT_RULES = {
    "changed": "A declared resource differs from its declaration.",
    "missing": "A declared resource is not in the snapshot.",
    "unmanaged": "A resource of an exclusively managed type is not declared.",
}
# XML 1.0 cannot carry these at all, escaped or not.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(result: Result, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    return {
        "text": text,
        "markdown": markdown,
        "json": as_json,
        "junit": junit,
        "sarif": sarif,
    }[fmt](result)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


#: SARIF's level for each severity (code scanning shows errors first, notes last).
SARIF_LEVELS = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}


def summary(result: Result) -> str:
    checked = _plural(len(result.checked), "resource") + " checked"
    ignored = ignored_text(result)
    checked += f"; {ignored}" if ignored else ""
    if result.in_sync:
        return f"in sync: {checked}"
    c = result.counts
    return (
        f"drift: {c['changed']} changed, {c['missing']} missing, {c['unmanaged']} unmanaged, "
        f"{_plural(c['violation'], 'policy violation')} ({checked})"
    )


def ignored_text(result: Result) -> str:
    """``2 resources and 1 finding ignored``: silence is counted, never invisible."""
    said = []
    if result.ignored_resources:
        said.append(_plural(result.ignored_resources, "resource"))
    if result.ignored_items:
        said.append(_plural(result.ignored_items, "finding"))
    return f"{' and '.join(said)} ignored" if said else ""


def expired_lines(result: Result) -> list[str]:
    """One line per ignore rule whose ``until`` has passed (it silences nothing now)."""
    return [
        one_line(f"ignore rule {i.describe()} has expired: it silences nothing now")
        for i in result.expired
    ]


def _symbol(entry: Checked) -> str:
    kinds = {f.kind for f in entry.findings}
    return next(s for k, s in SYMBOLS if k in kinds)


def _header(entry: Checked) -> str:
    label = f"{entry.id} ({entry.name})" if entry.name and entry.name != entry.id else entry.id
    where = "/".join(p for p in (entry.account, entry.region) if p)
    return one_line(
        f"[{entry.severity}] {_symbol(entry)} {label}  [{entry.type}{' ' + where if where else ''}]"
    )


def _lines(finding: Finding, worst: str | None = None) -> list[str]:
    """One line per item: resource data (names, descriptions, tags) cannot add a line. An
    item less severe than ``worst`` (its resource's) says its own severity."""
    if finding.items:
        return [
            one_line(i.text) + (f"  [{i.severity}]" if worst and i.severity != worst else "")
            for i in finding.items
        ]
    tail = f"  [{finding.severity}]" if worst and finding.severity != worst else ""
    return [one_line(finding.message) + tail]


def plan(result: Result, indent: str = "    ") -> list[str]:
    out = []
    for entry in result.checked:
        if entry.findings:
            out.append(_header(entry))
            out += [indent + line for f in entry.findings for line in _lines(f, entry.severity)]
    return out


def text(result: Result) -> str:
    notes = expired_lines(result)
    if result.in_sync:
        return "\n".join([*notes, summary(result)]) + "\n"
    body = [*plan(result), "", LEGEND, ""]
    return "\n".join([*body, *notes, summary(result)]) + "\n"


def markdown(result: Result) -> str:
    status = "in sync" if result.in_sync else "drift"
    out = [f"## driftaudit check: {status}", "", summary(result).split(": ", 1)[1], ""]
    out.append("Baseline: " + ", ".join(code_span(str(f)) for f in result.files))
    for note in expired_lines(result):
        out += ["", f"**Expired:** {cell(note)}"]
    if not result.in_sync:
        out += [
            "",
            "| Severity | Finding | Resource | Type | Where | Detail |",
            "|---|---|---|---|---|---|",
        ]
        for f in result.findings:
            where = "/".join(p for p in (f.account, f.region) if p)
            detail = "<br>".join(cell(line) for line in _lines(f, f.severity))
            out.append(
                f"| {f.severity} | {f.kind} | {cell(f.label)} | {f.type} | {cell(where)} "
                f"| {detail} |"
            )
        # The plan again as a diff block: GitHub colours its + and - lines. Its fence is
        # longer than any backtick run in it, so no description can close it.
        plan_lines = _diff_lines(result)
        ticks = fence(plan_lines)
        out += ["", "<details><summary>Plan</summary>", "", f"{ticks}diff"]
        out += [*plan_lines, ticks, "</details>"]
    return "\n".join(out) + "\n"


def _diff_lines(result: Result) -> list[str]:
    """The plan with each item's operator in column 0, where a diff block looks for it."""
    out = []
    for entry in result.checked:
        if not entry.findings:
            continue
        out.append(_header(entry))
        for f in entry.findings:
            for line in _lines(f, entry.severity):
                if line[1:2] == " " and line[0] in "+-~!":
                    line = f"{line[0]}     {line[2:]}"
                else:
                    line = f"      {line}"
                out.append(line)
    return out


# --- JSON ----------------------------------------------------------------------------------------


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "severity": f.severity,
        "message": f.message,
        "origin": str(f.origin) if f.origin else None,
        "policy": f.policy,
        "line": f.line,
        "items": [
            {
                "op": i.op,
                "path": i.path,
                "text": i.text,
                "expected": i.expected,
                "actual": i.actual,
                "line": i.line,
                "severity": i.severity,
            }
            for i in f.items
        ],
    }


def as_json(result: Result) -> str:
    c = result.counts
    by_severity: dict[str, int] = {}
    for f in result.findings:
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    doc = {
        "version": 1,
        "status": "in_sync" if result.in_sync else "drift",
        "summary": {
            "checked": len(result.checked),
            "changed": c["changed"],
            "missing": c["missing"],
            "unmanaged": c["unmanaged"],
            "violations": c["violation"],
            "highest": result.highest,
            "by_severity": {s: by_severity[s] for s in reversed(SEVERITIES) if s in by_severity},
            "ignored": {"resources": result.ignored_resources, "findings": result.ignored_items},
        },
        "expired_ignores": [
            {
                "rule": str(i.origin),
                "until": i.until.isoformat() if i.until else None,
                "reason": i.reason,
            }
            for i in result.expired
        ],
        "baseline": list(result.files),
        "resources": [
            {
                "type": e.type,
                "account": e.account,
                "region": e.region,
                "id": e.id,
                "name": e.name,
                "file": e.file,
                "status": "drift" if e.findings else "in_sync",
                "severity": e.severity,
                "findings": [_finding_json(f) for f in e.findings],
            }
            for e in result.checked
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


# --- JUnit ---------------------------------------------------------------------------------------


def _xml(value: str) -> str:
    return _XML_BAD.sub("\ufffd", value)


def junit(result: Result) -> str:
    """One test case per checked resource; one failure (all its findings) when it drifted."""
    failures = sum(1 for e in result.checked if e.findings)
    attrs = {"name": "driftaudit check", "tests": str(len(result.checked))}
    suites = ET.Element("testsuites", {**attrs, "failures": str(failures)})
    suite = ET.SubElement(
        suites, "testsuite", {**attrs, "failures": str(failures), "errors": "0", "skipped": "0"}
    )
    for e in result.checked:
        where = "/".join(p for p in (e.account, e.region) if p)
        name = f"{where + '/' if where else ''}{e.id}" + (f" ({e.name})" if e.name else "")
        case = ET.SubElement(
            suite, "testcase", {"classname": f"driftaudit.{e.type}", "name": _xml(name)}
        )
        if e.file:
            case.set("file", e.file)
        if e.findings:
            kinds = sorted({f.kind for f in e.findings})
            message = f"[{e.severity}] " + "; ".join(f"{f.kind}: {f.message}" for f in e.findings)
            failure = ET.SubElement(
                case, "failure", {"type": ",".join(kinds), "message": _xml(message)}
            )
            lines = (line for f in e.findings for line in _lines(f, e.severity))
            failure.text = _xml("\n".join(lines))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


# --- SARIF ---------------------------------------------------------------------------------------


def _rule_id(f: Finding) -> str:
    return f"policy/{f.policy}" if f.kind == "violation" else f"drift/{f.kind}"


def _rule_level(f: Finding, severities: dict[str, str | None]) -> str:
    """A rule's default level: its policy's severity, else its kind's default."""
    set_by_policy = severities.get(f.policy or "") if f.kind == "violation" else None
    return SARIF_LEVELS[set_by_policy or DEFAULT_SEVERITY[f.kind]]


def _location(uri: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(uri)}}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def sarif(result: Result) -> str:
    """SARIF 2.1.0 for code scanning: one result per offending rule or field, located at its
    line in the snapshot file; a missing resource at its declaration in the baseline. Each
    result's ``level`` comes from its severity (critical and high: error; medium: warning;
    low and info: note), which ``properties.severity`` names."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    severities = result.policy_severities
    for f in result.findings:
        rid = _rule_id(f)
        if rid not in rules:
            description = DRIFT_RULES.get(f.kind) or f"Baseline policy {f.policy} ({f.origin})."
            rules[rid] = {
                "id": rid,
                "shortDescription": {"text": description},
                "defaultConfiguration": {"level": _rule_level(f, severities)},
            }
        subject = f"{f.type} {f.label}"
        entries = [(i.text, i.line, i.path, i.severity) for i in f.items] or [
            (f.message, f.line, "", f.severity)
        ]
        for message, line, path, severity in entries:
            if f.file:
                location = _location(f.file, line)
            else:
                assert f.origin is not None
                location = _location(f.origin.file, f.origin.line)
            results.append(
                {
                    "ruleId": rid,
                    "ruleIndex": list(rules).index(rid),
                    "level": SARIF_LEVELS[severity],
                    "message": {"text": f"{subject}: {message}"},
                    "properties": {"severity": severity},
                    "locations": [location],
                    "partialFingerprints": {
                        "driftaudit/v1": _fingerprint(
                            f.kind, f.type, f.account, f.region, f.id, f.policy, path
                        )
                    },
                }
            )
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "driftaudit",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
