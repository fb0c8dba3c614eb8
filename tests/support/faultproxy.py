"""A loopback HTTP proxy that makes an AWS emulator misbehave like AWS can (stdlib only).

Point the client's endpoint URL at ``proxy.url``; every request is read whole, delayed by
``latency`` seconds, then, in this order:

* with probability ``throttle_rate``: a throttling error in the service's own protocol
  (EC2: HTTP 503 ``RequestLimitExceeded``; query services such as STS, ELB, ELBv2 and
  Auto Scaling: HTTP 400 ``Throttling``);
* if its action is denied, or one of its parameters matches ``deny_params`` (name -> shell
  pattern of the value: ``{"RoleArn": "arn:aws:iam::222222222222:role/*"}`` denies assuming
  one account's roles): the service's access error (EC2: 403 ``UnauthorizedOperation``,
  the others: 403 ``AccessDenied``);
* with probability ``reset_rate``: the connection is reset without an answer;
* if its action is stalled (``stall_actions``): no answer for ``stall_seconds`` (``None``:
  never; the connection stays open, as behind a firewall that drops packets), then
  forwarded;
* if its action is slow (``slow_actions``): forwarded, and the answer sent in small pieces
  spread over ``slow_seconds``: each piece comes well within any socket timeout, the whole
  answer long after;
* else it is forwarded to ``upstream`` and the answer relayed, through ``rewrite[pattern]``
  (a function of the body: an answer AWS could send but the emulator does not) when one
  matches its action.

``replay=True`` (opt-in, for benchmarks; off by default) answers a request identical to an
earlier successful one (same method, path, region, service and body) from memory without
asking upstream, so a single-process emulator's CPU does not serialize concurrent clients
the way AWS would not. Only valid while the emulator's state does not change. With
``replay_paced=True`` as well, a replayed answer is held back as long as upstream took to
produce it the first time: a server that answers at the emulator's own pace, in parallel.

``deny_actions``, ``stall_actions``, ``slow_actions`` and ``rewrite``'s keys are shell-style
patterns matched
against the action (``DescribeVolumes``)
and against ``service:Action`` (``ec2:DescribeVolumes``, ``ec2:*``); ``service`` is the
signing name from the SigV4 credential scope (ELB and ELBv2 both sign as
``elasticloadbalancing``). Random draws come from ``random.Random(seed)`` under a lock.
"""

from __future__ import annotations

import collections
import contextlib
import fnmatch
import json
import random
import re
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape

from tests.support.loopback import LoopbackHandler, LoopbackServer, StartStop

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_KEY = re.compile(r"Credential=([^/,\s]+)/")
# Headers that belong to one connection, not to the request (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def _ec2_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"</Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


def _query_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    ).encode()


