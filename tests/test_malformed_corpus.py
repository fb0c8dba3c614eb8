"""Every command that reads snapshots survives malformed snapshot documents.

The corpus is generated, not hand-listed: starting from a real snapshot (every type, taken
from the moto server), each property a type's schema in ``schemas/`` describes, at every
depth the document holds, is replaced by values of the wrong type (``Rules: 5``,
``FromPort: abc``, ``Tags: [1]``, ``State: "x"``), a present required property is removed,
and an absent one is added with a wrong value; the envelope is broken the same way through
``schemas/document.schema.json`` (``resource: []``, no ``id``, ``account: 5``...).

One repository per type holds a clean snapshot plus, under ids of their own, each malformed
document: committed good, then committed broken (so diffs see them modified), and broken in
the working tree. Then validate, diff (the working tree and between commits, both ways),
report (text and JSON, which counts changes per day), check (against a ``baseline init`` of
the good state, plus a policy per type), baseline init and the three history queries must
each end with exit 0, 1 or 2 and never print an internal error or a traceback. When one
does, the test names the malformed documents that alone reproduce it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftaudit.canonical import dumps, format_of, loads
from driftaudit.collect.collectors import REGISTRY
from driftaudit.schemas import schema_path
from tests.conftest import FAKE_ENV
from tests.support.gitsnap import commit_all, init_repo
from tests.support.motoserver import MotoServer
from tests.support.seed import seed_fleet

REGION = "us-east-1"
pytestmark = pytest.mark.e2e  # a snapshot from the moto server, then ~200 commands

#: Values of the wrong type for what the schema says a value is.
WRONG: dict[str, list[Any]] = {
    "string": [5, ["x"], None],
    "integer": ["abc", [1], None, 1.5],
    "number": ["abc", [1], None],
    "boolean": ["maybe", [1]],
    "array": [5, "x", {"a": 1}, [1], [None]],
    "object": [[1], "x", 5, None],
    "enum": [5, "not-one-of-them", [1]],
    "any": [[1], {"a": [1]}],
}


@dataclass(frozen=True)
class Mutation:
    label: str  # "$.resource.Rules[0].FromPort = 'abc'"
    apply: Callable[[dict[str, Any]], None]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str) and kind in WRONG:
        return kind
    if "enum" in schema or "const" in schema:
        return "enum"
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "any"


def _label(path: list[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _setter(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node: Any = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = copy.deepcopy(value)

    return apply


def _deleter(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node: Any = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return apply


def mutations(
    schema: dict[str, Any], value: Any, path: list[Any], root: dict[str, Any]
) -> Iterator[Mutation]:
    """Every wrong-typed replacement of ``value`` (at ``path``) and of what it holds."""
    schema = _resolve(schema, root)
    kind = _kind(schema)
    if path:
        for wrong in WRONG[kind]:
            yield Mutation(f"{_label(path)} = {wrong!r}", _setter(path, wrong))
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name in value:
                yield from mutations(sub, value[name], [*path, name], root)
            else:
                wrong = WRONG[_kind(_resolve(sub, root))][0]
                yield Mutation(
                    f"{_label([*path, name])} = {wrong!r} (added)", _setter([*path, name], wrong)
                )
        for name in schema.get("required", []):
            if name in value:
                yield Mutation(f"{_label([*path, name])} removed", _deleter([*path, name]))
        extra = schema.get("additionalProperties")
        others = [k for k in value if k not in properties]
        if isinstance(extra, dict) and others:
            yield from mutations(extra, value[others[0]], [*path, others[0]], root)
    elif isinstance(value, list) and value and isinstance(schema.get("items"), dict):
        yield from mutations(schema["items"], value[0], [*path, 0], root)


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads(schema_path(name).read_text(encoding="utf-8")))


def corpus(good: list[dict[str, Any]], rtype: str | None) -> list[tuple[Mutation, dict[str, Any]]]:
    """(mutation, its source document) for one type's resources (the richest document of the
    type for each path), or for the envelope (``rtype`` None)."""
    if rtype is None:
        doc = good[0]
        root = _schema("document")
        return [(m, doc) for m in mutations(root, doc, [], root)]
    schema = _schema(rtype)
    out: dict[str, tuple[Mutation, dict[str, Any]]] = {}
    # Richest first: a path found in several documents is broken in the one holding most.
    for doc in sorted(good, key=lambda d: -len(json.dumps(d))):
        for m in mutations(schema, doc["resource"], ["resource"], schema):
            out.setdefault(m.label, (m, doc))
    return list(out.values())


# --- the clean snapshot ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of every type, written by ``driftaudit snapshot`` from the moto server."""
    out = tmp_path_factory.mktemp("clean") / "snaps"
    moto_server.reset()
    seed_fleet(moto_server.url, [REGION], 3)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        code, _, err = cli(
            out.parent, "snapshot", REGION, "--endpoint-url", moto_server.url, "-o", str(out), "-q"
        )
    assert code == 0, err
    types = {p.parent.name for p in out.rglob("*.yaml")}
    assert types == set(REGISTRY), set(REGISTRY) - types
    return out


def documents(snaps: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(p, loads(p.read_bytes(), format_of(p.name))) for p in sorted(snaps.rglob("*.yaml"))]


# --- running the commands -------------------------------------------------------------------


def cli(cwd: Path, *args: str) -> tuple[int, str, str]:
    """``driftaudit ARGS`` in this process (an internal error is caught by the CLI itself and
    printed as one line, which is what the test looks for)."""
    from driftaudit.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        os.chdir(here)
    return code, out.getvalue(), err.getvalue()


