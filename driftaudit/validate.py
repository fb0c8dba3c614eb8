"""The pre-review check of committed snapshot files (``driftaudit validate``).

A snapshot file passes when it parses, its envelope and resource match their JSON Schemas,
its bytes are exactly what driftaudit would write for its content (canonical form), it sits
at the path its content implies (``<account>/<region>/<type>/<id>.<ext>``) and it holds
nothing secret-looking. Every problem is one ``file:line: problem``.

:func:`check_bytes` is pure; only :func:`find_files` and :func:`check_file` touch the disk.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import ValidationError

from driftaudit import canonread, layout, yamltext
from driftaudit.canonical import dumps, format_of, normalize
from driftaudit.collect.collectors import REGISTRY
from driftaudit.schemafast import Unsupported, compile_schema
from driftaudit.schemas import schema_path, validator

#: Extensions of files that may be snapshots. driftaudit writes .yaml and .json only; a
#: .yml under an account directory is checked so that its wrong name is reported.
EXTENSIONS = (".yaml", ".json", ".yml")
#: A snapshot file lives under a directory named by a 12-digit AWS account id; other YAML or
#: JSON in the repository (baselines, CI files, driftaudit.yaml) is not a snapshot.
ACCOUNT_DIR = layout.ACCOUNT_RE  # the layout's own account pattern (driftaudit/layout.py)
MAX_MESSAGE = 200
SECRET_KEY_PROBLEM = 'looks like a secret access key (40 base64 characters beside "secret")'

# --- secret-looking content -----------------------------------------------------------

# Access key ids: AKIA (long-term) and ASIA (temporary). Other AWS unique-id prefixes (AIPA
# instance profiles, AROA roles) name things and are not credentials: instances carry them.
_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_SECRET_WORD = re.compile(r"secret", re.IGNORECASE)
# A secret access key is 40 base64 characters; requiring both letter cases leaves out hex
# digests (a 40-character SHA-1 is lower-case only).
_SECRET_VALUE = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{16,}={0,2}")
_BASE64_CHAR = re.compile(r"[A-Za-z0-9/+]")
# How user data starts once decoded: scripts, cloud-init, gzip, MIME multi-part, Windows.
_USER_DATA_MAGIC = (
    b"#!",
    b"#cloud-",
    b"#include",
    b"#part-handler",
    b"#upstart-job",
    b"\x1f\x8b",
    b"Content-Type:",
    b"MIME-Version:",
    b"<powershell>",
    b"<script>",
    b"<persist>",
)
# Where base64 of user data can start: the characters the first bytes of each start above
# fully determine (8 bits of each byte, 6 of each character), so a run starting otherwise
# cannot decode to user data and is never decoded.
_USER_DATA_START = re.compile(
    "|".join(
        re.escape(base64.b64encode(magic).decode()[: len(magic) * 8 // 6])
        for magic in _USER_DATA_MAGIC
    )
)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _looks_like_user_data(token: str) -> bool:
    head = token.rstrip("=")[:64]
    head = head[: len(head) - len(head) % 4]
    try:
        decoded = base64.b64decode(head, validate=True)
    except (binascii.Error, ValueError):
        return False
    return decoded.startswith(_USER_DATA_MAGIC)


def secret_findings(text: str) -> list[tuple[int, str]]:
    """(line, problem) for everything secret-looking in a file's text. The secret itself is
    never repeated in the message: it would end up in CI logs.

    Each pattern is searched only where a cheap test over the whole text says it could
    match (a literal it must contain, the first base64 characters of what user data starts
    with): the same findings, without scanning every line of every clean file."""
    found: list[tuple[int, str]] = []
    if "AKIA" in text or "ASIA" in text:
        for m in _ACCESS_KEY_ID.finditer(text):
            found.append(
                (_line_at(text, m.start()), f"looks like an AWS access key id ({m.group()[:4]}...)")
            )
    if "PRIVATE KEY" in text:
        for m in _PRIVATE_KEY.finditer(text):
            found.append((_line_at(text, m.start()), f"holds a private key block ({m.group()})"))
    if _may_say_secret(text):
        for number, line in enumerate(text.split("\n"), 1):
            if not _SECRET_WORD.search(line):
                continue
            for m in _SECRET_VALUE.finditer(line):
                value = m.group()
                if re.search("[a-z]", value) and re.search("[A-Z]", value):
                    found.append((number, SECRET_KEY_PROBLEM))
                    break
    for m in _USER_DATA_START.finditer(text):
        start = m.start()
        if start and _BASE64_CHAR.match(text, start - 1):
            continue  # inside a longer run, which does not start like user data
        run = _BASE64_RUN.match(text, start)
        if run is not None and _looks_like_user_data(run.group()):
            found.append((_line_at(text, start), "holds base64 user data"))
    return found


def _may_say_secret(text: str) -> bool:
    """Whether ``_SECRET_WORD`` (case-insensitive) can match anywhere in ``text``: every
    character it matches lower-cases to its letter, or is the long s it folds 's' to."""
    lower = text.lower()
    return "secret" in lower or "\u017fecret" in lower


# --- locating a JSON path in the file ------------------------------------------------------


class Locator:
    """Line numbers of the keys and list items of one file, composed only when asked (JSON
    as driftaudit writes it is also YAML, so one composer gives lines for both)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False

    def line(self, path: Sequence[Any]) -> int:
        """The line of ``path`` (keys and indexes), or of its deepest part that exists."""
        if not self._composed:
            self._composed = True
            try:
                self._root = yamltext.compose(self.text)
            except (yamltext.YamlProblem, RecursionError):
                self._root = None
        return yamltext.line_of(self._root, path)


