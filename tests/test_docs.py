"""README is the manual: every command and option, resource type, volatile field, exit code
and contributor checklist step it promises is checked against the code here."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from driftaudit import errors
from driftaudit.cli import cli
from driftaudit.collect.collectors import REGISTRY, SETUP_ACTIONS, iam_policy
from driftaudit.schemas import schema_path
from tests.support import readme

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "driftaudit") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        out.append((full, command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, full))
    return out


COMMANDS = _commands(cli)


@pytest.mark.parametrize("name,command", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_is_in_readme_and_shows_an_example(name: str, command: click.Command) -> None:
    assert f"`{name}" in README or f"\n{name} " in README, f"README does not document {name}"
    with click.Context(command, info_name=name) as ctx:
        assert "Example" in command.get_help(ctx), f"{name} --help shows no example"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    command = ci[-1].strip()
    assert "pytest" in command
    assert command in README


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_resource_type_has_a_schema_and_readme_entry(name: str) -> None:
    assert schema_path(name).is_file()
    assert f"`{name}`" in README, f"README does not list resource type {name}"
    rows = [line for line in README.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"README's resource-type table has no one row for {name}"
    cells = [c.strip() for c in rows[0].strip("|").split(" | ")]
    rtype = REGISTRY[name]
    assert cells[2] == (rtype.volatile_doc or "—"), f"README's dropped fields of {name}"
    assert cells[3] == (rtype.reshaped_doc or "—"), f"README's reshaped fields of {name}"


def test_the_iam_policy_block_is_the_one_generated_from_the_types() -> None:
    section = README[README.index("## Read-only IAM policy") :]
    block = section[section.index("```json\n") + 8 : section.index("\n```\n")]
    assert block == json.dumps(iam_policy(), indent=2), (
        "README's IAM policy is not what `python -m driftaudit.collect.collectors` prints"
    )
    actions = set(iam_policy()["Statement"][0]["Action"])
    assert {a for t in REGISTRY.values() for a in t.iam_actions} | set(SETUP_ACTIONS) == actions
    printed = subprocess.run(
        [sys.executable, "-m", "driftaudit.collect.collectors"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == block + "\n"


# --- exit codes: README's table, the constants and each command's --help ----------------------

EXIT_CODES = {n: v for n, v in vars(errors).items() if n.startswith("EXIT_")}
NOTHING = {"", "—", "-"}


def exit_code_table() -> tuple[list[str], dict[int, list[str]]]:
    """(the table's command columns, code -> its cells) of README's "Exit codes" table."""
    header, *rows = readme.table(readme.section(r"^Exit codes$"))
    assert header[0] == "code" and rows, "README's exit-code table lost its header or rows"
    return header[1:], {int(row[0]): row[1:] for row in rows}


def column_of(name: str, columns: list[str]) -> int:
    """The column of command ``name``: ``driftaudit history ip`` is in ``history``'s, the
    group ``driftaudit baseline`` in ``baseline init``'s."""
    path = name.removeprefix("driftaudit ")
    found = [
        i
        for i, column in enumerate(columns)
        for entry in column.split(", ")
        if path == entry or path.startswith(entry + " ") or entry.startswith(path + " ")
    ]
    assert len(found) == 1, f"README's exit-code table has {len(found)} columns for {name}"
    return found[0]


@pytest.mark.parametrize("name", sorted(EXIT_CODES))
def test_every_exit_code_constant_is_a_row_with_a_meaning(name: str) -> None:
    _, rows = exit_code_table()
    code = EXIT_CODES[name]
    assert code in rows, f"README's exit-code table has no row for {name} = {code}"
    assert any(cell not in NOTHING for cell in rows[code]), f"row {code} gives no meaning"


def test_the_exit_code_table_has_rows_only_for_the_constants() -> None:
    _, rows = exit_code_table()
    assert sorted(rows) == sorted(EXIT_CODES.values())


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_a_column_in_the_exit_code_table(name: str) -> None:
    columns, _ = exit_code_table()
    column_of(f"driftaudit {name}", columns)


def exit_codes_in_help(name: str, command: click.Command) -> set[int] | None:
    """The codes the ``Exit codes: 0 ..., 2 ..., 1 ...`` paragraph of --help gives."""
    with click.Context(command, info_name=name) as ctx:
        text = command.get_help(ctx)
    if "Exit codes" not in text:
        return None
    paragraph = " ".join(text[text.index("Exit codes") :].split("\n\n")[0].split())
    return {int(code) for code in re.findall(r"[:,] (\d+) (?=[a-z])", paragraph)}


HELP_EXIT_CODES = [(n, c) for n, c in COMMANDS if exit_codes_in_help(n, c) is not None]


@pytest.mark.parametrize("name,command", HELP_EXIT_CODES, ids=[n for n, _ in HELP_EXIT_CODES])
def test_help_gives_the_exit_codes_readme_gives_that_command(
    name: str, command: click.Command
) -> None:
    codes = exit_codes_in_help(name, command)
    assert codes, f"{name} --help: an Exit codes paragraph without codes"
    assert codes <= set(EXIT_CODES.values()), f"{name} --help: codes {codes} not in errors.py"
    columns, rows = exit_code_table()
    column = column_of(name, columns)
    documented = {code for code, cells in rows.items() if cells[column] not in NOTHING}
    assert codes == documented, f"{name}: --help gives {codes}, README's table {documented}"


def test_some_commands_give_exit_codes_in_help() -> None:
    assert {n for n, _ in HELP_EXIT_CODES} >= {"driftaudit snapshot", "driftaudit diff"}


# --- commands and options: every one in README, nothing in README that is not one --------------

LEAVES = [(n, c) for n, c in COMMANDS if not isinstance(c, click.Group)]


def synopses(name: str) -> list[readme.Line]:
    """README lines giving the command's synopsis: ``driftaudit diff [-C DIR] ...``,
    ``driftaudit history ip ADDRESS ...`` (in a fenced block or a code span)."""
    pattern = re.compile(rf"^{re.escape(name)}(?: \[| [A-Z])")
    return [line for line in readme.code() if pattern.match(line.text.strip())]


def synopsis_sections(name: str) -> str:
    """The text of the README sections (with their subsections) holding the synopsis."""
    found = synopses(name)
    assert found, f"README has no synopsis line for {name} (`{name} [OPTIONS...]`)"
    return "\n".join(readme.section_of(line.number).text for line in found)


@pytest.mark.parametrize("name,command", LEAVES, ids=[n for n, _ in LEAVES])
def test_every_option_is_in_the_readme_section_of_its_command(
    name: str, command: click.Command
) -> None:
    """The section is the one holding the command's synopsis (with its subsections)."""
    text = synopsis_sections(name)
    missing = [
        "/".join(option.opts)
        for option in command.params
        if isinstance(option, click.Option) and not option.hidden
        if not any(
            re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
            for flag in option.opts + option.secondary_opts
        )
    ]
    assert not missing, f"README's section on {name} does not mention {missing}"


def test_every_command_readme_runs_exists() -> None:
    wrong = []
    for number, name, word in readme.commands():
        command = cli.commands.get(name)
        if command is None:
            wrong.append(f"README.md:{number}: driftaudit {name}")
        elif isinstance(command, click.Group) and word and word not in command.commands:
            wrong.append(f"README.md:{number}: driftaudit {name} {word}")
    assert not wrong, wrong


def test_the_pre_commit_hook_passes_exactly_the_layout_files() -> None:
    import re

    import yaml

    from driftaudit import layout

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    pattern = hooks[0]["files"]
    assert pattern == layout.precommit_pattern()
    good = "snaps/123456789012/us-east-1/security_groups/sg-0abc.yaml"
    assert re.search(pattern, good)
    for bad in (
        "baselines/team/prod/sgs.yaml",
        "snaps/123456789012/us-east-1/volumes/.vol-1.yaml.4242.driftaudit-tmp",
        "snaps/123456789012/us-east-1/notatype/x.yaml",
        "snaps/123456789012/us-east-1/volumes/vol-1.yml",
    ):
        assert not re.search(pattern, bad), bad


# --- README's contributor checklists, kept true ----------------------------------------------

PLACEHOLDER = re.compile(r"<\w+>")


def checklist(title: str) -> list[str]:
    """The file paths a checklist section names in code spans (``schemas/<type>.schema.json``)."""
    section = readme.section(title)
    spans = [line.text for line in readme.code(section.text)]
    paths = [s for s in spans if "/" in s and re.fullmatch(r"[\w./<>-]+", s)]
    return list(dict.fromkeys(paths))


def filled(pattern: str, value: str) -> Path:
    return ROOT / PLACEHOLDER.sub(value, pattern)


def dotted(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


TYPE_PATHS = checklist(r"^Adding a resource type$")
FORMAT_PATHS = checklist(r"^Adding an output format$")
GENERIC_TESTS = {"test_docs.py", "test_models.py"}  # they take every type from the registry


def only(paths: list[str], pattern: str) -> str:
    found = [p for p in paths if re.search(pattern, p)]
    assert len(found) == 1, f"README's checklist: {len(found)} paths like {pattern!r}: {paths}"
    return found[0]


@pytest.mark.parametrize("path", [p for p in TYPE_PATHS + FORMAT_PATHS if "<" not in p])
def test_the_checklists_name_files_that_exist(path: str) -> None:
    assert (ROOT / path).exists(), f"README's contributor checklist names {path}: not found"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_resource_type_has_what_the_checklist_asks(name: str) -> None:
    """Declared (a passthrough in the registry module, or a module of its own with fetch,
    transform and RESOURCE), registered, a schema, a test naming it, a README table row."""
    from driftaudit.collect import collectors
    from driftaudit.collect.collectors import base

    record = REGISTRY[name]
    registry = only(TYPE_PATHS, r"collectors/__init__\.py$")
    module_path = only(TYPE_PATHS, r"collectors/<\w+>\.py$")
    if filled(module_path, name).is_file():
        module = importlib.import_module(dotted(PLACEHOLDER.sub(name, module_path)))
        assert getattr(module, "RESOURCE", None) is record, f"{name}: module's RESOURCE"
        assert callable(getattr(module, "fetch", None)), f"{name}: module has no fetch"
        assert callable(getattr(module, "transform", None)), f"{name}: module has no transform"
    else:
        declared = [k for k, v in vars(collectors).items() if v is record]
        assert declared and record.fetch.__module__ == base.__name__, (
            f"{name}: neither a passthrough(...) in {registry} nor a module {module_path}"
        )
    assert importlib.import_module(dotted(registry)).REGISTRY[name] is record
    schema = filled(only(TYPE_PATHS, r"^schemas/<\w+>\."), name)
    assert schema.is_file(), f"{name}: no {schema.relative_to(ROOT)}"
    naming = re.compile(rf"[\"']{name}[\"']|\btest_{name}\b")
    tests = [
        p.name
        for p in sorted((ROOT / "tests").glob("test_*.py"))
        if p.name not in GENERIC_TESTS and naming.search(p.read_text(encoding="utf-8"))
    ]
    assert tests, f"{name}: no test under tests/ names it"
    rows = readme.table(readme.section(r"^Resource types$"))
    assert any(row[0] == f"`{name}`" for row in rows), f"{name}: no row in README's type table"


def test_every_collector_module_is_registered() -> None:
    """A module with a RESOURCE that is not in REGISTRY: step 2 forgotten."""
    module_path = only(TYPE_PATHS, r"collectors/<\w+>\.py$")
    folder = filled(module_path, "x").parent
    for path in sorted(folder.glob("*.py")):
        module = importlib.import_module(dotted(path.relative_to(ROOT).as_posix()))
        record = getattr(module, "RESOURCE", None)
        if record is not None:
            assert REGISTRY.get(record.name) is record, f"{path.name}: not in REGISTRY"


def format_modules() -> list[str]:
    """The modules the output-format checklist names (each defines FORMATS)."""
    return [dotted(p) for p in FORMAT_PATHS if p.endswith(".py") and p.startswith("driftaudit/")]


def format_cases() -> list[tuple[str, str]]:
    return [(m, fmt) for m in format_modules() for fmt in importlib.import_module(m).FORMATS]


@pytest.mark.parametrize("module,fmt", format_cases())
def test_every_output_format_has_what_the_checklist_asks(module: str, fmt: str) -> None:
    """Its template (or the module's renderer), a command offering it, listed in that
    command's README synopsis, and rendered by a test the checklist names."""
    mod = importlib.import_module(module)
    template_files = getattr(mod, "TEMPLATE_FILES", None)
    if template_files is not None:
        pattern = only(FORMAT_PATHS, r"templates/[^/]*<\w+>")
        template = Path(pattern).parent / template_files[fmt]
        shape = "[^/]+".join(re.escape(part) for part in PLACEHOLDER.split(pattern))
        assert re.fullmatch(shape, template.as_posix()), f"{fmt}: {template} is not {pattern}"
        assert (ROOT / template).is_file(), f"{fmt}: no template {template}"
    else:
        assert callable(getattr(mod, "render", None)), f"{module}: no render()"
    choices = "|".join(mod.FORMATS)
    offering = [
        (name, option)
        for name, command in LEAVES
        for option in command.params
        if "--format" in option.opts and isinstance(option.type, click.Choice)
        if set(option.type.choices) == set(mod.FORMATS)
    ]
    assert offering, f"{module}: no command offers --format {choices}"
    for name, _ in offering:
        assert f"--format {choices}" in synopsis_sections(name), (
            f"README's section on {name} does not give --format {choices}"
        )
    # Rendered: asked for by name, parametrized over the module's FORMATS, or the default of
    # a command the test file runs.
    commands = {f'"{name.split()[-1]}"' for name, option in offering if option.default == fmt}
    tests = [ROOT / p for p in FORMAT_PATHS if p.startswith("tests/") and p.endswith(".py")]
    assert any(
        f'"--format", "{fmt}"' in source
        or re.search(rf"from {re.escape(module)} import [^\n]*\bFORMATS\b", source)
        or any(command in source for command in commands)
        for source in (t.read_text(encoding="utf-8") for t in tests)
    ), f"{fmt} ({module}): no test in {[t.name for t in tests]} renders it"
