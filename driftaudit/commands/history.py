"""``driftaudit history ip|rule|exposure``: questions answered from the git history of the
snapshots, through an index kept in DIR/.driftaudit/ (imports stay lazy: a query starts in
well under a second)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from driftaudit.commands.options import NON_EMPTY, F, NonEmptyPath, snapshot_dir, write_output

TIMES = (
    "WHEN is ISO-8601 (2026-11-20, 2026-11-20T08:00:00Z; no offset means UTC) or relative "
    '("7 days ago", "yesterday"). Boundaries are printed as the two snapshot times they lie '
    "between: nothing is known between two snapshots."
)


def common(f: F) -> F:
    f = click.option(
        "--at",
        metavar="WHEN",
        type=NON_EMPTY,
        help="Only windows including the snapshot in effect at WHEN (the last one at or "
        "before it).",
    )(f)
    f = click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "html"]),
        default="text",
        show_default=True,
        help="Output format (JSON: schemas/history.schema.json; HTML: the answer with a "
        "timeline picture).",
    )(f)
    f = click.option(
        "-o",
        "--output",
        type=NonEmptyPath(dir_okay=False, path_type=Path),
        help="Write the answer to FILE instead of stdout.",
    )(f)
    return snapshot_dir(f)


def _matching(what: str, pattern: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback refusing a value that does not match the layout's ``pattern`` (its name)."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        import re

        from driftaudit import layout

        if value is not None and not re.fullmatch(getattr(layout, pattern), value):
            raise click.BadParameter(f"{value!r} is not {what}")
        return value

    return check


def scope_options(f: F) -> F:

    f = click.option(
        "--vpc",
        metavar="VPC",
        type=NON_EMPTY,
        help="Only this VPC: rules of its groups; holders that make the address ours there "
        "(held in it, or in a VPC connected to it, for a private address).",
    )(f)
    f = click.option(
        "--region",
        metavar="REGION",
        callback=_matching("a region (us-east-1)", "REGION"),
        help="Only this region.",
    )(f)
    return click.option(
        "--account",
        metavar="ACCOUNT",
        callback=_matching("an account id (12 digits)", "ACCOUNT"),
        help="Only this account (12 digits).",
    )(f)


def attribute_option(f: F) -> F:
    return click.option(
        "--attribute",
        is_flag=True,
        help="Look up the exact time and actor of each boundary in CloudTrail (LookupEvents, "
        "the last 90 days; needs AWS credentials for the snapshots' accounts: the accounts "
        "file in driftaudit.yaml, else the caller's own). Lookups are cached in "
        "DIR/.driftaudit/cloudtrail.",
    )(f)


def port_option(f: F) -> F:
    return click.option(
        "--port",
        type=click.IntRange(0, 65535),
        help="Only rules letting this port in (protocol -1 and port ranges included).",
    )(f)


def shared_options(f: F) -> F:
    """The options every question takes; its command passes them to :func:`run` as
    ``**shared``."""
    return attribute_option(scope_options(common(f)))


def run(
    query: Callable[..., dict[str, Any]],
    text: Callable[[dict[str, Any]], str],
    *,
    directory: Path,
    fmt: str,
    output: Path | None,
    at: str | None,
    account: str | None,
    region: str | None,
    vpc: str | None,
    attribute: bool,
    ipam: bool = False,
    **kwargs: Any,
) -> None:
    """Answer one question: ``query`` with the command's own arguments (``kwargs``), under
    the options every question shares (:func:`shared_options`)."""
    import sqlite3

    from driftaudit.errors import DriftauditError
    from driftaudit.history.index import open_index
    from driftaudit.history.queries import Filters
    from driftaudit.times import parse_when

    when = parse_when(at) if at else None
    kwargs["filters"] = Filters(account, region, vpc)
    try:
        index = open_index(directory)
    except sqlite3.Error as e:  # the index is rebuilt when damaged; this is the disk failing
        raise DriftauditError(f"history index in {directory}/.driftaudit: {e}") from e
    try:
        stats = index.stats
        if stats.mode != "none":
            what = f"rebuilt ({stats.reason})" if stats.mode == "full" else "updated"
            bad = f", {stats.unreadable} unreadable (kept as before)" if stats.unreadable else ""
            click.echo(
                f"driftaudit: history index {what}: {stats.commits} snapshot commit(s), "
                f"{stats.files} file(s) read{bad}",
                err=True,
            )
            for problem in stats.problems:
                click.echo(f"driftaudit: {problem}", err=True)
            if stats.unreadable > len(stats.problems):
                click.echo(
                    f"driftaudit: ... and {stats.unreadable - len(stats.problems)} more", err=True
                )
        if index.samples == 0:
            from driftaudit.gitrepo import GitError

            raise GitError(f"no snapshot commits under {directory} in the history of HEAD")
        result = query(index, at=when, **kwargs)
        if ipam:
            from driftaudit.attribution.run import ipam as ipam_answer

            ipam_answer(result, index, directory, when)
            for problem in result["ipam"]["problems"]:
                click.echo(f"driftaudit: IPAM: {problem}", err=True)
        if attribute:
            from driftaudit.attribution.run import history as attribute_history

            click.echo(f"driftaudit: {attribute_history(result, index, directory)}", err=True)
    finally:
        index.close()
    _name_accounts(directory, result)
    warning = (result.get("sample") or {}).get("warning")
    if warning:
        click.echo(f"driftaudit: warning: {warning}", err=True)
    if fmt == "json":
        body = json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    elif fmt == "html":
        from driftaudit.history.html import page

        body = page([result])
    else:
        body = text(result)
    write_output(body, output)


def _name_accounts(directory: Path, result: dict[str, Any]) -> None:
    """Aliases beside account ids: the accounts file's, else AWS's as HEAD records them."""
    from driftaudit.aliases import account_aliases, annotate
    from driftaudit.change.rangediff import repository_config
    from driftaudit.gitrepo import open_repo

    repo, rel = open_repo(directory)
    annotate(result, account_aliases(repo, rel, "HEAD", repository_config(repo, None)))


@click.group(
    epilog=(
        "\b\nExamples:\n  driftaudit history ip 10.191.12.13 --at '7 days ago' -C snapshots\n"
        "  driftaudit history rule --source 10.191.12.13 --port 443 -C snapshots\n"
        "  driftaudit history exposure 10.191.12.13 -C snapshots"
    )
)
def history() -> None:
    """Who held an address, which rules allowed a source, when we were exposed: answered
    from the git history of the snapshots."""


@history.command(
    short_help="Which of our resources held ADDRESS, and when.",
    epilog=(
        "\b\nExamples:\n  driftaudit history ip 10.191.12.13 -C snapshots\n"
        "  driftaudit history ip 10.191.12.13 --at '7 days ago' -C snapshots\n"
        "  driftaudit history ip 2001:db8::10 --format json -C snapshots\n"
        "  driftaudit history ip 10.191.12.13 --format html -o ip.html -C snapshots\n"
        "  driftaudit history ip 10.191.12.99 --vpc vpc-0a1b2c3d --account 123456789012 "
        "--region us-east-1 -C snapshots\n"
        "  driftaudit history ip 10.191.12.13 --attribute -C snapshots   # who, exactly when\n"
        "  driftaudit history ip 10.191.12.13 --ipam -C snapshots        # and IPAM's history\n\n"
        + TIMES
    ),
)
@click.argument("address")
@click.option(
    "--ipam",
    is_flag=True,
    help="Also ask Amazon VPC IPAM (GetIpamAddressHistory) in each snapshotted account and "
    "region that has an IPAM: its records of the address, sampled by IPAM, shown apart.",
)
@shared_options
def ip(
    address: str,
    ipam: bool,
    **shared: Any,
) -> None:
    """Which of our resources held ADDRESS: instance, network interface, elastic IP, NAT
    gateway, load balancer, each with its account, region, VPC, Name and what the address
    is to it. Without --at, the whole timeline of holders.

    An interface attached to an instance that is terminated or absent from the same snapshot
    counts as released. A private address is ours only in its network: --vpc keeps the
    holders that make it ours in that VPC."""
    from driftaudit.history.queries import ip_history, parse_address
    from driftaudit.history.text import ip_text

    parse_address(address)  # a typo fails before any index work
    run(
        ip_history,
        ip_text,
        ipam=ipam,
        address_text=address,
        **shared,
    )


@history.command(
    short_help="Security-group rules allowing a source, with their windows.",
    epilog=(
        "\b\nExamples:\n  driftaudit history rule --source 10.191.12.13 -C snapshots\n"
        "  driftaudit history rule --group sg-0a1b2c3d --port 22 -C snapshots\n"
        "  driftaudit history rule --source 10.0.0.0/8 --direction any --format json\n"
        "  driftaudit history rule --source 10.191.12.40 --account 123456789012 --vpc "
        "vpc-0a1b2c3d -C snapshots\n"
        "  driftaudit history rule --source 10.191.12.13 --port 22 --attribute -C snapshots\n\n"
        + TIMES
    ),
)
@click.option(
    "--group", metavar="SG", type=NON_EMPTY, help="Only this security group (id or name)."
)
@click.option(
    "--source",
    metavar="CIDR_OR_IP",
    type=NON_EMPTY,
    help="Only rules allowing all of it (a 10.191.12.0/24 rule allows 10.191.12.13), "
    "directly, through a prefix list entry, or (an address) through a group one of whose "
    "members held it; a group or prefix list id matches exactly.",
)
@port_option
@click.option(
    "--direction",
    type=click.Choice(["ingress", "egress", "any"]),
    default="ingress",
    show_default=True,
    help="Rule direction.",
)
@shared_options
def rule(
    group: str | None,
    source: str | None,
    port: int | None,
    direction: str,
    **shared: Any,
) -> None:
    """Every security-group rule matching the filters, with the windows during which it
    existed (and let the source in), the commits that added and removed it, and the
    members of its group then (with what their subnets' network ACLs said)."""
    from driftaudit.history.queries import parse_source, rule_history
    from driftaudit.history.text import rule_text

    if source:
        parse_source(source)

    run(
        rule_history,
        rule_text,
        group=group,
        source=source,
        port=port,
        direction=direction,
        **shared,
    )


@history.command(
    short_help="When ADDRESS was let in while none of our resources held it.",
    epilog=(
        "\b\nExamples:\n  driftaudit history exposure 10.191.12.13 -C snapshots\n"
        "  driftaudit history exposure 10.191.12.13 --port 443 --format json -C snapshots\n"
        "  driftaudit history exposure 8.8.8.8 --port 22 --no-world --account 123456789012 "
        "--region us-east-1 --vpc vpc-0a1b2c3d -C snapshots\n"
        "  driftaudit history exposure 10.191.12.13 --port 22 --attribute -C snapshots\n\n" + TIMES
    ),
)
@click.argument("address")
@port_option
@click.option(
    "--no-world",
    "no_world",
    is_flag=True,
    help="Leave out rules open to the world (0.0.0.0/0, ::/0): every address is let in by them.",
)
@shared_options
def exposure(
    address: str,
    port: int | None,
    no_world: bool,
    **shared: Any,
) -> None:
    """The windows during which some ingress rule allowed traffic from ADDRESS (on --port)
    while ADDRESS belonged to none of our resources in the rule's network and the network
    ACLs let it reach a member of the rule's group, most specific sources first."""
    from driftaudit.history.queries import exposure as exposure_query
    from driftaudit.history.queries import parse_address
    from driftaudit.history.text import exposure_text

    parse_address(address)

    run(
        exposure_query,
        exposure_text,
        address_text=address,
        port=port,
        world=not no_world,
        **shared,
    )