# --- the checks ---------------------------------------------------------------------------


def _short(text: str) -> str:
    """A message of bounded length with nothing secret-looking in it: schema messages and
    canonical-form lines quote file content, and they end up in CI logs."""
    text = _ACCESS_KEY_ID.sub(lambda m: m.group()[:4] + "*" * 16, text)
    text = _SECRET_VALUE.sub("*" * 40, text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _forbidden(schema: Any) -> list[str]:
    """Property names a ``not`` schema forbids (``{"not": {"required": [...]}}`` and
    ``anyOf`` of those), as the schemas use it to keep user data out."""
    if isinstance(schema, dict):
        names = [n for n in schema.get("required", []) if isinstance(n, str)]
        return names + [n for sub in schema.get("anyOf", []) for n in _forbidden(sub)]
    return []


def _schema_error(e: ValidationError, prefix: list[Any], where: Locator) -> list[tuple[int, str]]:
    parts = [*prefix, *e.absolute_path]
    if e.validator == "not" and isinstance(e.instance, dict):
        # jsonschema's own message repeats the whole object; name the offending keys instead.
        present = [n for n in _forbidden(e.validator_value) if n in e.instance]
        if present:
            return [
                (
                    where.line([*parts, n]),
                    f"schema: {yamltext.json_path([*parts, n])}: must not be stored",
                )
                for n in present
            ]
    return [(where.line(parts), _short(f"schema: {yamltext.json_path(parts)}: {e.message}"))]


def _parse(data: bytes, fmt: str) -> tuple[Any, tuple[int, str] | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, (data[: e.start].count(b"\n") + 1, "is not UTF-8 text")
    try:
        if fmt == "json":
            return json.loads(text), None
        # Anchors, aliases (a "billion laughs" bomb) and duplicate keys are refused here.
        return yamltext.load_data(text), None
    except yamltext.YamlProblem as e:
        return None, (e.line, e.message)
    except json.JSONDecodeError as e:
        return None, (e.lineno, f"does not parse: {e.msg}")
    except RecursionError:
        return None, (1, "does not parse: nested too deeply")


def _schema_findings(doc: Any, where: Locator) -> tuple[list[tuple[int, str]], bool]:
    """Schema problems, and whether the envelope is sound enough for the other checks."""
    envelope = list(validator("document").iter_errors(doc))
    if envelope:
        return [f for e in envelope for f in _schema_error(e, [], where)], False
    # The registry, not the schemas directory: it also holds document, report, config...
    if doc["type"] not in REGISTRY:
        return [(where.line(["type"]), f"unknown resource type {doc['type']!r}")], False
    errors = validator(doc["type"]).iter_errors(doc["resource"])
    return [f for e in errors for f in _schema_error(e, ["resource"], where)], True


def _place_findings(
    doc: dict[str, Any], location: Sequence[str], where: Locator
) -> list[tuple[int, str]]:
    """The path must be .../<account>/<region>/<type>/<id>.<ext> as the envelope says."""
    fmt = "json" if location and location[-1].endswith(".json") else "yaml"
    expected = [doc["account"], doc["region"], doc["type"], f"{doc['id']}.{fmt}"]
    actual = list(location[-4:])
    actual = [""] * (4 - len(actual)) + actual
    if actual == expected:
        return []
    want = "/".join(expected)
    found = []
    for key, have, need in zip(("account", "region", "type", "id"), actual, expected, strict=True):
        if have != need:
            what = "file is named" if key == "id" else f"{key} directory is"
            found.append(
                (
                    where.line([key]),
                    f"{key} is {doc[key]!r} but the {what} {have!r} (expected .../{want})",
                )
            )
    return found


def _id_findings(doc: dict[str, Any], where: Locator) -> list[tuple[int, str]]:
    rtype = REGISTRY.get(doc["type"])
    if rtype is None:
        return []
    try:
        own = rtype.id_of(doc["resource"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return []  # the schema check already names the missing or malformed id field
    if own == doc["id"]:
        return []
    return [(where.line(["id"]), f"id is {doc['id']!r} but the resource's own id is {own!r}")]


def canonical_bytes(doc: dict[str, Any], fmt: str) -> bytes | None:
    """What driftaudit would write for this document, or None for an unknown type."""
    rtype = REGISTRY.get(doc["type"])
    if rtype is None:
        return None
    return dumps({**doc, "resource": normalize(doc["resource"], rtype.spec)}, fmt)


def first_difference(data: bytes, expected: bytes) -> tuple[int, str] | None:
    """(line, problem) of the first line where ``data`` is not ``expected``."""
    if data == expected:
        return None
    if data.replace(b"\r\n", b"\n") == expected:
        return 1, "not in canonical form: CRLF line endings (driftaudit writes LF)"
    if data + b"\n" == expected:
        return data.count(b"\n") + 1, "not in canonical form: no newline at the end of the file"
    have, want = data.split(b"\n"), expected.split(b"\n")
    for number, (a, b) in enumerate(zip(have, want, strict=False), 1):
        if a != b:
            shown = b.decode("utf-8", "replace")
            return number, _short(f"not in canonical form: driftaudit would write {shown!r}")
    number = min(len(have), len(want))
    if len(have) > len(want):
        return number, "not in canonical form: driftaudit would end the file here"
    return number, "not in canonical form: the file ends early"


@functools.cache
def _is_valid(name: str) -> Callable[[Any], bool]:
    """A yes/no check of the schema ``name``: compiled (schemafast), else jsonschema's."""
    try:
        return compile_schema(json.loads(schema_path(name).read_text(encoding="utf-8")))
    except Unsupported:
        fallback: Callable[[Any], bool] = validator(name).is_valid
        return fallback


def _canonical_doc(data: bytes, fmt: str) -> dict[str, Any] | None:
    """The document of a file whose bytes are exactly what driftaudit writes for it, and
    whose envelope and resource pass their schemas; None for any other file.

    The fast path for the files driftaudit wrote: one read (driftaudit's own canonical-YAML
    reader, or json), one write-back compared byte for byte, compiled schema checks. A file
    that is not canonical or not valid takes the full path, which names its problems."""
    try:
        text = data.decode("utf-8")
        doc = json.loads(text) if fmt == "json" else canonread.read(text)
    except (UnicodeDecodeError, ValueError, IndexError, RecursionError):
        return None
    if not (isinstance(doc, dict) and _is_valid("document")(doc)):
        return None
    if doc["type"] not in REGISTRY or not _is_valid(doc["type"])(doc["resource"]):
        return None
    # canonread reads what it accepts as LibYAML would (and declines the rest); this
    # comparison is what says the file is exactly what driftaudit writes for it.
    return doc if canonical_bytes(doc, fmt) == data else None


def check_bytes(data: bytes, location: Sequence[str], display: str) -> list[Problem]:
    """Every problem of one snapshot file's bytes (pure). ``location`` is its path's parts
    (at least the last four: account, region, type, file name)."""
    name = location[-1] if location else display
    if name.endswith((".yaml", ".json")) and len(data) <= layout.MAX_FILE_BYTES:
        doc = _canonical_doc(data, format_of(name))
        if doc is not None:
            # Parsed, valid and canonical: what is left is where it sits and secrets.
            text = data.decode("utf-8")
            where = Locator(text)
            findings = secret_findings(text)
            findings += _place_findings(doc, location, where)
            findings += _id_findings(doc, where)
            return sorted({Problem(display, line, message) for line, message in findings})
    return full_check(data, location, display)


#: The envelope of every snapshot document (schemas/document.schema.json).
ENVELOPE = ("account", "id", "region", "resource", "type")
NOT_A_SNAPSHOT = (
    "not a snapshot document: it has none of the envelope's keys (account, id, region, "
    "resource, type); validate checks snapshot files only"
)


def _snapshot_like(doc: Any) -> bool:
    """Whether a parsed file is meant as a snapshot document: a mapping with at least one
    key of the envelope (one that has some is checked in full, and every lack named)."""
    return isinstance(doc, dict) and any(key in doc for key in ENVELOPE)


def full_check(data: bytes, location: Sequence[str], display: str) -> list[Problem]:
    """Every problem of one file, from a full YAML (LibYAML) or JSON parse and jsonschema:
    what :func:`check_bytes` does for every file its fast path does not vouch for, so that
    each problem is named by the reader and the schema library themselves."""
    name = location[-1] if location else display
    text = data.decode("utf-8", "replace")
    findings = secret_findings(text)
    fmt = format_of(name)
    doc, broken = _parse(data, fmt)
    if not broken and not _snapshot_like(doc):
        # A baseline, driftaudit.yaml or CI file named by mistake: one line, not an error
        # per missing envelope field (its secrets are still named).
        findings.append((1, NOT_A_SNAPSHOT))
        return sorted({Problem(display, line, message) for line, message in findings})
    if not name.endswith((".yaml", ".json")):
        findings.append((1, "not a snapshot file name: driftaudit writes .yaml or .json"))
    if broken:
        findings.append(broken)
    else:
        where = Locator(text)
        schema, sound = _schema_findings(doc, where)
        findings += schema
        if sound:
            findings += _place_findings(doc, location, where)
            findings += _id_findings(doc, where)
            expected = canonical_bytes(doc, fmt)
            difference = first_difference(data, expected) if expected is not None else None
            if difference:
                findings.append(difference)
    return sorted({Problem(display, line, message) for line, message in findings})


def check_file(path: Path, display: str | None = None) -> list[Problem]:
    """Every problem of one file. Only a regular file is read (a symbolic link is never
    followed, a FIFO or device never blocks), and no more than the size cap."""
    shown = display or str(path)
    try:
        data = layout.read_regular(path)
    except layout.NotReadable as e:
        return [Problem(shown, 1, str(e))]
    return check_bytes(data, path.absolute().parts, shown)


# --- which files ----------------------------------------------------------------------------


def _in_account(parts: Sequence[str]) -> bool:
    return any(ACCOUNT_DIR.fullmatch(p) for p in parts)


@dataclass(frozen=True)
class Target:
    """A file to check, or something that sits where snapshot files or their directories
    could be and cannot be read as one (``problem``: never followed, never opened)."""

    path: Path
    problem: str | None = None


def _link_problem(entry: os.DirEntry[str], in_account: bool) -> str | None:
    """Why a symbolic link met by the walk is a problem, if it is one: anywhere under an
    account directory, named like one, or leading to a directory the walk did not enter."""
    if in_account or ACCOUNT_DIR.fullmatch(entry.name):
        return "is a symbolic link; not followed (snapshot files and directories never are links)"
    try:  # a stat, never a read
        leads_to_dir = entry.is_dir(follow_symlinks=True)
    except OSError:
        leads_to_dir = False
    return (
        "is a symbolic link to a directory; not followed (snapshot directories never are links)"
        if leads_to_dir
        else None
    )


def _walk(directory: Path, in_account: bool) -> Iterator[Target]:
    """Snapshot-file candidates under ``directory``, never following a symbolic link."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as e:
        yield Target(directory, f"cannot be read: {e.strerror or e}")
        return
    for entry in entries:
        path = Path(entry.path)
        below = in_account or ACCOUNT_DIR.fullmatch(entry.name) is not None
        try:
            if entry.is_dir(follow_symlinks=False):
                # Hidden directories are never walked: .git, .driftaudit (state), .github...
                if not entry.name.startswith("."):
                    yield from _walk(path, below)
            elif entry.is_file(follow_symlinks=False):
                if in_account and path.suffix in EXTENSIONS:
                    yield Target(path)
            elif entry.is_symlink():
                problem = _link_problem(entry, in_account)
                if problem is not None:
                    yield Target(path, problem)
            elif below:
                # A FIFO, device or socket: check_file names it without blocking on it.
                yield Target(path)
        except OSError as e:
            yield Target(path, f"cannot be read: {e.strerror or e}")


def find_files(paths: Sequence[Path]) -> list[Target]:
    """Files named explicitly (always checked: the caller says they are snapshots; a named
    symbolic link is a problem, not followed), and the snapshot files under directories, in
    a stable order, with every link, FIFO or device met where snapshots could be."""
    out: list[Target] = []
    for root in paths:
        if root.is_dir() and not root.is_symlink():
            out += _walk(root, _in_account(root.absolute().parts))
        else:
            out.append(Target(root))  # read_regular refuses whatever is not a regular file
    # A file named twice (directly and through its directory) is checked once; the path is
    # normalized without following links.
    unique: dict[str, Target] = {}
    for target in out:
        unique.setdefault(os.path.abspath(target.path), target)
    return sorted(unique.values(), key=lambda t: t.path)


def changed_files(rev: str, paths: Sequence[Path]) -> list[Target]:
    """The snapshot-file candidates under ``paths`` that changed since ``rev``: added or
    modified between where HEAD's history meets ``rev`` (``git merge-base``: in a pull
    request, its own changes even when the target branch moved on) and the working tree,
    staged or not, plus untracked files git does not ignore. Deleted files have nothing to
    check. GitError (one line) when there is no repository or ``rev`` is unknown."""
    from driftaudit.gitrepo import GitError, open_repo

    roots = [(p, Path(os.path.abspath(p))) for p in paths]
    start = next((a if a.is_dir() else a.parent for _, a in roots), Path.cwd())
    repo, _ = open_repo(start)
    commit = repo.resolve(rev)
    head = repo.resolve("HEAD")
    base = repo.git("merge-base", commit, head, check=False).stdout.decode().strip()
    if not base:
        raise GitError(
            f"{rev!r} and HEAD have no common history in {repo.root} (a shallow clone? fetch "
            "more with git fetch --deepen or --unshallow)"
        )
    changed = repo.git("diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", base)
    untracked = repo.git("ls-files", "--others", "--exclude-standard", "-z")
    names = {n for raw in (changed.stdout, untracked.stdout) for n in raw.decode().split("\0") if n}
    out: dict[str, Target] = {}
    for name in sorted(names):
        absolute = Path(os.path.abspath(repo.root / name))
        for shown, root in roots:
            try:
                below = absolute.relative_to(root)
            except ValueError:
                continue
            # As the walker takes them: under an account directory, never in a hidden one.
            hidden = any(part.startswith(".") for part in below.parts[:-1])
            if hidden or absolute.suffix not in EXTENSIONS or not _in_account(absolute.parts[:-1]):
                break
            path = shown / below if below.parts else shown
            if os.path.lexists(path):
                out.setdefault(str(absolute), _named_target(path))
            break
    return list(out.values())


def _named_target(path: Path) -> Target:
    """A file the caller names: a link there is a problem, never followed."""
    if path.is_symlink():
        return Target(path, "is a symbolic link; not followed (snapshot files never are links)")
    return Target(path)


def _check_target(target: Target) -> list[Problem]:
    if target.problem is not None:
        return [Problem(str(target.path), 1, target.problem)]
    return check_file(target.path)


def _check_chunk(targets: list[Target]) -> list[list[Problem]]:
    return [_check_target(t) for t in targets]


#: Files per task handed to a worker process: enough to make the hand-over cheap, few
#: enough to keep both cores busy to the end.
CHUNK = 256
#: Below this many files a pool costs more to start than it saves.
MIN_PARALLEL = 2 * CHUNK


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_all(targets: Sequence[Target], jobs: int = 1) -> Iterator[list[Problem]]:
    """Each target's problems, in the targets' order; with ``jobs`` > 1 the files are
    checked by that many processes (each file is independent, and the work is pure Python:
    threads would wait on each other)."""
    if jobs <= 1 or len(targets) < MIN_PARALLEL:
        for target in targets:
            yield _check_target(target)
        return
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    chunks = [list(targets[i : i + CHUNK]) for i in range(0, len(targets), CHUNK)]
    with multiprocessing.get_context(method).Pool(jobs) as pool:
        for found in pool.imap(_check_chunk, chunks):
            yield from found


def validate(
    paths: Sequence[Path],
    on_problem: Callable[[Problem], None],
    jobs: int = 1,
    changed_since: str | None = None,
) -> tuple[int, int]:
    """Check every snapshot file under ``paths`` (only those changed since the revision
    ``changed_since``, with it); (files checked, problems found)."""
    targets = find_files(paths) if changed_since is None else changed_files(changed_since, paths)
    files = problems = 0
    for found in check_all(targets, jobs):
        files += 1
        for problem in found:
            problems += 1
            on_problem(problem)
    return files, problems
