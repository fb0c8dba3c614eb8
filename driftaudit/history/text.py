"""Plain-text rendering of the history answers (the JSON is the queries' dicts as they are)."""

from __future__ import annotations

from typing import Any

from driftaudit.backfill.source import LABEL as SOURCES
from driftaudit.history.holders import KIND
from driftaudit.history.queries import describe_rule
from driftaudit.rule import quote
from driftaudit.textsafe import one_line


def _join(lines: list[str]) -> str:
    """The answer's lines; a name or description holding a line break stays on its line."""
    return "".join(one_line(line) + "\n" for line in lines)


def _from(boundary: dict[str, Any]) -> str:
    """`` (from AWS Config)`` when the boundary is drawn from a backfilled snapshot."""
    source = boundary.get("source")
    return f" (from {SOURCES.get(source, source)})" if source else ""


def _start(start: dict[str, Any]) -> str:
    if start["last_without"] is None:
        return f"from   the first snapshot {start['first_with']} (or earlier){_from(start)}"
    return (
        f"from   between {start['last_without']} and {start['first_with']}"
        f"  commit {start['commit'][:12]}{_from(start)}"
    )


def _end(end: dict[str, Any]) -> str:
    if end["first_without"] is None:
        return f"until  the last snapshot {end['last_with']} (still so){_from(end)}"
    return (
        f"until  between {end['last_with']} and {end['first_without']}  commit {end['commit'][:12]}"
        f"{_from(end)}"
    )


def _attributed(item: dict[str, Any], key: str, indent: str = "         ") -> list[str]:
    """The CloudTrail answer of a boundary (``--attribute``), when there is one."""
    from driftaudit.attribution.questions import line

    answer = (item.get("attribution") or {}).get(key)
    return [indent + line(answer)] if answer else []


def _ipam(result: dict[str, Any]) -> list[str]:
    """Amazon VPC IPAM's records of the address (``--ipam``), apart from the snapshots'."""
    found = result.get("ipam")
    if found is None:
        return []
    asked = ", ".join(f"{a['ipam']} ({a['account']}/{a['region']})" for a in found["asked"])
    if not found["asked"]:
        return ["# IPAM: no Amazon VPC IPAM in the snapshotted accounts and regions"]
    lines = [
        f"# IPAM: GetIpamAddressHistory {found['cidr']} in the {found['scope']} scope of {asked}"
        ": times are IPAM's samples (a change may be earlier than its sampled start)"
    ]
    if not found["records"]:
        lines.append(f"{found['cidr']}: no IPAM record")
    for r in found["records"]:
        name = f" ({r['name']})" if r.get("name") else ""
        vpc = f" {r['vpc']}" if r.get("vpc") else ""
        until = f"until {r['sampled_end']}" if r.get("sampled_end") else "still so (no end sampled)"
        lines.append(
            f"{r['cidr']}  {r['type']} {r['id']}{name}  {r['account']}/{r['region']}{vpc}  "
            f"(from IPAM {r['ipam']}) sampled from {r['sampled_start']} {until}"
        )
    return lines


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
        if sample.get("warning"):
            lines.append(f"# warning: {sample['warning']}")
    return lines


def _named(kind: str, rid: str, name: str | None) -> str:
    """``instance i-0a1b (web-1)``."""
    return f"{kind} {rid}" + (f" ({name})" if name else "")


def _where(item: dict[str, Any]) -> str:
    """``123456789012/us-east-1 vpc-0a1b``: account, region and VPC when known."""
    vpc = f" {item['vpc']}" if item.get("vpc") else ""
    alias = f" ({item['account_alias']})" if item.get("account_alias") else ""
    return f"{item['account']}{alias}/{item['region']}{vpc}"


def _group(group: dict[str, Any]) -> str:
    name = f" ({group['name']})" if group["name"] else ""
    return f"{group['id']}{name} {_where(group)}"


def _via(via: dict[str, Any] | None) -> str | None:
    if not via:
        return None
    if via["kind"] == "prefix_list":
        name = f" ({via['name']})" if via["name"] else ""
        note = f" {quote(via['description'])}" if via.get("description") else ""
        return f"via prefix list {via['list']}{name} entry {via['entry']}{note}"
    holder, group = via["holder"], via["group"]
    name = f" ({group['name']})" if group["name"] else ""
    held = _named(KIND.get(holder["type"], holder["type"]), holder["id"], holder["name"])
    return f"via group {group['id']}{name}: held by {held}, {holder['kind']} {holder['address']}"


