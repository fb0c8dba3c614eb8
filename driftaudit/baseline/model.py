"""The baseline as plain, typed values, and the small pure vocabulary both the loader and the
evaluator speak: protocols, port ranges, rule sources, field paths and globs.

Conventions follow AWS and the security-group collector: protocol ``-1`` means all traffic
(no ports), port ranges are inclusive, ICMP keeps type/code in FromPort/ToPort (-1 = any), and a
rule names one source (``cidr``, ``cidr6``, ``group`` or ``prefix_list``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from driftaudit.rule import (
    ICMP,
    PORTED,
    PROTOCOL_NAMES,
    Network,
    Source,
    is_public,
    protocol_label,
    protocol_of,
    within,
)

__all__ = [
    "ICMP",
    "PORTED",
    "PROTOCOL_NAMES",
    "Network",
    "Source",
    "is_public",
    "protocol_label",
    "protocol_of",
    "within",
]

#: Policy source keywords (``unheld-host`` needs the snapshot's networks: checks.Seen).
KEYWORDS = frozenset({"world", "public", "public-host", "unheld-host"})


class BaselineValueError(ValueError):
    """A value the schema lets through but that means nothing (a bad CIDR, 443-80)."""


@dataclass(frozen=True)
class Origin:
    """Where a declaration, policy or ignore rule is written."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


# --- protocols and ports ---------------------------------------------------------------------


Ports = tuple[int, int] | None


def ports_of(protocol: str, value: Any) -> Ports:
    """A declared ``ports`` value as (from, to) the way AWS stores it for ``protocol``."""
    if protocol == "-1":
        if value not in (None, "all"):
            raise BaselineValueError("protocol all covers every port: leave out ports")
        return None
    if protocol in ICMP:
        if value in (None, "all"):
            return (-1, -1)
        if isinstance(value, int):
            return (value, -1)  # an ICMP type, any code
        if isinstance(value, list):
            return (int(value[0]), int(value[1]))
        raise BaselineValueError(f"{protocol} ports are [type, code] (-1 = any), not {value!r}")
    if protocol not in PORTED:
        if value is not None:
            raise BaselineValueError(f"protocol {protocol} has no ports: leave out ports")
        return None
    if value is None:
        raise BaselineValueError(f'{protocol} needs ports (443, "8000-8080" or all)')
    if value == "all":
        return (0, 65535)
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, list):
        lo, hi = int(value[0]), int(value[1])
    else:
        first, _, last = str(value).partition("-")
        lo, hi = int(first), int(last or first)
    for port in (lo, hi):
        if not 0 <= port <= 65535:
            raise BaselineValueError(f"port {port} is out of range 0-65535")
    if lo > hi:
        raise BaselineValueError(f"port range {lo}-{hi} runs backwards (from > to)")
    return (lo, hi)


# --- sources -----------------------------------------------------------------------------------


def parse_network(text: str) -> Network:
    """A CIDR, strictly: AWS rejects host bits, and 10.0.0.1/8 is almost always a typo."""
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        if "host bits set" in str(e):
            wide = ipaddress.ip_network(text, strict=False)
            raise BaselineValueError(
                f"{text!r} has host bits set (did you mean {wide} or {text.split('/')[0]}/"
                f"{wide.max_prefixlen}?)"
            ) from e
        raise BaselineValueError(f"{text!r} is not a valid CIDR: {e}") from e


def parse_source(value: str, account: str | None = None) -> Source:
    """A declared source; raises BaselineValueError for a CIDR that is not one."""
    if value in KEYWORDS:
        return Source(value, value)
    if value.startswith("pl-"):
        return Source("prefix_list", value)
    if "sg-" in value:
        return group_source(value, account)
    network = parse_network(value)
    return Source("cidr" if network.version == 4 else "cidr6", str(network), network)


def group_source(value: str, account: str | None) -> Source:
    """A group reference; same-account ones without the owner, as the collector writes them."""
    return Source.of("group", value, account)


# --- field paths and globs --------------------------------------------------------------------

_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\["([^"]*)"\]|\[([^\]=]+)=([^\]]*)\]|\[(-?\d+)\]')

