"""Compare two versions of one snapshot file (pure: documents in, a change out).

Security-group rules are compared as whole rules (added / removed / description changed),
tags as keys, and everything else with DeepDiff after list items are matched by a stable
id (``GroupId``, ``DeviceName``...) rather than by position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from driftaudit.canonical import DEFAULT_SPEC, Spec, canonical_json
from driftaudit.change.links import NO_LINKS, Links, links_of
from driftaudit.collect.collectors import REGISTRY
from driftaudit.rule import ATTRIBUTES, Rule, quote, rules_of
from driftaudit.textsafe import one_line

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass
class Detail:
    """One line of a change: a rule, a tag or a field, added (+), removed (-) or changed (~)."""

    kind: str  # rule | tag | field
    op: str  # + | - | ~
    path: str  # the field path, tag key, or rule text
    old: Any = None
    new: Any = None
    rule: dict[str, Any] | None = None  # the rule itself, for rule details
    severity: str = "info"
    #: For a rule changed in place (~): which describing field (Rule.ATTRIBUTES) changed.
    attribute: str = "Description"
    #: Why it is rated as it is, when that is not the line itself: the rule a prefix list's
    #: new entry widens, the list entry a rule's source lets in (severity.classify).
    note: str = ""

    @property
    def text(self) -> str:
        line = self._line()
        return f"{line} ({self.note})" if self.note else line

    def _line(self) -> str:
        if self.kind == "rule":
            if self.op != "~":
                return f"{self.op} {self.path}"
            if self.attribute == "Description":
                return f"~ {self.path}: description {quote(self.old)} -> {quote(self.new)}"
            what = self.attribute.lower() if self.attribute == "Tags" else self.attribute
            return f"~ {self.path}: {what} {_short(self.old)} -> {_short(self.new)}"
        label = f"tag {self.path}" if self.kind == "tag" else self.path
        if self.op in "+-" and isinstance(self.new if self.op == "+" else self.old, dict):
            # A list item or a mapping added or removed: its fields, never a JSON blob.
            return f"{self.op} {label}{_item(label, self.new if self.op == '+' else self.old)}"
        if self.op == "+":
            return f"+ {label} = {_short(self.new)}"
        if self.op == "-":
            return f"- {label} (was {_short(self.old)})"
        return f"~ {label}: {_short(self.old)} -> {_short(self.new)}"


@dataclass
class Change:
    """What happened to one resource between two snapshots."""

    account: str
    region: str
    type: str
    id: str
    name: str
    action: str  # added | removed | modified
    file: str
    details: list[Detail] = field(default_factory=list)
    severity: str = "info"
    #: Changes of other resources (or this one's own copies) that follow from this one,
    #: folded under it (driftaudit.change.collapse): one logical change, its severity the
    #: worst of its parts.
    derived: list[Change] = field(default_factory=list)
    #: For a derived change: how it follows from the change it is folded under.
    relation: str = ""
    #: What the documents say it is tied to (driftaudit.change.links); not rendered.
    links: Links = field(default=NO_LINKS, repr=False)
    #: The severity of the resource being added or removed (severity.classify), apart from
    #: its details'; None for a modified resource.
    action_severity: str | None = None

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name and self.name != self.id else self.id

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account, self.region, self.type, self.id)

    def parts(self) -> Iterator[Change]:
        """This change and the changes folded under it."""
        yield self
        yield from self.derived

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "type": self.type,
            "id": self.id,
            "name": self.name,
            "action": self.action,
            "file": self.file,
            "severity": self.severity,
            "details": [
                {
                    "kind": d.kind,
                    "op": d.op,
                    "path": d.path,
                    "old": d.old,
                    "new": d.new,
                    "severity": d.severity,
                    "text": d.text,
                }
                for d in self.details
            ],
            "relation": self.relation,
            "derived": [d.as_dict() for d in self.derived],
        }


def own_severity(change: Change) -> str:
    """The worst severity of a change's own details and of the resource being added or
    removed (what severity.classify rated), without the parts folded under it."""
    levels = [d.severity for d in change.details]
    if change.action_severity is not None:
        levels.append(change.action_severity)
    return max(levels, key=severity_rank) if levels else "info"


def _short(value: Any, limit: int = 120) -> str:
    """A value on one line: a string quoted, a scalar as JSON, a mapping or list as readable
    fields (``GroupId=sg-0abc, GroupName=web``; ``(none)`` when empty)."""
    if isinstance(value, str):
        text = f'"{one_line(value)}"'
    elif isinstance(value, (dict, list)):
        text = fields_text(value) or "(none)"
    else:
        text = one_line(canonical_json(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


_BARE = re.compile(r"[A-Za-z0-9._:/@+-]+")
_IDENTITY = re.compile(r"\[([^\[\]]*)\]$")


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value if _BARE.fullmatch(value) else f'"{one_line(value)}"'
    return one_line(canonical_json(value))


def fields_text(value: Any, prefix: str = "") -> str:
    """A mapping or list as readable fields on one line: nested keys dotted
    (``Ebs.VolumeId=vol-0abc``), lists in brackets, strings bare unless they need quotes."""
    if isinstance(value, dict):
        parts = []
        for k in sorted(value):
            v = value[k]
            if isinstance(v, dict) and v:
                parts.append(fields_text(v, f"{prefix}{k}."))
            else:
                parts.append(
                    f"{prefix}{k}={fields_text(v) if isinstance(v, (dict, list)) else _scalar(v)}"
                )
        return ", ".join(parts)
    if isinstance(value, list):
        shown = [f"{{{fields_text(i)}}}" if isinstance(i, dict) else _scalar(i) for i in value]
        return f"[{', '.join(shown)}]"
    return _scalar(value)


def _item(label: str, value: dict[str, Any], limit: int = 120) -> str:
    """What follows the path of a mapping added or removed: the fields its identity
    (``[GroupId=sg-0abc]``) does not already say; a lone name as `` (web)``."""
    known = _IDENTITY.search(label)
    said = {p.split("=", 1)[0] for p in known.group(1).split(",")} if known else set()
    rest = {k: v for k, v in value.items() if k not in said}
    if not rest:
        return ""
    if len(rest) == 1:
        [(key, only)] = rest.items()
        if key.endswith("Name") and isinstance(only, str):
            return f" ({one_line(only)})"
    text = fields_text(rest)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f": {text}"


def rule_text(rule: dict[str, Any]) -> str:
    """``ingress tcp/22 from 10.191.12.13/32 "temp debugging"`` — one rule, one line."""
    return Rule.from_dict(rule).text()


def resource_name(resource: dict[str, Any], rtype: str = "") -> str:
    """The Name tag, else the type's own name field (ResourceType.name_of)."""
    if rtype in REGISTRY:
        return REGISTRY[rtype].name_of(resource)
    tags = resource.get("Tags")
    if isinstance(tags, dict) and isinstance(tags.get("Name"), str):
        return str(tags["Name"])
    return ""


