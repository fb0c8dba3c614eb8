"""``driftaudit baseline``: write a baseline from the current snapshot."""

from __future__ import annotations

from pathlib import Path

import click

from driftaudit.commands import options
from driftaudit.errors import ConfigError

GROUP_EPILOG = """\b
Example:
  driftaudit baseline init -C snapshots -o baselines/current.yaml
"""

INIT_EPILOG = """\b
Examples:
  driftaudit baseline init -C snapshots -o baselines/current.yaml
  driftaudit baseline init -C snapshots --type security_groups > baselines/groups.yaml
  driftaudit check -C snapshots          # in sync right after init; then tighten the file
"""


@click.group(epilog=GROUP_EPILOG)
def baseline() -> None:
    """Declared baselines: what EC2 state should be (see driftaudit check)."""


@baseline.command(epilog=INIT_EPILOG)
@options.snapshot_dir
@options.resource_types("Declare resources of TYPE (default security_groups, instances, volumes)")
@click.option(
    "-o",
    "--output",
    type=options.NonEmptyPath(dir_okay=False, path_type=Path),
    help="Write the baseline to FILE instead of stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init(directory: Path, types: tuple[str, ...], output: Path | None, force: bool) -> None:
    """Write a baseline declaring the current snapshot's resources as they are."""
    from driftaudit.baseline.init import DEFAULT_TYPES, baseline_text
    from driftaudit.baseline.snapshots import read_snapshots

    if output is not None and output.exists() and not force:
        raise ConfigError(f"{output} exists; pass --force to overwrite it")
    snaps, problems = read_snapshots(directory, directory.resolve())
    if problems:
        raise ConfigError("; ".join(problems))
    if not snaps:
        raise ConfigError(f"{directory}: no snapshot files (<account>/<region>/<type>/<id>.yaml)")
    chosen = list(dict.fromkeys(types)) or list(DEFAULT_TYPES)
    options.write_output(baseline_text(snaps, chosen), output)
