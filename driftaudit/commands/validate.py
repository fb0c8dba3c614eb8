"""``driftaudit validate``: the pre-review check of snapshot files (and a pre-commit hook)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from driftaudit.commands import options
from driftaudit.errors import EXIT_ERROR, EXIT_OK

EPILOG = """\b
Example:
  driftaudit validate                       # every snapshot file under .
  driftaudit validate snapshots/123456789012/us-east-1/security_groups/sg-0abc.yaml
  driftaudit validate --changed origin/main       # a pull request's files only
  driftaudit validate -j 1 snapshots              # on one core
  driftaudit validate -C snapshots                # as diff, report and check name it
  pre-commit run driftaudit-validate --all-files

\b
Checks that each file parses, matches its JSON Schema, is in canonical form (byte for byte
what driftaudit writes), sits at <account>/<region>/<type>/<id>.<ext> as its content says,
and holds nothing secret-looking (access key ids, secret keys, private keys, user data).
In directories only files under a 12-digit account directory are checked; .git,
.driftaudit and other hidden directories are skipped. A symbolic link, FIFO or device
where a snapshot file or directory could be is a problem, never followed or read.

\b
--changed REV checks only the files added or changed since REV (since where HEAD's history
meets it, as a pull request sees it), committed or not, and untracked ones.

\b
Exit codes: 0 every file passes, 1 any problem (one "file:line: problem" line each).
"""


@click.command(epilog=EPILOG)
@click.argument(
    "paths",
    nargs=-1,
    metavar="[PATH ...]",
    # Not click's exists=True: it follows symbolic links, and a named link is a problem
    # to report (never followed), not a missing path.
    type=click.Path(path_type=Path),
)
@click.option(
    "--changed",
    "changed_since",
    metavar="REV",
    type=options.NON_EMPTY,
    help="Only files added or changed since REV (committed or not, and untracked).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    metavar="N",
    help="Processes checking files at once (default: one per core).",
)
@click.option(
    "-C",
    "--dir",
    "directory",
    type=options.NonEmptyPath(file_okay=False, path_type=Path),
    help="The snapshot directory to check, as for the other commands (instead of PATHs).",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary line on stderr.")
def validate(
    paths: tuple[Path, ...],
    changed_since: str | None,
    jobs: int | None,
    directory: Path | None,
    quiet: bool,
) -> None:
    """Check committed snapshot files before review (default: everything under .)."""
    from driftaudit.gitrepo import GitError
    from driftaudit.validate import default_jobs
    from driftaudit.validate import validate as run

    if directory is not None:
        if paths:
            raise click.UsageError("give either -C DIR or PATHs, not both")
        if not os.path.lexists(directory):
            raise click.BadParameter(f"{str(directory)!r} does not exist", param_hint="-C")
        paths = (directory,)
    for path in paths:
        if not os.path.lexists(path):
            raise click.BadParameter(f"{str(path)!r} does not exist", param_hint="PATH")
    try:
        files, problems = run(
            paths or (Path("."),),
            lambda p: click.echo(str(p)),
            jobs=jobs or default_jobs(),
            changed_since=changed_since,
        )
    except GitError as e:
        raise GitError(f"validate --changed {changed_since}: {e}") from e
    if not quiet:
        if files == 0:
            click.echo("driftaudit: no snapshot files to check", err=True)
        else:
            click.echo(f"driftaudit: {files} file(s) checked, {problems} problem(s)", err=True)
    sys.exit(EXIT_ERROR if problems else EXIT_OK)
