"""The snapshot job: collect every part, write (or gather) its files, tally the outcome."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from driftaudit.canonical import dumps
from driftaudit.collect import defaultvpcs
from driftaudit.collect.aws import Account, AccountFailure, ClientPool
from driftaudit.collect.collectors.base import Raw, ResourceType
from driftaudit.collect.deadlines import Deadlines
from driftaudit.collect.engine import Part, PartResult, collect, places
from driftaudit.collect.shards import Shard
from driftaudit.collect.store import StoreError, WriteStats, render_part, write_part
from driftaudit.errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, PartFailure, UnsafeName

if TYPE_CHECKING:
    from driftaudit.collect.output import Output

#: Threads rendering and writing parts while the workers read (see take_snapshot).
WRITERS = 4


@dataclass
class SnapshotOutcome:
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    succeeded: list[Part] = field(default_factory=list)
    failed: list[tuple[Part, PartFailure]] = field(default_factory=list)
    resources: int = 0
    #: Succeeded parts that had at least one resource (written, or unchanged on disk).
    filled: int = 0
    stats: WriteStats = field(default_factory=WriteStats)
    #: account -> region -> type -> id -> resource; only filled when writing to stdout.
    document: dict[str, Any] = field(default_factory=dict)
    #: The traceback of each part that failed on an internal error (``snapshot -v``).
    tracebacks: dict[Part, str] = field(default_factory=dict)
    #: Accounts that could not be reached (their role not assumed...): all their parts failed.
    failed_accounts: list[AccountFailure] = field(default_factory=list)
    #: Default VPCs left out (--skip-default-vpcs): "account/region vpc-… (N resources)".
    left_out: list[str] = field(default_factory=list)
    #: Resources of those VPCs left out, in all.
    left_out_resources: int = 0

    @property
    def exit_code(self) -> int:
        """0 complete; 3 partial; 1 when nothing was read, or when writes failed and no
        part had anything written (only empty parts "succeeded": nothing reached DIR)."""
        if not self.failed and not self.failed_accounts:
            return EXIT_OK
        write_failed = any(f.stage == "write" for _, f in self.failed)
        if not self.succeeded or (write_failed and not self.filled):
            return EXIT_ERROR
        return EXIT_PARTIAL


def account_failure_line(failure: AccountFailure) -> str:
    alias = f" ({failure.settings.alias})" if failure.settings.alias else ""
    return (
        f"driftaudit: {failure.account_id}{alias}: could not read any part "
        f"({failure.failure.describe()}); previous files kept"
    )


def failed_account_parts(
    failure: AccountFailure, types: list[ResourceType], regions: Sequence[str]
) -> list[Part]:
    """The parts a failed account would have had: in the regions its settings name, else
    in ``regions`` (those asked for, or those the other accounts listed), never one it
    excludes."""
    settings = failure.settings
    named = settings.regions if isinstance(settings.regions, tuple) else ()
    kept = [r for r in (named or regions) if settings.keeps(r)]
    return [Part(failure.account_id, r, t.name) for r, t in places(kept, types)]


def failure_line(part: Part, failure: PartFailure) -> str:
    where = f"driftaudit: {part.account} {part.region} {part.type}"
    if failure.stage == "write":
        return f"{where}: could not write ({failure.message}); previous files kept"
    return f"{where}: could not read ({failure.describe()}); previous files kept"


def replaced_link_line(path: str) -> str:
    return (
        f"driftaudit: warning: {path} was a symbolic link where a directory belongs: "
        "replaced by a directory (the link was removed, not what it pointed to)"
    )


class Progress:
    """One self-rewriting status line on a terminal; nothing otherwise."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled, self.total, self.done = stream, enabled, 0, 0

    def start(self, total: int) -> None:
        self.total = total
        self._draw("")

    def step(self, result: PartResult) -> None:
        self.done += 1
        self._draw(str(result.part))

    def each(self, results: Iterable[PartResult]) -> Iterator[PartResult]:
        """``results``, each counted as it comes."""
        for result in results:
            self.step(result)
            yield result

    def _draw(self, last: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\x1b[K[{self.done}/{self.total}] {last}"[:200])
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def take_snapshot(
    pool: ClientPool,
    targets: list[tuple[Account, list[str]]],
    types: list[ResourceType],
    out_dir: Path | None,
    fmt: str,
    workers: int = 16,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    deadlines: Deadlines | None = None,
    failed_accounts: Sequence[AccountFailure] = (),
    requested: Sequence[str] = (),
    shard: Shard | None = None,
) -> SnapshotOutcome:
    """Collect every part of ``targets`` and write (or gather) it; ``failed_accounts``
    (their roles not assumed...) are recorded as failed parts, in the regions ``requested``
    on the command line or, without, those the other accounts are read in. With ``shard``,
    only the parts of the (account, region) pairs it holds (failed accounts' too)."""

    def held(account: str, region: str) -> bool:
        return shard is None or shard.holds(account, region)

    all_regions = sorted({r for _, regions in targets for r in regions})
    outcome = SnapshotOutcome(
        accounts=sorted(
            {a.account_id for a, _ in targets} | {f.account_id for f in failed_accounts}
        ),
        regions=sorted({r for a, rs in targets for r in rs if held(a.account_id, r)}),
        types=[t.name for t in types],
    )
    for account in failed_accounts:
        outcome.failed_accounts.append(account)
        warn(account_failure_line(account))
        for part in failed_account_parts(account, types, requested or all_regions):
            if held(part.account, part.region):
                outcome.failed.append((part, account.failure))
    progress = progress or Progress(sys.stderr, enabled=False)
    chosen = {t.name for t in types}
    skipping = defaultvpcs.skipping(targets, chosen)
    # The decision reads every type of EVIDENCE, chosen or not (the others are not written).
    extra = [t for t in defaultvpcs.evidence_types() if t.name not in chosen] if skipping else []

    def note(where: str, resources: int) -> None:
        outcome.left_out.append(f"{where} ({resources} resources)")
        outcome.left_out_resources += resources

    results = collect(pool, targets, types + extra, workers, progress.start, deadlines, shard)

    def write(part: Part, resources: dict[str, Raw]) -> WriteStats | None:
        files = render_part(part, resources, fmt)  # to stdout too: the same name checks
        return write_part(out_dir, part, files) if out_dir is not None else None

    def record(result: PartResult, written: Future[WriteStats | None] | None) -> None:
        part, failure = result.part, result.failure
        if result.resources is not None and written is not None:
            try:
                stats = written.result()
            except UnsafeName as e:
                failure = PartFailure("unsafe id", "", "UnsafeName", str(e), stage="write")
            except (StoreError, OSError) as e:
                failure = PartFailure("write failed", "", "", str(e), stage="write")
            else:
                if stats is not None:
                    for path in stats.replaced_links:
                        warn(replaced_link_line(path))
                    outcome.stats.add(stats)
                else:
                    region = outcome.document.setdefault(part.account, {})
                    region.setdefault(part.region, {})[part.type] = result.resources
                outcome.succeeded.append(part)
                outcome.resources += len(result.resources)
                outcome.filled += bool(result.resources)
        if failure is not None:
            outcome.failed.append((part, failure))
            if result.detail:
                outcome.tracebacks[part] = result.detail
            progress.close()
            warn(failure_line(part, failure))

    # Parts are rendered and written by a few threads of their own while the workers go on
    # reading: creating a first snapshot's files is mostly the kernel's work (system time,
    # the GIL released), which one thread would do part after part on the run's critical
    # path. Each part has its own directory (store.py keeps their shared parents safe).
    # Outcomes are recorded here, in the order the parts were read.
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="write") as writers:
        queued: deque[tuple[PartResult, Future[WriteStats | None] | None]] = deque()
        for result in defaultvpcs.settled(progress.each(results), skipping, chosen, note):
            written = None
            if result.resources is not None:
                written = writers.submit(write, result.part, result.resources)
            queued.append((result, written))
            while queued and (queued[0][1] is None or queued[0][1].done()):
                record(*queued.popleft())
        while queued:
            record(*queued.popleft())
    progress.close()
    outcome.succeeded.sort()
    outcome.failed.sort(key=lambda pf: pf[0])
    return outcome


@dataclass
class Committed:
    """What ``--commit`` did after a snapshot: the commit, its message, and any warning about
    a git lock it recovered first. Every run is committed: ``run_only`` when nothing
    changed and the (empty) commit only records the run."""

    sha: str
    message: str
    changes: int
    warning: str | None = None
    run_only: bool = False


def snapshot_and_commit(
    pool: ClientPool,
    targets: list[tuple[Account, list[str]]],
    types: list[ResourceType],
    output: Output,
    fmt: str,
    workers: int = 16,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    deadlines: Deadlines | None = None,
    failed_accounts: Sequence[AccountFailure] = (),
    requested: Sequence[str] = (),
    shard: Shard | None = None,
) -> tuple[SnapshotOutcome, Committed | None]:
    """The snapshot job with ``--commit``, as the CLI and the demo both run it: collect and
    write every part into the prepared output (its lock held), then commit what succeeded
    to the output's repository with the audit-trail message and the run record (an empty
    commit when nothing changed). No commit when nothing could be written, or when the
    output has no repository."""
    from driftaudit.change.commit import commit_snapshot

    outcome = take_snapshot(
        pool,
        targets,
        types,
        output.directory,
        fmt,
        workers,
        progress,
        warn,
        deadlines,
        failed_accounts,
        requested,
        shard,
    )
    if output.repo is None or not outcome.succeeded:
        return outcome, None
    warning = output.recover_index_lock()
    if warning:
        warn(warning)
    result = commit_snapshot(output.repo, output.rel, outcome)
    committed = Committed(result.sha, result.message, result.changes, warning, result.run_only)
    return outcome, committed


def stdout_document(outcome: SnapshotOutcome, fmt: str) -> bytes:
    return dumps(outcome.document, fmt)
