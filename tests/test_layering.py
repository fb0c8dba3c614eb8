"""The library does not depend on the command line: only driftaudit/cli.py, __main__.py and
driftaudit/commands/ import the CLI layer (the demo runs its follow-up commands as a user
does, in processes of their own, and shares snapshot_and_commit() with `snapshot`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "driftaudit"
CLI_LAYER = ("driftaudit.cli", "driftaudit.commands")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_library_module_imports_the_cli() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ("cli.py", "__main__.py") or rel.startswith("commands/"):
            continue
        bad = sorted(n for n in imported(path) if n.startswith(CLI_LAYER))
        if bad:
            offenders.append(f"{rel}: {', '.join(bad)}")
    assert not offenders, offenders


def test_the_demo_and_snapshot_share_one_job() -> None:
    for rel in ("demo.py", "commands/snapshot.py"):
        assert "driftaudit.collect.job.snapshot_and_commit" in imported(PACKAGE / rel), rel
