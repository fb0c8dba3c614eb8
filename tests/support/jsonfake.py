"""A loopback fake of an AWS service speaking the JSON 1.1 protocol (AWS Config, CloudTrail),
shaped by botocore's own service model in both directions (stdlib HTTP, botocore only).

Every request is a POST whose ``X-Amz-Target`` is ``<targetPrefix>.<Operation>``; its body is
read with botocore's JSON parser against the operation's *input* shape (times become
datetimes) and checked with ``botocore.validate`` (a client sending what AWS would refuse
fails the test loudly: HTTP 400 ``ValidationException`` naming the problem). The handler
returns the output as plain data, which is validated against the *output* shape and written
with botocore's JSON serializer, so its shape is exactly what AWS's would be (an output the
model does not allow is a bug of the fake: recorded in ``errors``, answered with HTTP 500).
An error is raised as :class:`Fault` and must be one of the operation's modelled errors (or
a common one: throttling, access denied), sent as AWS sends JSON errors (``__type``,
``message``, ``x-amzn-ErrorType``).

Requests for any other service (no matching target) go to ``upstream`` unchanged, so one
endpoint URL serves the fake and an emulator behind it (moto's server for EC2 and STS), and
``tests/support/faultproxy.py`` can stand in front of both. Handlers run on the server's
threads: they must guard shared state.

Subclasses set ``service`` (botocore's name) and define ``op_<OperationName>(params,
request)``, ``request`` saying the region and access key of the request's SigV4 scope.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import JSONParser
from botocore.serialize import JSONSerializer
from botocore.validate import ParamValidator

from tests.support.loopback import LoopbackHandler, LoopbackServer, StartStop

#: Errors any operation may answer (not in each operation's model).
COMMON_ERRORS = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "AccessDeniedException",
        "ValidationException",
        "InternalFailure",
        "ServiceUnavailable",
    }
)


_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/")


@dataclass(frozen=True)
class Request:
    """Who sent a request and where: the access key and region of its SigV4 scope."""

    region: str
    access_key: str


class Fault(Exception):
    """An AWS error answer: ``code`` (the ``__type``) and ``message``, HTTP ``status``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class ShapeError(AssertionError):
    """A response the model does not allow: a bug of the fake, never sent."""


_SESSIONS: dict[str, ServiceModel] = {}
_LOCK = threading.Lock()


def service_model(name: str) -> ServiceModel:
    with _LOCK:
        if name not in _SESSIONS:
            _SESSIONS[name] = botocore.session.get_session().get_service_model(name)
        return _SESSIONS[name]


def serialize_output(operation: OperationModel, output: dict[str, Any]) -> bytes:
    """``output`` checked against the operation's output shape and written as AWS writes
    it (JSON; times as epoch seconds)."""
    shape = operation.output_shape
    if shape is None:
        return b"{}"
    report = ParamValidator().validate(output, shape)
    if report.has_errors():
        raise ShapeError(f"{operation.name} output: {report.generate_report()}")
    body: dict[str, Any] = {}
    JSONSerializer()._serialize(body, output, shape)
    return json.dumps(body).encode()


def parse_input(operation: OperationModel, body: bytes) -> dict[str, Any]:
    """The request's parameters as botocore's model reads them (times as datetimes),
    checked against the input shape; Fault(ValidationException) when they do not fit."""
    shape = operation.input_shape
    if shape is None:
        return {}
    try:
        params = JSONParser().parse(
            {"body": body or b"{}", "headers": {}, "status_code": 200}, shape
        )
    except Exception as e:  # noqa: BLE001 - a malformed request, answered as AWS does
        raise Fault("SerializationException", f"cannot read the request: {e}") from e
    params.pop("ResponseMetadata", None)
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise Fault("ValidationException", report.generate_report())
    return dict(params)


class _Handler(LoopbackHandler):
    owner: JsonServiceFake

    def do_POST(self) -> None:
        body = self.read_body()
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith(self.owner.prefix + "."):
            scope = _SCOPE.search(self.headers.get("Authorization", ""))
            request = Request(*(scope.group(2), scope.group(1)) if scope else ("", ""))
            self.send(*self.owner.answer(target, body, request))
        else:
            self._forward(body)

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    def _forward(self, body: bytes) -> None:
        upstream = self.owner.upstream
        if upstream is None or not upstream.hostname:
            self.send(404, {"Content-Type": "text/plain"}, b"no upstream for this service")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        asked = self.ask_upstream(upstream.hostname, upstream.port or 80, body, headers)
        if asked is None:
            return
        response, data = asked
        skip = {"content-length", "connection", "transfer-encoding", "keep-alive"}
        self.send(
            response.status,
            {k: v for k, v in response.getheaders() if k.lower() not in skip},
            data,
        )


class JsonServiceFake(StartStop):
    """Subclass with ``service`` and ``op_<Operation>`` methods; ``start()``/``stop()`` or
    a ``with`` block; ``url`` is the endpoint; ``calls`` counts operations answered.
    ``handler`` is the request handler (a subclass may answer more than its service)."""

    service = ""
    handler: type[_Handler] = _Handler

    def __init__(self, upstream: str | None = None) -> None:
        self.model = service_model(self.service)
        self.prefix = self.model.metadata["targetPrefix"]
        self.upstream = urllib.parse.urlsplit(upstream) if upstream else None
        self.url = ""
        self.calls: collections.Counter[str] = collections.Counter()
        #: Answers the model did not allow (bugs of the fake; never sent as such).
        self.errors: list[str] = []
        self.lock = threading.RLock()
        self._loopback = LoopbackServer(self.handler, owner=self)

    # --- dispatch ------------------------------------------------------------------------

    def answer(
        self, target: str, body: bytes, request: Request
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one request aimed at this service."""
        name = target.rpartition(".")[2]
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        handler: Callable[[dict[str, Any], Request], dict[str, Any]] | None = getattr(
            self, f"op_{name}", None
        )
        try:
            if handler is None or name not in self.model.operation_names:
                raise Fault("UnknownOperationException", f"{name} is not implemented")
            operation = self.model.operation_model(name)
            params = parse_input(operation, body)
            with self.lock:
                self.calls[name] += 1
            output = handler(params, request)
            try:
                return 200, headers, serialize_output(operation, output)
            except ShapeError as e:
                return self._broken(str(e), headers)
        except Fault as fault:
            if name in self.model.operation_names:
                known = {e.name for e in self.model.operation_model(name).error_shapes}
                allowed = known | COMMON_ERRORS | {"SerializationException"}
                if fault.code not in allowed and fault.code != "UnknownOperationException":
                    problem = f"{name} cannot answer {fault.code} (model: {sorted(known)})"
                    return self._broken(problem, headers)
            headers["x-amzn-ErrorType"] = fault.code
            payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
            return fault.status, headers, payload

    def _broken(self, problem: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """A bug of the fake (an answer the model does not allow): recorded in ``errors``
        for the test to fail on, answered as an internal failure."""
        with self.lock:
            self.errors.append(problem)
        headers["x-amzn-ErrorType"] = "InternalFailure"
        return 500, headers, json.dumps({"__type": "InternalFailure", "message": problem}).encode()

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> JsonServiceFake:
        self.url = self._loopback.start().url
        return self

    def stop(self) -> None:
        self._loopback.stop()
