"""The history answers as an HTML page: for each answer a timeline of holders, rule windows
and exposure windows on one time axis (the first to the last snapshot), then the text answer.

Pure: the queries' dicts in, markup out. Only what the answer says is shown (not what this
run did to the index), so the same history gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from driftaudit.history.holders import KIND
from driftaudit.history.queries import describe_rule
from driftaudit.history.text import exposure_text, ip_text, rule_text
from driftaudit.render.charts import COLORS, Bar, timeline
from driftaudit.rule import quote

HOLDER = "#1565c0"
RULE = COLORS["high"]
EXPOSED = COLORS["critical"]
STOPPED = "#9e9e9e"  # let in by a group, stopped by network ACLs: not an exposure
TEXT = {"ip": ip_text, "rule": rule_text, "exposure": exposure_text}


def _epoch(iso: str | None) -> int | None:
    if iso is None:
        return None
    return int(
        dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
    )


def _bar(label: str, color: str, window: dict[str, Any]) -> Bar:
    start, end = window["start"], window["end"]
    first_with, last_with = _epoch(start["first_with"]), _epoch(end["last_with"])
    assert first_with is not None and last_with is not None
    return Bar(
        label,
        color,
        _epoch(start["last_without"]),
        first_with,
        last_with,
        _epoch(end["first_without"]),
    )


def _rule_label(window: dict[str, Any]) -> str:
    group, rule = window["group"], window["rule"]
    name = f" ({group['name']})" if group["name"] else ""
    note = f" {quote(rule['Description'])}" if rule.get("Description") else ""
    via = window.get("via")
    if via and via["kind"] == "prefix_list":
        note += f"  via {via['list']} entry {via['entry']}"
    elif via:
        note += f"  via {via['group']['id']}: held by {via['holder']['id']}"
    return f"rule  {group['id']}{name}  {describe_rule(rule)}{note}"


def bars(result: dict[str, Any]) -> list[Bar]:
    """The rows of one answer's timeline, in the answer's own order."""
    command = result["command"]
    if command == "ip":
        return [
            _bar(
                f"{KIND.get(h['type'], h['type'])} {h['id']}"
                + (f" ({h['name']})" if h["name"] else "")
                + f"  {h['kind']} {h['address']}"
                + (f" via {h['via']}" if h["via"] else "")
                + f"  {h['account']}"
                + (f" ({h['account_alias']})" if h.get("account_alias") else "")
                + f"/{h['region']}"
                + (f" {h['vpc']}" if h["vpc"] else ""),
                HOLDER,
                h,
            )
            for h in result["holders"]
        ]
    if command == "rule":
        return [_bar(_rule_label(w), RULE, w) for w in result["rules"]]
    out: list[Bar] = []
    seen: set[str] = set()
    for n, window in enumerate(result["windows"], 1):
        target = result["query"]["address"]
        out.append(
            _bar(f"exposure window {n}: {target} let in, held by none of ours", EXPOSED, window)
        )
        for rule in window["rules"]:
            label = _rule_label(rule)
            key = f"{label} {rule['start']['first_with']}"
            if key not in seen:
                seen.add(key)
                out.append(_bar(label, RULE, rule))
    for n, window in enumerate(result["stopped"], 1):
        label = f"not an exposure {n}: let in, but every target's network ACL denied it"
        out.append(_bar(label, STOPPED, window))
    return out


def command_line(result: dict[str, Any]) -> str:
    """The question, as the command that asks it (without -C)."""
    q = result["query"]
    parts = ["driftaudit history", result["command"]]
    if result["command"] in ("ip", "exposure"):
        parts.append(q["address"])
    for option in ("group", "source", "port", "account", "region", "vpc"):
        if q.get(option) is not None:
            parts.append(f"--{option} {q[option]}")
    if result["command"] == "rule" and q["direction"] != "ingress":
        parts.append(f"--direction {q['direction']}")
    if result["command"] == "exposure" and not q["world"]:
        parts.append("--no-world")
    if q.get("at"):
        parts.append(f"--at {q['at']}")
    return " ".join(parts)


def section(result: dict[str, Any], uid: str) -> dict[str, Any]:
    index = result["index"]
    start, end = _epoch(index["first"]), _epoch(index["last"])
    assert start is not None and end is not None
    title = command_line(result)
    return {
        "title": title,
        "svg": timeline(bars(result), start, end, f"Timeline: {title}", uid),
        "text": TEXT[result["command"]](result),
    }


def page(results: list[dict[str, Any]]) -> str:
    """One HTML document with a section per answer."""
    from markupsafe import Markup

    from driftaudit.render.report import jinja_environment

    sections = []
    for n, result in enumerate(results, 1):
        part = section(result, f"timeline-{n}")
        part["svg"] = Markup(part["svg"])  # noqa: S704 - built by charts.py, text escaped
        sections.append(part)
    template = jinja_environment().get_template("history.html.j2")
    return str(template.render(sections=sections))
