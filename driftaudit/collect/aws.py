"""Sessions and clients: credentials from boto3's standard chain, bounded retries,
one shared client per (account, region, service), and a read-only guard on every call.

Nothing here runs at import time; the CLI builds a :class:`ClientPool` and passes it in.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)
from botocore.utils import parse_timestamp

from driftaudit import __version__
from driftaudit.collect.accounts import (
    AccountSettings,
    AccountsFile,
    CommandLine,
    check_role_arn,
    choose_regions,
    needs_enabled_regions,
    org_role,
)
from driftaudit.collect.accounts import plan as accounts_plan
from driftaudit.collect.failures import DeadlineExceeded, classify_call
from driftaudit.errors import ConfigError, DriftauditError, PartFailure, ReadOnlyViolation
from driftaudit.textsafe import one_line

__all__ = ["DeadlineExceeded"]  # raised by the deadline guard; defined with the failures

READ_ONLY_PREFIXES = ("Describe", "List", "Get")
# Read-only by name but able to return instance user data, console output or passwords.
FORBIDDEN = frozenset(
    {
        ("ec2", "DescribeInstanceAttribute"),
        ("ec2", "GetLaunchTemplateData"),
        ("ec2", "GetConsoleOutput"),
        ("ec2", "GetConsoleScreenshot"),
        ("ec2", "GetPasswordData"),
    }
)
# sts:AssumeRole (for --role-arn) exchanges credentials; it changes nothing in any account.
# So does AssumeRoleWithWebIdentity, which boto3's own chain calls for OIDC credentials
# (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE: GitLab CI, EKS) through the guarded session.
# cloudtrail:LookupEvents (``--attribute``) reads the event history; it is named Lookup*, not
# Describe/List/Get, and is the only such operation allowed.
ALSO_ALLOWED = frozenset(
    {
        ("sts", "AssumeRole"),
        ("sts", "AssumeRoleWithWebIdentity"),
        ("cloudtrail", "LookupEvents"),
    }
)

REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
ACCOUNT_RE = re.compile(r"^\d{12}$")


def is_allowed(service: str, operation: str) -> bool:
    if (service, operation) in FORBIDDEN:
        return False
    return operation.startswith(READ_ONLY_PREFIXES) or (service, operation) in ALSO_ALLOWED


def read_only_guard(model: Any, **_: Any) -> None:
    """botocore ``before-call`` handler: refuse anything that is not read-only."""
    service = model.service_model.service_name
    if not is_allowed(service, model.name):
        raise ReadOnlyViolation(f"refusing {service}:{model.name}: driftaudit is read-only")


_ISO_8601 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?(Z|[+-]\d\d:?\d\d)?"
)


def fast_timestamp(value: Any) -> Any:
    """Response timestamp parser: AWS's query protocols send ISO-8601, read here directly.

    botocore's default sends every timestamp through dateutil, about 15% of the CPU of a
    3,000-instance snapshot. Anything else still goes to botocore's own parser.
    """
    m = _ISO_8601.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return parse_timestamp(value)
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int(frac.ljust(6, "0")) if frac else 0
    tz: dt.tzinfo | None = None
    if zone == "Z":
        tz = dt.timezone.utc
    elif zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )


# The deadline of the work running on this thread (a part, or the run's set-up calls).
# Clients are shared by the parts of one (account, region, service), so it cannot live on
# the client; each part runs on one thread.
_deadline = threading.local()


@contextlib.contextmanager
def deadline(at: float | None, label: str = "the deadline") -> Iterator[None]:
    """Calls made on this thread inside the block are not sent after ``at``
    (``time.monotonic()``): a retry or a next page past it raises :class:`DeadlineExceeded`
    instead, so a stalled part's thread stops once its socket read returns."""
    before = getattr(_deadline, "value", None)
    _deadline.value = None if at is None else (at, label)
    try:
        yield
    finally:
        _deadline.value = before


def deadline_guard(event_name: str = "", **_: Any) -> None:
    """botocore ``before-send`` handler (every HTTP attempt, retries included)."""
    value = getattr(_deadline, "value", None)
    if value is not None and time.monotonic() >= value[0]:
        parts = event_name.split(".")  # before-send.<service id>.<Operation>
        operation = ":".join(parts[1:3]) if len(parts) >= 3 else "a call"
        raise DeadlineExceeded(operation, value[1])


