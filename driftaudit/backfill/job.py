"""The backfill run, as ``driftaudit backfill`` drives it.

1. DIR is made ready: a new repository (or one without commits) with nothing in the way,
   its lock held; checkpoints of an interrupted run of the same question are reused.
2. The coverage report (:mod:`.coverage`) is said first.
3. A snapshot of now is taken with the collectors (the ids already known, and the state of
   every resource that did not change in the period).
4. Every resource Config knows of (ListDiscoveredResources with deleted ones) and every one
   the snapshot shows is read (:mod:`.fetch`), a bounded number at once, each kept in a
   checkpoint as soon as it is read.
5. The items are converted (:mod:`.convert`) and merged into snapshots (:mod:`.timeline`),
   written as commits dated at their capture times (:mod:`.commits`).
6. The snapshot of now is committed on top, as ``snapshot --commit`` would commit it: the
   daily job goes on from there, and what Config does not record (security-group rule
   ids...) appears in that commit.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from botocore.config import Config

from driftaudit.backfill import checkpoint, commits, coverage, fetch, timeline, windows
from driftaudit.backfill.convert import Converted, ItemProblem, convert, without
from driftaudit.backfill.source import AWS_CONFIG, Source, backfilled
from driftaudit.collect.aws import Account, ClientPool
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.collect.failures import classify_call
from driftaudit.collect.job import Committed, SnapshotOutcome, take_snapshot
from driftaudit.errors import DriftauditError
from driftaudit.gitrepo import GitError, Repo, open_repo
from driftaudit.lock import STATE_DIR, RunLock, acquire
from driftaudit.textsafe import one_line
from driftaudit.times import iso

Say = Callable[[str], None]


class BackfillError(DriftauditError):
    """The backfill cannot go on (one line: why, and what to do)."""


@dataclass(frozen=True)
class Settings:
    since: dt.datetime
    until: dt.datetime
    #: ``--since`` as given: a run asking the same continues from the checkpoints.
    since_text: str
    lookback: dt.timedelta
    regions: tuple[str, ...]
    types: tuple[ResourceType, ...]
    fmt: str = "yaml"
    workers: int = 16


@dataclass
class Outcome:
    commits: int = 0
    resources: int = 0
    calls: int = 0
    #: Histories read from checkpoints of an earlier, interrupted run.
    resumed: int = 0
    items: int = 0
    first: str | None = None
    last: str | None = None
    head: str = ""
    snapshot: Committed | None = None
    unknown_at_since: list[str] = field(default_factory=list)
    #: Known resources (the snapshot shows them) of which Config has no item.
    not_discovered: list[str] = field(default_factory=list)
    #: Items that could not be read, each named.
    problems: list[str] = field(default_factory=list)
    #: The snapshot of now could not read these parts (account/region/type: why).
    failed_parts: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)  # one per resource: told apart by identity
class Task:
    """One resource whose history is read."""

    account: Account
    region: str
    rtype: ResourceType
    config_type: str
    config_id: str
    deleted: dt.datetime | None
    #: Its file now (path relative to DIR, bytes), from the snapshot taken at the start.
    current: tuple[str, bytes] | None


class ConfigClients:
    """One AWS Config client per (account, region), shared by the workers (botocore clients
    are thread-safe), made under a lock. Its calls go through botocore's adaptive retry mode
    (client-side rate limiting on top of the standard retries; ``AWS_RETRY_MODE`` still
    chooses): a backfill makes tens of thousands of calls against a rate AWS does not
    publish. The snapshot of now keeps the pool's own clients and retries."""

    def __init__(self, pool: ClientPool) -> None:
        retries = dict(pool.config.retries or {})
        mode = os.environ.get("AWS_RETRY_MODE", "adaptive")
        retries["mode"] = mode if mode in ("standard", "adaptive") else "adaptive"
        self.config = pool.config.merge(Config(retries=retries))
        self.endpoint_url = pool.endpoint_url
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, account: Account, region: str) -> Any:
        key = (account.account_id, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = account.session.client(
                    "config",
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=self.config,
                )
            return self._clients[key]


# --- 1. the output ---------------------------------------------------------------------------


@dataclass
class Output:
    directory: Path
    repo: Repo
    rel: str
    lock: RunLock
    #: An earlier run wrote the backfilled commits and was interrupted before the end.
    finishing: bool = False
    #: An earlier run did everything but remove its checkpoints.
    complete: bool = False


def open_output(directory: Path) -> Output:
    """DIR made (``git init`` when in no repository) and locked. Refused: a repository that
    already has commits (git cannot put commits before its first: backfill into a new
    directory and let the daily job go on there), files in DIR, anything staged."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BackfillError(f"cannot create {directory}: {e.strerror or e}") from e
    repo, rel = open_repo(directory, create=True)
    lock = acquire(directory, f"driftaudit backfill -o {directory}")
    try:
        finishing = complete = False
        if repo.has_commits():
            ours = backfilled(repo, rel)
            count = int(repo.out("rev-list", "--count", "HEAD").strip() or 0)
            kept = (directory / STATE_DIR / checkpoint.SUBDIR / checkpoint.RUN_FILE).is_file()
            complete = kept and bool(ours) and len(ours) == count - 1 and _snapshot_on(repo, ours)
            if not (ours and len(ours) == count and kept) and not complete:
                raise BackfillError(
                    f"{directory} is in a repository with history ({count} commits): git "
                    "cannot put commits before its first; backfill into a new directory and "
                    "run the daily job there from then on (README: Starting with history)"
                )
            finishing = not complete
        else:
            in_the_way = sorted(
                e.name for e in os.scandir(directory) if e.name not in (".git", STATE_DIR)
            )
            if in_the_way:
                raise BackfillError(
                    f"{directory} is not empty ({', '.join(in_the_way[:3])}"
                    f"{', …' if len(in_the_way) > 3 else ''}): backfill writes a new "
                    "history; give a new or empty directory"
                )
            if repo.out("ls-files", "-z").strip("\0"):
                raise BackfillError(
                    f"the repository of {directory} has files staged: backfill writes a new "
                    "history; give a new or empty directory"
                )
    except BaseException:
        lock.release()
        raise
    return Output(directory, repo, rel, lock, finishing, complete)


def _snapshot_on(repo: Repo, ours: dict[str, str]) -> bool:
    """HEAD is the snapshot of now, committed on the last backfilled commit."""
    from driftaudit.change.rangediff import recorded_run

    parent = repo.git("rev-parse", "-q", "--verify", "HEAD^", check=False).stdout.decode().strip()
    return (
        parent == list(ours)[-1] and recorded_run(repo.out("log", "-1", "--format=%B")) is not None
    )


# --- 3. what is there now ----------------------------------------------------------------------


def current_files(
    outcome: SnapshotOutcome, types: tuple[ResourceType, ...], fmt: str
) -> dict[tuple[str, str, str, str], tuple[str, bytes]]:
    """(account, region, Config type, Config id) -> the file of a resource now, without what
    Config does not record (so that it reads as a backfilled one)."""
    by_name = {t.name: t for t in types}
    out: dict[tuple[str, str, str, str], tuple[str, bytes]] = {}
    for account, regions in outcome.document.items():
        for region, parts in regions.items():
            for type_name, resources in parts.items():
                rtype = by_name.get(type_name)
                if rtype is None or rtype.config is None:
                    continue
                for rid, resource in resources.items():
                    config_type, config_id = config_key(rtype, rid, resource)
                    out[(account, region, config_type, config_id)] = timeline.file_bytes(
                        account, region, type_name, rid, without(resource, rtype.config.lacks), fmt
                    )
    return out


def config_key(rtype: ResourceType, rid: str, resource: Raw) -> tuple[str, str]:
    assert rtype.config is not None
    if rtype.config.identify is not None:
        return rtype.config.identify(resource)
    return next(iter(rtype.config.types)), rid


# --- 4. reading the history --------------------------------------------------------------------


class Progress:
    """One self-rewriting line on a terminal: resources read, calls made."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self.total = self.done = self.calls = 0
        self.lock = threading.Lock()
        self.shown = 0.0

    def call(self) -> None:
        with self.lock:
            self.calls += 1
        self._draw()

    def step(self) -> None:
        with self.lock:
            self.done += 1
        self._draw(force=self.done == self.total)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled or (not force and time.monotonic() - self.shown < 0.2):
            return
        self.shown = time.monotonic()
        with self.lock:
            text = f"\r\x1b[K[{self.done}/{self.total} resources] {self.calls} calls"
            self.stream.write(text)
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def tasks(
    config: ConfigClients,
    targets: list[tuple[Account, list[str]]],
    types: tuple[ResourceType, ...],
    now: dict[tuple[str, str, str, str], tuple[str, bytes]],
) -> list[Task]:
    """Every resource to read: those Config lists (deleted ones included), and those the
    snapshot of now shows that it does not list."""
    found: list[Task] = []
    for account, regions in targets:
        for region in regions:
            client = config(account, region)
            for rtype in types:
                if rtype.config is None:
                    continue
                for config_type in rtype.config.types:
                    try:
                        listed = fetch.discovered(client, config_type)
                    except Exception as e:  # noqa: BLE001 - named, and the run stops
                        failure = classify_call(e, "config")
                        raise BackfillError(
                            f"{account} {region}: config:ListDiscoveredResources "
                            f"({config_type}) failed: {failure.describe()}"
                        ) from e
                    seen: set[str] = set()
                    for r in listed:
                        rid = str(r.get("resourceId") or "")
                        if not rid or rid in seen:
                            continue
                        seen.add(rid)
                        deleted = r.get("resourceDeletionTime")
                        current = now.get((account.account_id, region, config_type, rid))
                        when = deleted if isinstance(deleted, dt.datetime) else None
                        found.append(Task(account, region, rtype, config_type, rid, when, current))
                    # Known from the snapshot but not listed: asked all the same (Config
                    # says whether it has items); its state now says nothing of before.
                    here = (account.account_id, region, config_type)
                    for key in sorted(now):
                        if key[:3] == here and key[3] not in seen:
                            found.append(
                                Task(account, region, rtype, config_type, key[3], None, None)
                            )
    return found


def read_all(
    config: ConfigClients,
    todo: list[Task],
    settings: Settings,
    store: checkpoint.Checkpoints,
    progress: Progress,
) -> tuple[dict[Task, checkpoint.Saved], list[str], int, int]:
    """Every task's history (from its checkpoint, else from AWS, then kept), a bounded
    number at once; (histories, failures named, calls made, read from checkpoints)."""
    done: dict[Task, checkpoint.Saved] = {}
    failures: list[str] = []
    calls = 0
    resumed = 0
    lock = threading.Lock()

    def one(task: Task) -> tuple[checkpoint.Saved, int, bool]:
        account = task.account.account_id
        saved = store.load(account, task.region, task.config_type, task.config_id)
        if saved is not None:
            return saved, 0, True
        need = windows.need_for(
            settings.since,
            settings.until,
            settings.lookback,
            task.deleted,
            task.current is not None,
        )
        if need is None:
            saved = checkpoint.Saved(account, task.region, task.config_type, task.config_id, [], 0)
        else:
            client = config(task.account, task.region)
            history = fetch.read_history(
                client, task.config_type, task.config_id, need, progress.call
            )
            saved = checkpoint.Saved(
                account,
                task.region,
                task.config_type,
                task.config_id,
                [fetch.as_json(i) for i in history.items],
                history.calls,
                history.not_discovered,
            )
        store.save(saved)
        return saved, saved.calls, False

    progress.total = len(todo)
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, settings.workers), thread_name_prefix="backfill"
    ) as workers:
        futures = {workers.submit(one, t): t for t in todo}
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                saved, made, from_checkpoint = future.result()
            except checkpoint.CheckpointError:
                raise
            except Exception as e:  # noqa: BLE001 - named below; the others go on
                failure = classify_call(e, "config")
                with lock:
                    failures.append(
                        f"{task.account.account_id} {task.region} {task.config_type} "
                        f"{task.config_id}: {failure.describe()}"
                    )
            else:
                done[task] = saved
                calls += made
                resumed += from_checkpoint
            progress.step()
    progress.close()
    return done, sorted(failures), calls, resumed


