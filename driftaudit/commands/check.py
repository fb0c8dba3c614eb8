"""``driftaudit check``: the snapshot against the declared baseline, and a CI gate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from driftaudit.commands import options
from driftaudit.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ConfigError

FORMATS = ("text", "markdown", "json", "junit", "sarif")

EPILOG = """\b
Examples:
  driftaudit check -C snapshots                      # baselines/ at the repository root
  driftaudit check -C snapshots --baseline baselines/prod.yaml --baseline baselines/policies
  driftaudit check -C snapshots --format sarif -o drift.sarif
  driftaudit check -C snapshots --format junit -o drift.xml

\b
Exit codes: 0 in sync, 2 drift (changed, missing, unmanaged or a policy violation),
1 error (an invalid baseline, a snapshot file that does not parse, a usage error).
"""


def default_baseline(directory: Path, root: Path | None) -> Path:
    for base in (root, directory):
        if base is not None and (base / "baselines").is_dir():
            return base / "baselines"
    raise ConfigError(
        f"no baseline: pass --baseline PATH, or create baselines/ at the root of "
        f"{root or directory} (driftaudit baseline init writes one from the snapshot)"
    )


@click.command(epilog=EPILOG)
@options.snapshot_dir
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    type=options.NonEmptyPath(path_type=Path),
    metavar="PATH",
    help="Baseline file or directory of *.yaml (repeatable; default baselines/ at the "
    "repository root).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=options.NonEmptyPath(dir_okay=False, path_type=Path),
    help="Write the result to FILE instead of stdout.",
)
def check(directory: Path, baselines: tuple[Path, ...], fmt: str, output: Path | None) -> None:
    """Check the current snapshot files against the declared baseline."""
    from driftaudit.baseline.checks import Seen
    from driftaudit.baseline.evaluate import evaluate
    from driftaudit.baseline.load import load_baseline
    from driftaudit.baseline.render import render
    from driftaudit.baseline.snapshots import read_snapshots, repository_root
    from driftaudit.baseline.unheld import UnheldSince

    if not directory.is_dir():
        raise ConfigError(f"{directory} does not exist or is not a directory")
    root = repository_root(directory)
    paths = list(baselines) or [default_baseline(directory, root)]
    baseline = load_baseline(paths, root)
    snaps, problems = read_snapshots(directory, root or directory.resolve())
    for problem in problems:
        click.echo(f"driftaudit: {problem}", err=True)
    if problems:
        sys.exit(EXIT_ERROR)
    if not snaps:
        # A mistyped -C must not pass the gate as "in sync".
        raise ConfigError(f"{directory}: no snapshot files (<account>/<region>/<type>/<id>.yaml)")
    seen = Seen.of(s.doc for s in snaps) if any(p.deny for p in baseline.policies) else None
    since = UnheldSince(directory) if seen is not None else None
    try:
        result = evaluate(baseline, snaps, seen, since)
    finally:
        if since is not None:
            since.close()
    options.write_output(render(result, fmt), output)
    sys.exit(EXIT_OK if result.in_sync else EXIT_CHANGES)