def _rule_line(window: dict[str, Any]) -> str:
    rule = window["rule"]
    extra = f" [{rule['RuleId']}]" if rule.get("RuleId") else ""
    if rule.get("Description"):
        extra += f" {quote(rule['Description'])}"
    return f"{_group(window['group'])}  {describe_rule(rule)}{extra}"


def _unlisted(windows: list[dict[str, Any]]) -> list[str]:
    """The note of an answer too broad to name targets (their count is null)."""
    if not any(w["more_targets"] is None for w in windows):
        return []
    return [
        f"# targets not named: {len(windows)} rule windows (more than 100); "
        "narrow the question (--port, --group, --vpc, --at) to see who each could reach"
    ]


def _targets(window: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for t in window["targets"]:
        seen = f"{t['start']['first_with']} .. {t['end']['last_with']}"
        acl = f"  {t['acl']['text']}" if t.get("acl") else ""
        subnet = f" {t['subnet']}" if t.get("subnet") else ""
        what = _named(KIND.get(t["type"], t["type"]), t["id"], t["name"])
        lines.append(f"{indent}target {what}  {_where(t)}{subnet}  {seen}{acl}")
    if window["more_targets"]:  # (None: not looked up, said once at the top)
        lines.append(f"{indent}... and {window['more_targets']} more target(s)")
    return lines


def ip_text(result: dict[str, Any]) -> str:
    address = result["query"]["address"]
    lines = _header(result)
    networks = result["networks"]
    if result["private"] and len(networks) > 1 and not result["query"]["vpc"]:
        lines.append(
            f"# {address} is private and was held in {len(networks)} VPCs "
            f"({', '.join(networks)}): it is ours for a rule only in the rule's VPC or one "
            "connected to it (--vpc VPC answers for one)"
        )
    holders = result["holders"]
    if not holders:
        when = "at that time" if result.get("sample") else "in any snapshot"
        lines.append(f"{address}: held by none of our resources {when}")
    for h in holders:
        via = f" via {h['via']}" if h["via"] else ""
        what = _named(KIND.get(h["type"], h["type"]), h["id"], h["name"])
        lines.append(f"{address}  {what}  {h['kind']} {h['address']}{via}  {_where(h)}")
        lines += ["  " + _start(h["start"]), *_attributed(h, "start")]
        lines += ["  " + _end(h["end"]), *_attributed(h, "end")]
    return _join(lines + _ipam(result))


def rule_text(result: dict[str, Any]) -> str:
    lines = _header(result) + _unlisted(result["rules"])
    if not result["rules"]:
        lines.append("no matching rule in any snapshot")
    for window in result["rules"]:
        lines.append(_rule_line(window))
        via = _via(window["via"])
        if via:
            lines.append(f"  {via}")
        lines += ["  " + _start(window["start"]), *_attributed(window, "start")]
        lines += ["  " + _end(window["end"]), *_attributed(window, "end")]
        lines += _targets(window, "  ")
    return _join(lines)


def _causes(window: dict[str, Any], key: str) -> list[str]:
    """What opened or closed an exposure window, each with its CloudTrail answer."""
    from driftaudit.attribution.questions import line

    answers = (window.get("attribution") or {}).get(key) or []
    lines = []
    for n, cause in enumerate(window[key]):
        lines.append(f"         {cause}")
        if n < len(answers) and answers[n]:
            lines.append(f"           {line(answers[n])}")
    return lines


def exposure_text(result: dict[str, Any]) -> str:
    query = result["query"]
    target = query["address"] + (f" port {query['port']}" if query["port"] is not None else "")
    windows = result["windows"]
    every = [r for w in [*windows, *result["stopped"]] for r in w["rules"]]
    lines = _header(result) + _unlisted(every)
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
        lines += _causes(w, "opened_by")
        lines.append("  " + _end(w["end"]))
        lines += _causes(w, "closed_by")
        for r in w["rules"]:
            lines.append(f"  rule   {_rule_line(r)}")
            via = _via(r["via"])
            if via:
                lines.append(f"         {via}")
            lines += _targets(r, "         ")
    for n, s in enumerate(result["stopped"], 1):
        # Let in by a security group, stopped by the network ACLs of every target's subnet.
        groups = dict.fromkeys(
            _named("", r["group"]["id"], r["group"]["name"]).strip() for r in s["rules"]
        )
        lines.append(
            f"not an exposure {n}: allowed by {', '.join(groups)} but {'; '.join(s['denied_by'])}"
        )
        lines += ["  " + _start(s["start"]), "  " + _end(s["end"])]
        for r in s["rules"]:
            lines.append(f"  rule   {_rule_line(r)}")
            via = _via(r["via"])
            if via:
                lines.append(f"         {via}")
    return _join(lines)
