"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from driftaudit.canonical import FORMATS
from driftaudit.render import FORMATS as REPORT_FORMATS

if TYPE_CHECKING:
    from driftaudit.change.rangediff import DiffResult

F = Callable[..., Any]
#: Formats that show changes per day (a diff per commit of the range: only when shown).
PER_DAY_FORMATS = ("html", "json")


# --- values that fail closed ----------------------------------------------------------------------
# A CI gate runs with values from variables: an empty one (an unset $TYPE, `--since ""`) or a
# typo must stop the job as a usage error (exit 1), never quietly mean "everything" or "none".


class NonEmpty(click.types.StringParamType):
    """A string that is not empty or blank."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must not be empty", param, ctx)
        return super().convert(value, param, ctx)


class NonEmptyPath(click.Path):
    """click.Path that refuses "" (which pathlib would quietly read as ".")."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must not be empty", param, ctx)
        return super().convert(value, param, ctx)


NON_EMPTY = NonEmpty()


def listed(values: tuple[str, ...], param: click.Parameter) -> list[str]:
    """Repeated and comma-separated values, in order, without repeats; an empty item (``""``,
    ``,``, ``a,,b``) is an error."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                raise click.BadParameter(f"empty value in {value!r}", param=param)
            if item not in out:
                out.append(item)
    return out


def unknown(value: str, valid: list[str], what: str, param: click.Parameter) -> NoReturn:
    import difflib

    close = difflib.get_close_matches(value, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise click.BadParameter(
        f"{value!r} is not {what}{hint}; valid: {', '.join(valid)}", param=param
    )


def _types(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from driftaudit.collect.collectors import REGISTRY

    names = listed(values, param)
    for name in names:
        if name not in REGISTRY:
            unknown(name, list(REGISTRY), "a resource type", param)
    return tuple(names)


def resource_types(help_text: str) -> Callable[[F], F]:
    """``--type TYPE``: the one way every command chooses resource types; repeatable, and
    each value may be a comma-separated list. Unknown or empty names are usage errors."""

    def decorate(f: F) -> F:
        return click.option(
            "--type",
            "types",
            multiple=True,
            metavar="TYPE",
            callback=_types,
            help=f"{help_text} (repeatable, or TYPE,TYPE...).",
        )(f)

    return decorate


def hidden_types_alias(name: str) -> Callable[[F], F]:
    """An older spelling of ``--type`` (snapshot's ``--only``), kept working but not shown."""

    def decorate(f: F) -> F:
        return click.option(
            name, "old_types", multiple=True, hidden=True, callback=_types, metavar="TYPE"
        )(f)

    return decorate


def _fail_on(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    from driftaudit.change.differ import SEVERITIES
    from driftaudit.collect.collectors import REGISTRY

    names = listed(values, param)
    for name in names:
        if name not in SEVERITIES and name not in REGISTRY:
            unknown(name, [*SEVERITIES, *REGISTRY], "a severity or a resource type", param)
    return tuple(names)


def fail_on_gate(help_text: str) -> Callable[[F], F]:
    """``--fail-on SEVERITY|TYPE``: a gate on changes (``diff``'s, and the changes ``snapshot
    --commit`` commits); an unknown or empty value is a usage error, so a typo can never
    pass the gate."""

    def decorate(f: F) -> F:
        return click.option(
            "--fail-on",
            multiple=True,
            metavar="SEVERITY|TYPE",
            callback=_fail_on,
            help=help_text,
        )(f)

    return decorate


def _severity(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from driftaudit.change.differ import SEVERITIES

    if value is None:
        return None
    if value not in SEVERITIES:
        unknown(value, list(SEVERITIES), "a severity", param)
    return value


def severity_option(name: str, help_text: str, default: str | None = None) -> Callable[[F], F]:
    """A severity (``info`` ... ``critical``); an unknown or empty one is a usage error."""

    def decorate(f: F) -> F:
        return click.option(
            name,
            type=NON_EMPTY,
            metavar="SEVERITY",
            callback=_severity,
            default=default,
            help=help_text,
        )(f)

    return decorate


def severity_gate(help_text: str) -> Callable[[F], F]:
    """``--fail-on SEVERITY`` of ``check``: one severity, at least that severe."""
    return severity_option("--fail-on", help_text)


fail_on = fail_on_gate(
    "Exit 2 only for changes at or above SEVERITY or of TYPE "
    "(repeatable, or A,B...; default any change)."
)


def file_format(f: F) -> F:
    """``-f yaml|json``: the format of snapshot files (canonical.FORMATS)."""
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS)),
        default="yaml",
        show_default=True,
        help="File format.",
    )(f)


