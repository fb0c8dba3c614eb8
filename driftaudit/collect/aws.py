"""Sessions and clients: credentials from boto3's standard chain, bounded retries,
one shared client per (account, region, service), and a read-only guard on every call.

Nothing here runs at import time; the CLI builds a :class:`ClientPool` and passes it in.
"""

from __future__ import annotations

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
from driftaudit.errors import ConfigError, DriftauditError, ReadOnlyViolation

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
ALSO_ALLOWED = frozenset({("sts", "AssumeRole"), ("sts", "AssumeRoleWithWebIdentity")})

REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
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


class DeadlineExceeded(DriftauditError):
    """A call was about to be sent (a first attempt, a retry, a next page) after the
    deadline of the part or run making it."""

    def __init__(self, operation: str, label: str) -> None:
        super().__init__(f"{label} passed before {operation} could be sent")
        self.operation, self.label = operation, label


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
    #: How it was reached, for messages: "default credentials" or the role ARN.
    via: str


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

    def open_accounts(self, profile: str | None, role_arns: tuple[str, ...]) -> list[Account]:
        """The accounts to snapshot: the caller's own, or each role's."""
        try:
            base = boto3.Session(profile_name=profile)
        except ProfileNotFound as e:
            raise ConfigError(f"AWS profile {profile!r} not found in the AWS config files") from e
        prepare_session(base)
        home = base.region_name or "us-east-1"
        # The first call of a run: fail fast (4 attempts, not 10) when the endpoint is wrong
        # or unreachable, rather than backing off for a minute before saying so.
        setup = self.config.merge(Config(retries={"total_max_attempts": 4}))
        sts = base.client("sts", region_name=home, endpoint_url=self.endpoint_url, config=setup)
        if not role_arns:
            ident = _call(sts, "get_caller_identity")
            return [Account(_account_id(ident["Account"]), base, "default credentials")]
        accounts = []
        for arn in role_arns:
            match = ROLE_ARN_RE.fullmatch(arn)
            if not match:
                raise ConfigError(
                    f"--role-arn {arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
                )
            creds = _call(sts, "assume_role", RoleArn=arn, RoleSessionName="driftaudit")
            c = creds["Credentials"]
            session = boto3.Session(
                aws_access_key_id=c["AccessKeyId"],
                aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"],
                region_name=base.region_name,
            )
            prepare_session(session)
            accounts.append(Account(match.group(1), session, arn))
        return accounts

    def regions(self, account: Account, requested: tuple[str, ...], all_regions: bool) -> list[str]:
        """Positional regions, else every enabled region, else the session's default."""
        for region in requested:
            if not REGION_RE.fullmatch(region):
                raise ConfigError(f"{region!r} is not an AWS region name (like us-east-1)")
        if all_regions:
            ec2 = self.client(account, "ec2", account.session.region_name or "us-east-1")
            # Without AllRegions, DescribeRegions lists only the regions enabled for the account.
            found = _call(ec2, "describe_regions")["Regions"]
            names = sorted({r["RegionName"] for r in found} | set(requested))
            return [n for n in names if REGION_RE.fullmatch(n)]
        if requested:
            return sorted(set(requested))
        if not account.session.region_name:
            raise ConfigError(
                "no region: name one (driftaudit snapshot us-east-1), use --all-regions, "
                "or set AWS_DEFAULT_REGION / a profile region"
            )
        return [account.session.region_name]


def _account_id(value: str) -> str:
    if not ACCOUNT_RE.fullmatch(str(value)):
        raise ConfigError(f"sts:GetCallerIdentity returned an unexpected account id {value!r}")
    return str(value)


def _call(client: Any, method: str, **kwargs: Any) -> Any:
    """A set-up call (STS, DescribeRegions) whose failure stops the whole run."""
    operation = (
        f"{client.meta.service_model.service_name}:{client.meta.method_to_api_mapping[method]}"
    )
    try:
        return getattr(client, method)(**kwargs)
    except NoCredentialsError as e:
        raise ConfigError(
            "no AWS credentials found (boto3 looked in the environment, the shared config and "
            "credentials files, SSO and instance metadata); set AWS_PROFILE or use --profile"
        ) from e
    except NoRegionError as e:
        raise ConfigError("no region configured; set AWS_DEFAULT_REGION or name a region") from e
    except ClientError as e:
        err = e.response.get("Error", {})
        raise ConfigError(f"{operation} failed: {err.get('Code')}: {err.get('Message')}") from e
    except BotoCoreError as e:
        raise ConfigError(f"{operation} failed: {e}") from e
