"""``driftaudit demo``: the embedded default. Starts the AWS emulator (moto's server,
in-process, on 127.0.0.1 only), seeds a small deterministic fleet, and snapshots it, so a
newcomer sees real output without an AWS account."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from driftaudit.errors import ConfigError

DEMO_REGIONS = ["us-east-1", "eu-west-1"]
DEMO_INSTANCES = 12
# The emulator accepts any credentials; these never leave 127.0.0.1.
DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    # Stock moto preloads public AMIs and ~1,200 snapshots of other accounts, and its
    # DescribeSnapshots ignores OwnerIds=self; AWS would return only the account's own.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator() -> Iterator[str]:
    """The embedded emulator on a free loopback port; yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as e:
        raise ConfigError(
            "the demo needs the embedded AWS emulator: pip install 'driftaudit[demo]'"
        ) from e
    # The emulator's HTTP server logs every request through werkzeug; the demo shows results.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def demo_credentials() -> Iterator[None]:
    """Point boto3's chain at throwaway credentials for the emulator, then restore."""
    saved = {k: os.environ.get(k) for k in [*DEMO_ENV, "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.update(DEMO_ENV)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _warm_up(endpoint: str) -> None:
    """moto 5.2 mutates a dict shared by all EC2 responses on the first DescribeKeyPairs
    of a server; a concurrent describe then fails with HTTP 500. One call first avoids it."""
    import boto3

    for region in DEMO_REGIONS:
        boto3.client("ec2", region_name=region, endpoint_url=endpoint).describe_key_pairs()


def run_demo(directory: Path, fmt: str = "yaml", say: Callable[[str], None] = print) -> int:
    """Seed the emulator and snapshot it into ``directory``; returns the snapshot exit code."""
    from driftaudit.aws import ClientPool
    from driftaudit.collectors import REGISTRY
    from driftaudit.runner import take_snapshot
    from driftaudit.seed import seed_fleet

    with demo_credentials(), emulator() as endpoint:
        say(f"embedded AWS emulator on {endpoint} (nothing leaves this machine)")
        counts = seed_fleet(endpoint, DEMO_REGIONS, DEMO_INSTANCES)
        say("seeded: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        _warm_up(endpoint)
        pool = ClientPool(endpoint_url=endpoint)
        accounts = pool.open_accounts(None, ())
        targets = [(a, list(DEMO_REGIONS)) for a in accounts]
        outcome = take_snapshot(pool, targets, list(REGISTRY.values()), directory, fmt)
    s = outcome.stats
    say(
        f"snapshot: {outcome.resources} resources in {len(outcome.regions)} regions, "
        f"{len(outcome.types)} types -> {directory} "
        f"({s.written} written, {s.unchanged} unchanged, {s.removed} removed)"
    )
    say("")
    say("the same, by hand, against the emulator or real AWS:")
    say(f"  driftaudit snapshot {' '.join(DEMO_REGIONS)} -o {directory}")
    say(f"  ls {directory}/*/us-east-1/security_groups/")
    say(f"  grep -r 10.191.12.13 {directory}")
    return outcome.exit_code
