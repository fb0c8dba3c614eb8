"""Reading user-written YAML (config, baselines) with errors that name the file, the line,
the JSON path and what was expected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import best_match

from driftaudit import layout, yamltext
from driftaudit.collect.accounts import AccountsFile
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


# --- driftaudit.yaml for snapshot: where it is, and its accounts part ------------------------

CONFIG_NAME = "driftaudit.yaml"


def snapshot_config(out_dir: Path | None, cwd: Path | None = None) -> Path | None:
    """The ``driftaudit.yaml`` a snapshot reads without ``--config``: the one at the root of
    the git repository holding DIR (the file ``diff`` and ``report`` read there), else, when
    DIR is in no repository (or there is no ``-o``), the one in the current directory; None
    when there is none. A link there is named, never followed (the repository's content may
    be a pull request's); a FIFO or directory is not read either."""
    from driftaudit.gitrepo import Repo

    here = cwd or Path.cwd()
    found = here / CONFIG_NAME
    if out_dir is not None:
        probe = Path(os.path.abspath(out_dir))
        while not probe.is_dir() and probe != probe.parent:
            probe = probe.parent  # DIR may not exist yet: ask from its nearest ancestor
        proc = Repo(probe).git("rev-parse", "--show-toplevel", check=False)
        if proc.returncode == 0:
            found = Path(proc.stdout.decode().strip()) / CONFIG_NAME
    if found.is_symlink():
        raise ConfigError(f"{found}: is a symbolic link; not followed (pass --config to use it)")
    if not found.exists():
        return None
    return found


def load_accounts(path: Path | None) -> AccountsFile:
    """The accounts part of a config file (:class:`driftaudit.collect.accounts.AccountsFile`),
    validated by its schema and for meaning: a ``role_arn`` in another account than the
    entry's ``id``, an account listed twice (each ``file:line:`` naming the place)."""
    if path is None:
        return AccountsFile()
    data, node = load_yaml_document(path, "config")
    seen: dict[str, int] = {}
    for n, entry in enumerate(data.get("accounts") or ()):
        at = yamltext.line_of(node, ["accounts", n, "id"])
        if entry["id"] in seen:
            raise ConfigError(
                f"{path}:{at}: $.accounts[{n}].id: account {entry['id']} is listed twice "
                f"(first at line {seen[entry['id']]})"
            )
        seen[entry["id"]] = at
        arn = entry.get("role_arn")
        if arn is not None and arn.split(":")[4] != entry["id"]:
            line = yamltext.line_of(node, ["accounts", n, "role_arn"])
            raise ConfigError(
                f"{path}:{line}: $.accounts[{n}].role_arn: {arn} is a role of account "
                f"{arn.split(':')[4]}, not of {entry['id']}"
            )
    return AccountsFile.from_config(data)
