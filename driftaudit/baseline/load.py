"""Baseline files -> one validated :class:`Baseline`.

Each file is parsed and checked against ``schemas/baseline.schema.json`` by
:func:`driftaudit.config.load_yaml_document` (file:line, JSON path, what was expected); then
the meaning is checked here with the same kind of message: CIDRs through ``ipaddress``, port
ranges, what applies to which type, and that two files do not declare the same thing twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from driftaudit.baseline.model import (
    Baseline,
    BaselineValueError,
    Declaration,
    Deny,
    Expectation,
    Ignore,
    Origin,
    Policy,
    PortMatch,
    RuleSpec,
    Selector,
    Source,
    parse_path,
    parse_source,
    ports_of,
    protocol_of,
)
from driftaudit.collect.collectors import REGISTRY
from driftaudit.config import load_yaml_document
from driftaudit.errors import ConfigError
from driftaudit.schemas import schema_path
from driftaudit.yamltext import json_path, line_of

SUFFIXES = (".yaml", ".yml")
# Convenience keys of a resource declaration: the field each one checks.
FIELDS = {
    "instance_type": "InstanceType",
    "image": "ImageId",
    "vpc": "VpcId",
    "subnet": "SubnetId",
    "encrypted": "Encrypted",
}
#: Where each type keeps its state and its encryption at rest (ResourceType's knowledge).
STATE_PATHS = {n: t.state_path for n, t in REGISTRY.items() if t.state_path}
ENCRYPTION_PATHS = {n: t.encryption_path for n, t in REGISTRY.items() if t.encryption_path}


def baseline_files(paths: Sequence[Path]) -> list[Path]:
    """The YAML files named, and those under the directories named (sorted, recursive).

    A file named is read even through a symbolic link (the user chose it); in a directory,
    which a pull request can fill, a link or anything else that is not a regular file is an
    error naming it, never followed (a link to /etc/passwd would be quoted in the message)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(_found_in(path))
            if not found:
                raise ConfigError(f"{path}: no baseline files (*.yaml) in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such baseline file or directory")
    unique: dict[Path, None] = dict.fromkeys(p.resolve() for p in files)
    return [next(f for f in files if f.resolve() == u) for u in unique]


