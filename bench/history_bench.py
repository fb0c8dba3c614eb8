"""History benchmark (issue 5): ``driftaudit history`` vs ``git log -S ADDRESS`` (the 2012 way).

    python bench/history_bench.py                            # 365 days, 5,000 i-, 2,000 sg-
    python bench/history_bench.py --days 60 --instances 500 --groups 200

No AWS and no emulator: bench/history_fleet.py writes a synthetic snapshot repository (daily
commits, about 1% churn a day, a planted story with known answers; see its docstring) with
one ``git fast-import`` stream. It is cached under ``bench/results/history-cache/<parameters>/``
(git-ignored); re-runs reuse it.

Measured in one run on a fresh copy of the cached repository, each a fresh
``python -m driftaudit`` subprocess (start-up included): the full index build (the first
history command on a repository without an index), each query (median of ``--repeat`` after a
warm-up), the incremental update after the one new commit of ``bench-next`` (median of
``--repeat``, the index from before the commit put back each time), and, as the baseline,
``git log -S ADDRESS`` / ``git log -G`` over the same repository. Every answer is checked
against the story. Results: Markdown on stdout and in bench/results/history.md (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from history_fleet import (
    GENERATOR_VERSION,
    LIST_IP,
    STAGE_IP,
    STAGING,
    STAGING_VPC,
    START,
    STORY_1,
    STORY_2,
    STORY_3,
    STORY_4,
    STORY_DAYS,
    STORY_DB,
    STORY_GROUP,
    STORY_IP,
    STORY_LIST,
    STORY_PUBLIC,
    STORY_WEB,
    day_time,
    generate,
    iso,
    story_day,
)
from proctree import sampled

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "history-cache"


def cached_repo(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    key = (
        f"d{args.days}-i{args.instances}-g{args.groups}-c{args.churn:g}-s{args.seed}"
        f"-v{GENERATOR_VERSION}"
    )
    home = CACHE / key
    if args.regenerate and home.exists():
        shutil.rmtree(home)
    if not (home / "meta.json").exists():
        print(f"generating {key} ...", file=sys.stderr)
        partial = CACHE / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        meta = generate(partial / "repo", args)
        (partial / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        partial.rename(home)
    return home / "repo", json.loads((home / "meta.json").read_text())


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Timing:
    wall: float  # median wall seconds
    fastest: float
    cpu: float  # median user+sys of the process and its children (git)
    runs: int = 1


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "TZ": "UTC"}
#: The floor of a full build: read every snapshot file of the tree and parse it with LibYAML.
TREE_PARSE = """
import yaml
from pathlib import Path
n = 0
for p in Path(".").glob("*/*/*/*.yaml"):
    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader); n += 1