def prepare_session(session: boto3.Session) -> boto3.Session:
    """Every session driftaudit uses: the read-only guard, the deadline guard, the fast
    timestamp parser."""
    session.events.register("before-call", read_only_guard)
    session.events.register("before-send", deadline_guard)
    factory = session._session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=fast_timestamp)
    return session


#: Socket timeouts of one attempt (botocore's defaults are 60 s each).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0


def client_config(workers: int, max_wait: float | None = None) -> Config:
    """botocore's own retry machinery (standard or adaptive), bounded attempts; no socket
    wait longer than ``max_wait`` (what a part may take), so a thread left behind by a
    timed-out part ends soon after (a thread blocked in a socket read cannot be stopped)."""
    mode = os.environ.get("AWS_RETRY_MODE", "standard")
    if mode not in ("standard", "adaptive"):
        mode = "standard"
    try:
        attempts = max(1, int(os.environ.get("AWS_MAX_ATTEMPTS", "10")))
    except ValueError:
        attempts = 10
    return Config(
        # In a Config, "max_attempts" counts retries only; AWS_MAX_ATTEMPTS counts every attempt.
        retries={"mode": mode, "total_max_attempts": attempts},
        max_pool_connections=max(10, workers),
        connect_timeout=min(CONNECT_TIMEOUT, max_wait or CONNECT_TIMEOUT),
        read_timeout=min(READ_TIMEOUT, max_wait or READ_TIMEOUT),
        user_agent_extra=f"driftaudit/{__version__}",
    )


@dataclass(frozen=True)
class Account:
    account_id: str
    session: boto3.Session
    #: How it was reached, for messages: "default credentials", a profile or the role ARN.
    via: str
    #: The name shown beside the id (the accounts file's ``alias``), "" without one.
    alias: str = ""
    #: Leave out default VPCs with nothing of ours in them (--skip-default-vpcs).
    skip_default_vpcs: bool = False

    @property
    def home(self) -> str:
        """The region of calls that belong to no region (IAM, STS, DescribeRegions)."""
        return self.session.region_name or "us-east-1"


