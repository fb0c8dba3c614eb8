"""``driftaudit snapshot``."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from driftaudit.collect.accounts import (
    ACCOUNT_ID,
    EXTERNAL_ID,
    ROLE_NAME,
    SESSION_NAME,
    AccountsFile,
    CommandLine,
)
from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.deadlines import PART_TIMEOUT, RUN_TIMEOUT
from driftaudit.commands import options
from driftaudit.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_PARTIAL_CHANGES

if TYPE_CHECKING:
    from driftaudit.collect.output import Output
    from driftaudit.collect.shards import Shard

EPILOG = """\b
Examples:
  driftaudit snapshot us-east-1 -o snapshots
  driftaudit snapshot us-east-1 eu-west-1 -o snapshots --commit
  driftaudit snapshot --all-regions -o snapshots --commit --fail-on security_groups,high
  driftaudit snapshot --all-regions -o snapshots -f json
  driftaudit snapshot eu-west-1 --type security_groups,instances
  driftaudit snapshot us-east-1 --role-arn arn:aws:iam::111122223333:role/audit -o snapshots
  driftaudit snapshot --all-regions --org-role driftaudit-audit --skip-default-vpcs -o snapshots
  driftaudit snapshot -o snapshots --commit --config driftaudit.yaml   # its accounts: list
  driftaudit snapshot --all-regions --org-role audit -o snapshots --commit --shard 3/8

\b
An account whose role cannot be assumed (or whose first call fails) does not stop the
others: its parts fail, named with the role ARN and the error, exit 3.

\b
--shard K/N reads only the (account, region) pairs of shard K of N (a stable hash of each
pair: the same on every machine and run); N jobs with K = 1..N read everything once.

\b
A part that takes longer than --part-timeout, or is not done when --timeout runs out, fails
like any other failed part ("timed out after N s"; its previous files kept).

\b
Exit codes: 0 complete, 3 partial (some region/type parts could not be read or written;
their previous files are kept, the rest is written), 1 nothing collected or written,
another run holds DIR (waited DRIFTAUDIT_LOCK_WAIT seconds, default 60), or a
usage/configuration error, 2 with --fail-on: complete, and the commit holds changes the gate
names, 4 with --fail-on: partial, and the gate tripped too.
"""


def _matching(pattern: str, what: str) -> Callable[..., Any]:
    """A click callback refusing a value (or any of a repeated option's) that is not
    ``what``: an empty one too, so an unset variable cannot quietly mean "none"."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        for item in value if isinstance(value, tuple) else [value]:
            if item is not None and not re.fullmatch(pattern, item):
                raise click.BadParameter(f"{item!r} is not {what}", param=param)
        return value

    return check


def _shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    from driftaudit.collect.shards import ShardSpecError, parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ShardSpecError as e:
        raise click.BadParameter(str(e), param=param) from e


def accounts_of(cli: CommandLine, config: Path | None, out_dir: Path | None) -> AccountsFile:
    """The accounts file (``--config``, else driftaudit.yaml where :func:`snapshot_config`
    looks), checked against what the command line asks of it."""
    from driftaudit.config import load_accounts, snapshot_config

    if cli.role_arns and cli.org_role:
        raise click.UsageError("--org-role and --role-arn cannot be combined")
    found = load_accounts(config or snapshot_config(out_dir))
    if cli.org_exclude and not (cli.org_role or found.org_role):
        raise click.UsageError(
            "--org-exclude needs --org-role (or organization: in the accounts file)"
        )
    return found


def _output(out_dir: Path, commit: bool = True) -> Output:
    """DIR made (and git init'ed with --commit), its lock held until the command ends."""
    from driftaudit.collect.output import open_output

    output = open_output(out_dir, commit)
    click.get_current_context().call_on_close(output.lock.release)
    return output


@click.command(epilog=EPILOG)
@click.argument("regions", nargs=-1, metavar="[REGION ...]")
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=options.NonEmptyPath(file_okay=False, path_type=Path),
    help="Write one file per resource under DIR (default: one document on stdout).",
)
@options.file_format
@click.option("--all-regions", is_flag=True, help="Every region enabled for the account.")
@options.profile
@options.role_arns(
    "Assume this role and snapshot its account (repeatable); replaces the accounts file's."
)
@click.option(
    "--org-role",
    metavar="NAME",
    callback=_matching(ROLE_NAME, "an IAM role name"),
    help="Snapshot every active account of the organization through its role NAME.",
)
@click.option(
    "--org-exclude",
    metavar="ID",
    multiple=True,
    callback=_matching(ACCOUNT_ID, "a 12-digit account id"),
    help="Leave this account of the organization out (repeatable).",
)
@click.option(
    "--external-id",
    metavar="ID",
    callback=_matching(EXTERNAL_ID, "an sts:AssumeRole external id"),
    help="ExternalId for every role assumed (the accounts file may set one per account).",
)
@click.option(
    "--role-session-name",
    metavar="NAME",
    callback=_matching(SESSION_NAME, "an sts:AssumeRole session name"),
    help="RoleSessionName for every role assumed (default driftaudit).",
)
@click.option(
    "--skip-default-vpcs",
    is_flag=True,
    help="Leave out default VPCs with nothing of ours in them.",
)
@click.option(
    "--config",
    type=options.NonEmptyPath(dir_okay=False, path_type=Path),
    help="Accounts file (default: driftaudit.yaml at the root of DIR's repository, "
    "else in the current directory).",
)
@options.endpoint_url
@options.resource_types(f"Collect only TYPE (default all: {', '.join(REGISTRY)})")
@options.hidden_types_alias("--only")
@click.option(
    "--commit",
    is_flag=True,
    help="Commit the snapshot to the git repository holding DIR (git init if none).",
)
@options.fail_on_gate(
    "With --commit: exit 2 when the commit holds changes at or above SEVERITY or of TYPE "
    "(repeatable, or A,B...), as diff --fail-on would for it."
)
@click.option(
    "--shard",
    metavar="K/N",
    callback=_shard,
    help="Only shard K of N: a stable split of the (account, region) pairs (one job each).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=16,
    show_default=True,
    help="Parts (region x type) collected at once.",
)
@click.option(
    "--timeout",
    "run_timeout",
    type=click.FloatRange(0, min_open=True),
    default=RUN_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Deadline of the whole run; parts not done by then fail (timed out).",
)
@click.option(
    "--part-timeout",
    type=click.FloatRange(0, min_open=True),
    default=PART_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Deadline of each (account, region, type) part, from when it starts.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="One line per part; internal tracebacks.")