# --- 5. items to snapshots -------------------------------------------------------------------


def converted(task: Task, saved: checkpoint.Saved, problems: list[str]) -> list[Converted]:
    out = []
    for item in saved.items:
        try:
            out.append(convert(task.rtype, item))
        except ItemProblem as e:
            when = item.get("configurationItemCaptureTime")
            problems.append(
                one_line(
                    f"{task.account.account_id} {task.region} {task.config_type} "
                    f"{task.config_id}: the item captured at {when} cannot be read: {e}; "
                    "left out"
                )
            )
    return out


# --- the run -----------------------------------------------------------------------------------


def run(
    pool: ClientPool,
    targets: list[tuple[Account, list[str]]],
    settings: Settings,
    directory: Path,
    say: Say = lambda line: print(line),
    warn: Say = lambda line: print(line, file=sys.stderr),
    progress: Progress | None = None,
) -> Outcome:
    output = open_output(directory)
    try:
        return _run(pool, targets, settings, output, say, warn, progress)
    finally:
        output.lock.release()


def _run(
    pool: ClientPool,
    targets: list[tuple[Account, list[str]]],
    settings: Settings,
    output: Output,
    say: Say,
    warn: Say,
    progress: Progress | None,
) -> Outcome:
    progress = progress or Progress(sys.stderr, enabled=False)
    config = ConfigClients(pool)
    outcome = Outcome()
    store = checkpoint.Checkpoints(output.directory)
    if output.complete:
        # Killed after its last commit, before removing its checkpoints: nothing is left.
        store.finish()
        warn(f"driftaudit: the backfill of {output.directory} was complete; checkpoints removed")
        outcome.head = output.repo.resolve("HEAD")
        return outcome
    accounts = sorted({a.account_id for a, _ in targets})
    regions = sorted({r for _, rs in targets for r in rs})
    record = {
        "since_text": settings.since_text,
        "since": iso(int(settings.since.timestamp())),
        "until": iso(int(settings.until.timestamp())),
        "regions": regions,
        "accounts": accounts,
        "types": [t.name for t in settings.types],
        "lookback_days": settings.lookback.days,
    }
    earlier = store.begin(record)
    if earlier is not None:
        from driftaudit.times import parse_when

        settings = Settings(
            parse_when(str(earlier["since"])),
            parse_when(str(earlier["until"])),
            settings.since_text,
            settings.lookback,
            settings.regions,
            settings.types,
            settings.fmt,
            settings.workers,
        )
        warn(
            f"driftaudit: continuing the backfill started earlier "
            f"({earlier['since']} .. {earlier['until']}) from its checkpoints"
        )

    # Where a recorder is: a region without one has no history (and Config answers its
    # ListDiscoveredResources with NoAvailableConfigurationRecorderException).
    recorded = targets
    if not output.finishing:
        recordings = []
        for account, account_regions in targets:
            for region in account_regions:
                try:
                    found = fetch.recorders(config(account, region))
                except Exception as e:  # noqa: BLE001 - named, and the run stops
                    raise BackfillError(
                        f"{account.account_id} {region}: config:DescribeConfigurationRecorders "
                        f"failed: {classify_call(e, 'config').describe()}"
                    ) from e
                recordings.append(
                    coverage.recording_of(
                        account.account_id, region, found.recorders, found.statuses
                    )
                )
        for line in coverage.report(recordings, list(settings.types)):
            say(line)
        if all(r.name is None for r in recordings):
            raise BackfillError(
                "AWS Config has no configuration recorder in any region asked: there is no "
                "history to read"
            )
        where = {(r.account, r.region) for r in recordings if r.name is not None}
        recorded = [
            (account, [r for r in regions if (account.account_id, r) in where])
            for account, regions in targets
        ]

    now = take_snapshot(
        pool, targets, list(settings.types), None, settings.fmt, settings.workers, warn=warn
    )
    outcome.failed_parts = [f"{p} {f.describe()}" for p, f in now.failed]

    if not output.finishing:
        _history(config, recorded, settings, output, store, now, outcome, say, warn, progress)
    if output.repo.has_commits():
        commits.check_out(output.repo)
    outcome.snapshot = _commit_now(output, now, settings.fmt)
    outcome.head = output.repo.resolve("HEAD")
    store.finish()
    return outcome


