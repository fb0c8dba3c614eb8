"""``driftaudit demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from driftaudit.commands import options


@click.command(
    epilog="\b\nExamples:\n  driftaudit demo ~/driftaudit-demo\n"
    "  driftaudit history ip 10.191.12.13 --at '7 days ago' -C ~/driftaudit-demo\n"
    "  driftaudit demo ~/driftaudit-demo --force   # again, replacing the first one"
)
@click.argument(
    "directory",
    required=False,
    default="driftaudit-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@options.file_format
@click.option(
    "--force",
    is_flag=True,
    help="Replace a previous demo in DIRECTORY (a directory the demo did not make is never "
    "touched).",
)
def demo(directory: Path, fmt: str, force: bool) -> None:
    """The whole story on the embedded AWS emulator, in under 30 seconds (no AWS account).

    Starts moto's server on 127.0.0.1, replays ten days of a small fleet with one snapshot
    committed per day into DIRECTORY (default ./driftaudit-demo, a new git repository; it
    must be new or empty), then runs and shows what you would run next: the last day's
    diff, a baseline check, the history of 10.191.12.13, and an HTML report with a chart.
    """
    from driftaudit.demo import run_demo

    sys.exit(run_demo(directory, fmt, force, say=click.echo))
