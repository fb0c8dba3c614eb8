"""``driftaudit report``: render a period's changes, optionally mail them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from driftaudit.commands import options
from driftaudit.errors import EXIT_ERROR, EXIT_OK

EPILOG = """\b
Examples:
  driftaudit report -C snapshots                         # what the last snapshot changed
  driftaudit report -C snapshots --since "1 day ago" --format html -o report.html
  DRIFTAUDIT_SMTP_PASSWORD=... driftaudit report -C snapshots --since "1 day ago" \\
      --email-to secops@example.com --email-from driftaudit@example.com \\
      --smtp-host smtp.example.com --smtp-port 587 --smtp-starttls --smtp-user driftaudit
  driftaudit report -C snapshots "$BEFORE" HEAD --email-to secops@example.com \\
      --min-severity medium --subject-label "acme/ec2-state, prod"
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
@options.severity_option(
    "--min-severity",
    "No mail unless a change is at least SEVERITY (default low, or report.min_severity in "
    "driftaudit.yaml); a run that failed or did not happen is always mailed.",
)
@click.option(
    "--subject-label",
    type=options.NON_EMPTY,
    metavar="TEXT",
    help="Put [TEXT] before the subject (default: report.repository and report.environment "
    "of driftaudit.yaml).",
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
    min_severity: str | None,
    subject_label: str | None,
    always: bool,
) -> None:
    """Render the changes of a period (default: the last snapshot commit) as text, Markdown,
    HTML or JSON, and mail them as text + HTML."""
    import datetime as dt

    from driftaudit.change.differ import severity_rank
    from driftaudit.change.runs import run_alerts
    from driftaudit.render.mail import check_address, check_label
    from driftaudit.render.report import model, render, report_settings, subject

    if (min_severity or always) and not email_to:
        raise click.UsageError("--min-severity and --always need --email-to (they decide the mail)")
    if email_to:
        # Before any work: a header injection is refused, not sent after a long diff.
        for address in email_to:
            check_address(address, "--email-to")
        check_address(email_from, "--email-from")
    if subject_label is not None:
        check_label(subject_label, "--subject-label")
    result = options.range_changes(
        directory,
        revisions,
        since,
        types,
        config,
        default_last_commit=True,
        # Every format lists the changes undone within the period: one diff per commit.
        per_day=True,
    )
    settings = report_settings(result.config)
    label = subject_label or settings.label
    # Only a mail says whether the job ran when expected: it depends on the clock, and a
    # report written to a file stays the same bytes for the same history.
    now = dt.datetime.now(dt.timezone.utc)
    data = model(result, run_alerts(directory, result, now) if email_to else [])
    if output is not None or not email_to:
        options.write_output(render(data, fmt, template_dir, label), output)
    if email_to:
        from driftaudit.render.mail import SmtpSettings, build_message, send

        least = min_severity or settings.min_severity or "low"
        highest = data["summary"]["highest"]
        # A run that did not happen or failed parts is never silence, whatever the changes.
        trouble = data["alerts"] or data["failed_parts"] or data["days_without_run"]
        worth = highest is not None and severity_rank(highest) >= severity_rank(least)
        if trouble or worth or always:
            title = subject(data, label)
            msg = build_message(
                title,
                email_from,
                list(email_to),
                render(data, "text", template_dir, label),
                render(data, "html", template_dir, label),
            )
            port = smtp_port or (465 if security == "ssl" else 25)
            send(
                msg,
                SmtpSettings(smtp_host, port, security or "none", smtp_user, smtp_password_file),
            )
            click.echo(f"driftaudit: mailed {title!r} to {', '.join(email_to)}", err=True)
        elif highest is None:
            click.echo("driftaudit: no changes; no mail sent (--always sends anyway)", err=True)
        else:
            click.echo(
                f"driftaudit: no change at or above {least} (the highest is {highest}); "
                f"no mail sent (--min-severity {highest} or --always sends it)",
                err=True,
            )
    for alert in data["alerts"]:
        click.echo(f"driftaudit: warning: {alert}", err=True)
    for problem in result.unreadable:
        click.echo(f"driftaudit: {problem}", err=True)
    sys.exit(EXIT_ERROR if result.unreadable else EXIT_OK)
