"""Reading user-written YAML (config, baselines) with errors that name the file, the line,
the JSON path and what was expected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match

from driftaudit import layout, yamltext
from driftaudit.errors import ConfigError
from driftaudit.schemas import validator

#: Baselines written by ``baseline init`` reach a few MB at 10,000 resources; a user file
#: larger than this is a mistake (or a device), and is not read.
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def _message(error: Any) -> str:
    """jsonschema's message, or the schema's own description of what it expects where the
    message would only say "not valid under any of the given schemas" or name one arbitrary
    alternative's pattern (a range error, such as a port above 65535, is kept as it is)."""
    if error.validator in ("anyOf", "oneOf", "pattern", "type", "enum", "const"):
        described, node = None, error
        while node is not None:  # the outermost alternative says the most
            if node.validator in ("anyOf", "oneOf") and node.schema.get("description"):
                described = node
            node = node.parent
        if described is not None:
            return (
                f"{described.instance!r} is not valid: expected {described.schema['description']}"
            )
    return str(error.message)


def read_text(path: Path) -> str:
    """A user-named file's text: a symbolic link is followed (the user chose the path), but
    only a regular file of a sane size is read, so a FIFO or device never blocks or floods."""
    try:
        data = layout.read_regular(Path(os.path.realpath(path)), MAX_CONFIG_BYTES)
        return data.decode("utf-8")
    except layout.NotReadable as e:
        why = str(e).removeprefix("cannot be read: ")
        raise ConfigError(
            f"{path}: cannot read: {'it ' if why.startswith('is ') else ''}{why}"
        ) from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text ({e.reason})") from e


def load_yaml_document(path: Path, schema: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``, validate it against ``schemas/<schema>.schema.json``, and return the
    data with its YAML node tree (for :func:`yamltext.line_of` in later, semantic checks). Anchors,
    aliases and duplicate keys are refused (:mod:`driftaudit.yamltext`)."""
    text = read_text(path)
    # One parse (LibYAML's when present: a 10,000-resource baseline from `baseline init` takes
    # 80 s to compose and load twice in pure Python) gives both the nodes and the data.
    try:
        data, node = yamltext.load(text)
    except yamltext.YamlProblem as e:
        message = e.message.replace("does not parse: ", "YAML syntax error: ", 1)
        raise ConfigError(f"{path}:{e.line}: {message}") from e
    except RecursionError as e:
        raise ConfigError(f"{path}:1: YAML syntax error: nested too deeply") from e
    if data is None:
        data = {}  # an empty file, or only comments: nothing configured yet
    errors = list(validator(schema).iter_errors(data))
    if errors:
        first = best_match(errors)
        where = list(first.absolute_path)
        if first.validator == "additionalProperties" and isinstance(first.instance, dict):
            # Point at the unexpected key (a typo), not at the mapping that holds it.
            known = first.schema.get("properties", {})
            extra = next((k for k in first.instance if k not in known), None)
            if extra is not None:
                where.append(extra)
        at = yamltext.line_of(node, where)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{path}:{at}: {yamltext.json_path(where)}: {_message(first)}{more}")
    return data, node


def load_yaml_checked(path: Path, schema: str) -> Any:
    """Parse ``path`` and validate it against ``schemas/<schema>.schema.json``."""
    return load_yaml_document(path, schema)[0]
