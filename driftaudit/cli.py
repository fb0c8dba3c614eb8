"""The command line: parse arguments, call the library, turn its named errors into one
line on stderr and a documented exit code (never a traceback)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from driftaudit import __version__
from driftaudit.commands import (
    backfill,
    baseline,
    check,
    demo,
    diff,
    history,
    report,
    snapshot,
    validate,
)
from driftaudit.errors import EXIT_ERROR, DriftauditError


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``driftaudit 0.1.0 (commit 3f2a…)``: the commit says which code runs, as driftaudit is
    installed from its repository at a pinned commit (see driftaudit/provenance.py)."""
    if not value or ctx.resilient_parsing:
        return
    from driftaudit.provenance import built_from

    click.echo(f"driftaudit {__version__} (commit {built_from()})")
    ctx.exit()


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "\b\nExamples:\n  driftaudit demo ~/driftaudit-demo\n"
        "  driftaudit snapshot us-east-1 -o snapshots\n"
        "  driftaudit --version            # and the commit it was built from"
    ),
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and the commit it was built from, and exit.",
)
def cli() -> None:
    """driftaudit: snapshot AWS EC2 state into canonical files for git, then audit the drift."""


for _command in (
    snapshot.snapshot,
    diff.diff,
    report.report,
    demo.demo,
    validate.validate,
    history.history,
    check.check,
    baseline.baseline,
    backfill.backfill,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: usage errors exit 1 (2 is reserved for "changes found")."""
    try:
        return cli.main(args=argv, prog_name="driftaudit", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.UsageError as e:
        # One line, naming the command and where to look.
        command = e.ctx.command_path if e.ctx else "driftaudit"
        click.echo(f"{command}: {e.format_message()} (see {command} --help)", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_ERROR)
    except click.Abort:
        click.echo("driftaudit: aborted", err=True)
        sys.exit(EXIT_ERROR)
    except DriftauditError as e:
        click.echo(f"driftaudit: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("driftaudit: interrupted; files already written are complete", err=True)
        sys.exit(130)
    except Exception as e:  # a bug: still one line, the traceback only on request
        if os.environ.get("DRIFTAUDIT_DEBUG"):
            raise
        click.echo(
            f"driftaudit: internal error: {type(e).__name__}: {e} "
            "(set DRIFTAUDIT_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
