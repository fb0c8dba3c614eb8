"""``driftaudit demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command(
    epilog="\b\nExample:\n  driftaudit demo /tmp/driftaudit-demo\n  ls /tmp/driftaudit-demo/*/*/"
)
@click.argument(
    "directory",
    required=False,
    default="driftaudit-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="File format.",
)
def demo(directory: Path, fmt: str) -> None:
    """Run driftaudit on the embedded AWS emulator (no AWS account needed).

    Starts moto's server on 127.0.0.1, seeds a small deterministic fleet and snapshots it
    into DIRECTORY (default ./driftaudit-demo).
    """
    from driftaudit.demo import run_demo

    sys.exit(run_demo(directory, fmt, say=click.echo))
