"""``driftaudit report``: render a period's changes, optionally mail them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from driftaudit.commands import options
from driftaudit.errors import EXIT_ERROR, EXIT_OK

EPILOG = """\b
Examples:
  driftaudit report -C snapshots                         # what the last commit changed
  driftaudit report -C snapshots --since "1 day ago" --format html -o report.html
  DRIFTAUDIT_SMTP_PASSWORD=... driftaudit report -C snapshots --since "1 day ago" \\
      --email-to secops@example.com --email-from driftaudit@example.com \\
      --smtp-host smtp.example.com --smtp-port 587 --smtp-starttls --smtp-user driftaudit
"""


@click.command(epilog=EPILOG)
@options.snapshot_dir
@options.revision_range
@options.report_format("text")
@click.option(
    "--email-to",
    "email_to",
    multiple=True,
    metavar="ADDR",
    type=options.NON_EMPTY,
    help="Mail the report.",
)
@click.option(
    "--email-from",
    "email_from",
    type=options.NON_EMPTY,
    default="driftaudit@localhost",
    show_default=True,
)
@click.option("--smtp-host", type=options.NON_EMPTY, default="localhost", show_default=True)
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="Default 25, 465 with --smtp-ssl.")
@click.option("--smtp-starttls", "security", flag_value="starttls", help="Upgrade with STARTTLS.")
@click.option("--smtp-ssl", "security", flag_value="ssl", help="Connect with TLS.")
@click.option(
    "--smtp-user",
    type=options.NON_EMPTY,
    help="Log in as this user (password: DRIFTAUDIT_SMTP_PASSWORD).",
)
@click.option(
    "--smtp-password-file",
    type=options.NonEmptyPath(dir_okay=False, path_type=Path),
    help="Read the SMTP password from this file instead.",
)
@click.option("--always", is_flag=True, help="Mail even when nothing changed.")
def report(
    directory: Path,
    revisions: tuple[str, ...],
    since: str | None,
    fmt: str,
    template_dir: Path | None,
    output: Path | None,
    types: tuple[str, ...],
    config: Path | None,
    email_to: tuple[str, ...],
    email_from: str,
    smtp_host: str,
    smtp_port: int | None,
    security: str | None,
    smtp_user: str | None,
    smtp_password_file: Path | None,
    always: bool,
) -> None:
    """Render the changes of a period (default: the last commit) as text, Markdown, HTML or
    JSON, and mail them as text + HTML."""
    from driftaudit.change.rangediff import diff_directory
    from driftaudit.render.report import model, render, subject

    if email_to:
        from driftaudit.render.mail import check_address

        # Before any work: a header injection is refused, not sent after a long diff.
        for address in email_to:
            check_address(address, "--email-to")
        check_address(email_from, "--email-from")
    result = diff_directory(
        directory,
        options.split_revisions(revisions),
        since,
        types,
        config,
        default_last_commit=True,
        # The mail's HTML part shows the chart too.
        per_day=fmt in options.PER_DAY_FORMATS or bool(email_to),
    )
    data = model(result)
    if output is not None or not email_to:
        options.write_output(render(data, fmt, template_dir), output)
    if email_to:
        from driftaudit.render.mail import SmtpSettings, build_message, send

        if data["summary"]["total"] or always:
            msg = build_message(
                subject(data),
                email_from,
                list(email_to),
                render(data, "text", template_dir),
                render(data, "html", template_dir),
            )
            port = smtp_port or (465 if security == "ssl" else 25)
            send(
                msg,
                SmtpSettings(smtp_host, port, security or "none", smtp_user, smtp_password_file),
            )
            click.echo(f"driftaudit: mailed {subject(data)!r} to {', '.join(email_to)}", err=True)
        else:
            click.echo("driftaudit: no changes; no mail sent (--always sends anyway)", err=True)
    for problem in result.unreadable:
        click.echo(f"driftaudit: {problem}", err=True)
    sys.exit(EXIT_ERROR if result.unreadable else EXIT_OK)
