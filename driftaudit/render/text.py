"""The text report without Jinja2: the built-in ``report.txt.j2`` written in Python.

``diff`` in a terminal or a CI log is the most frequent command, and importing Jinja2 and
compiling the template cost it a fifth of its time on a day's changes. The template stays
the reference (``--template-dir`` replaces it, and a copy of it is where a custom one
starts): tests/test_report_text.py renders both on reports that take every branch and holds
them to the same bytes.
"""

from __future__ import annotations

from typing import Any

from driftaudit.textsafe import one_line

ADDED_REMOVED = {"added": "+", "removed": "-"}


def _where(c: dict[str, Any]) -> str:
    alias = f" ({one_line(c['account_alias'])})" if c["account_alias"] else ""
    return f"{c['account']}{alias}/{c['region']}"


def _resource(c: dict[str, Any]) -> str:
    name = f" ({one_line(c['name'])})" if c["name"] and c["name"] != c["id"] else ""
    return f"{c['type']} {c['id']}{name}"


def _marked(text: str, severity: str, against: str) -> str:
    return f"{text}  [{severity}]" if severity != against else text


def render_text(report: dict[str, Any], subject: str) -> str:
    out = [subject]
    out += [f"!! {one_line(a)}" for a in report["alerts"]]
    old, new = report["from"], report["to"]
    when = f" ({old['time']})" if old["time"] else ""
    out.append(f"from: {old['label']} {old['rev'][:12]}{when}")
    rev = f" {new['rev'][:12]}" if new["rev"] != "WORKTREE" else ""
    when = f" ({new['time']})" if new["time"] else ""
    out.append(f"to:   {new['label']}{rev}{when}")
    if report["summary"]["total"]:
        for rtype, actions in report["summary"]["by_type"].items():
            out.append(f"{rtype}: " + ", ".join(f"{n} {a}" for a, n in actions.items()))
        out.append("")
        for c in report["changes"]:
            sign = ADDED_REMOVED.get(c["action"], "~")
            out.append(f"[{c['severity']}] {sign} {_resource(c)} {_where(c)}")
            for d in c["details"]:
                out.append(_marked(f"    {one_line(d['text'])}", d["severity"], c["severity"]))
            out += [f"    {one_line(a['text'])}" for a in c.get("attribution", [])]
            if c["derived"]:
                out.append("    follows from it:")
            for p in c["derived"]:
                sign = {"added": "+ ", "removed": "- "}.get(p["action"], "")
                where = (
                    f" {_where(p)}"
                    if p["account"] != c["account"] or p["region"] != c["region"]
                    else ""
                )
                line = f"      {sign}{_resource(p)}{where}: {one_line(p['relation'])}"
                out.append(_marked(line, p["severity"], c["severity"]))
                for d in p["details"]:
                    text = f"        {one_line(d['text'])}"
                    out.append(_marked(text, d["severity"], p["severity"]))
    else:
        out.append("No changes.")
    ignored = report["ignored"]
    if ignored["changes"]:
        out += ["", f"{ignored['changes']} change(s) ignored by driftaudit.yaml:"]
        for r in ignored["rules"]:
            reason = f' "{one_line(r["reason"])}"' if r["reason"] else ""
            until = f" (until {r['until']})" if r["until"] else ""
            out.append(f"    {r['rule']}: {r['changes']}{reason}{until}")
    if ignored["expired"]:
        out += ["", "Expired ignore rules (they silence nothing now):"]
        for r in ignored["expired"]:
            reason = f' "{one_line(r["reason"])}"' if r["reason"] else ""
            out.append(f"    {r['rule']}: expired after {r['until']}{reason}")
    undone = report["undone"]
    if undone:
        out += ["", "Changes undone later in the period (the period's diff no longer shows them):"]
        out += [
            f"    {u['date']} [{u['severity']}] {_resource(u)} {_where(u)}: "
            f"{one_line(u['text'])} (undone {u['undone']})"
            for u in undone[:100]
        ]
        if len(undone) > 100:
            out.append(f"    ... and {len(undone) - 100} more (the JSON report lists them all)")
    for key, title in (
        ("unreadable", "Files that could not be read (not compared):"),
        (
            "failed_parts",
            "Parts that failed during snapshots in this period (their previous files were kept):",
        ),
    ):
        if report[key]:
            out += ["", title, *(f"    {one_line(item)}" for item in report[key])]
    if report["days_without_run"]:
        out += ["", "Days without a snapshot run in this period (nothing is known of them):"]
        for g in report["days_without_run"]:
            span = f" to {g['to']} ({g['days']} days)" if g["days"] > 1 else ""
            out.append(f"    {g['from']}{span}")
    return "\n".join(out) + "\n"
