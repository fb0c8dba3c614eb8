"""Reading user-written YAML (config, baselines) with errors that name the file, the line,
the JSON path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match

from driftaudit.errors import ConfigError
from driftaudit.schemas import validator

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based line of the YAML node at a JSON path (as deep as the path exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                break
            # The key's line: a block value starts on the line after its key.
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _json_path(path: list[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based line of the YAML node at a JSON path (as deep as the path exists)."""
    return _line_of(node, path)


def json_path(path: list[Any]) -> str:
    """``$.security_groups[0].ingress`` for ``["security_groups", 0, "ingress"]``."""
    return _json_path(path)


def _duplicate_key(node: yaml.Node | None) -> yaml.Node | None:
    """The first key repeated within one mapping: PyYAML keeps the last silently, so a second
    ``ingress:`` would drop the first block without a word."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        return key
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


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


def load_yaml_document(path: Path, schema: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``, validate it against ``schemas/<schema>.schema.json``, and return the
    data with its YAML node tree (for :func:`line_of` in later, semantic checks)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from e
    # One parse (LibYAML's when present: a 10,000-resource baseline from `baseline init` takes
    # 80 s to compose and load twice in pure Python) gives both the nodes and the data.
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # At the end of the stream PyYAML points past the last line.
        line = f":{min(mark.line + 1, max(1, len(text.splitlines())))}" if mark else ""
        raise ConfigError(f"{path}{line}: YAML syntax error: {e.problem or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: YAML error: {e}") from e
    finally:
        loader.dispose()
    duplicate = _duplicate_key(node)
    if duplicate is not None:
        at = duplicate.start_mark.line + 1
        raise ConfigError(f"{path}:{at}: duplicate key {duplicate.value!r}")
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
        at = _line_of(node, where) or 1
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{path}:{at}: {_json_path(where)}: {_message(first)}{more}")
    return data, node


def load_yaml_checked(path: Path, schema: str) -> Any:
    """Parse ``path`` and validate it against ``schemas/<schema>.schema.json``."""
    return load_yaml_document(path, schema)[0]
