"""Snapshot benchmark: driftaudit vs a user's AWS CLI script vs raw boto3, on one emulator.

    python bench/snapshot_bench.py --size S          # or M, L
    python bench/snapshot_bench.py --sizes S,M,L
    options: --fast-tags (moto through bench/fast_moto.py), --repeat N, --tmpdir DIR,
             --no-proxy (skip the +50 ms pass)

Needs moto[server], boto3, the AWS CLI (pip install awscli) and jq.

For each size a fresh moto server is started and seeded (tests.support.seed) with
S/M/L = 200/1,000/3,000 instances and proportional everything over three regions. Then, in the
same run, each tool reads the same describe operations of those regions:

* ``driftaudit``: ``python -m driftaudit snapshot REGIONS -o TMP`` (all types), a subprocess;
* ``aws-cli``: a bash script of ``aws ... describe-*`` commands, one per (region, operation)
  (plus one per load balancer / launch template, found with jq), each writing a JSON file;
* ``raw-boto3``: the same operations through boto3 paginators, sequential, nothing written:
  the client-side floor.

Measured per tool: wall time, the moto server's CPU time consumed meanwhile (utime+stime from
/proc/PID/stat), client = wall - server CPU, the client processes' own CPU time, and peak RSS
(getrusage of a wrapper's waited-for children: the largest single process). Pass 1 talks to
the emulator directly; pass 2 goes through tests/support/faultproxy.py's FaultProxy with 50 ms
added to every request and its opt-in replay cache (see the notes printed with the table).
Results: Markdown on stdout and in bench/results/snapshot-<size>[-fast-tags].md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
SIZES = {"S": 200, "M": 1000, "L": 3000}
LATENCY = 0.05
SLOW = f"+{LATENCY * 1000:.0f} ms"
PACED = f"{SLOW} paced"
RERUN = "driftaudit, unchanged"
#: Without its ~1,200 built-in AMIs per region, moto would also list their snapshots as the
#: account's own (DescribeSnapshots OwnerIds=self), which AWS does not; the tests run so too.
SERVER_ENV = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
#: Timed runs per tool (--repeat); the fastest is reported.
REPEAT = 2
#: Where the tools write (--tmpdir); None: the system's temporary directory.
TMPDIR: str | None = None
# Stock moto can take minutes on a big describe: the baselines must not time out.
READ_TIMEOUT = 600

# (service, operation, result key, parameters): what driftaudit's collectors call per region,
# besides the per-item calls in raw_boto3() / cli_script(). check_plan() warns when the
# registry has types this plan does not cover (the request counts per tool show it too).
PLAN: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("instances", "ec2", "describe_instances", "Reservations", {}),
    ("security_groups", "ec2", "describe_security_groups", "SecurityGroups", {}),
    ("security_groups", "ec2", "describe_security_group_rules", "SecurityGroupRules", {}),
    ("volumes", "ec2", "describe_volumes", "Volumes", {}),
    ("network_interfaces", "ec2", "describe_network_interfaces", "NetworkInterfaces", {}),
    ("elastic_ips", "ec2", "describe_addresses", "Addresses", {}),
    ("vpcs", "ec2", "describe_vpcs", "Vpcs", {}),
    ("subnets", "ec2", "describe_subnets", "Subnets", {}),
    ("route_tables", "ec2", "describe_route_tables", "RouteTables", {}),
    ("network_acls", "ec2", "describe_network_acls", "NetworkAcls", {}),
    ("internet_gateways", "ec2", "describe_internet_gateways", "InternetGateways", {}),
    ("nat_gateways", "ec2", "describe_nat_gateways", "NatGateways", {}),
    ("key_pairs", "ec2", "describe_key_pairs", "KeyPairs", {}),
    ("images", "ec2", "describe_images", "Images", {"Owners": ["self"], "IncludeDisabled": True}),
    ("snapshots", "ec2", "describe_snapshots", "Snapshots", {"OwnerIds": ["self"]}),
    ("launch_templates", "ec2", "describe_launch_templates", "LaunchTemplates", {}),
    ("load_balancers", "elbv2", "describe_load_balancers", "LoadBalancers", {}),
    ("load_balancers", "elb", "describe_load_balancers", "LoadBalancerDescriptions", {}),
    (
        "auto_scaling_groups",
        "autoscaling",
        "describe_auto_scaling_groups",
        "AutoScalingGroups",
        {},
    ),
]


def client_env() -> dict[str, str]:
    """Fake credentials, no profile files, no metadata service: nothing reaches AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent/driftaudit-bench/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/driftaudit-bench/credentials",
        PYTHONPATH=str(ROOT),
    )
    return env


