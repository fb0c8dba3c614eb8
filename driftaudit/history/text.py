"""Plain-text rendering of the history answers (the JSON is the queries' dicts as they are)."""

from __future__ import annotations

from typing import Any

from driftaudit.history.holders import KIND
from driftaudit.history.queries import describe_rule
from driftaudit.rule import quote
from driftaudit.textsafe import one_line


def _join(lines: list[str]) -> str:
    """The answer's lines; a name or description holding a line break stays on its line."""
    return "".join(one_line(line) + "\n" for line in lines)


def _start(start: dict[str, Any]) -> str:
    if start["last_without"] is None:
        return f"from   the first snapshot {start['first_with']} (or earlier)"
    return (
        f"from   between {start['last_without']} and {start['first_with']}"
        f"  commit {start['commit'][:12]}"
    )


def _end(end: dict[str, Any]) -> str:
    if end["first_without"] is None:
        return f"until  the last snapshot {end['last_with']} (still so)"
    return (
        f"until  between {end['last_with']} and {end['first_without']}  commit {end['commit'][:12]}"
    )


def _header(result: dict[str, Any]) -> list[str]:
    index = result["index"]
    count = index["snapshots"]
    lines = [f"# {count} snapshot{'s' * (count != 1)}, {index['first']} .. {index['last']}"]
    sample = result.get("sample")
    if sample:
        following = f", next {sample['next']}" if sample["next"] else ", the last one"
        lines.append(
            f"# as of the snapshot of {sample['time']} (commit {sample['commit'][:12]}{following})"
        )
    return lines


def _group(group: dict[str, Any]) -> str:
    name = f" ({group['name']})" if group["name"] else ""
    return f"{group['id']}{name} {group['account']}/{group['region']}"


def _rule_line(window: dict[str, Any]) -> str:
    rule = window["rule"]
    extra = f" [{rule['RuleId']}]" if rule.get("RuleId") else ""
    if rule.get("Description"):
        extra += f" {quote(rule['Description'])}"
    return f"{_group(window['group'])}  {describe_rule(rule)}{extra}"


def ip_text(result: dict[str, Any]) -> str:
    address = result["query"]["address"]
    lines = _header(result)
    holders = result["holders"]
    if not holders:
        when = "at that time" if result.get("sample") else "in any snapshot"
        lines.append(f"{address}: held by none of our resources {when}")
    for h in holders:
        via = f" via {h['via']}" if h["via"] else ""
        lines.append(
            f"{address}  {KIND.get(h['type'], h['type'])} {h['id']}  {h['scope']}"
            f" {h['address']}{via}  {h['account']}/{h['region']}"
        )
        lines += ["  " + _start(h["start"]), "  " + _end(h["end"])]
    return _join(lines)


def rule_text(result: dict[str, Any]) -> str:
    lines = _header(result)
    if not result["rules"]:
        lines.append("no matching rule in any snapshot")
    for window in result["rules"]:
        lines.append(_rule_line(window))
        lines += ["  " + _start(window["start"]), "  " + _end(window["end"])]
    return _join(lines)


def exposure_text(result: dict[str, Any]) -> str:
    query = result["query"]
    target = query["address"] + (f" port {query['port']}" if query["port"] is not None else "")
    lines = _header(result)
    windows = result["windows"]
    if not windows:
        lines.append(f"{target}: never allowed in while not ours")
    else:
        lines.append(
            f"{target}: allowed in by a rule while held by none of our resources, "
            f"in {len(windows)} window{'s' if len(windows) != 1 else ''}"
        )
    for n, w in enumerate(windows, 1):
        lines.append(f"window {n}")
        lines.append("  " + _start(w["start"]))
        lines += [f"         {cause}" for cause in w["opened_by"]]
        lines.append("  " + _end(w["end"]))
        lines += [f"         {cause}" for cause in w["closed_by"]]
        lines += [f"  rule   {_rule_line(r)}" for r in w["rules"]]
    return _join(lines)