class AccountError(DriftauditError):
    """One account could not be reached or set up (its role not assumed, its regions not
    listed): its parts fail, the other accounts are read."""

    def __init__(self, failure: PartFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


@dataclass(frozen=True)
class AccountFailure:
    """An account none of whose parts could be read, and why (naming its role or profile)."""

    settings: AccountSettings
    failure: PartFailure

    @property
    def account_id(self) -> str:
        return self.settings.account_id or ""


def check_endpoint_url(url: str) -> str:
    """``url`` when botocore can send calls to it: http or https, a host, a port in range,
    no space. Checked before any work, so a typo is one line and not a failure per part."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # ValueError when out of range or not a number
    except ValueError as e:
        raise ConfigError(f"--endpoint-url {url!r}: not a valid URL ({e})") from e
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
        raise ConfigError(
            f"--endpoint-url {url!r}: not a valid URL (expected http[s]://HOST[:PORT], "
            "e.g. http://127.0.0.1:5000)"
        )
    if port == 0:
        raise ConfigError(f"--endpoint-url {url!r}: not a valid URL (port 0)")
    return url


class ClientPool:
    """One client per (account, region, service), created on first use.

    botocore clients are thread-safe, sessions are not: clients are created under a lock and
    then shared by the worker threads.
    """

    def __init__(
        self, endpoint_url: str | None = None, workers: int = 16, max_wait: float | None = None
    ) -> None:
        self.endpoint_url = check_endpoint_url(endpoint_url) if endpoint_url else endpoint_url
        self.config = client_config(workers, max_wait)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._sessions: dict[str | None, boto3.Session] = {}

    def client(self, account: Account, service: str, region: str) -> Any:
        key = (account.account_id, region, service)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = account.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=self.config,
                )
            return self._clients[key]

    # --- the accounts of a run: set-up calls ------------------------------------------------

    def base_session(self, profile: str | None) -> boto3.Session:
        """The run's own credentials (``--profile``, else boto3's chain), or those of an
        account's ``profile``: one prepared session per profile."""
        with self._lock:
            session = self._sessions.get(profile)
            if session is None:
                try:
                    session = prepare_session(boto3.Session(profile_name=profile))
                except ProfileNotFound as e:
                    raise ConfigError(
                        f"AWS profile {profile!r} not found in the AWS config files"
                    ) from e
                self._sessions[profile] = session
            return session

    def _setup_client(self, session: boto3.Session, service: str) -> Any:
        # The first calls of a run: fail fast (4 attempts, not 10) when the endpoint is wrong
        # or unreachable, rather than backing off for a minute before saying so.
        setup = self.config.merge(Config(retries={"total_max_attempts": 4}))
        region = session.region_name or "us-east-1"
        return session.client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=setup
        )

    def partition(self, profile: str | None) -> str:
        """The partition of the run's region (``aws``, ``aws-us-gov``, ``aws-cn``), for the
        role ARNs of organization accounts; no call."""
        session = self.base_session(profile)
        return str(session.get_partition_for_region(session.region_name or "us-east-1"))

    def organization_accounts(self, profile: str | None) -> list[str]:
        """The active accounts of the organization (organizations:ListAccounts with the run's
        credentials: the management account or a delegated administrator). Its failure stops
        the run: without the list, no account is known to be missing."""
        org = self._setup_client(self.base_session(profile), "organizations")
        try:
            pages = org.get_paginator("list_accounts").paginate()
            listed = [a for page in pages for a in page.get("Accounts", [])]
        except (ClientError, BotoCoreError) as e:
            raise _setup_error(e, "organizations:ListAccounts") from e
        # State replaces Status (organizations, 2025); either says ACTIVE.
        return sorted(
            {
                _account_id(a.get("Id", ""), "organizations:ListAccounts")
                for a in listed
                if (a.get("State") or a.get("Status")) == "ACTIVE"
            }
        )

    def open_account(self, settings: AccountSettings) -> Account:
        """The account's session (its profile's credentials, or the role assumed with them).
        AccountError names the role or profile and the error."""
        session = self.base_session(settings.profile)
        if settings.role_arn is None:
            sts = self._setup_client(session, "sts")
            try:
                if settings.account_id is None:
                    # The caller's own account: no id to name its parts by, so its first
                    # call failing stops the run (one line, from _call).
                    ident = _call(sts, "get_caller_identity")
                else:
                    ident = sts.get_caller_identity()
            except (ClientError, BotoCoreError) as e:
                raise AccountError(
                    classify_call(e, setup=f"sts:GetCallerIdentity with {settings.via}")
                ) from e
            reached = _account_id(ident.get("Account"), "sts:GetCallerIdentity")
            if settings.account_id not in (None, reached):
                raise AccountError(
                    PartFailure(
                        "wrong account",
                        "",
                        "",
                        f"with {settings.via}, sts:GetCallerIdentity says account "
                        f"{reached}, not {settings.account_id}",
                    )
                )
            return Account(
                reached, session, settings.via, settings.alias, settings.skip_default_vpcs
            )
        params: dict[str, Any] = {
            "RoleArn": settings.role_arn,
            "RoleSessionName": settings.session_name,
        }
        if settings.external_id:
            params["ExternalId"] = settings.external_id
        if settings.duration:
            params["DurationSeconds"] = settings.duration
        try:
            creds = self._setup_client(session, "sts").assume_role(**params)["Credentials"]
        except (ClientError, BotoCoreError) as e:
            raise AccountError(
                classify_call(e, setup=f"sts:AssumeRole for {settings.role_arn}")
            ) from e
        assumed = prepare_session(
            boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=session.region_name,
            )
        )
        account_id = settings.account_id or settings.role_arn.split(":")[4]
        return Account(
            account_id, assumed, settings.role_arn, settings.alias, settings.skip_default_vpcs
        )

    def account_regions(
        self,
        account: Account,
        settings: AccountSettings,
        requested: tuple[str, ...],
        all_regions: bool,
    ) -> list[str]:
        """The regions to read in the account; DescribeRegions (without AllRegions: only the
        regions enabled for it) when every region is asked for. AccountError when it fails."""
        enabled: list[str] | None = None
        if needs_enabled_regions(settings, requested, all_regions):
            ec2 = self.client(account, "ec2", account.home)
            try:
                if settings.account_id is None:
                    found = _call(ec2, "describe_regions")["Regions"]  # stops the run
                else:
                    found = ec2.describe_regions()["Regions"]
            except (ClientError, BotoCoreError) as e:
                raise AccountError(
                    classify_call(e, setup=f"ec2:DescribeRegions with {account.via}")
                ) from e
            enabled = [r["RegionName"] for r in found if REGION_RE.fullmatch(r["RegionName"])]
        return choose_regions(
            settings, requested, all_regions, enabled, account.session.region_name
        )

    def open_targets(
        self,
        plan: list[AccountSettings],
        requested: tuple[str, ...],
        all_regions: bool,
        workers: int = 16,
        until: float | None = None,
    ) -> tuple[list[tuple[Account, list[str]]], list[AccountFailure]]:
        """Every planned account opened (in parallel: an organization has hundreds), with its
        regions. An account whose role cannot be assumed or whose first call fails is an
        :class:`AccountFailure`, never the end of the run; only the caller's own account,
        which has no id to name its parts by, fails the run (ConfigError)."""
        for region in requested:
            if not REGION_RE.fullmatch(region):
                raise ConfigError(f"{region!r} is not an AWS region name (like us-east-1)")
        for settings in plan:
            if settings.role_arn:
                check_role_arn(settings.role_arn)

        def open_one(settings: AccountSettings) -> tuple[Account, list[str]]:
            with deadline(until, "the run's deadline (--timeout)"):
                try:
                    account = self.open_account(settings)
                    regions = self.account_regions(account, settings, requested, all_regions)
                except AccountError:
                    raise
                except DeadlineExceeded as e:
                    if settings.account_id is None:
                        raise
                    raise AccountError(PartFailure("timed out", "", "", str(e))) from e
                except DriftauditError as e:  # a profile not found, an odd answer
                    if settings.account_id is None:
                        raise
                    raise AccountError(classify_call(e, setup=f"setting up {settings.via}")) from e
                return account, regions

        targets: list[tuple[Account, list[str]]] = []
        failures: list[AccountFailure] = []
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(plan))), thread_name_prefix="accounts"
        ) as pool:
            futures = [(s, pool.submit(open_one, s)) for s in plan]
            for settings, future in futures:
                try:
                    targets.append(future.result())
                except AccountError as e:
                    if settings.account_id is None:
                        raise ConfigError(e.failure.describe()) from e
                    failures.append(AccountFailure(settings, e.failure))
        return targets, failures

    def open_run(
        self,
        cli: CommandLine,
        file: AccountsFile,
        requested: tuple[str, ...],
        all_regions: bool,
        workers: int = 16,
        until: float | None = None,
    ) -> tuple[list[tuple[Account, list[str]]], list[AccountFailure]]:
        """The accounts of a snapshot run: the run's own credentials checked, the
        organization listed when the run discovers it, each account opened with its regions
        (:meth:`open_targets`)."""
        self.base_session(cli.profile)  # --profile nope: one line, before any call
        organization = None
        if org_role(cli, file) is not None:
            with deadline(until, "the run's deadline (--timeout)"):
                organization = self.organization_accounts(cli.profile)
        plan = accounts_plan(cli, file, organization, self.partition(cli.profile))
        return self.open_targets(plan, requested, all_regions, workers, until)

    def open_accounts(self, profile: str | None, role_arns: tuple[str, ...]) -> list[Account]:
        """The caller's own account, or each role's, all reached or a ConfigError (the
        demo's simple case; ``snapshot`` uses :meth:`open_targets`)."""
        plan = accounts_plan(CommandLine(role_arns=role_arns, profile=profile), AccountsFile())
        opened = []
        for settings in plan:
            if settings.role_arn:
                check_role_arn(settings.role_arn)
            try:
                opened.append(self.open_account(settings))
            except AccountError as e:
                raise ConfigError(e.failure.describe()) from e
        return opened