def _history(
    config: ConfigClients,
    targets: list[tuple[Account, list[str]]],
    settings: Settings,
    output: Output,
    store: checkpoint.Checkpoints,
    now: SnapshotOutcome,
    outcome: Outcome,
    say: Say,
    warn: Say,
    progress: Progress,
) -> None:
    current = current_files(now, settings.types, settings.fmt)
    todo = tasks(config, targets, settings.types, current)
    started = time.monotonic()
    done, failures, calls, resumed = read_all(config, todo, settings, store, progress)
    outcome.calls, outcome.resumed = calls, resumed
    if failures:
        for line in failures[:20]:
            warn(f"driftaudit: {line}")
        raise BackfillError(
            f"the history of {len(failures)} of {len(todo)} resources could not be read "
            f"(named above); the {len(done)} read are kept in "
            f"{output.directory / STATE_DIR / checkpoint.SUBDIR}: run the same command "
            "again to continue"
        )
    read: dict[str, coverage.Read] = {}
    resources = []
    for task in todo:
        saved = done[task]
        if saved.not_discovered:
            outcome.not_discovered.append(f"{task.config_type} {task.config_id}")
        changes = converted(task, saved, outcome.problems)
        stats = read.setdefault(task.config_type, coverage.Read())
        stats.resources += 1
        stats.items += len(saved.items)
        stats.calls += saved.calls
        for c in changes:
            if stats.earliest is None or c.time < stats.earliest:
                stats.earliest = c.time
        resources.append(
            timeline.Resource(
                task.account.account_id,
                task.region,
                task.rtype.name,
                task.config_type,
                task.config_id,
                changes,
                task.current,
            )
        )
    for line in coverage.read_report(read, calls, time.monotonic() - started):
        say(line)
    for line in outcome.problems[:20]:
        warn(f"driftaudit: {line}")
    outcome.resources = len(resources)
    outcome.items = sum(r.items for r in read.values())
    plan = timeline.plan(resources, settings.since, settings.until, settings.fmt)
    outcome.unknown_at_since = plan.unknown_at_since
    if plan.snapshots:
        accounts = tuple(sorted({a.account_id for a, _ in targets}))
        regions = tuple(sorted({r for _, rs in targets for r in rs}))
        source = Source(AWS_CONFIG, accounts, regions, output.rel)
        commits.write(output.repo, output.rel, plan.snapshots, source)
        outcome.commits = len(plan.snapshots)
        outcome.first = iso(int(plan.snapshots[0].time.timestamp()))
        outcome.last = iso(int(plan.snapshots[-1].time.timestamp()))


def _commit_now(output: Output, now: SnapshotOutcome, fmt: str) -> Committed | None:
    """The snapshot of now, written and committed as ``snapshot --commit`` would."""
    from driftaudit.change.commit import commit_snapshot
    from driftaudit.collect.store import render_part, write_part

    if not now.succeeded:
        return None
    for part in now.succeeded:
        resources = now.document.get(part.account, {}).get(part.region, {}).get(part.type, {})
        write_part(output.directory, part, render_part(part, resources, fmt))
    try:
        result = commit_snapshot(output.repo, output.rel, now)
    except GitError as e:
        raise BackfillError(f"committing the snapshot of now failed: {e}") from e
    return Committed(result.sha, result.message, result.changes, None, result.run_only)