def commands(address: str) -> list[list[str]]:
    types = [arg for t in REGISTRY for arg in ("--type", t)]
    return [
        ["validate", "snaps"],
        ["diff", "-C", "snaps", "HEAD~1", "HEAD"],
        ["diff", "-C", "snaps", "HEAD", "HEAD~1"],
        ["diff", "-C", "snaps", "HEAD~1"],
        ["diff", "-C", "snaps", "--format", "json", "HEAD~1", "HEAD"],
        ["report", "-C", "snaps"],
        ["report", "-C", "snaps", "--format", "json"],
        ["check", "-C", "snaps"],
        ["check", "-C", "snaps", "--format", "sarif"],
        ["baseline", "init", "-C", "snaps", *types],
        ["history", "ip", address, "-C", "snaps"],
        ["history", "rule", "--source", address, "-C", "snaps"],
        ["history", "exposure", address, "-C", "snaps"],
        ["history", "ip", address, "-C", "snaps", "--format", "json"],
    ]


def policies() -> str:
    lines = ["policies:"]
    for rtype in REGISTRY:
        lines.append(f"  - {{name: tags-{rtype}, type: {rtype}, required_tags: [Owner]}}")
    lines.append(
        "  - {name: no-world, type: security_groups, deny: {from: [world], except: "
        "[{protocol: tcp, ports: 443}]}}"
    )
    for rtype in ("volumes", "snapshots", "images"):
        lines.append(f"  - {{name: encrypted-{rtype}, type: {rtype}, require_encryption: true}}")
    return "\n".join(lines) + "\n"


def build(
    repo: Path, clean: Path, broken: list[tuple[Mutation, dict[str, Any]]]
) -> list[tuple[Mutation, Path]]:
    """A repository holding the clean snapshot plus each broken document under an id of its
    own: committed good, committed broken, broken in the working tree too."""
    init_repo(repo)
    snaps = repo / "snaps"
    shutil.copytree(clean, snaps)
    placed: list[tuple[Mutation, Path, dict[str, Any]]] = []
    for n, (mutation, source) in enumerate(broken):
        doc = copy.deepcopy(source)
        doc["id"] = f"{source['id']}-m{n}"
        path = snaps / doc["account"] / doc["region"] / doc["type"] / f"{doc['id']}.yaml"
        path.write_bytes(dumps(doc, "yaml"))
        placed.append((mutation, path, doc))
    # The baseline declares the good state of every resource, malformed ones included.
    code, text, err = cli(
        repo, "baseline", "init", "-C", "snaps", *[a for t in REGISTRY for a in ("--type", t)]
    )
    assert code == 0, err
    (repo / "baselines").mkdir()
    (repo / "baselines" / "state.yaml").write_text(text, encoding="utf-8")
    (repo / "baselines" / "policies.yaml").write_text(policies(), encoding="utf-8")
    commit_all(repo, "good", "2026-01-01T00:00:00Z")
    for mutation, path, doc in placed:
        mutation.apply(doc)
        path.write_text(_text(doc), encoding="utf-8")
    commit_all(repo, "broken", "2026-01-02T00:00:00Z")
    return [(m, p) for m, p, _ in placed]


def _text(doc: Any) -> str:
    """A broken document as YAML: driftaudit's emitter when it can write it, else JSON (a
    YAML subset) on one line."""
    try:
        return dumps(doc, "yaml").decode("utf-8")
    except Exception:  # noqa: BLE001 - the emitter is not what is tested here
        return json.dumps(doc) + "\n"


def outcome(code: int, out: str, err: str) -> str | None:
    """What is wrong with one command's ending, or None."""
    both = out + err
    if code not in (0, 1, 2):
        return f"exit {code}"
    if "internal error" in both or "Traceback" in both:
        return next(
            line for line in both.splitlines() if "internal error" in line or "Traceback" in line
        )
    return None


def culprits(
    tmp_path: Path, clean: Path, broken: list[tuple[Mutation, dict[str, Any]]], args: list[str]
) -> list[str]:
    """The malformed documents that alone make ``args`` fail (the first few)."""
    found: list[str] = []
    for n, item in enumerate(broken):
        repo = tmp_path / f"alone-{n}"
        build(repo, clean, [item])
        bad = outcome(*cli(repo, *args))
        shutil.rmtree(repo)
        if bad:
            found.append(f"{item[0].label}: {bad}")
            if len(found) == 3:
                break
    return found


TYPES = [None, *sorted(REGISTRY)]


@pytest.mark.parametrize("rtype", TYPES, ids=[t or "envelope" for t in TYPES])
def test_every_command_survives_malformed_documents(
    clean: Path, tmp_path: Path, rtype: str | None
) -> None:
    good = [doc for _, doc in documents(clean) if rtype is None or doc["type"] == rtype]
    broken = corpus(good, rtype)
    assert len(broken) >= 8, [m.label for m, _ in broken]  # the generator found the schema
    repo = tmp_path / "repo"
    placed = build(repo, clean, broken)
    instances = [doc for _, doc in documents(clean) if doc["type"] == "instances"]
    address = instances[0]["resource"]["PrivateIpAddress"]
    failures = []
    for args in commands(address):
        code, out, err = cli(repo, *args)
        bad = outcome(code, out, err)
        if bad:
            failures.append(f"driftaudit {' '.join(args)}: {bad}")
            failures += [f"    {c}" for c in culprits(tmp_path, clean, broken, args)]
        elif args[0] == "validate":
            # validate names every malformed file (each breaks its schema).
            named = {line.split(":", 1)[0] for line in out.splitlines()}
            missing = [m.label for m, p in placed if p.relative_to(repo).as_posix() not in named]
            assert not missing, missing
    assert not failures, "\n".join(failures)
