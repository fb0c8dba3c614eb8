"""Reading user-written YAML (config, baselines) with errors that name the file, the line,
the JSON path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match

from driftaudit.errors import ConfigError
from driftaudit.schemas import validator


def _line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based line of the YAML node at a JSON path (as deep as the path exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _json_path(path: list[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def load_yaml_checked(path: Path, schema: str) -> Any:
    """Parse ``path`` and validate it against ``schemas/<schema>.schema.json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from e
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: YAML syntax error: {e.problem or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: YAML error: {e}") from e
    errors = list(validator(schema).iter_errors(data))
    if errors:
        first = best_match(errors)
        where = list(first.absolute_path)
        at = _line_of(node, where) or 1
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{path}:{at}: {_json_path(where)}: {first.message}{more}")
    return data