def display_name(path: Path, root: Path | None) -> str:
    """The path relative to the repository root when inside it (SARIF needs that)."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def load_baseline(paths: Sequence[Path], root: Path | None = None) -> Baseline:
    """One baseline from every file named or found. A file that is empty (or only comments)
    and a set of files declaring nothing are errors, as no baseline at all is: a CI gate
    must not pass as "in sync" against an empty promise."""
    baseline = Baseline()
    seen: dict[tuple[Any, ...], Origin] = {}
    files = baseline_files(paths)
    for path in files:
        data, node = load_yaml_document(path, "baseline")
        if not data:
            raise ConfigError(f"{path}:1: the baseline file is empty (or only comments)")
        _Reader(path, display_name(path, root), node, baseline, seen).read(data)
    if not (baseline.declarations or baseline.policies or baseline.manage):
        raise ConfigError(
            f"{', '.join(map(str, files))}: the baseline declares nothing (no "
            "security_groups, resources, policies or manage); driftaudit baseline init "
            "writes one from the snapshot"
        )
    return baseline


def _found_in(directory: Path) -> Iterator[Path]:
    """Baseline files under ``directory``, hidden ones left out, never following a link."""
    for base, dirs, names in os.walk(directory):
        here = Path(base)
        for name in sorted(dirs):
            if not name.startswith(".") and (here / name).is_symlink():
                raise ConfigError(f"{here / name}: is a symbolic link; not followed")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            found = here / name
            if name.startswith(".") or found.suffix not in SUFFIXES:
                continue
            mode = found.lstat().st_mode
            if not stat.S_ISREG(mode):
                what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                raise ConfigError(
                    f"{found}: is {what}; not followed (name it with --baseline to use it)"
                )
            yield found


@functools.cache
def type_fields(rtype: str) -> frozenset[str]:
    schema = json.loads(schema_path(rtype).read_text(encoding="utf-8"))
    return frozenset(schema.get("properties", {}))


class _Reader:
    """Reads one validated file into the shared Baseline, naming file:line on any error."""

    def __init__(
        self,
        path: Path,
        name: str,
        node: yaml.Node | None,
        baseline: Baseline,
        seen: dict[tuple[Any, ...], Origin],
    ):
        self.path, self.name, self.node, self.baseline = path, name, node, baseline
        #: Declarations so far, by (type, "id", id) and (type, "name", name, vpc), all files.
        self.seen = seen

    # --- errors and origins -----------------------------------------------------------------

    def line(self, where: list[Any]) -> int:
        return line_of(self.node, where)

    def origin(self, where: list[Any]) -> Origin:
        return Origin(self.name, self.line(where))

    def fail(self, where: list[Any], message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line(where)}: {json_path(where)}: {message}")

    def source(self, value: str, where: list[Any], account: str | None = None) -> Source:
        try:
            return parse_source(value, account)
        except BaselineValueError as e:
            raise self.fail(where, str(e)) from e

    def ports(self, protocol: str, value: Any, where: list[Any]) -> Any:
        try:
            return ports_of(protocol, value)
        except BaselineValueError as e:
            raise self.fail(where + (["ports"] if value is not None else []), str(e)) from e

    # --- sections ---------------------------------------------------------------------------

    def read(self, data: dict[str, Any]) -> None:
        self.baseline.files.append(self.name)
        self.scope(data.get("scope"))
        for rtype, how in (data.get("manage") or {}).items():
            before = self.baseline.manage.get(rtype)
            if before is not None and before != how:
                raise self.fail(["manage", rtype], f"{rtype} is already managed {before!r}")
            self.baseline.manage[rtype] = how
        for i, group in enumerate(data.get("security_groups") or []):
            self.declare(self.security_group(group, ["security_groups", i]))
        for i, entry in enumerate(data.get("resources") or []):
            self.declare(self.resource(entry, ["resources", i]))
        for i, entry in enumerate(data.get("policies") or []):
            self.add_policy(self.policy(entry, ["policies", i]), ["policies", i, "name"])
        for i, entry in enumerate(data.get("ignore") or []):
            self.baseline.ignores.append(self.ignore(entry, ["ignore", i]))

    def scope(self, scope: dict[str, Any] | None) -> None:
        if not scope:
            return
        for key in ("accounts", "regions"):
            if key not in scope:
                continue
            values = frozenset(scope[key])
            before = getattr(self.baseline, key)
            if before is not None and before != values:
                raise self.fail(["scope", key], f"another baseline file sets scope.{key}")
            setattr(self.baseline, key, values)

    def declare(self, decl: Declaration) -> None:
        keys: list[tuple[Any, ...]] = []
        if decl.selector.exact_id:
            keys.append((decl.type, "id", decl.selector.exact_id))
        if decl.selector.group_name:
            keys.append((decl.type, "name", decl.selector.group_name, decl.selector.vpc))
        for key in keys:
            other = self.seen.get(key)
            if other is not None:
                raise ConfigError(f"{decl.origin}: {decl.label} is already declared at {other}")
            self.seen[key] = decl.origin
        self.baseline.declarations.append(decl)

    def add_policy(self, policy: Policy, where: list[Any]) -> None:
        for other in self.baseline.policies:
            if other.name == policy.name:
                raise self.fail(
                    where, f"policy {policy.name!r} is already defined at {other.origin}"
                )
        self.baseline.policies.append(policy)

    # --- declarations ----------------------------------------------------------------------

    def security_group(self, entry: dict[str, Any], where: list[Any]) -> Declaration:
        account, region = entry.get("account"), entry.get("region")
        expectations: list[Expectation] = []
        if "id" in entry:
            selector = Selector(id=entry["id"], account=account, region=region)
            label = entry["id"]
            for key, field in (("name", "GroupName"), ("vpc", "VpcId")):
                if key in entry:
                    expectations.append(self.expectation(field, entry[key], where + [key]))
        else:
            selector = Selector(
                group_name=entry["name"], vpc=entry["vpc"], account=account, region=region
            )
            label = f"{entry['name']} in {entry['vpc']}"
        rules: dict[str, tuple[RuleSpec, ...]] = {}
        for direction, key in (("ingress", "from"), ("egress", "to")):
            if direction in entry:
                rules[direction] = tuple(
                    self.rules(entry[direction], direction, key, where + [direction], account)
                )
        return Declaration(
            type="security_groups",
            label=label,
            selector=selector,
            origin=self.origin(where),
            rules=rules,
            exclusive=entry.get("exclusive", True),
            expectations=tuple(expectations) + self.expect(entry, where),
            tags=tuple(sorted((entry.get("tags") or {}).items())),
            required_tags=tuple(entry.get("required_tags") or ()),
            name=entry.get("name") if "id" in entry else None,
        )

    def rules(
        self,
        declared: list[dict[str, Any]],
        direction: str,
        key: str,
        where: list[Any],
        account: str | None,
    ) -> Iterable[RuleSpec]:
        for j, rule in enumerate(declared):
            at = where + [j]
            protocol = protocol_of(rule["protocol"])
            ports = self.ports(protocol, rule.get("ports"), at)
            for k, value in enumerate(rule[key]):
                source = self.source(value, at + [key, k], account)
                yield RuleSpec(
                    direction,
                    protocol,
                    ports,
                    source,
                    rule.get("description"),
                    self.origin(at),
                )

    def resource(self, entry: dict[str, Any], where: list[Any]) -> Declaration:
        rtype = entry["type"]
        if "id" in entry:
            selector = Selector(id=entry["id"])
            label = entry["id"]
            if "select" in entry:
                raise self.fail(where + ["select"], "give either id or select, not both")
        else:
            selector = self.selector(entry["select"])
            label = "select " + " ".join(
                f"{k}={v}" for k, v in sorted(entry["select"].items()) if k != "tags"
            )
            label += "".join(
                f" tag {k}={v}" for k, v in sorted(entry["select"].get("tags", {}).items())
            )
        fields = type_fields(rtype)
        expectations: list[Expectation] = []
        for key, field in FIELDS.items():
            if key in entry:
                if field not in fields:
                    raise self.fail(
                        where + [key],
                        f"{key} does not apply to {rtype} (no {field} field); use expect",
                    )
                expectations.append(self.expectation(field, entry[key], where + [key]))
        if "state" in entry:
            if rtype not in STATE_PATHS and "State" not in fields:
                raise self.fail(where + ["state"], f"state does not apply to {rtype}")
            path = STATE_PATHS.get(rtype, "State")
            expectations.append(self.expectation(path, entry["state"], where + ["state"]))
        groups = entry.get("security_groups")
        if groups is not None and not fields & {"SecurityGroups", "Groups"}:
            raise self.fail(where + ["security_groups"], f"{rtype} have no security groups")
        return Declaration(
            type=rtype,
            label=label,
            selector=selector,
            origin=self.origin(where),
            expectations=tuple(expectations) + self.expect(entry, where),
            tags=tuple(sorted((entry.get("tags") or {}).items())),
            required_tags=tuple(entry.get("required_tags") or ()),
            security_groups=tuple(groups) if groups is not None else None,
            name=(entry.get("tags") or {}).get("Name"),
        )

    def selector(self, select: dict[str, Any] | None) -> Selector:
        select = select or {}
        return Selector(
            id=select.get("id"),
            name=select.get("name"),
            tags=tuple(sorted((select.get("tags") or {}).items())),
            vpc=select.get("vpc"),
            account=select.get("account"),
            region=select.get("region"),
        )

    def expectation(self, path: str, value: Any, where: list[Any]) -> Expectation:
        try:
            steps = parse_path(path)
        except BaselineValueError as e:
            raise self.fail(where, str(e)) from e
        return Expectation(path, steps, value, self.origin(where))

    def expect(self, entry: dict[str, Any], where: list[Any]) -> tuple[Expectation, ...]:
        return tuple(
            self.expectation(path, value, where + ["expect", path])
            for path, value in sorted((entry.get("expect") or {}).items())
        )

    # --- policies and ignores --------------------------------------------------------------

    def policy(self, entry: dict[str, Any], where: list[Any]) -> Policy:
        rtype = entry["type"]
        deny = None
        if "deny" in entry:
            if rtype != "security_groups":
                raise self.fail(where + ["deny"], "deny applies to security_groups rules only")
            deny = self.deny(entry["deny"], where + ["deny"])
        if "allowed" in entry and deny is None:
            raise self.fail(where + ["allowed"], "allowed only exempts rules from a deny")
        allowed = tuple(
            self.source(v, where + ["allowed", k]) for k, v in enumerate(entry.get("allowed", []))
        )
        if entry.get("require_encryption") and rtype not in ENCRYPTION_PATHS:
            raise self.fail(
                where + ["require_encryption"],
                f"{rtype} record no encryption (it applies to "
                f"{', '.join(sorted(ENCRYPTION_PATHS))})",
            )
        policy = Policy(
            name=entry["name"],
            type=rtype,
            origin=self.origin(where),
            description=entry.get("description", ""),
            selector=self.selector(entry["select"]) if "select" in entry else None,
            deny=deny,
            allowed=allowed,
            required_tags=tuple(entry.get("required_tags") or ()),
            require_encryption=bool(entry.get("require_encryption")),
            expectations=self.expect(entry, where),
            severity=entry.get("severity"),
        )
        if not (deny or policy.required_tags or policy.require_encryption or policy.expectations):
            raise self.fail(
                where,
                "the policy checks nothing: give deny, required_tags, require_encryption or expect",
            )
        return policy

    def deny(self, entry: dict[str, Any], where: list[Any]) -> Deny:
        protocol = protocol_of(entry["protocol"]) if "protocol" in entry else None
        ports = None
        if "ports" in entry:
            if protocol is None:
                raise self.fail(where + ["ports"], "ports need a protocol (tcp, udp...)")
            ports = self.ports(protocol, entry["ports"], where)
        excepts = []
        for i, item in enumerate(entry.get("except", [])):
            proto = protocol_of(item["protocol"])
            excepts.append(
                PortMatch(proto, self.ports(proto, item.get("ports"), where + ["except", i]))
            )
        return Deny(
            direction=entry.get("direction", "ingress"),
            sources=tuple(
                self.source(v, where + ["from", k]) for k, v in enumerate(entry.get("from", []))
            ),
            protocol=protocol,
            ports=ports,
            excepts=tuple(excepts),
        )

    def ignore(self, entry: dict[str, Any], where: list[Any]) -> Ignore:
        return read_ignore(entry, where, self.fail, self.origin(where))


def read_ignore(
    entry: dict[str, Any],
    where: list[Any],
    fail: Callable[[list[Any], str], ConfigError],
    origin: Origin,
) -> Ignore:
    """One ignore rule, as a baseline and ``driftaudit.yaml`` write it (validated by their
    schemas' ``ignore`` definitions), checked for meaning: field paths that parse, ``until``
    a date."""
    for i, pattern in enumerate(entry.get("fields", [])):
        if "*" not in pattern and "?" not in pattern:
            try:
                parse_path(pattern)
            except BaselineValueError as e:
                raise fail(where + ["fields", i], str(e)) from e
    until = entry.get("until")
    if until is not None:
        # YAML reads an unquoted 2026-12-31 as a date, a quoted one as a string.
        if isinstance(until, str):
            try:
                until = dt.date.fromisoformat(until)
            except ValueError as e:
                raise fail(where + ["until"], f"{until!r} is not a date (YYYY-MM-DD)") from e
        elif isinstance(until, dt.datetime) or not isinstance(until, dt.date):
            raise fail(where + ["until"], f"{until!s} is not a date (YYYY-MM-DD)")
    return Ignore(
        origin=origin,
        type=entry.get("type", "*"),
        id=entry.get("id"),
        name=entry.get("name"),
        account=entry.get("account"),
        region=entry.get("region"),
        fields=tuple(entry.get("fields", ())),
        reason=str(entry.get("reason", "")),
        until=until,
    )


def config_ignores(path: Path | None, root: Path | None = None) -> list[Ignore]:
    """The ``ignore:`` rules of a ``driftaudit.yaml`` (the same language as a baseline's),
    each with its place (``driftaudit.yaml:12``, relative to the repository root)."""
    if path is None:
        return []
    data, node = load_yaml_document(path, "config")
    name = display_name(path, root)

    def fail(where: list[Any], message: str) -> ConfigError:
        return ConfigError(f"{path}:{line_of(node, where)}: {json_path(where)}: {message}")

    return [
        read_ignore(entry, ["ignore", i], fail, Origin(name, line_of(node, ["ignore", i])))
        for i, entry in enumerate(data.get("ignore") or [])
    ]