#: One step of a path: ("key", name), ("match", key, value) or ("index", n).
Step = tuple[Any, ...]


def parse_path(path: str) -> tuple[Step, ...]:
    """``BlockDeviceMappings[DeviceName=/dev/xvda].Ebs.Encrypted``, ``Tags["k8s.io/x"]``."""
    steps: list[Step] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise BaselineValueError(f"cannot read field path {path!r} at {path[pos:]!r}")
        if m.group(1) is not None:
            steps.append(("key", m.group(1)))
        elif m.group(2) is not None:
            steps.append(("key", m.group(2)))
        elif m.group(3) is not None:
            steps.append(("match", m.group(3), m.group(4)))
        else:
            steps.append(("index", int(m.group(5))))
        pos = m.end()
    if not steps:
        raise BaselineValueError("an empty field path")
    return tuple(steps)


class _Absent:
    def __repr__(self) -> str:
        return "absent"


ABSENT: Any = _Absent()


def get_path(value: Any, steps: tuple[Step, ...]) -> Any:
    """The value at a path; list levels are transparent to keys (``SecurityGroups.GroupId``
    gives every group id). ABSENT where the path does not exist."""
    for step in steps:
        if value is ABSENT:
            return ABSENT
        if step[0] == "key":
            if isinstance(value, dict):
                value = value.get(step[1], ABSENT)
            elif isinstance(value, list):
                found = [i[step[1]] for i in value if isinstance(i, dict) and step[1] in i]
                value = found if found or not value else ABSENT
            else:
                return ABSENT
        elif step[0] == "match":
            if not isinstance(value, list):
                return ABSENT
            value = next(
                (i for i in value if isinstance(i, dict) and str(i.get(step[1])) == step[2]),
                ABSENT,
            )
        else:
            if not isinstance(value, list) or not -len(value) <= step[1] < len(value):
                return ABSENT
            value = value[step[1]]
    return value


def glob_match(pattern: str, text: str) -> bool:
    """``*`` and ``?`` are wildcards; brackets are literal (they appear in field paths)."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )  # fnmatch would read [...] as a character class
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def tag_path(key: str) -> str:
    return f"Tags.{key}" if re.fullmatch(r"[^.\[\]\"]+", key) else f'Tags["{key}"]'


# --- declarations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """Which resources a declaration, policy or ignore rule is about (every given part must
    match; id and name are globs, tag values too)."""

    id: str | None = None
    name: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    vpc: str | None = None
    account: str | None = None
    region: str | None = None
    group_name: str | None = None  # a security group's GroupName, exactly

    def matches(self, doc: dict[str, Any], name: str) -> bool:
        resource = doc.get("resource") or {}
        tags = resource.get("Tags") or {}
        return (
            (self.id is None or glob_match(self.id, str(doc.get("id", ""))))
            and (self.name is None or glob_match(self.name, name))
            and all(k in tags and glob_match(v, str(tags[k])) for k, v in self.tags)
            and (self.vpc is None or resource.get("VpcId") == self.vpc)
            and (self.group_name is None or resource.get("GroupName") == self.group_name)
            and (self.account is None or doc.get("account") == self.account)
            and (self.region is None or doc.get("region") == self.region)
        )

    @property
    def exact_id(self) -> str | None:
        return self.id if self.id and not any(c in self.id for c in "*?") else None


@dataclass(frozen=True)
class RuleSpec:
    """One declared security-group rule with one source."""

    direction: str
    protocol: str
    ports: Ports
    source: Source
    description: str | None
    origin: Origin

    def key(self) -> tuple[Any, ...]:
        return (self.direction, self.protocol, self.ports, self.source.kind, self.source.value)

    def as_rule(self) -> dict[str, Any]:
        """In the snapshot's flattened shape, for rule_text."""
        rule: dict[str, Any] = {
            "Direction": self.direction,
            "Protocol": self.protocol,
            "SourceType": self.source.kind,
            "Source": self.source.value,
        }
        if self.ports is not None:
            rule["FromPort"], rule["ToPort"] = self.ports
        return rule


@dataclass(frozen=True)
class Expectation:
    path: str
    steps: tuple[Step, ...]
    value: Any
    origin: Origin