def rule_details(old: list[Rule], new: list[Rule], account: str = "") -> list[Detail]:
    """Rules matched by what they allow (Rule.key); a rule whose description, tags or peering
    changed is the same rule, changed."""
    before = {r.key(account): r for r in old}
    after = {r.key(account): r for r in new}
    out = []
    for key in sorted(before.keys() - after.keys(), key=repr):
        r = before[key]
        out.append(Detail("rule", "-", r.text(), old=dict(r.raw), rule=dict(r.raw)))
    for key in sorted(after.keys() - before.keys(), key=repr):
        r = after[key]
        out.append(Detail("rule", "+", r.text(), new=dict(r.raw), rule=dict(r.raw)))
    for key in sorted(before.keys() & after.keys(), key=repr):
        a, b = before[key], after[key]
        was, now = a.attributes(), b.attributes()
        for name in ATTRIBUTES:
            if was.get(name) != now.get(name):
                text = b.text(description=False)
                old_value, new_value = was.get(name), now.get(name)
                out.append(
                    Detail("rule", "~", text, old_value, new_value, dict(b.raw), "info", name)
                )
    return out


def tag_details(old: dict[str, Any], new: dict[str, Any]) -> list[Detail]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            out.append(Detail("tag", "-", key, old=old[key]))
        elif key not in old:
            out.append(Detail("tag", "+", key, new=new[key]))
        elif old[key] != new[key]:
            out.append(Detail("tag", "~", key, old[key], new[key]))
    return out


