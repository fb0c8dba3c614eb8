"""README is the manual: every command, option of note, resource type, volatile field and
exit code it promises is checked against the code here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from driftaudit.cli import cli
from driftaudit.collect.collectors import REGISTRY, SETUP_ACTIONS, iam_policy
from driftaudit.schemas import schema_path

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


@pytest.mark.parametrize("code", ["0", "1", "2", "3"])
def test_exit_codes_are_documented(code: str) -> None:
    assert f"| {code} |" in README


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
