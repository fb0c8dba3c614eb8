"""What is asked of one boundary, and which CloudTrail events answer it (pure).

A question names the change (a rule added to a group, an instance terminated, an elastic IP
associated...), where (account, region), the resource names CloudTrail indexes the events
under, and the two snapshot times it lies between. An event answers it when it succeeded
(no ``errorCode``), falls in the window looked at, and did that change
(:mod:`driftaudit.attribution.effects`): exactly one such event is the answer; none or
several keep the snapshot bounds, and the answer says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from driftaudit.attribution.effects import Effects, RuleRef, effects_of
from driftaudit.attribution.events import Event
from driftaudit.rule import Rule
from driftaudit.times import iso

#: Events are looked for this long before the earlier snapshot and after the later one: a
#: snapshot's parts are read before its commit (a run may take its --timeout), and clocks
#: differ by seconds.
MARGIN = 30 * 60

#: The event names that can answer each kind of question.
EVENTS = {
    "rule_added": (
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "ModifySecurityGroupRules",
    ),
    "rule_removed": (
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "ModifySecurityGroupRules",
    ),
    "launched": ("RunInstances",),
    "terminated": ("TerminateInstances",),
    "allocated": ("AllocateAddress",),
    "released": ("ReleaseAddress",),
    "associated": ("AssociateAddress",),
    "disassociated": ("DisassociateAddress",),
    "interface_created": ("CreateNetworkInterface",),
    "interface_deleted": ("DeleteNetworkInterface",),
    "assigned": ("AssignPrivateIpAddresses",),
    "unassigned": ("UnassignPrivateIpAddresses",),
}


@dataclass(frozen=True)
class Question:
    kind: str  # a key of EVENTS
    account: str
    region: str
    #: The resource changed: a group, instance, allocation or interface id.
    resource: str
    #: The names LookupEvents is asked for (ResourceName), the resource's first.
    names: tuple[str, ...]
    #: The snapshot times the change lies between (seconds since the epoch).
    start: int
    end: int
    #: rule_added / rule_removed: the rule (and its id when the snapshot has one).
    rule: Rule | None = None
    rule_id: str | None = None
    #: assigned / unassigned: the address; associated / disassociated: the association id
    #: (``association``) and the public address.
    address: str | None = None
    association: str | None = None

    @property
    def window(self) -> tuple[int, int]:
        return self.start - MARGIN, self.end + MARGIN

    @property
    def what(self) -> str:
        """``AuthorizeSecurityGroupIngress/Egress or ModifySecurityGroupRules adding ingress
        tcp/22 from 10.191.12.13/32 to sg-…``: for messages."""
        names = " or ".join(EVENTS[self.kind])
        if self.kind in ("rule_added", "rule_removed") and self.rule is not None:
            verb = "adding" if self.kind == "rule_added" else "removing"
            word = "to" if self.kind == "rule_added" else "from"
            return f"{names} {verb} {self.rule.text(description=False)} {word} {self.resource}"
        if self.address:
            return f"{names} of {self.address} on {self.resource}"
        if self.association:
            return f"{names} of {self.resource} ({self.association})"
        return f"{names} of {self.resource}"


def _same_content(ref: RuleRef, question: Question, direction: bool = True) -> bool:
    if ref.rule is None or question.rule is None:
        return False
    mine, theirs = question.rule.key(question.account), ref.rule.key(question.account)
    return mine == theirs if direction else mine[1:] == theirs[1:]


def _same_rule(ref: RuleRef, question: Question) -> bool:
    """The rule asked about: by its ``sgr-`` id when both have one, else by what it allows."""
    if ref.group and ref.group != question.resource:
        return False
    if question.rule_id and ref.rule_id:
        return ref.rule_id == question.rule_id
    return _same_content(ref, question)


def _by_id(ref: RuleRef, question: Question) -> bool:
    return (
        bool(question.rule_id)
        and ref.rule_id == question.rule_id
        and (not ref.group or ref.group == question.resource)
    )


def answers(question: Question, effects: Effects) -> bool:
    """Whether an event with these effects made the change asked about."""
    kind, rid = question.kind, question.resource
    if kind == "rule_added":
        if any(_same_rule(r, question) for r in effects.added_rules):
            return True
        # A rule changed in place keeps its id: its new content, without a direction.
        return any(
            _by_id(r, question) and (r.rule is None or _same_content(r, question, direction=False))
            for r in effects.modified_rules
        )
    if kind == "rule_removed":
        return any(_same_rule(r, question) for r in effects.removed_rules) or any(
            _by_id(r, question) for r in effects.modified_rules
        )
    if kind == "launched":
        return rid in effects.launched
    if kind == "terminated":
        return rid in effects.terminated
    if kind == "allocated":
        return any(rid in (a, ip) for a, ip in effects.allocated)
    if kind == "released":
        return rid in effects.released or (question.address or "") in effects.released
    if kind == "associated":
        return any(
            (a.allocation_id == rid or (a.public_ip and a.public_ip == question.address))
            and (question.association is None or a.association_id in (None, question.association))
            for a in effects.associated
        )
    if kind == "disassociated":
        return any(
            gone in (question.association, question.address) for gone in effects.disassociated
        )
    if kind == "interface_created":
        return any(eni == rid for eni, _ in effects.created_interfaces)
    if kind == "interface_deleted":
        return rid in effects.deleted_interfaces
    if kind == "assigned":
        return (rid, question.address or "") in effects.assigned
    if kind == "unassigned":
        return (rid, question.address or "") in effects.unassigned
    return False


def _removed_nothing(question: Question, event: Event) -> bool:
    """A Revoke of this rule that returned true and removed nothing."""
    return question.kind == "rule_removed" and any(
        _same_rule(r, question) for r in effects_of(event).unknown_rules
    )


#: One boundary: the questions any of whose answers explains it (an instance's address went
#: when the instance was terminated, or when the address was unassigned), all about the
#: same two snapshot times.
Boundary = list[Question]


def what(boundary: Boundary) -> str:
    return "; or ".join(q.what for q in boundary)


def resolve(
    boundary: Boundary,
    events: Iterable[Event],
    looked: tuple[int, int],
    note: str = "",
) -> dict[str, Any]:
    """The answer to a boundary from the events found over ``looked`` (the window actually
    looked at: CloudTrail keeps 90 days). ``note``: said with the answer (a window cut
    short)."""
    wanted = {name for q in boundary for name in EVENTS[q.kind]}
    lo, hi = looked
    relevant = sorted(
        (e for e in events if e.name in wanted and lo <= e.time <= hi),
        key=lambda e: (e.time, e.id),
    )
    done = [
        e for e in relevant if e.error is None and any(answers(q, effects_of(e)) for q in boundary)
    ]
    failed = [e for e in relevant if e.error is not None]
    empty = [
        e for e in relevant if e.error is None and any(_removed_nothing(q, e) for q in boundary)
    ]
    between = f"between {iso(lo)} and {iso(hi)}"
    reason: str | None
    if len(done) == 1:
        status, reason = "exact", None
    elif done:
        status = "several"
        reason = (
            f"{len(done)} events made this change {between} "
            f"({', '.join(iso(e.time) for e in done)}): it cannot be told which one lasted"
        )
    else:
        status = "none"
        reason = f"no successful {what(boundary)} {between}"
        reasons = []
        if failed:
            codes = ", ".join(sorted({e.error or "" for e in failed}))
            reasons.append(f"{len(failed)} failed call(s) ignored ({codes})")
        if empty:
            reasons.append(
                f"a {empty[0].name} at {iso(empty[0].time)} removed nothing "
                "(the rule was in its unknownIpPermissionSet)"
            )
        if reasons:
            reason += ": " + "; ".join(reasons)
    if note:
        reason = f"{reason}; {note}" if reason else note
    return {
        "status": status,
        "looked_for": what(boundary),
        "window": {"from": iso(lo), "to": iso(hi)},
        "event": done[0].as_dict() if status == "exact" else None,
        "candidates": [e.as_dict() for e in done] if status == "several" else [],
        "reason": reason,
    }


def unavailable(boundary: Boundary, reason: str) -> dict[str, Any]:
    """The answer when CloudTrail could not be asked (no credentials, older than 90 days,
    an error): the snapshot bounds stand."""
    lo, hi = boundary[0].window
    return {
        "status": "unavailable",
        "looked_for": what(boundary),
        "window": {"from": iso(lo), "to": iso(hi)},
        "event": None,
        "candidates": [],
        "reason": reason,
    }


def unsupported(what: str, reason: str) -> dict[str, Any]:
    """The answer to a boundary no CloudTrail event kind is matched to."""
    return {
        "status": "unsupported",
        "looked_for": what,
        "window": None,
        "event": None,
        "candidates": [],
        "reason": reason,
    }


def line(answer: dict[str, Any]) -> str:
    """One line of text for an answer: ``by … at … (Name, event id)`` or why not."""
    if answer["status"] == "exact":
        e = answer["event"]
        who = e["principal"]
        notes = []
        if e.get("session_issuer") and e["session_issuer"] != who:
            notes.append(f"session of {e['session_issuer']}")
        if e.get("invoked_by"):
            notes.append(f"invoked by {e['invoked_by']}")
        if notes:
            who += f" ({', '.join(notes)})"
        return f"by {who} at {e['time']} ({e['name']}, event {e['id']})"
    label = {
        "several": "several events",
        "none": "no event",
        "unavailable": "not looked up",
        "unsupported": "not looked up",
    }[answer["status"]]
    return f"CloudTrail: {label}: {answer['reason']} (the snapshot bounds stand)"