print(n)
"""


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    return time.perf_counter() - start, _children_cpu() - cpu, proc


def driftaudit(args: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    wall, cpu, proc = timed([sys.executable, "-m", "driftaudit", *args], cwd)
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        raise SystemExit(f"driftaudit {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
    return wall, cpu, proc


def repeat(
    cmd: list[str], cwd: Path, times: int, tool: bool = True
) -> tuple[Timing, subprocess.CompletedProcess[str]]:
    """One untimed warm-up (file cache), then the median of ``times`` runs."""
    run = (lambda: driftaudit(cmd, cwd)) if tool else (lambda: timed(cmd, cwd))
    _, _, proc = run()
    walls, cpus = [], []
    for _ in range(max(1, times)):
        wall, cpu, proc = run()
        walls.append(wall)
        cpus.append(cpu)
    return Timing(statistics.median(walls), min(walls), statistics.median(cpus), times), proc


_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def times_in(texts: list[str]) -> set[dt.datetime]:
    found = set()
    for text in texts:
        for match in _TIME.findall(text):
            when = dt.datetime.fromisoformat(match.replace("Z", "+00:00").replace(" ", "T"))
            found.add(when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc))
    return found


def pairs(value: Any) -> Iterator[set[dt.datetime]]:
    """The times named together in one JSON object (a boundary: last without, first with)."""
    if isinstance(value, dict):
        yield times_in([v for v in value.values() if isinstance(v, str)])
        for v in value.values():
            yield from pairs(v)
    elif isinstance(value, list):
        for v in value:
            yield from pairs(v)


@dataclass
class Answer:
    """What one JSON answer says, flattened: every string in it, and the sets of times named
    together in one object."""

    texts: list[str]
    bounds: list[set[dt.datetime]]

    @classmethod
    def of(cls, proc: subprocess.CompletedProcess[str]) -> Answer:
        data = json.loads(proc.stdout)
        return cls(list(strings(data)), [p for p in pairs(data) if len(p) >= 2])

    def names(self, value: str) -> bool:
        return any(value in t for t in self.texts)

    def ids(self, prefix: str) -> set[str]:
        return {m for t in self.texts for m in re.findall(rf"\b{prefix}-[0-9a-f]+\b", t)}

    def has_bound(self, before: dt.datetime, after: dt.datetime) -> bool:
        return any({before, after} <= p for p in self.bounds)


class Checks:
    """Each answer against the planted story; problems are reported, not fatal, so the
    timings still come out."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.problems: list[str] = []
        self.passed = 0

    def day(self, event: str) -> int:
        return story_day(STORY_DAYS[event], self.days)

    def expect(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.problems.append(what)

    def names(self, answer: Answer, query: str, present: list[str], absent: list[str]) -> None:
        for value in present:
            self.expect(answer.names(value), f"{query}: {value} missing")
        for value in absent:
            self.expect(not answer.names(value), f"{query}: {value} named but should not be")

    def bounds(self, answer: Answer, query: str, events: list[str]) -> None:
        """Every boundary is the pair of snapshots it lies between: the day before the event
        and the event's day."""
        for event in events:
            before, after = day_time(self.day(event) - 1), day_time(self.day(event))
            self.expect(
                answer.has_bound(before, after),
                f"{query}: no boundary between {iso(before)} and {iso(after)} ({event})",
            )


def subcommands(help_text: str) -> set[str]:
    """Command names listed by click under "Commands:"."""
    names, inside = set(), False
    for line in help_text.splitlines():
        if line.strip().startswith("Commands:"):
            inside = True
        elif inside and line.startswith("  ") and line.strip():
            names.add(line.split()[0])
    return names


def git_sha_of_day(repo: Path) -> dict[int, str]:
    out = subprocess.run(
        ["git", "log", "--format=%H %ct", "--all"], cwd=repo, capture_output=True, text=True
    ).stdout
    start = int(START.timestamp())
    return {
        (int(ct) - start) // 86400: sha for sha, ct in (line.split() for line in out.splitlines())
    }


@dataclass
class Results:
    build: Timing | None = None
    build_command: str = ""
    build_rss_mb: float = 0.0  # peak of the process tree (bench/proctree.py)
    #: The floor of a full build: one process reading every snapshot file of the tree and
    #: parsing it with LibYAML, nothing else.
    tree_parse: Timing | None = None
    tree_files: int = 0
    queries: dict[str, Timing] = field(default_factory=dict)
    incremental: Timing | None = None
    incremental_steady: Timing | None = None
    baselines: dict[str, tuple[Timing, int]] = field(default_factory=dict)
    index_mb: float = 0.0
    notes: list[str] = field(default_factory=list)


def measure(work: Path, meta: dict[str, Any], args: argparse.Namespace) -> tuple[Results, Checks]:
    res, checks, d = Results(), Checks(args.days), str(work)
    day = checks.day
    index_dir = work / ".driftaudit"
    help_text = driftaudit(["history", "--help"], work)[2].stdout
    commands = subcommands(help_text)
    mid = (day("launch1") + day("terminate1")) // 2
    at_held = iso(day_time(mid) + dt.timedelta(hours=12))
    at_free = iso(day_time((day("terminate1") + day("launch2")) // 2) + dt.timedelta(hours=12))
    j = ["--format", "json"]
    ip_at = ["history", "ip", STORY_IP, "--at", at_held, "-C", d, *j]

    # 1. Full build: the first history command on a repository without an index.
    build_cmd = ["history", "index", "-C", d] if "index" in commands else ip_at
    res.build_command = " ".join(["history", *build_cmd[1:2], "..."])
    walls, cpus = [], []
    for _ in range(max(1, args.build_repeat)):
        shutil.rmtree(index_dir, ignore_errors=True)
        wall, cpu, rss, proc = sampled([sys.executable, "-m", "driftaudit", *build_cmd], work, ENV)
        if proc.returncode != 0:
            raise SystemExit(
                f"driftaudit {' '.join(build_cmd)}: exit {proc.returncode}\n{proc.stderr}"
            )
        walls.append(wall)
        cpus.append(cpu)
        res.build_rss_mb = max(res.build_rss_mb, rss)
        print(f"full build: {wall:.1f} s, peak RSS {rss:.0f} MB", file=sys.stderr)
    res.build = Timing(statistics.median(walls), min(walls), statistics.median(cpus), len(walls))
    parse, proc = repeat([sys.executable, "-c", TREE_PARSE], work, args.baseline_repeat, tool=False)
    res.tree_parse, res.tree_files = parse, int(proc.stdout)
    print(f"LibYAML parse of the tree: {parse.wall:.1f} s", file=sys.stderr)
    res.notes += [f"full build: {line}" for line in proc.stderr.splitlines()]
    res.index_mb = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 2**20

    # 2. Queries on the built index.
    shas = git_sha_of_day(work)
    queries: dict[str, list[str]] = {
        f"ip {STORY_IP} --at (held)": ip_at,
        f"ip {STORY_IP} --at (released)": ["history", "ip", STORY_IP, "--at", at_free, "-C", d, *j],
        f"ip {STORY_IP} (timeline)": ["history", "ip", STORY_IP, "-C", d, *j],
        f"ip {STORY_PUBLIC} (timeline, public)": ["history", "ip", STORY_PUBLIC, "-C", d, *j],
        f"rule --source {STORY_IP} --port 22": [
            "history", "rule", "--source", STORY_IP, "--port", "22", "-C", d, *j,
        ],
        f"rule --source {STORY_IP} (all ports)": [
            "history", "rule", "--source", STORY_IP, "-C", d, *j,
        ],
        f"exposure {STORY_IP} --port 22": [
            "history", "exposure", STORY_IP, "--port", "22", "-C", d, *j,
        ],
        # Issue 11: through a prefix list, through a group reference, another network.
        f"rule --source {LIST_IP} --port 22 (prefix list)": [
            "history", "rule", "--source", LIST_IP, "--port", "22", "-C", d, *j,
        ],
        f"rule --source {STORY_IP} --port 5432 (group reference)": [
            "history", "rule", "--source", STORY_IP, "--port", "5432", "-C", d, *j,
        ],
        f"ip {STAGE_IP} (another account's VPC, same CIDR)": [
            "history", "ip", STAGE_IP, "-C", d, *j,
        ],
        f"exposure {STAGE_IP} --port 22 (scoped by network)": [
            "history", "exposure", STAGE_IP, "--port", "22", "-C", d, *j,
        ],
    }  # fmt: skip
    answers: dict[str, Answer] = {}
    for name, cmd in queries.items():
        timing, proc = repeat(cmd, work, args.repeat)
        res.queries[name] = timing
        answers[name] = Answer.of(proc)
        print(f"{name}: {timing.wall:.3f} s", file=sys.stderr)
    names = list(queries)
    checks.names(answers[names[0]], names[0], [STORY_1], [STORY_2, STORY_3])
    checks.names(answers[names[1]], names[1], [], [STORY_1, STORY_2])
    checks.names(answers[names[2]], names[2], [STORY_1, STORY_2], [STORY_3])
    checks.bounds(answers[names[2]], names[2], ["launch1", "terminate1", "launch2"])
    checks.names(answers[names[3]], names[3], [STORY_1, STORY_3], [STORY_2])
    checks.bounds(answers[names[3]], names[3], ["public_moved", "launch3", "terminate3"])
    rule22 = answers[names[4]]
    checks.names(rule22, names[4], [STORY_GROUP, "10.191.12.0/24", f"{STORY_IP}/32"], [])
    checks.expect(rule22.ids("sg") <= {STORY_GROUP}, f"{names[4]}: other groups {rule22.ids('sg')}")
    checks.bounds(rule22, names[4], ["rule24", "rule32", "rule32_gone"])
    for event in ("rule32", "rule32_gone"):
        sha = shas[day(event)]
        checks.expect(
            any(sha.startswith(t) and len(t) >= 7 for t in rule22.texts) or rule22.names(sha[:12]),
            f"{names[4]}: commit {sha[:12]} ({event}) missing",
        )
    every = answers[names[5]]
    covering = set(meta["covering_groups"])
    missing = covering - every.ids("sg")
    checks.expect(not missing, f"{names[5]}: {len(missing)} of {len(covering)} groups missing")
    checks.bounds(answers[names[6]], names[6], ["rule24", "launch1", "terminate1", "launch2"])
    listed = answers[names[7]]
    checks.names(listed, names[7], [STORY_GROUP, STORY_LIST, f"{LIST_IP}/32"], [])
    checks.expect(listed.ids("sg") == {STORY_GROUP}, f"{names[7]}: groups {listed.ids('sg')}")
    checks.bounds(listed, names[7], ["rule_list"])
    referenced = answers[names[8]]
    checks.names(referenced, names[8], [STORY_DB, STORY_WEB, STORY_1], [STORY_2, STORY_3])
    checks.bounds(referenced, names[8], ["launch1", "terminate1"])
    checks.names(answers[names[9]], names[9], [STORY_4, STAGING, STAGING_VPC], [STORY_1])
    scoped = answers[names[10]]
    checks.names(scoped, names[10], [STORY_4, f"{STAGE_IP}/32"], [])
    checks.bounds(scoped, names[10], ["rule99", "peered"])

    # 3. Incremental: one new snapshot commit (bench-next), then the same query again.
    at_next = iso(day_time(args.days) + dt.timedelta(hours=1))
    ip_next = ["history", "ip", STORY_IP, "--at", at_next, "-C", d, *j]
    before = Answer.of(driftaudit(ip_next, work)[2])
    checks.names(before, "ip --at after the last commit (before bench-next)", [STORY_2], [])
    subprocess.run(
        ["git", "merge", "-q", "--ff-only", "bench-next"], cwd=work, check=True, capture_output=True
    )
    # The same one-commit update several times: the index as it was before the commit is put
    # back before each run (the index checks itself, and finds HEAD one commit ahead of it).
    saved = work.parent / "index-before-next"
    shutil.copytree(index_dir, saved)
    walls, cpus = [], []
    for _ in range(max(1, args.repeat)):
        shutil.rmtree(index_dir)
        shutil.copytree(saved, index_dir)
        wall, cpu, proc = driftaudit(ip_next, work)
        walls.append(wall)
        cpus.append(cpu)
        mode = "history index updated: 1 snapshot commit(s)"
        checks.expect(mode in proc.stderr, f"incremental: {mode!r} not in {proc.stderr!r}")
    checks.names(Answer.of(proc), "ip --at after bench-next (incremental)", [], [STORY_2])
    res.incremental = Timing(
        statistics.median(walls), min(walls), statistics.median(cpus), len(walls)
    )
    res.notes += [f"incremental: {line}" for line in proc.stderr.splitlines()]
    print(f"incremental: {res.incremental.wall:.3f} s", file=sys.stderr)
    res.incremental_steady, _ = repeat(ip_next, work, args.repeat)

    # 4. The 2012 way over the same repository (now including bench-next, like driftaudit).
    pickaxe = ["git", "log", f"-S{STORY_IP}", "--format=%H %cI", "--", "."]
    regex = STORY_IP.replace(".", r"\.") + "([^0-9]|$)"
    grep = ["git", "log", "-E", f"-G{regex}", "--format=%H %cI", "--", "."]
    for name, cmd in ((f"git log -S{STORY_IP}", pickaxe), (f"git log -G'{regex}'", grep)):
        timing, proc = repeat(cmd, work, args.baseline_repeat, tool=False)
        res.baselines[name] = (timing, len(proc.stdout.splitlines()))
        print(f"{name}: {timing.wall:.2f} s", file=sys.stderr)
    return res, checks


# --- report ----------------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return (
        f"{seconds:.3f} s"
        if seconds < 1
        else f"{seconds:.2f} s"
        if seconds < 10
        else f"{seconds:.0f} s"
    )


def _timing(t: Timing) -> str:
    return f"{_s(t.wall)} ({_s(t.fastest)})" if t.runs > 1 else _s(t.wall)


def markdown(
    res: Results, checks: Checks, meta: dict[str, Any], args: argparse.Namespace, floor: float,
    load: str,
) -> str:  # fmt: skip
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    pickaxe_name, (pickaxe, pickaxe_commits) = next(iter(res.baselines.items()))

    def ratio(t: Timing) -> str:
        r = pickaxe.wall / t.wall
        return f"{r:.2f}" if r < 10 else f"{r:,.0f}"

    def row(name: str, t: Timing, target: float | None) -> str:
        verdict = "-" if target is None else ("yes" if t.wall < target else "**no**")
        goal = "-" if target is None else f"< {_s(target)}"
        return f"| {name} | {_timing(t)} | {_s(t.cpu)} | {ratio(t)} | {goal} | {verdict} |"

    assert res.build is not None and res.incremental is not None
    assert res.incremental_steady is not None and res.tree_parse is not None
    lines = [
        "# driftaudit history vs `git log -S` (issue 5)",
        "",
        f"Synthetic history: {meta['days']} daily snapshot commits (plus one for the incremental "
        f"update) of {meta['instances']:,} instances and {meta['groups']:,} security groups in "
        f"3 regions, {meta['churn']:.0%} churn a day (on average {meta['files_changed_per_day']} "
        f"files changed per commit; {meta['files_in_last_snapshot']:,} files in the last "
        f"snapshot; .git {meta['git_mb']} MB after `git gc`; seed {meta['seed']}). "
        f"Generated by one `git fast-import` stream in {meta['generate_seconds']} s "
        f"(cached under bench/results/history-cache/).",
        "",
        f"Python {platform.python_version()}, {git_version.strip()}, {os.cpu_count()} CPUs, "
        f"load average before the run {load}. Every command is a fresh process "
        f"(`python -m driftaudit ...`, start-up included; `python -c pass` alone: {_s(floor)}); "
        f"queries: median of {args.repeat} runs after one warm-up, fastest in brackets; "
        f"CPU = user+sys of the process and its children (git, worker processes). Index: "
        f"{res.index_mb:.1f} MB. Last column but two: `{pickaxe_name}` wall time / this wall "
        f"time (above 1: driftaudit is faster). Peak RSS of the full build, the process and "
        f"its children summed (sampled from /proc): {res.build_rss_mb:.0f} MB.",
        "",
        "| measurement | wall | CPU | `git log -S` / this | target | met |",
        "|---|---:|---:|---:|---:|:-:|",
        row(f"full index build (`{res.build_command}`, no index yet)", res.build, 60.0),
        f"| baseline: LibYAML parse of the tree ({res.tree_files:,} files, one process) "
        f"| {_timing(res.tree_parse)} | {_s(res.tree_parse.cpu)} | {ratio(res.tree_parse)} "
        f"| - | - |",
        row(
            f"incremental: first `history ip --at` after one new commit "
            f"({meta['next_commit_files']} files changed)",
            res.incremental,
            1.0,
        ),
        row("  the same query once up to date", res.incremental_steady, None),
    ]
    lines += [row(f"`history {name}`", t, 0.5) for name, t in res.queries.items()]
    for name, (t, commits) in res.baselines.items():
        lines.append(
            f"| baseline: `{name} --format='%H %cI' -- .` ({commits} commits listed) "
            f"| {_timing(t)} | {_s(t.cpu)} | {ratio(t)} | - | - |"
        )
    lines += [
        "",
        f"Answers checked against the planted story: {checks.passed} checks passed, "
        f"{len(checks.problems)} failed.",
    ]
    lines += [f"- FAILED: {p}" for p in checks.problems]
    lines += [
        "",
        f"`git log -S{STORY_IP}` lists the commits where the number of occurrences of that "
        f"string changed in some file, look-alikes included ({STORY_IP}0 to {STORY_IP}9): it "
        f"names no holder and no window, and cannot find a rule that covers the address by "
        f"CIDR (10.191.12.0/24); each listed commit still has to be read by hand. driftaudit "
        f"answers the question itself.",
        "",
    ]
    lines += [f"- {note}" for note in res.notes]
    return "\n".join(lines) + "\n"


def startup() -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="daily commits (default 365)")
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--churn", type=float, default=0.01, help="share changed a day")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--build-repeat", type=int, default=1, help="timed full builds")
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached repo")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the working copy")
    parser.add_argument("--output", type=Path, default=RESULTS / "history.md")
    args = parser.parse_args()
    if args.days < 20:
        parser.error("--days must be at least 20 (the story needs distinct days)")
    cached, meta = cached_repo(args)
    if args.generate_only:
        print(json.dumps({k: v for k, v in meta.items() if k != "covering_groups"}, indent=1))
        return 0
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    floor = startup()
    tmp = Path(tempfile.mkdtemp(prefix="driftaudit-historybench-"))
    work = tmp / "repo"
    try:
        # A fresh copy each run: the incremental step adds a commit and the index is built here.
        shutil.copytree(cached, work, symlinks=True)
        res, checks = measure(work, meta, args)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    load += (
        ", after {:.2f} {:.2f} {:.2f} (on a busy machine wall time also measures the "
        "neighbours; CPU time much less so)".format(*os.getloadavg())
    )
    text = markdown(res, checks, meta, args, floor, load)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 1 if checks.problems else 0


if __name__ == "__main__":
    sys.exit(main())
