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
  driftaudit check -C snapshots --fail-on high       # exit 2 only for high or critical
  driftaudit check -C snapshots --config ops/driftaudit.yaml   # its ignore: rules

\b
Exit codes: 0 in sync (or nothing at or above --fail-on), 2 drift (changed, missing,
unmanaged or a policy violation), 1 error (an invalid baseline or driftaudit.yaml, a
snapshot file that does not parse, a usage error).
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
@options.severity_gate(
    "Exit 2 only for findings at or above SEVERITY (default: any finding is drift)."
)
@click.option(
    "--config",
    type=options.NonEmptyPath(dir_okay=False, path_type=Path),
    help="Ignore rules and critical ports (default: driftaudit.yaml at the repository root).",
)
def check(
    directory: Path,
    baselines: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    config: Path | None,
) -> None:
    """Check the current snapshot files against the declared baseline."""
    import datetime as dt

    from driftaudit.baseline.checks import Seen
    from driftaudit.baseline.evaluate import evaluate
    from driftaudit.baseline.load import config_ignores, load_baseline
    from driftaudit.baseline.model import partition
    from driftaudit.baseline.render import expired_lines, render
    from driftaudit.baseline.snapshots import read_snapshots, repository_root
    from driftaudit.baseline.unheld import UnheldSince
    from driftaudit.change.rangediff import config_file
    from driftaudit.change.severity import load_rules

    if not directory.is_dir():
        raise ConfigError(f"{directory} does not exist or is not a directory")
    root = repository_root(directory)
    paths = list(baselines) or [default_baseline(directory, root)]
    baseline = load_baseline(paths, root)
    config = config_file(root, config)
    rules = load_rules(config)
    # The working tree is checked as it is today: a rule's until is compared with today.
    today = dt.datetime.now(dt.timezone.utc).date()
    baseline.ignores, expired = partition([*baseline.ignores, *config_ignores(config, root)], today)
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
        result = evaluate(baseline, snaps, seen, since, rules.critical_ports)
    finally:
        if since is not None:
            since.close()
    result.expired = expired
    options.write_output(render(result, fmt), output)
    for line in expired_lines(result):
        click.echo(f"driftaudit: {line}", err=True)
    drift = result.at_or_above(fail_on) if fail_on else result.findings
    sys.exit(EXIT_CHANGES if drift else EXIT_OK)