def snapshot(
    regions: tuple[str, ...],
    out_dir: Path | None,
    fmt: str,
    all_regions: bool,
    profile: str | None,
    role_arns: tuple[str, ...],
    org_role: str | None,
    org_exclude: tuple[str, ...],
    external_id: str | None,
    role_session_name: str | None,
    skip_default_vpcs: bool,
    config: Path | None,
    endpoint_url: str | None,
    types: tuple[str, ...],
    old_types: tuple[str, ...],
    commit: bool,
    fail_on: tuple[str, ...],
    shard: Shard | None,
    workers: int,
    run_timeout: float,
    part_timeout: float,
    quiet: bool,
    verbose: bool,
) -> None:
    """Read EC2 state and write one canonical file per resource.

    Layout: DIR/<account-id>/<region>/<type>/<resource-id>.yaml (or .json).
    """
    from driftaudit.collect.aws import ClientPool, deadline
    from driftaudit.collect.deadlines import Deadlines
    from driftaudit.collect.job import (
        Committed,
        Progress,
        snapshot_and_commit,
        stdout_document,
        take_snapshot,
    )

    deadlines = Deadlines.starting_now(run_timeout, part_timeout)

    chosen = [REGISTRY[n] for n in dict.fromkeys(types + old_types) or REGISTRY]
    if commit and out_dir is None:
        raise click.UsageError("--commit needs -o DIR")
    if fail_on and not commit:
        raise click.UsageError("--fail-on needs --commit: it gates on the changes committed")
    output = _output(out_dir) if out_dir is not None and commit else None  # before AWS calls
    # No socket wait outlives a part, nor the run (whose set-up calls come before any part).
    max_wait = min(part_timeout, run_timeout)
    pool = ClientPool(endpoint_url=endpoint_url, workers=workers, max_wait=max_wait)
    cli = CommandLine(
        role_arns, org_role, org_exclude, external_id, role_session_name, profile, skip_default_vpcs
    )
    accounts_file = accounts_of(cli, config, out_dir)
    with deadline(deadlines.run_end, "the run's deadline (--timeout)"):  # set-up calls too
        targets, unreached = pool.open_run(
            cli, accounts_file, regions, all_regions, workers, deadlines.run_end
        )
    if out_dir is not None and output is None:
        output = _output(out_dir, commit=False)  # input known good: a typo leaves no DIR
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty() and not quiet and not verbose)
    committed: Committed | None = None
    if commit and output is not None:
        outcome, committed = snapshot_and_commit(
            pool,
            targets,
            chosen,
            output,
            fmt,
            workers,
            progress,
            deadlines=deadlines,
            failed_accounts=unreached,
            requested=regions,
            shard=shard,
        )
    else:
        outcome = take_snapshot(
            pool,
            targets,
            chosen,
            out_dir,
            fmt,
            workers,
            progress,
            deadlines=deadlines,
            failed_accounts=unreached,
            requested=regions,
            shard=shard,
        )
    if out_dir is None and outcome.succeeded:
        sys.stdout.buffer.write(stdout_document(outcome, fmt))
        sys.stdout.flush()
    if verbose:
        for part in outcome.succeeded:
            click.echo(f"ok {part}", err=True)
        for part, trace in sorted(outcome.tracebacks.items()):
            click.echo(
                f"driftaudit: {part}: internal error; traceback:\n{trace.rstrip()}", err=True
            )
    if not quiet:
        s = outcome.stats
        where = (
            f"; {s.written} written, {s.unchanged} unchanged, {s.removed} removed"
            if out_dir
            else ""
        )
        if outcome.left_out:
            where += (
                f"; {outcome.left_out_resources} left out in {len(outcome.left_out)} "
                "default VPC(s) with nothing of ours"
            )
        click.echo(
            f"driftaudit: {len(outcome.accounts)} account(s), {len(outcome.regions)} region(s), "
            f"{len(outcome.types)} type(s): {outcome.resources} resources{where}; "
            f"{len(outcome.failed)} part(s) failed",
            err=True,
        )
    if committed is not None and not quiet:
        if committed.run_only:
            click.echo(
                "driftaudit: no changes since the last snapshot; run recorded "
                f"(commit {committed.sha[:12]})",
                err=True,
            )
        else:
            click.echo(
                f"driftaudit: committed {committed.sha[:12]}: {committed.message.splitlines()[0]}",
                err=True,
            )
    code = outcome.exit_code
    if fail_on and committed is not None and committed.sha and out_dir is not None:
        code = gated(code, commit_gate(out_dir, committed.sha, fail_on, config))
    sys.exit(code)


