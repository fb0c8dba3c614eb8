"""The one HTTP server plumbing of the loopback fakes (faultproxy, jsonfake and the fakes
built on it; stdlib only).

:class:`LoopbackServer` serves a :class:`LoopbackHandler` subclass on 127.0.0.1 at a port
the kernel picks, from a daemon thread, one thread a connection; ``url`` is its address
once started. Each handler class is given the fake that owns it as ``owner``, so the
protocol logic stays in the fake. Stopping closes the kept-alive client connections too:
their handler threads would otherwise go on answering after the server is gone.

with LoopbackServer(MyHandler, owner=fake) as server:
    boto3.client("ec2", endpoint_url=server.url, ...)
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

HOST = "127.0.0.1"
_Started = TypeVar("_Started", bound="StartStop")


class StartStop:
    """``start()`` and ``stop()``, or a ``with`` block that does both."""

    def start(self: _Started) -> _Started:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Started) -> _Started:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__((HOST, 0), handler)
        self.lock = threading.Lock()
        #: Client connections being served (closed when the server stops).
        self.connections: set[socket.socket] = set()

    def track(self, sock: socket.socket, add: bool) -> None:
        with self.lock:
            if add:
                self.connections.add(sock)
            else:
                self.connections.discard(sock)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 as botocore expects from AWS (every answer carries a
    Content-Length), quiet, with the body reading and answer writing every fake needs."""

    owner: Any
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK holds
    # the body back about 40 ms per answer (measured: +35 ms on every request).
    disable_nagle_algorithm = True
    #: This client connection's kept-alive connection to an upstream, if it asked one.
    _upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)
            if self._upstream is not None:
                self._upstream.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def read_body(self) -> bytes:
        """The request's body, read whole (Content-Length; none: empty)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """One whole answer: ``headers`` and a Content-Length, the body unless HEAD."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def ask_upstream(
        self, host: str, port: int, body: bytes, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes] | None:
        """This request (method, path, ``body``, ``headers``) sent to ``host:port`` on a
        kept-alive connection, and its answer read whole; None when the upstream failed
        twice, answered here with a 502."""
        for attempt in (1, 2):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(host, port, timeout=300)
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                response = self._upstream.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # The upstream closed an idle kept-alive connection: reconnect once.
                self._upstream.close()
                self._upstream = None
                if attempt == 2:
                    self.send(502, {"Content-Type": "text/plain"}, b"upstream failed")
                    return None
        if response.will_close and self._upstream is not None:
            self._upstream.close()
            self._upstream = None
        return response, data


class LoopbackServer(StartStop):
    """``handler`` (a :class:`LoopbackHandler` subclass) served on 127.0.0.1 with
    ``owner`` as its ``owner``; ``start()``/``stop()`` or a ``with`` block."""

    def __init__(self, handler: type[LoopbackHandler], owner: Any = None) -> None:
        self.handler: type[LoopbackHandler] = type(handler.__name__, (handler,), {"owner": owner})
        self.url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackServer:
        server = _Server(self.handler)
        self._server = server
        self.url = f"http://{HOST}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with server.lock:
            connections, server.connections = list(server.connections), set()
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None
