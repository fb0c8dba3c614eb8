"""``history ip|rule|exposure --attribute``: the boundaries of an answer, asked of CloudTrail,
and the answers written back beside them.

* a rule window: its start (a rule added: Authorize, or ModifySecurityGroupRules keeping its
  ``sgr-`` id) and end (removed: Revoke or ModifySecurityGroupRules);
* a holder: its start and end, by what the address is to it (an instance's: launched or
  terminated, a secondary one assigned or unassigned too; an interface's: created or
  deleted; an elastic IP's: allocated, associated, disassociated, released);
* an exposure window: each rule added or removed and each holder releasing or taking the
  address that opened or closed it.

A start in the first snapshot or an end in the last has nothing to look between: it is not
asked. Windows through a prefix list entry or a group member start and end with the entry
or the membership too, and boundaries of NAT gateways and load balancers have no event kind
matched: they are answered ``unsupported``, with why.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from driftaudit.attribution.events import epoch
from driftaudit.attribution.lookup import Lookups
from driftaudit.attribution.questions import Boundary, Question, unsupported
from driftaudit.history.holders import KIND
from driftaudit.history.queries import describe_rule
from driftaudit.rule import Rule, RuleError

#: Reads a snapshot document's resource as of a commit: (commit, type, account, region, id).
ReadDoc = Callable[[str, str, str, str, str], dict[str, Any] | None]


def _bounds(start: dict[str, Any] | None, end: dict[str, Any] | None) -> tuple[int, int] | None:
    """The two snapshot times of a start (``last_without``, ``first_with``) or an end
    (``last_with``, ``first_without``); None when one is open (first or last snapshot)."""
    if start is not None:
        a, b = start.get("last_without"), start.get("first_with")
    else:
        assert end is not None
        a, b = end.get("last_with"), end.get("first_without")
    lo, hi = epoch(a), epoch(b)
    return (lo, hi) if lo is not None and hi is not None else None


def _rule_boundary(window: dict[str, Any], which: str) -> Boundary | dict[str, Any] | None:
    edge = window[which]
    times = _bounds(edge, None) if which == "start" else _bounds(None, edge)
    if times is None:
        return None
    if window.get("via"):
        how = "prefix list entry" if window["via"]["kind"] == "prefix_list" else "group member"
        return unsupported(
            f"the {which} of a window through a {how}",
            f"the window {which}s with the rule or with the {how}; only the rule's own events "
            "are matched: ask history rule --group for the rule itself",
        )
    group = window["group"]
    try:
        rule = Rule.from_dict(window["rule"])
    except RuleError:
        return None
    kind = "rule_added" if which == "start" else "rule_removed"
    return [
        Question(
            kind,
            group["account"],
            group["region"],
            group["id"],
            (group["id"],),
            *times,
            rule=rule,
            rule_id=window["rule"].get("RuleId"),
        )
    ]


def _holder_boundary(
    holder: dict[str, Any], which: str, read: ReadDoc
) -> Boundary | dict[str, Any] | None:
    edge = holder[which]
    times = _bounds(edge, None) if which == "start" else _bounds(None, edge)
    if times is None:
        return None
    rtype, rid, kind = holder["type"], holder["id"], holder["kind"]
    account, region, address = holder["account"], holder["region"], holder["address"]
    via = holder.get("via") or ""
    starting = which == "start"

    def q(kind_: str, resource: str, names: tuple[str, ...], **extra: Any) -> Question:
        return Question(kind_, account, region, resource, names, *times, **extra)

    out: Boundary = []
    if rtype == "instances":
        out.append(q("launched" if starting else "terminated", rid, (rid,)))
        if kind.startswith("secondary") and via.startswith("eni-"):
            verb = "assigned" if starting else "unassigned"
            out.append(q(verb, via, (via,), address=address))
    elif rtype == "network_interfaces":
        out.append(q("interface_created" if starting else "interface_deleted", rid, (rid,)))
        if kind.startswith("secondary"):
            out.append(q("assigned" if starting else "unassigned", rid, (rid,), address=address))
        if via.startswith("i-"):
            # An instance's interfaces come and go with it.
            out.append(q("launched" if starting else "terminated", via, (via,)))
    elif rtype == "elastic_ips":
        names = (rid, *([via] if via else []))
        if starting:
            if kind == "elastic IP":
                out.append(q("allocated", rid, (rid,), address=address))
            out.append(q("associated", rid, names, address=address))
        else:
            # DisassociateAddress names only the association: read it from the snapshot.
            commit = edge.get("commit")
            doc = read(f"{commit}^", rtype, account, region, rid) if commit else None
            association = str((doc or {}).get("AssociationId") or "") or None
            if association:
                names = (*names, association)
                out.append(q("disassociated", rid, names, address=address, association=association))
            out.append(q("associated", rid, names, address=address))
            if kind == "elastic IP":
                out.append(q("released", rid, (rid,), address=address))
            if via.startswith("i-"):
                out.append(q("terminated", via, (via,)))
    else:
        return unsupported(
            f"the {which} of {KIND.get(rtype, rtype)} {rid}",
            f"no CloudTrail event kind is matched to {KIND.get(rtype, rtype)}s",
        )
    return out


def _label(holder: dict[str, Any]) -> str:
    name = f" ({holder['name']})" if holder.get("name") else ""
    return f"{KIND.get(holder['type'], holder['type'])} {holder['id']}{name}"


def _exposure_boundary(
    window: dict[str, Any], cause: str, opened: bool, holders: list[dict[str, Any]], read: ReadDoc
) -> Boundary | dict[str, Any] | None:
    """The boundary behind one opened_by / closed_by cause of an exposure window."""
    for r in window["rules"]:
        text = f"{r['group']['id']} {describe_rule(r['rule'])}"
        if opened and cause == f"rule added: {text}":
            return _rule_boundary({**r, "via": None}, "start")
        if not opened and cause == f"rule removed: {text}":
            return _rule_boundary({**r, "via": None}, "end")
    moment = window["start"]["first_with"] if opened else window["end"]["first_without"]
    for h in holders:
        if opened and cause == f"released by {_label(h)}" and h["end"]["first_without"] == moment:
            return _holder_boundary(h, "end", read)
        if not opened and cause == f"taken by {_label(h)}" and h["start"]["first_with"] == moment:
            return _holder_boundary(h, "start", read)
    return unsupported(cause, "no CloudTrail event kind is matched to this cause")


def attribute(
    result: dict[str, Any],
    lookups: Lookups,
    read: ReadDoc,
    holders: Callable[[], list[dict[str, Any]]] = list,
) -> None:
    """Add ``attribution`` to every rule window, holder and exposure window of ``result``
    (a history answer). ``holders``: the ip answer's holders of the address (for the causes
    of exposure windows)."""
    pending: list[tuple[dict[str, Any], str, int | None, Boundary]] = []

    def slot(target: dict[str, Any], key: str, index: int | None, asked: Any) -> None:
        box = target["attribution"]
        if isinstance(asked, list):
            pending.append((box, key, index, asked))
        elif index is None:
            box[key] = asked
        else:
            box[key][index] = asked

    command = result["command"]
    if command == "rule":
        for w in result["rules"]:
            w["attribution"] = {"start": None, "end": None}
            for which in ("start", "end"):
                slot(w, which, None, _rule_boundary(w, which))
    elif command == "ip":
        for h in result["holders"]:
            h["attribution"] = {"start": None, "end": None}
            for which in ("start", "end"):
                slot(h, which, None, _holder_boundary(h, which, read))
    else:
        known = (
            holders()
            if any(
                c.startswith(("released by", "taken by"))
                for w in result["windows"]
                for c in (*w["opened_by"], *w["closed_by"])
            )
            else []
        )
        for w in result["windows"]:
            w["attribution"] = {
                "opened_by": [None] * len(w["opened_by"]),
                "closed_by": [None] * len(w["closed_by"]),
            }
            for key, opened in (("opened_by", True), ("closed_by", False)):
                for n, cause in enumerate(w[key]):
                    slot(w, key, n, _exposure_boundary(w, cause, opened, known, read))
    answers = lookups.answer([b for _, _, _, b in pending])
    for (box, key, index, _), answer in zip(pending, answers, strict=True):
        if index is None:
            box[key] = answer
        else:
            box[key][index] = answer


def document_reader(directory: Path) -> ReadDoc:
    """Reads a resource's snapshot document as of a commit (``REV:DIR/…``), None when the
    file is not there or does not parse."""
    from driftaudit import layout
    from driftaudit.gitrepo import open_repo

    repo, rel = open_repo(directory)

    def read(rev: str, rtype: str, account: str, region: str, rid: str) -> dict[str, Any] | None:
        base = f"{rel}/" if rel and rel != "." else ""
        for ext in ("yaml", "json"):
            path = f"{base}{account}/{region}/{rtype}/{rid}.{ext}"
            proc = repo.git("cat-file", "blob", f"{rev}:{path}", check=False)
            if proc.returncode != 0:
                continue
            doc, _ = layout.parse_document(proc.stdout, path)
            resource = (doc or {}).get("resource")
            return resource if isinstance(resource, dict) else None
        return None

    return read