def keyed(value: Any, spec: Spec = DEFAULT_SPEC, path: str = "") -> Any:
    """Identity before comparison: a list whose type declares sort keys for it
    (``Spec.sort_by``, which are also its items' identity) becomes a mapping keyed by them
    (``[DeviceName=/dev/xvda]``) when they tell every item apart; an ordered list
    (``Spec.ordered``) becomes a mapping by position (``[0]``), so a reordering is a change;
    other lists are left for DeepDiff to compare as unordered."""
    if isinstance(value, dict):
        return {k: keyed(v, spec, f"{path}.{k}" if path else k) for k, v in value.items()}
    if not isinstance(value, list):
        return value
    if path in spec.ordered:
        return {f"[{n}]": keyed(i, spec, path) for n, i in enumerate(value)}
    keys = spec.sort_by.get(path, ())
    # An empty list is an empty mapping too: a first item (a prefix list's first entry) is
    # then an item added ([Cidr=…]), not the whole list changing type.
    if keys and all(isinstance(i, dict) for i in value):
        labels = [_identity(i, keys) for i in value]
        if all(labels) and len(set(labels)) == len(labels):
            return {label: keyed(i, spec, path) for label, i in zip(labels, value, strict=True)}
    return [keyed(i, spec, path) for i in value]


