"""The snapshot layout, defined once: ``DIR/<account>/<region>/<type>/<id>.<yaml|json>``.

Every part of driftaudit that names, finds, stages or reads snapshot files asks this module:
the store when it writes, git when it stages and diffs, ``validate``, ``check`` and
``baseline init`` when they read the working tree, the history index when it reads commits,
and the pre-commit hook's ``files:`` pattern (a test keeps that one equal to
:func:`precommit_pattern`).

* account: 12 digits; region: ``us-east-1``, ``us-gov-west-1``, ``eusc-de-east-1``, or
  ``global`` for what belongs to the account as a whole (the ``accounts`` type);
  type: a registered resource type; id: an AWS id, ``[A-Za-z0-9][A-Za-z0-9._-]*`` (never a
  tag or a name), so no data can name, hide or escape a path;
* the file holds an envelope ``{account, region, type, id, resource}`` that says the same.

Anything else under DIR (reports, baselines, notes, temporary files) is not a snapshot, and
is never staged, committed, diffed or indexed as one.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftaudit.errors import UnsafeName

ACCOUNT = r"[0-9]{12}"
#: Resources of an account as a whole (its aliases) live in the region ``global``.
GLOBAL = "global"
REGION = rf"(?:[a-z]{{2,4}}(?:-[a-z]+)+-[0-9]{{1,2}}|{GLOBAL})"
TYPE = r"[a-z][a-z0-9_]*"
ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}"
EXTENSIONS = ("yaml", "json")

ACCOUNT_RE = re.compile(ACCOUNT)
REGION_RE = re.compile(REGION)
ID_RE = re.compile(ID)
_PATH_RE = re.compile(rf"({ACCOUNT})/({REGION})/({TYPE})/({ID})\.(yaml|json)")

#: A snapshot file larger than this is refused by every reader: the largest real resource
#: (a launch template, a group with a thousand rules) is well under 1 MB.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Temporary files end with this: no snapshot name (``.yaml``/``.json``) can, so no pathspec,
#: stager or reader can take one for a resource.
TEMP_SUFFIX = ".driftaudit-tmp"


def known_types() -> frozenset[str]:
    # Imported here: the registry imports the collectors, which must be free to import this.
    from driftaudit.collect.collectors import REGISTRY

    return frozenset(REGISTRY)


@dataclass(frozen=True, order=True)
class Location:
    """Where one resource's file lives, relative to DIR."""

    account: str
    region: str
    type: str
    id: str
    fmt: str = "yaml"

    @property
    def rel(self) -> str:
        return f"{self.account}/{self.region}/{self.type}/{self.id}.{self.fmt}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The resource, whatever the file format."""
        return (self.account, self.region, self.type, self.id)


def parse(rel: str) -> Location | None:
    """The location a path relative to DIR names, or None when it is not a snapshot file."""
    m = _PATH_RE.fullmatch(rel)
    if m is None or m.group(3) not in known_types() or m.group(4) in (".", ".."):
        return None
    return Location(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5))


def under(path: str, base: str) -> Location | None:
    """The location of ``path`` (relative to the repository root, '/'-separated) when it is a
    snapshot file of the directory ``base`` (also relative to the root; "." for the root)."""
    prefix = "" if base in ("", ".") else base.rstrip("/") + "/"
    if not path.startswith(prefix):
        return None
    return parse(path[len(prefix) :])


def safe_name(value: str, what: str) -> str:
    """``value`` if it can name a file or directory of the layout, else UnsafeName."""
    if not isinstance(value, str) or not ID_RE.fullmatch(value) or value in (".", ".."):
        raise UnsafeName(f"{what} {value!r} cannot name a file safely; refusing to write it")
    return value


def file_name(resource_id: str, fmt: str) -> str:
    return f"{safe_name(resource_id, 'resource id')}.{fmt}"


def pathspecs(base: str) -> list[str]:
    """git pathspecs that select (at least) the snapshot files under ``base``; callers keep
    only the paths :func:`under` accepts. One pattern for both extensions: a directory may
    hold only one of the two formats, and git refuses a pathspec that matches nothing."""
    prefix = "" if base in ("", ".") else base.rstrip("/") + "/"
    # DIR's own name is literal: a directory called snap[1] must not match snap1.
    literal = "".join(f"\\{c}" if c in "\\*?[]" else c for c in prefix)
    return [f":(glob){literal}*/*/*/*.[jy][sa][om][nl]"]


def precommit_pattern() -> str:
    """The pre-commit hook's ``files:`` regex: exactly the snapshot files, at any depth."""
    types = "|".join(sorted(known_types()))
    return rf"(^|/){ACCOUNT}/{REGION}/({types})/{ID}\.(yaml|json)$"


# --- the envelope -------------------------------------------------------------------------------


def document(location: Location, resource: dict[str, Any]) -> dict[str, Any]:
    """The content of one snapshot file: where it belongs, then the resource itself."""
    return {
        "account": location.account,
        "region": location.region,
        "type": location.type,
        "id": location.id,
        "resource": resource,
    }