def commit_gate(
    out_dir: Path, sha: str, fail_on: tuple[str, ...], config: Path | None = None
) -> bool | None:
    """Whether the changes the commit holds trip ``--fail-on`` (the commit against its
    parent, rated with ``--config``'s or the repository's driftaudit.yaml's severity rules:
    what ``diff --fail-on … BEFORE HEAD`` would see), named on stderr; None when a file it
    changed cannot be read (a hand-edited one in the parent), which fails closed."""
    from driftaudit.change.rangediff import commit_changes
    from driftaudit.commands.diff import gate

    result = commit_changes(out_dir, sha, config)
    for problem in result.unreadable:
        click.echo(f"driftaudit: {problem}", err=True)
    if result.unreadable:
        return None
    matched = [c for c in result.changes if gate([c], fail_on)]
    if matched:
        # Even with -q: this is why the run exits non-zero.
        click.echo(
            f"driftaudit: --fail-on {','.join(fail_on)}: {len(matched)} of the "
            f"{len(result.changes)} change(s) committed in {sha[:12]} match",
            err=True,
        )
    return bool(matched)


def gated(code: int, tripped: bool | None) -> int:
    """The run's exit code with the gate's verdict: 2 (complete) or 4 (partial) when it
    trips; 1 when it could not decide; the run's own code otherwise."""
    if tripped is None:
        return EXIT_ERROR
    if not tripped or code not in (EXIT_OK, EXIT_PARTIAL):
        return code
    return EXIT_CHANGES if code == EXIT_OK else EXIT_PARTIAL_CHANGES