@dataclass(frozen=True)
class Declaration:
    """A declared security group or resource: what it should look like."""

    type: str
    label: str  # how a missing one is named: sg-0abc, "web in vpc-0abc", "name web-*"
    selector: Selector
    origin: Origin
    #: direction -> declared rules, for the directions the declaration lists.
    rules: dict[str, tuple[RuleSpec, ...]] = field(default_factory=dict)
    exclusive: bool = True
    expectations: tuple[Expectation, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    required_tags: tuple[str, ...] = ()
    security_groups: tuple[str, ...] | None = None
    name: str | None = None  # the expected name, to label a missing resource


@dataclass(frozen=True)
class PortMatch:
    protocol: str
    ports: Ports


@dataclass(frozen=True)
class Deny:
    direction: str = "ingress"  # ingress | egress | any
    sources: tuple[Source, ...] = ()  # empty: any source
    protocol: str | None = None
    ports: Ports = None
    excepts: tuple[PortMatch, ...] = ()


@dataclass(frozen=True)
class Policy:
    name: str
    type: str
    origin: Origin
    description: str = ""
    selector: Selector | None = None
    deny: Deny | None = None
    allowed: tuple[Source, ...] = ()
    required_tags: tuple[str, ...] = ()
    require_encryption: bool = False
    expectations: tuple[Expectation, ...] = ()
    #: The severity of every violation (``severity:``); None: the default (findings.py).
    severity: str | None = None


@dataclass(frozen=True)
class Ignore:
    """One ignore rule, of a baseline or of ``driftaudit.yaml`` (one language for both):
    which resources (type, id and name globs, account, region) and, with ``fields``, which
    of their paths (globs; a path ignores everything under it). ``until`` is the last day
    (UTC) it silences anything; ``reason`` says why it exists."""

    origin: Origin
    type: str = "*"
    id: str | None = None
    name: str | None = None
    account: str | None = None
    region: str | None = None
    fields: tuple[str, ...] = ()  # empty: the whole resource
    reason: str = ""
    until: dt.date | None = None

    def applies(self, doc: dict[str, Any], name: str) -> bool:
        return (
            glob_match(self.type, str(doc.get("type", "")))
            and (self.id is None or glob_match(self.id, str(doc.get("id", ""))))
            and (self.name is None or glob_match(self.name, name))
            and (self.account is None or doc.get("account") == self.account)
            and (self.region is None or doc.get("region") == self.region)
        )

    def covers(self, path: str) -> bool:
        """Whether one of ``fields`` ignores ``path``: a pattern ignores the path and
        everything under it (like Terraform's ignore_changes)."""
        return any(
            glob_match(p, path) or path.startswith(p + ".") or path.startswith(p + "[")
            for p in self.fields
        )

    def expired(self, day: dt.date) -> bool:
        """Whether the rule no longer silences anything on ``day``."""
        return self.until is not None and day > self.until

    def describe(self) -> str:
        """``driftaudit.yaml:12 (until 2026-12-31: "patch window")``, for notes."""
        said = [f"until {self.until.isoformat()}"] if self.until else []
        said += [f'"{self.reason}"'] if self.reason else []
        return f"{self.origin}" + (f" ({', '.join(said)})" if said else "")


def partition(ignores: Iterable[Ignore], day: dt.date) -> tuple[list[Ignore], list[Ignore]]:
    """(rules in force on ``day``, rules expired by then)."""
    ignores = list(ignores)
    return [i for i in ignores if not i.expired(day)], [i for i in ignores if i.expired(day)]


@dataclass
class Baseline:
    files: list[str] = field(default_factory=list)
    accounts: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    manage: dict[str, str] = field(default_factory=dict)
    declarations: list[Declaration] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    ignores: list[Ignore] = field(default_factory=list)

    def in_scope(self, doc: dict[str, Any]) -> bool:
        return (self.accounts is None or doc.get("account") in self.accounts) and (
            self.regions is None or doc.get("region") in self.regions
        )

    @property
    def types(self) -> set[str]:
        """Types the baseline says something about."""
        return (
            {d.type for d in self.declarations}
            | {p.type for p in self.policies}
            | {t for t, how in self.manage.items() if how == "exclusive"}
        )
