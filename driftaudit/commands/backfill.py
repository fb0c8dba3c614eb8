"""``driftaudit backfill``: history before the first snapshot, from AWS Config."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from driftaudit.collect.collectors import REGISTRY
from driftaudit.commands import options

EPILOG = """\b
Examples:
  driftaudit backfill -o snapshots --since "90 days ago" us-east-1 eu-west-1
  driftaudit backfill -o hist --since 2026-09-01 --role-arn arn:aws:iam::111122223333:role/audit
  driftaudit backfill -o snapshots --since "90 days ago"    # again, after an interruption

\b
DIR must be new or empty: git cannot put commits before an existing first one. Run the
daily snapshot job with -o DIR --commit from then on. An interrupted backfill continues
where it stopped when the same command is run again (checkpoints in DIR/.driftaudit/).

\b
Exit codes: 0 done, 1 an error (DIR not new or empty, no AWS Config recorder, some
resource's history could not be read: run again to continue, a usage error).
"""


@click.command(epilog=EPILOG)
@click.argument("regions", nargs=-1, metavar="[REGION ...]")
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=options.NonEmptyPath(file_okay=False, path_type=Path),
    help="The new snapshot directory (a git repository of its own).",
)
@click.option(
    "--since",
    required=True,
    metavar="WHEN",
    type=options.NON_EMPTY,
    help='The first snapshot: the state at WHEN ("90 days ago", 2026-09-01).',
)
@click.option(
    "--lookback",
    type=click.IntRange(0, 2557),
    default=90,
    show_default=True,
    metavar="DAYS",
    help="How far before WHEN to look for the state then of a resource that changed after.",
)
@options.file_format
@options.profile
@options.role_arns("Assume this role and backfill its account (repeatable).")
@options.endpoint_url
@options.resource_types(f"Backfill only TYPE (default all: {', '.join(REGISTRY)})")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=16,
    show_default=True,
    help="Resources whose history is read at once.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr (no coverage report).")
def backfill(
    regions: tuple[str, ...],
    out_dir: Path,
    since: str,
    lookback: int,
    fmt: str,
    profile: str | None,
    role_arns: tuple[str, ...],
    endpoint_url: str | None,
    types: tuple[str, ...],
    workers: int,
    quiet: bool,
) -> None:
    """Write DIR as a git history of snapshots from AWS Config's configuration items,
    each commit dated at the items' capture time, then commit a snapshot of now on top."""
    import datetime as dt

    from driftaudit.backfill.job import Progress, Settings, run
    from driftaudit.collect.aws import ClientPool
    from driftaudit.errors import ConfigError
    from driftaudit.times import parse_when

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = parse_when(since, now)
    if start >= now:
        raise click.BadParameter(f"{since!r} is not in the past", param_hint="--since")
    chosen = tuple(REGISTRY[n] for n in dict.fromkeys(types) or REGISTRY)
    pool = ClientPool(endpoint_url=endpoint_url, workers=workers)
    accounts = pool.open_accounts(profile, role_arns)
    targets = []
    for account in accounts:
        found = list(regions) or [account.session.region_name or ""]
        if not all(found):
            raise ConfigError("no region configured; set AWS_DEFAULT_REGION or name a region")
        targets.append((account, found))
    settings = Settings(
        start,
        now,
        since,
        dt.timedelta(days=lookback),
        regions,
        chosen,
        fmt,
        workers,
    )
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty() and not quiet)
    outcome = run(
        pool,
        targets,
        settings,
        out_dir,
        say=(lambda line: None) if quiet else click.echo,
        warn=lambda line: click.echo(line, err=True),
        progress=progress,
    )
    if outcome.unknown_at_since:
        click.echo(
            f"driftaudit: {len(outcome.unknown_at_since)} resource(s) changed after {since} "
            f"with no item within --lookback {lookback} days before: they appear from their "
            f"first item (e.g. {outcome.unknown_at_since[0]})",
            err=True,
        )
    if not quiet:
        span = f" ({outcome.first} .. {outcome.last})" if outcome.first else ""
        click.echo(
            f"driftaudit: {outcome.commits} snapshot(s) from AWS Config{span}, "
            f"{outcome.resources} resources, {outcome.items} items, {outcome.calls} calls"
            + (f" ({outcome.resumed} resources from checkpoints)" if outcome.resumed else ""),
            err=True,
        )
        if outcome.snapshot is not None:
            click.echo(
                f"driftaudit: committed {outcome.snapshot.sha[:12]}: the snapshot of now "
                f"({outcome.snapshot.message.splitlines()[0]})",
                err=True,
            )
