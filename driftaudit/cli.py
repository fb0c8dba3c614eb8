"""The command line: parse arguments, call the library, turn its named errors into one
line on stderr and a documented exit code (never a traceback)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from driftaudit import __version__
from driftaudit.collectors import REGISTRY
from driftaudit.errors import EXIT_ERROR, DriftauditError

EPILOG_SNAPSHOT = """\b
Examples:
  driftaudit snapshot us-east-1 -o snapshots
  driftaudit snapshot --all-regions -o snapshots -f json
  driftaudit snapshot eu-west-1 --only security_groups,instances
  driftaudit snapshot us-east-1 --role-arn arn:aws:iam::111122223333:role/audit -o snapshots

\b
Exit codes: 0 complete, 3 partial (some region/type parts failed; their previous files
are kept, the rest is written), 1 nothing collected or a usage/configuration error.
"""


def _types(value: str | None) -> list[str]:
    if not value:
        return list(REGISTRY)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise click.BadParameter(
            f"unknown type {', '.join(unknown)}; known: {', '.join(REGISTRY)}", param_hint="--only"
        )
    return names


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "\b\nExamples:\n  driftaudit demo /tmp/driftaudit-demo\n"
        "  driftaudit snapshot us-east-1 -o snapshots"
    ),
)
@click.version_option(__version__, prog_name="driftaudit")
def cli() -> None:
    """driftaudit: snapshot AWS EC2 state into canonical files for git, then audit the drift."""


@cli.command(epilog=EPILOG_SNAPSHOT)
@click.argument("regions", nargs=-1, metavar="[REGION ...]")
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per resource under DIR (default: one document on stdout).",
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
@click.option("--all-regions", is_flag=True, help="Every region enabled for the account.")
@click.option("--profile", help="AWS profile (credentials always come from boto3's chain).")
@click.option(
    "--role-arn",
    "role_arns",
    multiple=True,
    metavar="ARN",
    help="Assume this role and snapshot its account (repeatable).",
)
@click.option("--endpoint-url", metavar="URL", help="Send every AWS call here (emulator, proxy).")
@click.option(
    "--only",
    "only",
    metavar="TYPE[,TYPE...]",
    help=f"Resource types to collect (default all): {', '.join(REGISTRY)}.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=16,
    show_default=True,
    help="Parts (region x type) collected at once.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option(
    "-v", "--verbose", is_flag=True, help="One line per part, tracebacks of internal errors."
)
def snapshot(
    regions: tuple[str, ...],
    out_dir: Path | None,
    fmt: str,
    all_regions: bool,
    profile: str | None,
    role_arns: tuple[str, ...],
    endpoint_url: str | None,
    only: str | None,
    workers: int,
    quiet: bool,
    verbose: bool,
) -> None:
    """Read EC2 state and write one canonical file per resource.

    Layout: DIR/<account-id>/<region>/<type>/<resource-id>.yaml (or .json).
    """
    from driftaudit.aws import ClientPool
    from driftaudit.runner import Progress, stdout_document, take_snapshot

    types = [REGISTRY[n] for n in _types(only)]
    pool = ClientPool(endpoint_url=endpoint_url, workers=workers)
    accounts = pool.open_accounts(profile, role_arns)
    targets = [(a, pool.regions(a, regions, all_regions)) for a in accounts]
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty() and not quiet and not verbose)
    outcome = take_snapshot(pool, targets, types, out_dir, fmt, workers, progress)
    if out_dir is None and outcome.succeeded:
        sys.stdout.buffer.write(stdout_document(outcome, fmt))
        sys.stdout.flush()
    if verbose:
        for part in outcome.succeeded:
            click.echo(f"ok {part}", err=True)
    if not quiet:
        s = outcome.stats
        where = (
            f"; {s.written} written, {s.unchanged} unchanged, {s.removed} removed"
            if out_dir
            else ""
        )
        click.echo(
            f"driftaudit: {len(outcome.accounts)} account(s), {len(outcome.regions)} region(s), "
            f"{len(outcome.types)} type(s): {outcome.resources} resources{where}; "
            f"{len(outcome.failed)} part(s) failed",
            err=True,
        )
    sys.exit(outcome.exit_code)


@cli.command(
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


def main(argv: list[str] | None = None) -> Any:
    """Entry point: usage errors exit 1 (2 is reserved for "changes found")."""
    try:
        return cli.main(args=argv, prog_name="driftaudit", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.UsageError as e:
        e.show()
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
