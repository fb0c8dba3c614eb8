"""``driftaudit diff``: what changed between two snapshots, and a CI gate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from driftaudit.commands import options
from driftaudit.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    from driftaudit.change.differ import Change

EPILOG = """\b
Examples:
  driftaudit diff -C snapshots                      # working tree against HEAD
  driftaudit diff -C snapshots --since "7 days ago"
  driftaudit diff -C snapshots HEAD~1 HEAD --format markdown
  driftaudit diff -C snapshots --fail-on security_groups   # CI gate
  driftaudit diff -C snapshots --fail-on high
  driftaudit diff -C snapshots --since "1 day ago" --attribute   # who, exactly when
  driftaudit diff -C snapshots --config ops/driftaudit.yaml   # its severity and ignore rules

\b
Exit codes (like terraform plan -detailed-exitcode): 0 no change at or above --fail-on,
2 such changes, 1 error (a usage error too; a snapshot file that does not parse too).
"""


def gate(changes: list[Change], fail_on: tuple[str, ...]) -> bool:
    """Whether any change trips the gate: a severity means "at least", a type means "any"
    (a change of that type folded under another counts: the gate sees every part)."""
    from driftaudit.change.differ import SEVERITIES, severity_rank

    if not fail_on:
        return bool(changes)
    levels = [severity_rank(v) for v in fail_on if v in SEVERITIES]
    types = {v for v in fail_on if v not in SEVERITIES}
    return any(
        any(p.type in types for p in c.parts())
        or any(severity_rank(c.severity) >= lvl for lvl in levels)
        for c in changes
    )


@click.command(epilog=EPILOG)
@options.snapshot_dir
@options.revision_range
@options.report_format("text")
@options.fail_on
@click.option(
    "--attribute",
    is_flag=True,
    help="Look up each change's exact time and actor in CloudTrail (LookupEvents, the last "
    "90 days; needs AWS credentials for the changed accounts: the accounts file in "
    "driftaudit.yaml, else the caller's own). Lookups are cached in DIR/.driftaudit/cloudtrail.",
)
def diff(
    directory: Path,
    revisions: tuple[str, ...],
    since: str | None,
    fmt: str,
    template_dir: Path | None,
    output: Path | None,
    types: tuple[str, ...],
    config: Path | None,
    fail_on: tuple[str, ...],
    attribute: bool,
) -> None:
    """Show what changed between two snapshots (default: working tree against HEAD)."""
    from driftaudit.render.report import model, render

    result = options.range_changes(
        directory, revisions, since, types, config, per_day=fmt in options.PER_DAY_FORMATS
    )
    report = model(result)
    if attribute:
        from driftaudit.attribution.run import diff as attribute_diff

        click.echo(f"driftaudit: {attribute_diff(report, result, directory, config)}", err=True)
    options.write_output(render(report, fmt, template_dir), output)
    for problem in result.unreadable:
        click.echo(f"driftaudit: {problem}", err=True)
    if result.unreadable:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_CHANGES if gate(result.changes, fail_on) else EXIT_OK)