def envelope_problem(doc: Any) -> tuple[list[Any], str] | None:
    """(JSON path, problem) of the first thing wrong with a document's envelope, or None."""
    if not isinstance(doc, dict):
        return [], "not a driftaudit snapshot document (expected a mapping)"
    for key, pattern in (("account", ACCOUNT_RE), ("region", REGION_RE), ("id", ID_RE)):
        value = doc.get(key)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            return [key], f"{key} is missing or not valid ({_show(value)})"
    rtype = doc.get("type")
    if not isinstance(rtype, str) or rtype not in known_types():
        return ["type"], f"unknown resource type {_show(rtype)}"
    if not isinstance(doc.get("resource"), dict):
        return ["resource"], "resource is missing or not a mapping"
    extra = sorted(set(doc) - {"account", "region", "type", "id", "resource"})
    if extra:
        return [extra[0]], f"unexpected key {_show(extra[0])} in the envelope"
    tags = doc["resource"].get("Tags")
    if tags is not None and not (
        isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values())
    ):
        return ["resource", "Tags"], "Tags must be a mapping of strings"
    return None


def document_problem(doc: Any) -> tuple[list[Any], str] | None:
    """The envelope's first problem, else the first problem its type's own check finds in
    the resource (a security-group rule that is not one), else None."""
    from driftaudit.collect.collectors import REGISTRY

    problem = envelope_problem(doc)
    if problem is not None:
        return problem
    return REGISTRY[doc["type"]].check(doc["resource"])


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_document(data: bytes, path: str) -> tuple[dict[str, Any] | None, str | None]:
    """A snapshot file's document, or ``file:line: problem`` (never an exception): too large,
    not UTF-8, not YAML/JSON, aliases or duplicate keys, or an envelope that is not sound.
    The resource inside is checked by its type's own readers."""
    from driftaudit import yamltext

    if len(data) > MAX_FILE_BYTES:
        return None, f"{path}:1: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; not read"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, f"{path}:{line}: is not UTF-8 text"
    doc: Any
    if path.endswith(".json"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            return None, f"{path}:{e.lineno}: does not parse: {e.msg}"
        except RecursionError:
            return None, f"{path}:1: does not parse: nested too deeply"
    else:
        try:
            doc = yamltext.load_data(text)
        except yamltext.YamlProblem as e:
            return None, f"{path}:{e.line}: {e.message}"
        except RecursionError:
            return None, f"{path}:1: does not parse: nested too deeply"
    problem = document_problem(doc)
    if problem is not None:
        where, message = problem
        line = _line(text, where) if where else 1
        return None, f"{path}:{line}: {message}"
    return doc, None


def _line(text: str, where: list[Any]) -> int:
    from driftaudit import yamltext

    try:
        return yamltext.line_of(yamltext.compose(text), where)
    except (yamltext.YamlProblem, RecursionError):
        return 1


# --- reading the working tree -------------------------------------------------------------------


class NotReadable(Exception):
    """A path under DIR that is not a regular file of a readable size."""


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, never following a symlink, never blocking on a FIFO or
    device, never reading more than ``limit`` bytes; NotReadable says why not."""
    try:
        fd = os.open(
            path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        )
    except OSError as e:
        if e.errno == getattr(os, "ELOOP", -1) or os.path.islink(path):
            raise NotReadable("is a symbolic link, not a file (snapshot files never are)") from e
        raise NotReadable(f"cannot be read: {e.strerror or e}") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise NotReadable(f"is larger than {limit // (1024 * 1024)} MB; not read")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise NotReadable(f"is larger than {limit // (1024 * 1024)} MB; not read")
        return b"".join(chunks)
    except OSError as e:
        raise NotReadable(f"cannot be read: {e.strerror or e}") from e
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


@dataclass(frozen=True)
class Found:
    """One entry of a snapshot tree: a snapshot file (``location`` set), or something that
    sits where snapshot files or their directories belong and is not one (``problem``)."""

    path: Path
    rel: str  # relative to DIR, '/'-separated
    location: Location | None = None
    problem: str | None = None


def scan(directory: Path) -> Iterator[Found]:
    """The snapshot files under DIR, in path order, never following a symbolic link.

    Only the layout's levels are walked (``<account>/<region>/<type>/``). Other directories and
    files (baselines, reports, ``.driftaudit``) are not looked at; a symbolic link, FIFO or
    device where an account, region or type directory or a snapshot file would be is reported
    as a problem, as is a file in a type directory that is not named like a snapshot.
    """
    yield from _scan_level(directory, "", 0)


_LEVELS = (ACCOUNT_RE, REGION_RE, None)  # account, region, type (a known type)


def _scan_level(directory: Path, rel: str, level: int) -> Iterator[Found]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        sub = f"{rel}{entry.name}"
        path = Path(entry.path)
        if level < 3:
            pattern = _LEVELS[level]
            fits = (
                pattern.fullmatch(entry.name) is not None
                if pattern is not None
                else entry.name in known_types()
            )
            if not fits:
                continue
            if entry.is_symlink():
                yield Found(path, sub, problem="is a symbolic link where a directory belongs")
            elif entry.is_dir(follow_symlinks=False):
                yield from _scan_level(path, sub + "/", level + 1)
            else:
                yield Found(path, sub, problem="is not a directory (the layout needs one here)")
            continue
        if entry.name.endswith(TEMP_SUFFIX):
            continue  # an interrupted write: removed by the next snapshot
        location = parse(sub)
        if location is None:
            if entry.name.endswith((".yaml", ".json", ".yml")):
                yield Found(path, sub, problem="is not named like a snapshot file (<id>.yaml)")
            continue
        if entry.is_symlink():
            yield Found(path, sub, location, "is a symbolic link, not a file")
        elif not entry.is_file(follow_symlinks=False):
            try:
                kind = _kind(entry.stat(follow_symlinks=False).st_mode)
            except OSError:
                kind = "not a regular file"
            problem = "is not a regular file" if kind == "not a regular file" else f"is {kind}"
            yield Found(path, sub, location, f"{problem}, not a regular file")
        else:
            yield Found(path, sub, location)
