"""Scale benchmark (issue 14): a 50,000-resource snapshot history built from driftaudit's own
output, and each command's cost against its floor, in one run.

    python bench/scale_bench.py                   # 50,000 resources, 6 daily commits, 1% churn
    python bench/scale_bench.py --resources 5000  # a quick run
    options: --days N, --churn F, --seed N, --regenerate, --repeat N, --only NAME,
             --first-snapshot-size S|M|L

Building (cached under bench/results/scale-cache/, so later runs skip it):

1. a moto server (bench/fast_moto.py) is seeded with a small fleet of every type
   (tests/support/seed.py, ``--template-instances`` instances in us-east-1) and
   ``driftaudit snapshot`` writes it: the *template*, every file the tool's own output;
2. the template is cloned into as many copies as 50,000 resources need, spread over accounts
   (each copy's AWS ids get their own hex digits, the account id its own number, in the text
   and the path alike) and written back through ``canonical.normalize`` and ``dumps``, so
   every file is canonical, schema-valid and where its content says;
3. ``--days`` daily commits (real git): each day ``--churn`` of the resources change (a tag
   value), and a tenth as many are removed and as many added (new copies).

Measuring: every command runs as a fresh process, start-up included; CPU is user+sys of the
process and its children. Each measurement is a :class:`Measure` in :data:`MEASURES`, each
against its own floor, all in one table: validate (a LibYAML parse of the same files), diff
(cat-file + LibYAML of the changed blobs), history (a LibYAML parse of the tree; a query
against ``git log -S``), the commit of a day (``git add -A`` + ``git commit``) and the first
snapshot (bench/snapshot_bench.py's fleet through its paced +50 ms proxy, against raw boto3's
sequential describes). The table goes to stdout and bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from driftaudit.canonical import dumps, normalize  # noqa: E402
from driftaudit.collect.collectors import REGISTRY  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "scale-cache"
#: Bump when the generated repository changes: it is part of the cache key.
GENERATOR_VERSION = 1
TEMPLATE_ACCOUNT = "123456789012"
REGION = "us-east-1"
# An AWS id: a prefix (i, sg, vol, subnet, eni-attach...) and 8 or 17 hex digits.
AWS_ID = re.compile(r"\b((?:[a-z]+-)+)([0-9a-f]{8}|[0-9a-f]{17})\b")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


# --- building ---------------------------------------------------------------------------


def template(work: Path, instances: int, seed: int) -> dict[str, bytes]:
    """rel path -> bytes of every file one ``driftaudit snapshot`` of a seeded emulator
    writes (every registered type)."""
    from snapshot_bench import client_env, close_key_pair_race, emulator

    from tests.support.seed import seed_fleet

    os.environ.update(client_env())
    with emulator(stock=False, log_dir=work) as server:
        seed_fleet(server.url, [REGION], instances, seed=seed)
        close_key_pair_race(server.url)
        out = work / "template"
        subprocess.run(
            [sys.executable, "-m", "driftaudit", "snapshot", REGION, "-o", str(out), "-q"]
            + ["--endpoint-url", server.url],
            cwd=ROOT,
            env=client_env(),
            check=True,
        )
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.yaml")}


def clone_text(text: str, copy: int, account: str) -> str:
    """The template text with the copy's own ids: each id's first hex digits replaced by
    the copy's number (the same id in every file of the copy, so references still hold)."""

    def swap(m: re.Match[str]) -> str:
        digits = m.group(2)
        mark = f"{copy:05x}"
        return m.group(1) + mark + digits[len(mark) :]

    return AWS_ID.sub(swap, text).replace(TEMPLATE_ACCOUNT, account)


def canonical_copy(data: bytes, copy: int, account: str) -> tuple[str, bytes]:
    """(rel path, canonical bytes) of one template file's copy."""
    from driftaudit import canonread

    doc = canonread.read(clone_text(data.decode("utf-8"), copy, account))
    rtype = REGISTRY[doc["type"]]
    doc["resource"] = normalize(doc["resource"], rtype.spec)
    rel = f"{doc['account']}/{doc['region']}/{doc['type']}/{doc['id']}.yaml"
    return rel, dumps(doc)