def error_response(
    service: str, action: str, kind: str, json_protocol: bool = False
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a throttling (``kind="throttle"``) or access
    (``kind="deny"``) error as ``service`` would send it (JSON protocols, such as
    Organizations, as a JSON body with ``__type``)."""
    denied = f"User is not authorized to perform: {service}:{action}"
    if json_protocol:
        code = "TooManyRequestsException" if kind == "throttle" else "AccessDeniedException"
        body = json.dumps(
            {"__type": code, "Message": denied if kind == "deny" else "Rate exceeded"}
        )
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return 400 if kind == "throttle" else 403, headers, body.encode()
    xml = {"Content-Type": "text/xml"}
    if service == "ec2":
        if kind == "throttle":
            return 503, xml, _ec2_error("RequestLimitExceeded", "Request limit exceeded.")
        return (
            403,
            xml,
            _ec2_error(
                "UnauthorizedOperation", "You are not authorized to perform this operation."
            ),
        )
    if kind == "throttle":
        return 400, xml, _query_error("Throttling", "Rate exceeded")
    return 403, xml, _query_error("AccessDenied", denied)


class FaultProxy(StartStop):
    def __init__(
        self,
        upstream: str,
        *,
        latency: float = 0.0,
        throttle_rate: float = 0.0,
        deny_actions: Iterable[str] = (),
        deny_params: dict[str, str] | None = None,
        reset_rate: float = 0.0,
        seed: int = 0,
        replay: bool = False,
        replay_paced: bool = False,
        stall_actions: Iterable[str] = (),
        stall_seconds: float | None = None,
        slow_actions: Iterable[str] = (),
        slow_seconds: float = 0.0,
        rewrite: dict[str, Callable[[bytes], bytes]] | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.latency = latency
        self.throttle_rate = throttle_rate
        self.deny_actions = tuple(deny_actions)
        self.deny_params = dict(deny_params or {})
        self.stall_actions = tuple(stall_actions)
        self.stall_seconds = stall_seconds
        self.slow_actions = tuple(slow_actions)
        self.slow_seconds = slow_seconds
        self.rewrite = dict(rewrite or {})
        #: Set when the proxy stops: stalled requests give up without an answer.
        self._stopping = threading.Event()
        #: Set once a stalled or slow request has been answered in full.
        self.late_answered = threading.Event()
        self.reset_rate = reset_rate
        self.counts: collections.Counter[str] = collections.Counter()
        #: "service:Action" -> requests seen (before any fault).
        self.actions: collections.Counter[str] = collections.Counter()
        #: (access key id that signed it, "service:Action") -> requests seen.
        self.signed: collections.Counter[tuple[str, str]] = collections.Counter()
        self.url = ""
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._loopback = LoopbackServer(_Handler, owner=self)
        self.replay = replay
        #: Replay cache: request key -> (status, reason, headers, body) of a 200 answer.
        self.replayed: dict[tuple[str, ...], tuple[int, str, list[tuple[str, str]], bytes]] = {}
        self.replay_paced = replay_paced
        #: Replay cache: request key -> seconds upstream took to answer it.
        self.replay_seconds: dict[tuple[str, ...], float] = {}

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self.url = self._loopback.start().url
        return self

    def stop(self) -> None:
        if not self._loopback.running:
            return
        self._stopping.set()
        self._loopback.stop()

    # --- decisions -------------------------------------------------------------------------

    def _matches(self, patterns: Iterable[str], service: str, action: str) -> bool:
        names = (action, f"{service}:{action}")
        return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)

    def _denied(self, service: str, action: str, params: dict[str, list[str]]) -> bool:
        return self._matches(self.deny_actions, service, action) or any(
            fnmatch.fnmatchcase(value, pattern)
            for name, pattern in self.deny_params.items()
            for value in params.get(name, ())
        )

    def stalls(self, service: str, action: str) -> bool:
        return bool(action) and self._matches(self.stall_actions, service, action)

    def slows(self, service: str, action: str) -> bool:
        return bool(action) and self._matches(self.slow_actions, service, action)

    def stall(self) -> bool:
        """Hold a stalled request; False when the proxy stopped meanwhile."""
        with self._lock:
            self.counts["stalled"] += 1
        return not self._stopping.wait(self.stall_seconds)

    def rewriter(self, service: str, action: str) -> Callable[[bytes], bytes] | None:
        found = [
            f for p, f in self.rewrite.items() if action and self._matches([p], service, action)
        ]
        return found[0] if found else None

    def decide(self, service: str, action: str, params: dict[str, list[str]] | None = None) -> str:
        """``throttle``, ``deny``, ``reset`` or ``forward`` for one request."""
        with self._lock:
            self.counts["requests"] += 1
            self.actions[f"{service}:{action}"] += 1
            # Both draws happen on every request so one seed gives one sequence of faults.
            throttle = self._random.random() < self.throttle_rate
            reset = self._random.random() < self.reset_rate
            if not action:
                outcome = "forward"  # not an AWS API call (e.g. /moto-api/...)
            elif throttle:
                outcome = "throttle"
            elif self._denied(service, action, params or {}):
                outcome = "deny"
            elif reset:
                outcome = "reset"
            else:
                outcome = "forward"
            key = {"throttle": "throttled", "deny": "denied", "reset": "reset"}.get(outcome)
            if key:
                self.counts[key] += 1
            return outcome


class _Handler(LoopbackHandler):
    owner: FaultProxy
    #: Seconds over which to spread the body of this answer (0: at once).
    _pace = 0.0

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_POST

    def _handle(self) -> None:
        body = self.read_body()
        service, action = self._identify(body)
        if self.owner.latency:
            time.sleep(self.owner.latency)
        key = _KEY.search(self.headers.get("Authorization", ""))
        with self.owner._lock:
            self.owner.signed[(key.group(1) if key else "", f"{service}:{action}")] += 1
        outcome = self.owner.decide(service, action, self._params(body))
        if outcome in ("throttle", "deny"):
            json_protocol = bool(self.headers.get("X-Amz-Target"))
            self.send(*error_response(service, action, outcome, json_protocol))
        elif outcome == "reset":
            self._reset()
        elif self.owner.stalls(service, action) or self.owner.slows(service, action):
            if self.owner.stalls(service, action) and not self.owner.stall():
                self.close_connection = True  # the proxy is stopping: never answered
                return
            if self.owner.slows(service, action):
                self._pace = self.owner.slow_seconds
            # The client may have given up meanwhile: that is what these faults are for.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._forward(body, self.owner.rewriter(service, action))
                self.owner.late_answered.set()
        else:
            self._forward(body, self.owner.rewriter(service, action))

    def _identify(self, body: bytes) -> tuple[str, str]:
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        service = scope.group(2) if scope else ""
        form = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        action = (form.get("Action") or query.get("Action") or [""])[0]
        # JSON protocols (Organizations) name it in X-Amz-Target: "<Service>.<Action>".
        target = self.headers.get("X-Amz-Target", "")
        return service, action or target.rpartition(".")[2]

    def _params(self, body: bytes) -> dict[str, list[str]]:
        """The request's form parameters (query protocols: STS, EC2, ELB...)."""
        return urllib.parse.parse_qs(body.decode("utf-8", errors="replace"))

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, body: bytes, rewrite: Callable[[bytes], bytes] | None = None) -> None:
        key = None
        if self.owner.replay:
            scope = _SCOPE.search(self.headers.get("Authorization", ""))
            where = scope.groups() if scope else ("", "")
            target = self.headers.get("X-Amz-Target", "")
            key = (self.command, self.path, *where, target, body.decode("latin-1"))
            cached = self.owner.replayed.get(key)
            if cached is not None:
                self.owner.counts["replayed"] += 1
                if self.owner.replay_paced:
                    time.sleep(self.owner.replay_seconds.get(key, 0.0))
                self._relay(*cached)
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        started = time.perf_counter()
        asked = self.ask_upstream(*self.owner.upstream, body, headers)
        if asked is None:
            return
        response, data = asked
        if rewrite is not None and response.status == 200:
            data = rewrite(data)
        answer = (response.status, response.reason, response.getheaders(), data)
        if key is not None and response.status == 200:
            self.owner.replay_seconds[key] = time.perf_counter() - started
            self.owner.replayed[key] = answer
        self._relay(*answer)

    def _relay(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not self._pace:
            self.wfile.write(data)
            return
        self.wfile.flush()
        pieces = 20
        size = max(1, -(-len(data) // pieces))
        for n in range(0, len(data), size):
            time.sleep(self._pace / pieces)
            self.wfile.write(data[n : n + size])
            self.wfile.flush()
