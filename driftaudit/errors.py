"""Named errors and exit codes. The library raises these; the CLI maps them to one line
on stderr and an exit code, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1  # usage, configuration, or nothing could be collected
EXIT_CHANGES = 2  # diff/check: changes at or above the threshold
EXIT_PARTIAL = 3  # snapshot: some (region, type) parts failed, the rest was written
#: snapshot --commit --fail-on: partial (3) and the commit's changes trip the gate (2), both
#: said: a job that tolerates 3 (a region it may not read) must still stop on the gate.
EXIT_PARTIAL_CHANGES = 4


class DriftauditError(Exception):
    """An error with a message fit to show a user as it is."""

    exit_code = EXIT_ERROR


class ConfigError(DriftauditError):
    """Bad arguments or environment: no region, no credentials, bad role ARN..."""


class ReadOnlyViolation(DriftauditError):
    """Something asked AWS for an operation that is not Describe*/List*/Get*."""


class UnsafeName(DriftauditError):
    """An id that cannot safely name a file (it would escape or confuse the layout)."""


# AWS error codes, grouped by what they mean for a snapshot part.
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
OPT_IN_CODES = frozenset({"OptInRequired", "SubscriptionRequiredException", "InvalidAction"})
THROTTLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


@dataclass(frozen=True)
class PartFailure:
    """Why one (account, region, type) part could not be read."""

    kind: str  # access-denied | opt-in | throttled | endpoint | aws-error | internal
    operation: str  # e.g. ec2:DescribeVolumes, or "" when not an API call
    code: str
    message: str
    #: "read": AWS could not be read; "write": it was read, its files could not be written.
    stage: str = "read"

    def describe(self) -> str:
        where = f" in {self.operation}" if self.operation else ""
        code = f"{self.code}: " if self.code else ""
        return f"{self.kind}{where}: {code}{self.message}"