def check_plan() -> list[str]:
    from driftaudit.collect.collectors import REGISTRY

    missing = sorted(set(REGISTRY) - {p[0] for p in PLAN})
    if not missing:
        return []
    return [f"- WARNING: registered types the baselines do not read: {', '.join(missing)}"]


# --- the raw boto3 baseline (runs in its own process: python snapshot_bench.py --raw URL) --


def raw_boto3(endpoint: str) -> dict[str, int]:
    """Every operation of PLAN plus the per-item calls, sequential, kept in memory."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(read_timeout=READ_TIMEOUT)

    def pages(client: Any, op: str, key: str, **kw: Any) -> list[Any]:
        if client.can_paginate(op):
            return [i for p in client.get_paginator(op).paginate(**kw) for i in p.get(key, [])]
        return list(getattr(client, op)(**kw).get(key, []))

    counts: dict[str, int] = {}
    sts = session.client("sts", endpoint_url=endpoint, config=config)
    sts.get_caller_identity()
    for region in REGIONS:
        clients: dict[str, Any] = {}
        for _, service, op, key, params in PLAN:
            if service not in clients:
                clients[service] = session.client(
                    service, region_name=region, endpoint_url=endpoint, config=config
                )
            client = clients[service]
            items = pages(client, op, key, **params)
            counts[f"{service}:{op}"] = counts.get(f"{service}:{op}", 0) + len(items)
            if op == "describe_launch_templates":
                for t in items:
                    client.describe_launch_template_versions(
                        LaunchTemplateId=t["LaunchTemplateId"], Versions=["$Default"]
                    )
            elif service == "elbv2" and op == "describe_load_balancers":
                arns = [lb["LoadBalancerArn"] for lb in items]
                for arn in arns:
                    pages(client, "describe_listeners", "Listeners", LoadBalancerArn=arn)
                for i in range(0, len(arns), 20):
                    client.describe_tags(ResourceArns=arns[i : i + 20])
            elif service == "elb" and op == "describe_load_balancers":
                names = [lb["LoadBalancerName"] for lb in items]
                for i in range(0, len(names), 20):
                    client.describe_tags(LoadBalancerNames=names[i : i + 20])
    return counts


# --- the AWS CLI script ------------------------------------------------------------------


# The calls that need ids from an earlier answer, as a user would write them: with jq.
CLI_PER_ITEM = r"""
  f="$d/ec2-describe-launch-templates.json"
  for id in $(jq -r '.LaunchTemplates[].LaunchTemplateId' "$f"); do
    aws "${A[@]}" --region "$r" ec2 describe-launch-template-versions \
      --launch-template-id "$id" --versions '$Default' > "$d/lt-version-$id.json"
  done
  f="$d/elbv2-describe-load-balancers.json"
  mapfile -t arns < <(jq -r '.LoadBalancers[].LoadBalancerArn' "$f")
  for arn in "${arns[@]}"; do
    aws "${A[@]}" --region "$r" elbv2 describe-listeners --load-balancer-arn "$arn" \
      > "$d/listeners-${arn##*/}.json"
  done
  for ((i = 0; i < ${#arns[@]}; i += 20)); do
    aws "${A[@]}" --region "$r" elbv2 describe-tags --resource-arns "${arns[@]:i:20}" \
      > "$d/elbv2-tags-$i.json"
  done
  f="$d/elb-describe-load-balancers.json"
  mapfile -t names < <(jq -r '.LoadBalancerDescriptions[].LoadBalancerName' "$f")
  for ((i = 0; i < ${#names[@]}; i += 20)); do
    aws "${A[@]}" --region "$r" elb describe-tags --load-balancer-names "${names[@]:i:20}" \
      > "$d/elb-tags-$i.json"
  done
done
"""


def cli_pager_flag() -> str:
    """AWS CLI v2 pipes output through a pager unless told not to; v1 has no pager and
    rejects the flag."""
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True).stdout
    return " --no-cli-pager" if version.startswith("aws-cli/2") else ""


def cli_script(endpoint: str, out: Path) -> str:
    """A bash script as a user would write it: one `aws` command per (region, operation)."""

    def dashed(op: str) -> str:
        return op.replace("_", "-")

    def flags(params: dict[str, Any]) -> str:
        parts = []
        for name, value in params.items():
            flag = "--" + "".join("-" + c.lower() if c.isupper() else c for c in name)[1:]
            if value is True:
                parts.append(flag)
            else:
                parts.append(f"{flag} {' '.join(value)}")
        return " ".join(parts)

    lines = [
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        f"A=(--endpoint-url {endpoint}{cli_pager_flag()} --cli-read-timeout {READ_TIMEOUT}"
        " --output json)",
        f"OUT={out}",
        'aws "${A[@]}" sts get-caller-identity > "$OUT/identity.json"',
        f"for r in {' '.join(REGIONS)}; do",
        '  d="$OUT/$r"; mkdir -p "$d"',
    ]
    for _, service, op, _, params in PLAN:
        name = f"{service}-{dashed(op)}"
        extra = f" {flags(params)}" if params else ""
        lines.append(
            f'  aws "${{A[@]}}" --region "$r" {service} {dashed(op)}{extra} > "$d/{name}.json"'
        )
    return "\n".join(lines) + CLI_PER_ITEM


# --- measuring ---------------------------------------------------------------------------


def wrapped(argv: list[str]) -> int:
    """``--wrap CMD...``: run CMD, then print its wall time, CPU and peak RSS as JSON.
    getrusage(RUSAGE_CHILDREN) covers only this wrapper's own (grand)children."""
    start = time.perf_counter()
    rc = subprocess.call(argv)
    wall = time.perf_counter() - start
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {"rc": rc, "wall": wall, "cpu": [ru.ru_utime, ru.ru_stime], "maxrss_kb": ru.ru_maxrss}
    print("BENCH-RESULT " + json.dumps(report), file=sys.stderr)
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    size: str
    mode: str
    tool: str
    wall: float
    server_cpu: float
    #: (user, system) CPU seconds of the tool's processes.
    client_cpu: tuple[float, float]
    rss_mb: float
    requests: int | None = None
    ratio: float = 0.0
    #: Snapshot files the run left (driftaudit's first snapshot).
    files: int | None = None

    @property
    def client(self) -> float:
        return max(0.0, self.wall - self.server_cpu)


def measure(
    cmd: list[str], server_pid: int, env: dict[str, str]
) -> tuple[float, float, tuple[float, float], float]:
    """(wall s, server CPU s, client (user, system) CPU s, peak RSS MB) of one command."""
    before = cpu_seconds(server_pid)
    proc = subprocess.run(
        [sys.executable, __file__, "--wrap", *cmd],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    server = cpu_seconds(server_pid) - before
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH-RESULT ")]
    if not lines:
        raise RuntimeError(f"{cmd[:4]} gave no result:\n{proc.stderr[-3000:]}")
    report = json.loads(lines[-1].split(" ", 1)[1])
    if report["rc"] != 0:
        raise RuntimeError(f"{cmd[:4]} exited {report['rc']}:\n{proc.stderr[-3000:]}")
    user, system = report["cpu"]
    return report["wall"], server, (user, system), report["maxrss_kb"] / 1024


@dataclass
class Tool:
    name: str
    cmd: list[str]
    work: Path
    #: Start from an empty output directory (else keep what the previous run wrote).
    fresh: bool = True


def tools(endpoint: str, work: Path, only: tuple[str, ...] = ()) -> list[Tool]:
    """The tools compared (``only``: these names)."""
    snap, cli = work / "driftaudit", work / "cli"
    script = work / "describe-all.sh"
    script.write_text(cli_script(endpoint, cli))
    driftaudit = [sys.executable, "-m", "driftaudit", "snapshot", *REGIONS, "-o", str(snap)]
    driftaudit += ["--endpoint-url", endpoint, "-q"]
    every = [
        Tool("raw-boto3", [sys.executable, __file__, "--raw", endpoint], work),
        Tool("driftaudit", driftaudit, snap),
        # The daily case: the same snapshot again into the directory (and git repository)
        # the last one wrote; unchanged files are compared, not rewritten.
        Tool(RERUN, driftaudit, snap, fresh=False),
        Tool("aws-cli", ["bash", str(script)], cli),
    ]
    return [t for t in every if not only or t.name in only]


def run_tools(
    size: str,
    mode: str,
    endpoint: str,
    server_pid: int,
    proxy: Any = None,
    only: tuple[str, ...] = (),
) -> list[Row]:
    """Each tool REPEAT times (the AWS CLI once: its start-up cost dwarfs the noise); the
    fastest run is kept, the usual way to read through other load on the machine."""
    rows = []
    env = client_env()
    with tempfile.TemporaryDirectory(prefix="driftaudit-bench-", dir=TMPDIR) as tmp:
        for tool in tools(endpoint, Path(tmp), only):
            runs = []
            for _ in range(1 if tool.name == "aws-cli" else REPEAT):
                if tool.fresh and tool.work != Path(tmp):
                    shutil.rmtree(tool.work, ignore_errors=True)
                    tool.work.mkdir(parents=True)
                sent = proxy.counts["requests"] if proxy else 0
                wall, server, cpu, rss = measure(tool.cmd, server_pid, env)
                requests = proxy.counts["requests"] - sent if proxy else None
                runs.append(Row(size, mode, tool.name, wall, server, cpu, rss, requests))
                print(f"  {mode:>8} {tool.name:<10} {wall:7.2f} s", file=sys.stderr, flush=True)
            rows.append(min(runs, key=lambda r: r.wall))
            if tool.name == "driftaudit":
                rows[-1].files = sum(1 for p in tool.work.rglob("*.yaml"))
                print(f"{'':12}driftaudit wrote {rows[-1].files} files", file=sys.stderr)
    raw = next(r for r in rows if r.tool == "raw-boto3")
    for r in rows:
        r.ratio = r.wall / raw.wall
    return rows


def warm(endpoint: str, only: tuple[str, ...] = ()) -> None:
    """One untimed pass of every tool (fills the proxy's replay cache)."""
    env = client_env()
    with tempfile.TemporaryDirectory(prefix="driftaudit-bench-warm-", dir=TMPDIR) as tmp:
        for tool in tools(endpoint, Path(tmp), only):
            if tool.name == RERUN:
                continue  # the same requests as driftaudit's
            # The AWS CLI too: it adds MaxResults=1000 to DescribeVolumes and DescribeSnapshots.
            tool.work.mkdir(parents=True, exist_ok=True)
            subprocess.run(tool.cmd, env=env, cwd=ROOT, check=True, capture_output=True)


# --- the emulator ------------------------------------------------------------------------


@contextlib.contextmanager
def emulator(stock: bool, log_dir: Path) -> Iterator[Any]:
    """A moto server in a child process: stock ``moto.server`` or bench/fast_moto.py."""
    from tests.support.motoserver import MotoServer, free_port

    port = free_port()
    launcher = ["-m", "moto.server"] if stock else [str(ROOT / "bench" / "fast_moto.py")]
    log_path = log_dir / f"moto-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *launcher, "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=SERVER_ENV | {k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
    server = MotoServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.reset()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start:\n{server.log()}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            # moto's SIGTERM handler does not always stop its server threads.
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- report ------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    out = [
        "| size | endpoint | tool | wall s | server CPU s | client s | client CPU s user+sys "
        "| peak RSS MB | requests | ratio vs raw boto3 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        req = "" if r.requests is None else str(r.requests)
        out.append(
            f"| {r.size} | {r.mode} | {r.tool} | {r.wall:.2f} | {r.server_cpu:.2f} | "
            f"{r.client:.2f} | {r.client_cpu[0]:.2f}+{r.client_cpu[1]:.2f} | {r.rss_mb:.0f} | "
            f"{req} | {r.ratio:.2f}x |"
        )
    return "\n".join(out)


def verdicts(size: str, rows: list[Row]) -> list[str]:
    """The targets (set for size L), for a first snapshot into an empty directory and, in
    brackets, for the unchanged re-run."""

    def wall(mode: str, tool: str) -> float:
        return next(r.wall for r in rows if r.mode == mode and r.tool == tool)

    def line(name: str, first: float, again: float, op: str, target: float) -> str:
        ok = first <= target if op == "<=" else first >= target if op == ">=" else first < target
        scope = "" if size == "L" else " (targets are for L)"
        verdict = "met" if ok else "MISSED"
        again_text = f"[unchanged re-run: {again:.2f}]"
        return f"- {name}: {first:.2f} {again_text} (target {op} {target}) {verdict}{scope}"

    raw = wall("direct", "raw-boto3")
    lines = [
        line(
            "driftaudit / raw boto3, direct",
            wall("direct", "driftaudit") / raw,
            wall("direct", RERUN) / raw,
            "<=",
            1.25,
        )
    ]
    for mode in (SLOW, PACED):
        if any(r.mode == mode for r in rows):
            first, again = wall(mode, "driftaudit"), wall(mode, RERUN)
            for tool, name, target in (
                ("raw-boto3", "raw boto3", 3.0),
                ("aws-cli", "AWS CLI", 5.0),
            ):
                other = wall(mode, tool)
                lines.append(
                    line(f"{name} / driftaudit, {mode}", other / first, other / again, ">=", target)
                )
    rss = [r.rss_mb for r in rows if r.tool in ("driftaudit", RERUN)]
    lines.append(line("driftaudit peak RSS MB", max(rss), max(rss), "<", 400))
    return lines


def filesystem(path: str) -> str:
    """The filesystem type holding ``path``, from /proc/mounts (longest mount point)."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    real = os.path.realpath(path)
    best = max(
        (m for m in mounts if real == m[0] or real.startswith(m[0].rstrip("/") + "/")),
        key=lambda m: len(m[0]),
        default=["", "unknown"],
    )
    return best[1]


def version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        return _version(package)
    except PackageNotFoundError:
        return "?"


def commit() -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return f"git {out.stdout.strip()}" if out.returncode == 0 else "not a git checkout"


def notes(stock: bool, seed_info: str, load: tuple[float, float]) -> str:
    where = TMPDIR or tempfile.gettempdir()
    emulator_note = (
        "stock moto server (`python -m moto.server`), whose describe cost grows with resources "
        "x tags: its CPU dominates the direct runs"
        if stock
        else "moto server through bench/fast_moto.py (`--fast-tags`): stock moto except that an "
        "EC2 resource's tags are looked up by id instead of scanning every tag in the region "
        "(stock cost: about resources x tags per describe); one server for all three tools, so "
        "ratios stay fair"
    )
    emulator_note += (
        f", moto {version('moto')}, MOTO_EC2_LOAD_DEFAULT_AMIS=false (else moto lists its "
        "~1,200 built-in AMIs' snapshots per region as the account's own)"
    )
    return "\n".join(
        [
            f"- Emulator: {emulator_note}. {seed_info}",
            f"- Regions: {', '.join(REGIONS)}; driftaudit ({commit()}) collects all registered "
            "types.",
            f"- `+{LATENCY * 1000:.0f} ms`: every request goes through tests/support/faultproxy.py "
            f"FaultProxy(latency={LATENCY}, replay=True). The replay cache (opt-in) answers a "
            "request identical to an earlier one from memory: each tool first ran once untimed "
            "to fill it, so in the timed runs the single-process emulator's CPU does not "
            "serialize the requests (as AWS, which answers in parallel, would not); the server "
            "CPU column shows what still reached moto. `paced` (`--paced`, "
            "FaultProxy(replay_paced=True)): each replayed answer also waits as long as moto "
            "took to produce it during the untimed pass, i.e. a server that answers at the "
            "emulator's pace but in parallel, as AWS does.",
            f"- Fastest of {REPEAT} timed runs for raw-boto3 and driftaudit, one for aws-cli "
            f"(AWS CLI {version('awscli')}, one process per command).",
            "- client s = wall - server CPU; client CPU s = user + system time of the tool's "
            "processes; peak RSS = largest single process (getrusage of waited-for children).",
            f"- Output files written under {where} ({filesystem(where)}): driftaudit writes "
            "one file per resource (flushed to disk once per region and type), the CLI "
            "script one file per command.",
            f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, {platform.system()}; 1-minute load average "
            f"{load[0]:.1f} before, {load[1]:.1f} after (other work on the machine skews "
            "wall times).",
        ]
    )


def close_key_pair_race(endpoint: str) -> None:
    """Stock moto's first DescribeKeyPairs grows a dict that concurrent EC2 responses iterate
    (HTTP 500 "dictionary changed size during iteration"); one call first makes it safe."""
    import boto3

    boto3.client("ec2", region_name=REGIONS[0], endpoint_url=endpoint).describe_key_pairs()


@contextlib.contextmanager
def seeded_emulator(size: str, stock: bool) -> Iterator[tuple[Any, str]]:
    """A fresh emulator seeded with the fleet of ``size``: (the server, what was seeded)."""
    from tests.support.seed import seed_fleet

    with (
        tempfile.TemporaryDirectory(prefix="driftaudit-bench-moto-") as logs,
        emulator(stock, Path(logs)) as server,
    ):
        start = time.perf_counter()
        counts = seed_fleet(server.url, list(REGIONS), SIZES[size])
        seeded = time.perf_counter() - start
        seed_info = (
            f"Seeded in {seeded:.0f} s: "
            + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "regions")
            + "."
        )
        print(f"{size}: {seed_info}", file=sys.stderr, flush=True)
        close_key_pair_race(server.url)
        yield server, seed_info


@contextlib.contextmanager
def replaying(endpoint: str, only: tuple[str, ...] = ()) -> Iterator[Any]:
    """The +latency proxy in front of ``endpoint``, its replay cache filled by one untimed
    pass of the tools (``only``: these), the latency set."""
    from tests.support.faultproxy import FaultProxy

    proxy = FaultProxy(endpoint, latency=0.0, replay=True).start()
    try:
        warm(proxy.url, only)
        proxy.latency = LATENCY
        yield proxy
    finally:
        proxy.stop()


def run_size(size: str, stock: bool, skip_proxy: bool, paced: bool) -> str:
    load_before = os.getloadavg()[0]
    with seeded_emulator(size, stock) as (server, seed_info):
        pid = server.process.pid
        rows = run_tools(size, "direct", server.url, pid)
        if not skip_proxy:
            with replaying(server.url) as proxy:
                rows += run_tools(size, SLOW, proxy.url, pid, proxy)
                if paced:
                    proxy.replay_paced = True
                    rows += run_tools(size, PACED, proxy.url, pid, proxy)
    kind = "stock moto" if stock else "moto with fast tag lookup"
    text = f"### Snapshot benchmark, size {size} ({SIZES[size]} instances, {kind})\n\n"
    text += f"{table(rows)}\n\n"
    lines = check_plan() + ([] if skip_proxy else verdicts(size, rows))
    if lines:
        text += "\n".join(lines) + "\n\n"
    return text + notes(stock, seed_info, (load_before, os.getloadavg()[0])) + "\n"


def first_snapshot_paced(size: str = "L") -> tuple[Row, Row, str]:
    """Only the first snapshot's figure, for bench/scale_bench.py: raw boto3 (sequential)
    and driftaudit's first snapshot into an empty directory, both through the paced +50 ms
    proxy, on a freshly seeded emulator; (raw boto3's row, driftaudit's row, the seeding)."""
    only = ("raw-boto3", "driftaudit")
    sys.path.insert(0, str(ROOT))
    os.environ.update(client_env())
    with seeded_emulator(size, True) as (server, seed_info), replaying(server.url, only) as proxy:
        proxy.replay_paced = True
        rows = run_tools(size, PACED, proxy.url, server.process.pid, proxy, only)
    raw = next(r for r in rows if r.tool == "raw-boto3")
    return raw, next(r for r in rows if r.tool == "driftaudit"), seed_info


def main(argv: list[str] | None = None) -> int:
    global TMPDIR, REPEAT
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--wrap"]:
        return wrapped(argv[1:])
    if argv[:1] == ["--raw"]:
        print(json.dumps(raw_boto3(argv[1])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES))
    parser.add_argument("--sizes", help="comma-separated, e.g. S,M,L")
    parser.add_argument(
        "--fast-tags",
        action="store_true",
        help="run moto through bench/fast_moto.py (tags looked up by id, not by a scan)",
    )
    parser.add_argument("--no-proxy", action="store_true", help="skip the +latency pass")
    parser.add_argument(
        "--paced",
        action="store_true",
        help="also a +latency pass whose replayed answers wait as long as moto first took",
    )
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed runs per tool")
    parser.add_argument("--tmpdir", help="where the tools write files (default: system temp)")
    args = parser.parse_args(argv)
    TMPDIR, REPEAT = args.tmpdir, max(1, args.repeat)
    sizes = [s.strip().upper() for s in (args.sizes or args.size or "S").split(",")]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}; known: {', '.join(SIZES)}")
    if shutil.which("aws") is None or shutil.which("jq") is None:
        parser.error("needs the AWS CLI and jq on PATH (pip install awscli)")
    sys.path.insert(0, str(ROOT))
    os.environ.update(client_env())  # seed_fleet and FaultProxy run in this process
    RESULTS.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        text = run_size(size, not args.fast_tags, args.no_proxy, args.paced)
        suffix = "-fast-tags" if args.fast_tags else ""
        (RESULTS / f"snapshot-{size}{suffix}.md").write_text(text)
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
