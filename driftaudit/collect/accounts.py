"""Which accounts a snapshot reads, and how each is reached (pure: settings in, plan out).

Three sources, combined in one order: the command line (``--role-arn``, ``--org-role``,
``--org-exclude``, ``--external-id``, ``--role-session-name``, ``--profile``,
``--skip-default-vpcs``), the accounts part of ``driftaudit.yaml`` (``organization``,
``account_defaults``, ``accounts``) and, for organization discovery, the accounts
organizations:ListAccounts returned (fetched by :mod:`driftaudit.collect.aws`).

* The accounts: ``--role-arn`` roles when given (a one-off run); else the organization's
  active accounts (``--org-role`` or ``organization:``) minus the excluded ones, plus every
  account listed under ``accounts:``; else the listed accounts; else the caller's own.
* The settings of one account: the command line, over its ``accounts:`` entry, over
  ``account_defaults``, over the built-in defaults.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftaudit.errors import ConfigError

#: What sts:AssumeRole and IAM accept (the schema of driftaudit.yaml says the same).
ACCOUNT_ID = r"[0-9]{12}"
ROLE_NAME = r"[\w+=,.@/-]{1,512}"
EXTERNAL_ID = r"[\w+=,.@:/-]{2,1224}"
SESSION_NAME = r"[\w+=,.@-]{2,64}"
ROLE_ARN_RE = re.compile(rf"arn:(aws[a-z-]*):iam::({ACCOUNT_ID}):role/{ROLE_NAME}")
ACCOUNT_RE = re.compile(ACCOUNT_ID)
DEFAULT_SESSION_NAME = "driftaudit"
#: ``regions: all``: every region enabled for the account (DescribeRegions).
ALL = "all"


@dataclass(frozen=True)
class AccountSettings:
    """How to reach one account and what to read there."""

    #: None: whichever account the credentials reach (sts:GetCallerIdentity says).
    account_id: str | None = None
    alias: str = ""
    role_arn: str | None = None
    #: The credentials: the account's own, or with a role, those that assume it.
    profile: str | None = None
    external_id: str | None = None
    session_name: str = DEFAULT_SESSION_NAME
    duration: int | None = None
    #: Region names, ``all``, or None (the run's choice: positional, --all-regions, default).
    regions: tuple[str, ...] | str | None = None
    exclude_regions: tuple[str, ...] = ()
    skip_default_vpcs: bool = False

    @property
    def via(self) -> str:
        """How it is reached, for messages (never a secret: an ARN or a profile name)."""
        if self.role_arn:
            return self.role_arn
        return f"profile {self.profile}" if self.profile else "default credentials"

    def keeps(self, region: str) -> bool:
        """Whether ``region`` survives ``exclude_regions``."""
        return not any(fnmatch.fnmatchcase(region, g) for g in self.exclude_regions)


@dataclass(frozen=True)
class CommandLine:
    """What the snapshot command line says about accounts."""

    role_arns: tuple[str, ...] = ()
    org_role: str | None = None
    org_exclude: tuple[str, ...] = ()
    external_id: str | None = None
    session_name: str | None = None
    profile: str | None = None
    skip_default_vpcs: bool = False


@dataclass(frozen=True)
class AccountsFile:
    """The accounts part of ``driftaudit.yaml``, as validated by its schema."""

    org_role: str | None = None
    org_exclude: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: account id -> its entry (``id``, ``alias``, ``role_arn``, settings), in file order.
    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> AccountsFile:
        org = data.get("organization") or {}
        return cls(
            org_role=org.get("role_name"),
            org_exclude=tuple(org.get("exclude", ())),
            defaults=dict(data.get("account_defaults") or {}),
            entries={e["id"]: dict(e) for e in data.get("accounts") or ()},
        )

    def alias(self, account: str) -> str:
        return str(self.entries.get(account, {}).get("alias", ""))


def check_role_arn(arn: str, what: str = "--role-arn") -> tuple[str, str]:
    """(partition, account id) of an IAM role ARN, or ConfigError naming ``what``."""
    m = ROLE_ARN_RE.fullmatch(arn)
    if not m:
        raise ConfigError(f"{what} {arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    return m.group(1), m.group(2)


def check_account_id(value: str, what: str) -> str:
    if not ACCOUNT_RE.fullmatch(value):
        raise ConfigError(f"{what} {value!r} is not a 12-digit AWS account id")
    return value


def org_role(cli: CommandLine, file: AccountsFile) -> str | None:
    """The role name organization discovery assumes, or None when the run does not discover
    (``--role-arn`` makes a one-off run of those roles only)."""
    if cli.role_arns:
        return None
    return cli.org_role or file.org_role


def plan(
    cli: CommandLine,
    file: AccountsFile,
    organization: Sequence[str] | None = None,
    partition: str = "aws",
) -> list[AccountSettings]:
    """The accounts to snapshot, each with its settings, sorted by account id (the caller's
    own, unnamed, alone when nothing names any). ``organization``: the active account ids
    organizations:ListAccounts returned, when :func:`org_role` is set."""
    if cli.role_arns:
        chosen: dict[str | None, str | None] = {}
        for arn in cli.role_arns:
            chosen[check_role_arn(arn)[1]] = arn
    else:
        chosen = {}
        role = org_role(cli, file)
        if role is not None:
            excluded = {*file.org_exclude, *cli.org_exclude}
            for account in organization or ():
                if account not in excluded:
                    chosen[account] = f"arn:{partition}:iam::{account}:role/{role}"
        for account in file.entries:
            chosen.setdefault(account, None)
        if not chosen:
            chosen = {None: None}
    return [
        settings(account, role_arn, cli, file, partition)
        for account, role_arn in sorted(chosen.items(), key=lambda kv: kv[0] or "")
    ]


def settings(
    account: str | None,
    role_arn: str | None,
    cli: CommandLine,
    file: AccountsFile,
    partition: str = "aws",
) -> AccountSettings:
    """One account's settings: command line, then its entry, then ``account_defaults``."""
    entry = file.entries.get(account, {}) if account else {}

    def pick(key: str) -> Any:
        return entry[key] if key in entry else file.defaults.get(key)

    if role_arn is None:  # not from --role-arn or the organization: the entry says
        role_arn = entry.get("role_arn")
        role_name = pick("role_name")
        if role_arn is None and role_name and account:
            role_arn = f"arn:{partition}:iam::{account}:role/{role_name}"
    regions = pick("regions")
    return AccountSettings(
        account_id=account,
        alias=str(entry.get("alias", "")),
        role_arn=role_arn,
        profile=pick("profile") or cli.profile,
        external_id=cli.external_id or pick("external_id"),
        session_name=cli.session_name or pick("session_name") or DEFAULT_SESSION_NAME,
        duration=pick("duration"),
        regions=regions if regions in (None, ALL) else tuple(regions),
        exclude_regions=tuple(pick("exclude_regions") or ()),
        skip_default_vpcs=cli.skip_default_vpcs or bool(pick("skip_default_vpcs")),
    )


def choose_regions(
    account: AccountSettings,
    requested: Sequence[str],
    all_regions: bool,
    enabled: Sequence[str] | None,
    default: str | None,
) -> list[str]:
    """The regions to read in one account (pure). Positional regions, else every enabled
    one (``enabled``: DescribeRegions, with --all-regions or ``regions: all``), else the
    account's ``regions``, else the session's default; ``exclude_regions`` always applies."""
    if requested:
        names = set(requested)
    elif all_regions or account.regions == ALL:
        names = set(enabled or ())
    elif isinstance(account.regions, tuple):
        names = set(account.regions)
    elif default:
        names = {default}
    else:
        raise ConfigError(
            "no region: name one (driftaudit snapshot us-east-1), use --all-regions, "
            "or set AWS_DEFAULT_REGION / a profile region"
        )
    return sorted(r for r in names if account.keeps(r))


def needs_enabled_regions(
    account: AccountSettings, requested: Sequence[str], all_regions: bool
) -> bool:
    """Whether :func:`choose_regions` needs DescribeRegions in the account."""
    return not requested and (all_regions or account.regions == ALL)