def changed_copy(data: bytes, day: int) -> bytes:
    """A day's change to one file: a tag of its own (as someone tagging resources)."""
    from driftaudit import canonread

    doc = canonread.read(data.decode("utf-8"))
    tags = doc["resource"].get("Tags")
    if not isinstance(tags, dict):
        tags = doc["resource"]["Tags"] = {}
    tags["scale-bench-day"] = str(day)
    doc["resource"] = normalize(doc["resource"], REGISTRY[doc["type"]].spec)
    return dumps(doc)


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    out = subprocess.run(
        [*GIT, *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout


def build(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    files = template(home, args.template_instances, args.seed)
    per_copy = len(files)
    copies = -(-args.resources // per_copy)
    repo = home / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    rng = random.Random(args.seed)
    tree: dict[str, bytes] = {}
    for copy in range(1, copies + 1):
        account = f"{100000000000 + copy // 50:012d}"  # 50 copies an account
        for data in files.values():
            rel, out = canonical_copy(data, copy, account)
            tree[rel] = out
    for rel, data in tree.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    day0 = "2026-11-01T06:00:00+00:00"
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "day 0", date=day0)
    next_copy = copies + 1
    changed_last = 0
    for day in range(1, args.days):
        paths = sorted(tree)
        change = rng.sample(paths, int(len(paths) * args.churn))
        gone = rng.sample(sorted(set(paths) - set(change)), max(1, len(change) // 10))
        for rel in change:
            tree[rel] = changed_copy(tree[rel], day)
            (repo / rel).write_bytes(tree[rel])
        for rel in gone:
            del tree[rel]
            (repo / rel).unlink()
        added = 0
        while added < len(gone):  # whole new copies' files, as resources launched
            account = f"{100000000000 + next_copy // 50:012d}"
            for data in files.values():
                rel, out = canonical_copy(data, next_copy, account)
                tree[rel] = out
                path = repo / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(out)
                added += 1
                if added >= len(gone):
                    break
            next_copy += 1
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"day {day}", date=f"2026-11-{1 + day:02d}T06:00:00+00:00")
        changed_last = len(change) + len(gone) + added
    return {
        "template_files": per_copy,
        "copies": copies,
        "files": len(tree),
        "days": args.days,
        "changed_last_day": changed_last,
        "build_seconds": round(time.perf_counter() - start, 1),
    }


def cached_repo(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    key = (
        f"r{args.resources}-d{args.days}-c{args.churn:g}-t{args.template_instances}"
        f"-s{args.seed}-v{GENERATOR_VERSION}"
    )
    home = CACHE / key
    if args.regenerate and home.exists():
        shutil.rmtree(home)
    if not (home / "meta.json").exists():
        print(f"building {key} (once; cached) ...", file=sys.stderr, flush=True)
        partial = CACHE / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        meta = build(partial, args)
        (partial / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        partial.rename(home)
    return home / "repo", json.loads((home / "meta.json").read_text())


# --- measuring --------------------------------------------------------------------------


@dataclass
class Timing:
    wall: float
    cpu: float


def timed(
    cmd: list[str], cwd: Path, repeat: int, stdin: str | None = None, ok: tuple[int, ...] = (0,)
) -> Timing:
    """The fastest of ``repeat`` runs of a fresh process (wall, and CPU of that run), each
    given ``stdin``; an exit status not in ``ok`` stops the benchmark."""
    best: Timing | None = None
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in ok:
            raise RuntimeError(f"{' '.join(cmd[:6])} exited {proc.returncode}:\n{proc.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None or wall < best.wall:
            best = Timing(wall, cpu)
    assert best is not None
    return best


#: The floor: read the files named on stdin (or every snapshot file under a directory) and
#: parse each with LibYAML, nothing else: what any reader of the tree pays at least.
FLOOR = """
import sys, yaml
from pathlib import Path
where = sys.argv[1]
paths = sys.stdin.read().split("\\0") if where == "-" else Path(where).glob("*/*/*/*.yaml")
n = 0
for p in paths:
    if p:
        yaml.load(Path(p).read_bytes(), Loader=yaml.CSafeLoader); n += 1
print(n)
"""


def floor(repo: Path, names: list[str] | None, repeat: int) -> Timing:
    cmd = [sys.executable, "-c", FLOOR, "-" if names is not None else str(repo)]
    return timed(cmd, repo, repeat, None if names is None else "\0".join(names))


def driftaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "driftaudit", *args]


@dataclass
class Row:
    what: str
    files: int
    timing: Timing
    floor: Timing | None = None
    note: str = ""
    #: Peak resident memory of the process and its children, summed (MB), where measured.
    rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.files / self.timing.wall


@dataclass
class Measure:
    """One group of rows: ``run(repo, meta, args)`` measures it."""

    name: str
    run: Callable[[Path, dict[str, Any], argparse.Namespace], list[Row]]
    rows: list[Row] = field(default_factory=list)


def measure_validate(repo: Path, meta: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    files = meta["files"]
    whole_floor = floor(repo, None, args.repeat)
    cores = len(os.sched_getaffinity(0))
    rows = [
        Row(
            "validate, whole tree, 1 process",
            files,
            timed(driftaudit("validate", "-q", "-j", "1", "."), repo, args.repeat),
            whole_floor,
        ),
        Row(
            f"validate, whole tree, {cores} processes",
            files,
            timed(driftaudit("validate", "-q", "-j", str(cores), "."), repo, args.repeat),
            whole_floor,
        ),
    ]
    names = git(repo, "diff", "--name-only", "--diff-filter=d", "HEAD~1").split()
    rows.append(
        Row(
            "validate --changed HEAD~1 (the last day)",
            len(names),
            timed(driftaudit("validate", "-q", "--changed", "HEAD~1"), repo, args.repeat),
            floor(repo, names, args.repeat),
        )
    )
    return rows


# --- history -------------------------------------------------------------------------------


def sampled(cmd: list[str], cwd: Path) -> tuple[Timing, float]:
    """One run of a fresh process: its timing and the peak resident memory of its process
    tree (bench/proctree.py)."""
    from proctree import sampled as run_sampled

    wall, cpu, peak, proc = run_sampled(cmd, cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} exited {proc.returncode}:\n{proc.stderr}")
    return Timing(wall, cpu), peak


def best_sampled(
    cmd: list[str], cwd: Path, repeat: int, before: Callable[[], None]
) -> tuple[Timing, float]:
    """The fastest of ``repeat`` runs, ``before()`` each (and the largest peak RSS)."""
    runs = []
    for _ in range(repeat):
        before()
        runs.append(sampled(cmd, cwd))
    return min(runs, key=lambda r: r[0].wall)[0], max(r[1] for r in runs)


def measure_history(repo: Path, meta: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """``driftaudit history`` on the 50,000-resource history: the full index build against
    one LibYAML parse of the tree; the update after the last day (the index built at the day
    before) against a LibYAML parse of that day's files; a query against ``git log -S``."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="scale-history-"))
    try:
        clone = work / "repo"
        subprocess.run([*GIT, "clone", "-q", str(repo), str(clone)], check=True)
        index = clone / ".driftaudit" / "history.sqlite"
        address = _held_address(clone)
        ask = driftaudit("history", "ip", address, "--at", "2026-12-01", "-C", ".")

        def no_index() -> None:
            shutil.rmtree(clone / ".driftaudit", ignore_errors=True)

        build, build_rss = best_sampled(ask, clone, args.repeat, no_index)
        size_mb = index.stat().st_size / 2**20
        rows = [
            Row(
                "history: full index build (no index yet)",
                meta["files"],
                build,
                floor(clone, None, args.repeat),
                f"index {size_mb:.0f} MB",
                build_rss,
            )
        ]
        head = git(clone, "rev-parse", "HEAD").strip()
        names = git(clone, "diff", "--name-only", "--diff-filter=d", "HEAD~1").split()
        git(clone, "reset", "-q", "--hard", "HEAD~1")
        no_index()
        timed(ask, clone, 1)  # the index of the day before
        saved = work / "before.sqlite"
        shutil.copy(index, saved)
        git(clone, "reset", "-q", "--hard", head)

        def day_before() -> None:
            shutil.copy(saved, index)

        # Medians of alternate runs: the update is a fraction of a second on top of the
        # query, and the neighbours' load moves single runs by as much.
        updates, queries = [], []
        for _ in range(max(5, args.repeat)):
            day_before()
            updates.append(sampled(ask, clone))
            queries.append(sampled(ask, clone))
        update, query = _median(updates), _median(queries)
        rows.append(
            Row(
                "history: incremental update after the last day, and a query (medians)",
                len(names),
                update,
                floor(clone, names, args.repeat),
                f"the update alone (medians' difference): {update.wall - query.wall:.2f} s, "
                f"{update.cpu - query.cpu:.2f} s CPU",
                max(r[1] for r in updates),
            )
        )
        query_rss = max(r[1] for r in queries)
        log_s = timed(
            [*GIT, "log", "-S", address, "--format=%H %cI", "--", "."], clone, args.repeat
        )
        rows.append(
            Row(
                f"history ip {address} --at, median (floor: `git log -S{address}`)",
                0,
                query,
                log_s,
                "",
                query_rss,
            )
        )
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _median(runs: list[tuple[Timing, float]]) -> Timing:
    return Timing(
        statistics.median(t.wall for t, _ in runs), statistics.median(t.cpu for t, _ in runs)
    )


def _held_address(repo: Path) -> str:
    """The private address of the first instance of the tree (held in every copy)."""
    for path in sorted(repo.glob("*/*/instances/*.yaml")):
        found = re.search(r"^  PrivateIpAddress: (\S+)$", path.read_text(), re.M)
        if found:
            return found.group(1)
    raise SystemExit("no instance with a private address in the scale repository")


# --- diff --------------------------------------------------------------------------------

#: The diff's floor: read the blobs named on stdin with one ``git cat-file --batch`` and
#: parse each with LibYAML, nothing else: what any reader of the changed files pays at least.
BLOB_FLOOR = """
import subprocess, sys, yaml
ids = sys.stdin.read().split()
data = subprocess.run(["git", "cat-file", "--batch"], input=("\\n".join(ids) + "\\n").encode(),
                      capture_output=True, check=True).stdout
pos = n = 0
while pos < len(data):
    end = data.index(b"\\n", pos)
    size = int(data[pos:end].split()[2])
    yaml.load(data[end + 1 : end + 1 + size], Loader=yaml.CSafeLoader); n += 1
    pos = end + 1 + size + 1
print(n)
"""


def changed_blobs(repo: Path, *pairs: tuple[str, str]) -> tuple[set[str], int]:
    """The blob ids on either side of every snapshot file these pairs of revisions change
    (``git diff --raw``), and how many files the first pair changes."""
    blobs: set[str] = set()
    first = 0
    for n, (a, b) in enumerate(pairs):
        raw = git(repo, "diff", "--raw", "--no-abbrev", "--no-renames", a, b, "--", "*.yaml")
        lines = raw.splitlines()
        first = len(lines) if n == 0 else first
        for line in lines:
            blobs |= set(line.split()[2:4]) - {"0" * 40}
    return blobs, first


def blob_floor(repo: Path, blobs: set[str], repeat: int) -> Timing:
    """The fastest of ``repeat`` fresh processes reading ``blobs`` (cat-file + LibYAML)."""
    return timed([sys.executable, "-c", BLOB_FLOOR], repo, repeat, "\n".join(sorted(blobs)))


def timed_diff(args: list[str], repo: Path, repeat: int) -> Timing:
    """``driftaudit diff`` (exit 2: changes found) timed as a fresh process, after a first
    run that may write the interpreter's bytecode (an installed package has it; a checkout
    run with PYTHONDONTWRITEBYTECODE would compile every module in every run)."""
    cmd = driftaudit("diff", *args)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, cwd=repo, env=env, capture_output=True)
    return timed(cmd, repo, repeat, ok=(0, 2))


def measure_diff(repo: Path, meta: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """``driftaudit diff`` of the last day (text; JSON, with its per-day chart) and of the
    last five days (JSON: the range and each day's commit), each against reading and
    parsing only the blobs it needs: both sides of every changed file of the range and, for
    the chart, of each commit of it."""
    repeat = max(3, args.repeat)
    day_blobs, day_files = changed_blobs(repo, ("HEAD~1", "HEAD"))
    day_floor = blob_floor(repo, day_blobs, repeat)
    days = min(5, meta["days"] - 1)
    pairs = [(f"HEAD~{days}", "HEAD")] + [(f"HEAD~{n + 1}", f"HEAD~{n}") for n in range(days)]
    range_blobs, range_files = changed_blobs(repo, *pairs)
    floor_note = "floor: {} blobs (both sides of every changed file{})"
    return [
        Row(
            "diff HEAD~1 HEAD (text)",
            day_files,
            timed_diff(["HEAD~1", "HEAD"], repo, repeat),
            day_floor,
            floor_note.format(len(day_blobs), ""),
        ),
        Row(
            "diff HEAD~1 HEAD --format json (with the per-day chart)",
            day_files,
            timed_diff(["HEAD~1", "HEAD", "--format", "json"], repo, repeat),
            day_floor,
        ),
        Row(
            f"diff HEAD~{days} HEAD --format json (the range and each of its {days} days)",
            range_files,
            timed_diff([f"HEAD~{days}", "HEAD", "--format", "json"], repo, repeat),
            blob_floor(repo, range_blobs, repeat),
            floor_note.format(len(range_blobs), ", of the range and of each day"),
        ),
    ]


#: Every measurement of this benchmark, in table order. Add diff and history here.
# --- commit and the first snapshot ----------------------------------------------------------

#: driftaudit's commit of a snapshot already written (what ``snapshot --commit`` does after
#: the files are on disk): the working-tree diff for the message, staging, the commit.
COMMIT = """
import sys
from pathlib import Path
from driftaudit.change.commit import commit_snapshot
from driftaudit.collect.job import SnapshotOutcome
from driftaudit.gitrepo import Repo
outcome = SnapshotOutcome(accounts=["*"], regions=["us-east-1"], resources=int(sys.argv[1]))
print(commit_snapshot(Repo(Path(".")), "", outcome).changes)
"""


def measure_commit(repo: Path, meta: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Committing the last day (``snapshot --commit`` once the files are written): in a clone
    whose HEAD is the day before and whose working tree holds the last day, driftaudit's
    commit (the working tree's diff for the message, staging exactly the snapshot files, the
    commit) against its floor, ``git add -A`` and ``git commit`` of the same change."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="scale-commit-"))
    try:
        clone = work / "repo"
        subprocess.run([*GIT, "clone", "-q", str(repo), str(clone)], check=True)
        head = git(clone, "rev-parse", "HEAD").strip()
        names = git(clone, "diff", "--name-only", "HEAD~1").split()

        def day_written() -> None:
            git(clone, "reset", "-q", "--hard", head)
            git(clone, "reset", "-q", "--mixed", "HEAD~1")

        ours, floors = [], []
        for _ in range(args.repeat):
            day_written()
            ours.append(timed([sys.executable, "-c", COMMIT, str(meta["files"])], clone, 1))
            day_written()
            commit = f"{shlex.join(GIT)} add -A . && {shlex.join(GIT)} commit -q -m floor"
            floors.append(timed(["sh", "-c", commit], clone, 1))
        return [
            Row(
                "commit of the last day (floor: `git add -A` + `git commit`)",
                len(names),
                min(ours, key=lambda t: t.wall),
                min(floors, key=lambda t: t.wall),
            )
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_first_snapshot(repo: Path, meta: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """The first snapshot of bench/snapshot_bench.py's size L (3,000 instances, 11,500
    files) through its paced +50 ms proxy, against raw boto3's sequential describes (the
    floor: the same calls, nothing written). Independent of the history above."""
    from snapshot_bench import first_snapshot_paced

    raw, ours, seeded = first_snapshot_paced(args.first_snapshot_size)
    return [
        Row(
            f"first snapshot, size {args.first_snapshot_size}, +50 ms paced "
            "(floor: raw boto3's describes, sequential)",
            ours.files or 0,
            Timing(ours.wall, sum(ours.client_cpu)),
            Timing(raw.wall, sum(raw.client_cpu)),
            f"{ours.requests} requests; client CPU {ours.client_cpu[0]:.1f} s user + "
            f"{ours.client_cpu[1]:.1f} s system; raw boto3 "
            f"{raw.wall / ours.wall:.2f}x slower ({seeded})",
            ours.rss_mb,
        )
    ]


MEASURES: list[Measure] = [
    Measure("validate", measure_validate),
    Measure("diff", measure_diff),
    Measure("history", measure_history),
    Measure("commit", measure_commit),
    Measure("first-snapshot", measure_first_snapshot),
]


def markdown(rows: list[Row], meta: dict[str, Any], load: tuple[float, float]) -> str:
    out = [
        f"### Scale benchmark: {meta['files']:,} files, {meta['days']} daily commits",
        "",
        "| measurement | files | wall | CPU | files/s | peak RSS | floor | vs floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fl = f"{r.floor.wall:.2f} s" if r.floor else "—"
        ratio = f"{r.timing.wall / r.floor.wall:.2f}x" if r.floor else "—"
        rss = f"{r.rss_mb:,.0f} MB" if r.rss_mb is not None else "—"
        out.append(
            f"| {r.what} | {r.files:,} | {r.timing.wall:.2f} s | {r.timing.cpu:.2f} s | "
            f"{r.rate:,.0f} | {rss} | {fl} | {ratio} |"
        )
    out += [
        "",
        f"- Built from {meta['template_files']} files of one `driftaudit snapshot` of moto "
        f"(every type), cloned {meta['copies']} times over accounts; {meta['days']} daily "
        f"commits, the last one changing {meta['changed_last_day']} files; built in "
        f"{meta['build_seconds']} s (cached).",
        "- Fresh processes, start-up included; fastest of the runs; unless a row names its "
        "floor, the floor is a Python process reading the same files and parsing each with "
        "LibYAML (`yaml.CSafeLoader`), nothing else.",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; 1-minute load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after (other work on the machine skews wall times).",
        *(f"- {r.what}: {r.note}." for r in rows if r.note),
    ]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--template-instances", type=int, default=60)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--first-snapshot-size",
        default="L",
        choices=["S", "M", "L"],
        help="bench/snapshot_bench.py's size for the first snapshot (L: 3,000 instances)",
    )
    parser.add_argument(
        "--only", choices=[m.name for m in MEASURES], action="append", help="these measurements"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    # Every command as an installed package runs: from bytecode, compiled once here (a
    # checkout run with PYTHONDONTWRITEBYTECODE would compile every module in every run).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "driftaudit")], check=True)
    repo, meta = cached_repo(args)
    load = os.getloadavg()[0]
    rows: list[Row] = []
    for m in MEASURES:
        if args.only and m.name not in args.only:
            continue
        print(f"measuring {m.name} ...", file=sys.stderr, flush=True)
        m.rows = m.run(repo, meta, args)
        rows += m.rows
    text = markdown(rows, meta, (load, os.getloadavg()[0]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
