"""A moto server in a child process, on a free loopback port (tests and bench/ use it).

with start_moto_server() as server:
    boto3.client("ec2", endpoint_url=server.url, ...)
    server.reset()
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def post(url: str, timeout: float = 10.0) -> bytes:
    """POST with an empty body (the moto-api control endpoints)."""
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
        return bytes(response.read())


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def reset(self) -> None:
        """Forget every resource, account and assumed role (moto's POST /moto-api/reset)."""
        post(f"{self.url}/moto-api/reset")

    def seed(self, value: int) -> None:
        """Make generated ids repeat run to run (timestamps and ClientToken still differ)."""
        post(f"{self.url}/moto-api/seed?a={value}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _wait_ready(server: MotoServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"moto server exited with {server.process.returncode}:\n{server.log()}"
            )
        try:
            server.reset()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"moto server not answering after {timeout:.0f} s:\n{server.log()}"
                ) from None
            time.sleep(0.05)


#: Server environment. Without its ~1,200 built-in AMIs moto starts each region faster, and
#: DescribeSnapshots(OwnerIds=self) does not list the snapshots behind them as the account's.
DEFAULT_ENV = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


def _warm_up(url: str) -> None:
    """moto 5.2's first DescribeKeyPairs adds a key to a response-transformer dict shared by
    every EC2 response, while concurrent EC2 describes iterate it: one of them fails with an
    HTTP 500 ("dictionary changed size during iteration"). Later calls only reassign that key,
    so one call before any concurrent client makes the server safe."""
    import boto3

    boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="warmup",
        aws_secret_access_key="warmup",
    ).describe_key_pairs()


def _launch(port: int, log_dir: Path, env: dict[str, str]) -> MotoServer:
    log_path = log_dir / f"moto-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Credentials or endpoints of the caller must not change how moto behaves.
            env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env},
        )
    return MotoServer(f"http://{HOST}:{port}", process, log_path)


def _stop(server: MotoServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextlib.contextmanager
def start_moto_server(
    port: int | None = None,
    log_dir: str | Path | None = None,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> Iterator[MotoServer]:
    """Start ``python -m moto.server`` on 127.0.0.1, wait until it answers, stop it on exit.

    Without ``port`` a free one is picked; another process may take it before moto binds
    it, so that case is retried on a new port. ``env`` adds to (or overrides)
    :data:`DEFAULT_ENV` in the server's environment.
    """
    server_env = {**DEFAULT_ENV, **(env or {})}
    directory = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="driftaudit-moto-"))
    attempts = 1 if port else 3
    for attempt in range(attempts):
        server = _launch(port or free_port(), directory, server_env)
        try:
            _wait_ready(server, timeout)
            break
        except RuntimeError:
            _stop(server)
            if attempt == attempts - 1:
                raise
    try:
        _warm_up(server.url)
        yield server
    finally:
        _stop(server)
