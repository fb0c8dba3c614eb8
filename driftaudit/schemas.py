"""JSON Schemas (draft 2020-12) shipped in ``schemas/``: one per resource type, one for the
file envelope. Used by tests, by ``validate`` and by anything that reads snapshots."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_HERE = Path(__file__).resolve().parent
# Installed wheel: driftaudit/schemas; source checkout or editable install: ../schemas.
SCHEMA_DIRS = (_HERE / "schemas", _HERE.parent / "schemas")


def schema_path(name: str) -> Path:
    for directory in SCHEMA_DIRS:
        path = directory / f"{name}.schema.json"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no schema {name}.schema.json in {', '.join(map(str, SCHEMA_DIRS))}")


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _path(prefix: str, parts: Any) -> str:
    text = prefix
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else f".{p}"
    return text


def errors(name: str, value: Any, prefix: str = "$") -> list[str]:
    """Every schema violation as ``path: message``, in a stable order."""
    found = validator(name).iter_errors(value)
    return sorted(f"{_path(prefix, e.absolute_path)}: {e.message}" for e in found)


def document_errors(doc: Any) -> list[str]:
    """Check one snapshot file's content: its envelope, then the resource by its type."""
    problems = errors("document", doc)
    if problems:
        return problems
    try:
        schema_path(doc["type"])
    except FileNotFoundError:
        return [f"$.type: no schema for type {doc['type']!r}"]
    return errors(doc["type"], doc["resource"], "$.resource")