def _account_id(value: Any, operation: str) -> str:
    if not ACCOUNT_RE.fullmatch(str(value)):
        raise ConfigError(f"{operation} returned an unexpected account id {value!r}")
    return str(value)


def _setup_error(e: Exception, operation: str) -> ConfigError:
    """The one line of a set-up call whose failure stops the whole run."""
    if isinstance(e, NoCredentialsError):
        return ConfigError(
            "no AWS credentials found (boto3 looked in the environment, the shared config and "
            "credentials files, SSO and instance metadata); set AWS_PROFILE or use --profile"
        )
    if isinstance(e, NoRegionError):
        return ConfigError("no region configured; set AWS_DEFAULT_REGION or name a region")
    # One line whatever AWS (or a proxy's error page) said.
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return ConfigError(one_line(f"{operation} failed: {err.get('Code')}: {err.get('Message')}"))
    return ConfigError(one_line(f"{operation} failed: {e}"))


def _call(client: Any, method: str, **kwargs: Any) -> Any:
    """A set-up call (STS, DescribeRegions) whose failure stops the whole run."""
    operation = (
        f"{client.meta.service_model.service_name}:{client.meta.method_to_api_mapping[method]}"
    )
    try:
        return getattr(client, method)(**kwargs)
    except (ClientError, BotoCoreError) as e:
        raise _setup_error(e, operation) from e
