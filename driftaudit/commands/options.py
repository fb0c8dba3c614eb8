"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from driftaudit.canonical import FORMATS
from driftaudit.render.report import FORMATS as REPORT_FORMATS

F = Callable[..., Any]
#: Formats that show changes per day (a diff per commit of the range: only when shown).
PER_DAY_FORMATS = ("html", "json")


def file_format(f: F) -> F:
    """``-f yaml|json``: the format of snapshot files (canonical.FORMATS)."""
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS)),
        default="yaml",
        show_default=True,
        help="File format.",
    )(f)


def snapshot_dir(f: F) -> F:
    return click.option(
        "-C",
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The snapshot directory (inside a git repository).",
    )(f)


def revision_range(f: F) -> F:
    f = click.argument("revisions", nargs=-1, metavar="[REV_A [REV_B]]")(f)
    return click.option(
        "--since",
        metavar="WHEN",
        help='Compare the snapshot as of WHEN ("7 days ago", 2026-11-20) with HEAD.',
    )(f)


def report_format(default: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        f = click.option(
            "--format",
            "fmt",
            type=click.Choice(REPORT_FORMATS),
            default=default,
            show_default=True,
            help="Output format.",
        )(f)
        f = click.option(
            "--template-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Jinja2 templates overriding the built-in report.{txt,md,html,json}.j2.",
        )(f)
        f = click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the report to FILE instead of stdout.",
        )(f)
        f = click.option(
            "--type",
            "types",
            multiple=True,
            metavar="TYPE",
            help="Only these resource types (repeatable).",
        )(f)
        return click.option(
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Severity rules (default: driftaudit.yaml at the repository root, if any).",
        )(f)

    return decorate


def split_revisions(revisions: tuple[str, ...]) -> tuple[str | None, str | None]:
    if len(revisions) > 2:
        raise click.UsageError("at most two revisions (REV_A [REV_B])")
    a = revisions[0] if revisions else None
    b = revisions[1] if len(revisions) > 1 else None
    return a, b


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    from driftaudit.collect.store import atomic_write

    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(output, text.encode("utf-8"))