def _identity(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    """``[GroupId=sg-0abc]`` or ``[Egress=false,RuleNumber=100]``: the keys an item has."""
    parts = [
        f"{k}={canonical_json(item[k]) if isinstance(item[k], bool) else item[k]}"
        for k in keys
        if isinstance(item.get(k), (str, int))
    ]
    return f"[{','.join(parts)}]" if parts else ""


def _path_text(keys: list[Any]) -> str:
    text = ""
    for k in keys:
        if isinstance(k, int):
            continue  # position in an unordered list: not part of the identity
        k = str(k)
        text += k if k.startswith("[") or not text else f".{k}"
    return text or "(resource)"


def field_details(
    old: dict[str, Any], new: dict[str, Any], spec: Spec = DEFAULT_SPEC
) -> list[Detail]:
    """The fields that differ, as DeepDiff finds them in the keyed documents (``keyed``),
    handed only the parts that differ (:func:`differing`): the same details as DeepDiff over
    the whole documents, at a fraction of the cost on a large resource."""
    old_part, new_part = differing(old, new, spec)
    if not old_part and not new_part:
        return []
    from deepdiff import DeepDiff

    diff = DeepDiff(
        old_part,
        new_part,
        ignore_order=True,
        verbose_level=2,
        view="tree",
        threshold_to_diff_deeper=DEEPER,
    )
    return deepdiff_details(diff)


def deepdiff_details(diff: Any) -> list[Detail]:
    """A tree-view DeepDiff's findings as field details, sorted by path."""
    from deepdiff.helper import NotPresent

    out = []
    for report, levels in diff.items():
        for level in levels:
            path = _path_text(level.path(output_format="list"))
            a = None if isinstance(level.t1, NotPresent) else level.t1
            b = None if isinstance(level.t2, NotPresent) else level.t2
            if "added" in report:
                out.append(Detail("field", "+", path, new=b))
            elif "removed" in report:
                out.append(Detail("field", "-", path, old=a))
            else:
                out.append(Detail("field", "~", path, a, b))
    out.sort(key=lambda d: (d.path, d.op))
    return out


#: DeepDiff's ``threshold_to_diff_deeper`` (its default, pinned): two mappings sharing fewer
#: than this share of their keys are reported as one value changed, not key by key.
DEEPER = 0.33


def differing(
    old: dict[str, Any], new: dict[str, Any], spec: Spec = DEFAULT_SPEC
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``keyed(old)`` and ``keyed(new)`` pruned to what differs: the mappings on the way to a
    difference, and at its end the two values whole (a list DeepDiff compares ignoring
    order, a scalar, a type change), keys on one side only. DeepDiff compares mappings key
    by key, so on the pruned pair it reports exactly what it reports on the whole documents,
    with the same paths: what is left out is equal, types included (``True`` is not ``1``,
    nor ``1`` ``1.0``), where DeepDiff reports nothing. Its one look at a whole mapping is
    the share of keys two mappings have in common (:data:`DEEPER`): a pair of mappings with
    keys on one side only keeps every shared key (an equal one as ``None`` on both sides),
    and a pair below that share is handed over whole. Only the differing parts are keyed; a
    list keyed into a mapping (its items' identity) is pruned further."""
    if _apart(old, new):
        return keyed(old, spec), keyed(new, spec)
    return _prune(old, new, spec, "", True)


def _apart(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether DeepDiff reports these two mappings as one value changed (too few keys in
    common: see :data:`DEEPER`)."""
    union = len(a.keys() | b.keys())
    return union > 1 and len(a.keys() & b.keys()) / union < DEEPER


def _prune(
    a: dict[str, Any], b: dict[str, Any], spec: Spec, path: str, raw: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``raw``: the values are still to be keyed (at ``path``); else they already are."""
    out_a: dict[str, Any] = {}
    out_b: dict[str, Any] = {}
    # Keys on one side only: DeepDiff weighs the shared keys against all (DEEPER), so every
    # shared key stays, an equal one as None on both sides (DeepDiff reports nothing there).
    keep_all = a.keys() != b.keys()
    for k, va in a.items():
        at = f"{path}.{k}" if path else k
        if k not in b:
            out_a[k] = keyed(va, spec, at) if raw else va
            continue
        vb = b[k]
        part_a: Any = None
        part_b: Any = None
        if _same(va, vb):
            pass
        elif isinstance(va, dict) and isinstance(vb, dict):
            part_a, part_b = _pair(va, vb, spec, at, raw, raw)
        else:
            ka, kb = (keyed(va, spec, at), keyed(vb, spec, at)) if raw else (va, vb)
            if raw and isinstance(ka, dict) and isinstance(kb, dict):
                part_a, part_b = _pair(ka, kb, spec, at, False, False)  # keyed by identity
            else:
                out_a[k], out_b[k] = ka, kb
                continue
        if part_a or part_b:
            out_a[k], out_b[k] = part_a, part_b
        elif keep_all:  # equal (or equal mappings in another order, which is no change)
            out_a[k] = out_b[k] = None
    for k, vb in b.items():
        if k not in a:
            out_b[k] = keyed(vb, spec, f"{path}.{k}" if path else k) if raw else vb
    return out_a, out_b


def _pair(
    a: dict[str, Any], b: dict[str, Any], spec: Spec, path: str, raw: bool, key: bool
) -> tuple[Any, Any]:
    """Two mappings pruned, or whole (keyed when ``key``) when DeepDiff reports them as one
    value changed."""
    if _apart(a, b):
        return (keyed(a, spec, path), keyed(b, spec, path)) if key else (a, b)
    return _prune(a, b, spec, path, raw)


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types throughout (``==`` takes ``True`` for ``1`` and ``1`` for
    ``1.0``; DeepDiff reports a type change). Never true of what DeepDiff would report."""
    if a is b:
        return True
    if type(a) is not type(b) or a != b:
        return False
    if not isinstance(a, (dict, list)):
        return True
    try:  # equal: the JSON text tells booleans, integers and floats apart (C speed)
        return canonical_json(a) == canonical_json(b)
    except (TypeError, ValueError):  # a value JSON cannot write (a date): walk it
        return _same_types(a, b)


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_types(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def compare(
    old_doc: dict[str, Any] | None, new_doc: dict[str, Any] | None, file: str
) -> Change | None:
    """The change between two versions of one snapshot file; None when nothing differs."""
    doc = new_doc if new_doc is not None else old_doc
    if doc is None:
        return None
    old = (old_doc or {}).get("resource") or {}
    new = (new_doc or {}).get("resource") or {}
    action = "added" if old_doc is None else "removed" if new_doc is None else "modified"
    rtype = str(doc.get("type", ""))
    spec = REGISTRY[rtype].spec if rtype in REGISTRY else DEFAULT_SPEC
    change = Change(
        account=str(doc.get("account", "")),
        region=str(doc.get("region", "")),
        type=rtype,
        id=str(doc.get("id", "")),
        name=resource_name(new or old, rtype),
        action=action,
        file=file,
        links=links_of(
            rtype, old if old_doc is not None else None, new if new_doc is not None else None
        ),
    )
    # Rules of a whole group added or removed count as rules added or removed: a new group
    # opening SSH to the world is as critical as a rule added to an old one. The documents
    # have passed layout.parse_document, which checked every rule.
    change.details += rule_details(rules_of(old), rules_of(new), change.account)
    if action == "modified":
        change.details += tag_details(old.get("Tags") or {}, new.get("Tags") or {})
        rest_old = {k: v for k, v in old.items() if k not in ("Rules", "Tags")}
        rest_new = {k: v for k, v in new.items() if k not in ("Rules", "Tags")}
        # Most changes touch only rules or tags: identical data needs no DeepDiff (nor its
        # import, a tenth of a second of `driftaudit diff`). JSON text, not ==, because
        # == takes True for 1 where DeepDiff reports a type change.
        if canonical_json(rest_old) != canonical_json(rest_new):
            change.details += field_details(rest_old, rest_new, spec)
        if not change.details:
            return None
    return change
