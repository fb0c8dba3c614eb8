"""Naming what went wrong in an AWS call, for one stderr line and the commit: the same words
for a part's describe calls and for an account's set-up calls (sts:AssumeRole,
DescribeRegions)."""

from __future__ import annotations

from dataclasses import replace

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from driftaudit.collect.deadlines import DEADLINE
from driftaudit.errors import (
    ACCESS_CODES,
    OPT_IN_CODES,
    THROTTLE_CODES,
    DriftauditError,
    PartFailure,
    ReadOnlyViolation,
)
from driftaudit.textsafe import one_line


class DeadlineExceeded(DriftauditError):
    """A call was about to be sent (a first attempt, a retry, a next page) after the
    deadline of the part or run making it (raised by ``aws.deadline_guard``)."""

    def __init__(self, operation: str, label: str) -> None:
        super().__init__(f"{label} passed before {operation} could be sent")
        self.operation, self.label = operation, label


def classify_call(exc: BaseException, service: str = "", setup: str = "") -> PartFailure:
    """The named failure of a part's call to ``service`` (``ec2``), or of an account's
    set-up step ``setup`` (the operation and what it was about: ``sts:AssumeRole for
    arn:…``). The message is one line whatever the exception said."""
    failure = _classify(exc, service, setup)
    return replace(failure, message=one_line(failure.message))


def _classify(exc: BaseException, service: str, setup: str) -> PartFailure:
    if isinstance(exc, DeadlineExceeded):
        return PartFailure(DEADLINE, "", "", str(exc))
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = " ".join(str(err.get("Message", "")).split())[:300]
        operation = setup or f"{service}:{exc.operation_name}"
        if code in ACCESS_CODES:
            kind = "access denied"
        elif code in OPT_IN_CODES:
            kind = "region or service not enabled"
        elif code in THROTTLE_CODES:
            kind = "throttled after retries"
        else:
            kind = "AWS error"
        return PartFailure(kind, operation, code, message)
    where = setup  # a part's other failures are named by the part itself
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError)):
        return PartFailure("endpoint unreachable", where, type(exc).__name__, str(exc))
    if isinstance(exc, ReadTimeoutError):
        return PartFailure("timed out", where, type(exc).__name__, str(exc))
    if isinstance(exc, ResponseParserError):
        # e.g. an emulator's or proxy's HTML error page instead of an AWS response
        return PartFailure("unreadable response", where, "ResponseParserError", str(exc)[:300])
    if isinstance(exc, ReadOnlyViolation):
        return PartFailure("refused", where, "ReadOnlyViolation", str(exc))
    if isinstance(exc, NoCredentialsError) and where:
        return PartFailure("no credentials", where, "NoCredentialsError", str(exc))
    if isinstance(exc, BotoCoreError):
        return PartFailure("AWS client error", where, type(exc).__name__, str(exc)[:300])
    if isinstance(exc, DriftauditError) and where:  # a profile not found, a wrong account
        return PartFailure("configuration error", where, "", str(exc)[:300])
    return PartFailure("internal error", where, type(exc).__name__, str(exc)[:300])