def profile(f: F) -> F:
    return click.option(
        "--profile",
        type=NON_EMPTY,
        help="AWS profile (credentials always come from boto3's chain).",
    )(f)


def role_arns(help_text: str) -> Callable[[F], F]:
    """``--role-arn ARN`` (repeatable, into ``role_arns``): accounts reached through a role."""
    return click.option("--role-arn", "role_arns", multiple=True, metavar="ARN", help=help_text)


def endpoint_url(f: F) -> F:
    return click.option(
        "--endpoint-url",
        metavar="URL",
        type=NON_EMPTY,
        help="Send every AWS call here (emulator, proxy).",
    )(f)


def snapshot_dir(f: F) -> F:
    return click.option(
        "-C",
        "--dir",
        "directory",
        type=NonEmptyPath(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The snapshot directory (inside a git repository).",
    )(f)


def revision_range(f: F) -> F:
    f = click.argument("revisions", nargs=-1, metavar="[REV_A [REV_B]]")(f)
    return click.option(
        "--since",
        metavar="WHEN",
        type=NON_EMPTY,
        help='Compare the snapshot as of WHEN ("7 days ago", 2026-11-20) with HEAD.',
    )(f)


def report_format(default: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        f = click.option(
            "--format",
            "fmt",
            type=click.Choice(REPORT_FORMATS),
            default=default,
            show_default=True,
            help="Output format.",
        )(f)
        f = click.option(
            "--template-dir",
            type=NonEmptyPath(file_okay=False, path_type=Path),
            help="Jinja2 templates overriding the built-in report.{txt,md,html,json}.j2.",
        )(f)
        f = click.option(
            "-o",
            "--output",
            type=NonEmptyPath(dir_okay=False, path_type=Path),
            help="Write the report to FILE instead of stdout.",
        )(f)
        f = resource_types("Only changes of resources of TYPE")(f)
        return click.option(
            "--config",
            type=NonEmptyPath(dir_okay=False, path_type=Path),
            help="Severity and ignore rules (default: driftaudit.yaml at the repository "
            "root, if any).",
        )(f)

    return decorate


def split_revisions(revisions: tuple[str, ...]) -> tuple[str | None, str | None]:
    if len(revisions) > 2:
        raise click.UsageError("at most two revisions (REV_A [REV_B])")
    if any(not r.strip() for r in revisions):
        # An unset $BEFORE must not turn "BEFORE..HEAD" into "the working tree against HEAD".
        raise click.UsageError("a revision must not be empty")
    a = revisions[0] if revisions else None
    b = revisions[1] if len(revisions) > 1 else None
    return a, b


def echo_expired(expired: Iterable[Any]) -> None:
    """One line on stderr per ignore rule past its ``until`` (``Ignore.describe``)."""
    for rule in expired:
        click.echo(
            f"driftaudit: ignore rule {rule.describe()} has expired: it silences nothing now",
            err=True,
        )


def range_changes(
    directory: Path,
    revisions: tuple[str, ...],
    since: str | None,
    types: tuple[str, ...],
    config: Path | None,
    default_last_commit: bool = False,
    per_day: bool = False,
) -> DiffResult:
    """The changes of the range the command line names (:func:`revision_range`,
    :func:`report_format`'s --type and --config), its notes and expired ignore rules said
    on stderr."""
    from driftaudit.change.rangediff import diff_directory

    result = diff_directory(
        directory,
        split_revisions(revisions),
        since,
        types,
        config,
        default_last_commit=default_last_commit,
        per_day=per_day,
    )
    for note in result.notes:
        click.echo(f"driftaudit: {note}", err=True)
    echo_expired(result.expired)
    return result


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    from driftaudit.collect.store import atomic_write
    from driftaudit.errors import ConfigError

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(output, text.encode("utf-8"))
    except FileExistsError as e:  # from mkdir: a file where a directory belongs
        raise ConfigError(f"-o {output}: cannot write: {e.filename} is not a directory") from e
    except OSError as e:
        # A read-only file system, a full disk, a file where a directory should be.
        raise ConfigError(f"-o {output}: cannot write: {e.strerror or e}") from e
