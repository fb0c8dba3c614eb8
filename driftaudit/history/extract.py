"""Snapshot files to index facts: read from git, parsed (:mod:`driftaudit.canonread`), reduced
(:mod:`facts`), in worker processes when a build reads many.

Parsing is most of a build's work and each file is independent, so a full build spreads
groups of files over one process per core, each with its own ``git cat-file``; only blob ids
go out and only the small facts come back. Small updates (a day of changes) are read in
the process itself: starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from multiprocessing.pool import AsyncResult, Pool
from typing import NamedTuple

from driftaudit import canonread
from driftaudit.history.facts import Facts, facts_of
from driftaudit.history.gitlog import BlobReader


class Item(NamedTuple):
    """A file to read: its resource (type, account, region, id, from its path), path, blob
    and git mode."""

    rtype: str
    account: str
    region: str
    rid: str
    path: str
    blob: str
    mode: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.rtype, self.account, self.region, self.rid)

    @property
    def special(self) -> bool:
        """A symbolic link or submodule: never read as a document."""
        return not self.mode.startswith("100")


#: What reading a file gives: its resource's facts, or ``file:line: problem``.
Result = Facts | str

#: Files read per group, and groups a worker may have queued at once.
GROUP = 500
AHEAD = 2
#: A build reading at least this many files uses worker processes (where the machine has
#: more than one core and can fork).
PARALLEL_FROM = 4000

_reader: BlobReader | None = None


def read_group(
    reader: BlobReader, items: list[Item], where: Mapping[str, str] | None = None
) -> list[Result]:
    """The facts of each file (``where``: for elastic IPs, facts.holder_facts)."""
    blobs = iter(reader.read([item.blob for item in items if not item.special]))
    out: list[Result] = []
    for item in items:
        if item.special:
            # A link's blob is its target's name: never parsed as a document.
            what = "a symbolic link" if item.mode == "120000" else "a submodule"
            out.append(f"{item.path}:1: is {what} in git (mode {item.mode}), not a file")
            continue
        doc, problem = canonread.parse_document(next(blobs), item.path)
        if doc is None:
            out.append(str(problem))
            continue
        out.append(facts_of(item.rtype, item.account, doc["resource"], where or {}))
    return out


def _start_worker(root: str) -> None:
    global _reader
    _reader = BlobReader(root)


def _work(items: list[Item]) -> list[Result]:
    assert _reader is not None
    return read_group(_reader, items)


class Extractor:
    """Reads groups of files in order, here or in worker processes."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.reader: BlobReader | None = None
        self.pool: Pool | None = None

    def local(self) -> BlobReader:
        if self.reader is None:
            self.reader = BlobReader(self.root)
        return self.reader

    def parallel(self, files: int) -> bool:
        """Start workers when ``files`` are many and they would help; whether they run."""
        cores = os.cpu_count() or 1
        if (
            self.pool is None
            and files >= PARALLEL_FROM
            and cores > 1
            and "fork" in multiprocessing.get_all_start_methods()
        ):
            # fork: the workers share what this process has imported, and start in
            # milliseconds; they touch nothing of the parent's but the code.
            self.pool = multiprocessing.get_context("fork").Pool(
                cores, initializer=_start_worker, initargs=(self.root,)
            )
        return self.pool is not None

    def groups(
        self, items: Iterable[Item], where: Mapping[str, str] | None = None
    ) -> Iterator[tuple[list[Item], list[Result]]]:
        """Each group of ``items`` with its results, in order; at most ``AHEAD`` groups per
        worker read ahead, so memory holds a few groups, never the build. With ``where``
        (elastic IPs, located through the index) the files are read in this process."""
        batches = _batched(items, GROUP)
        if self.pool is None or where is not None:
            for batch in batches:
                yield batch, read_group(self.local(), batch, where)
            return
        window: deque[tuple[list[Item], AsyncResult[list[Result]]]] = deque()
        limit = AHEAD * (os.cpu_count() or 1)
        for batch in batches:
            window.append((batch, self.pool.apply_async(_work, (batch,))))
            if len(window) >= limit:
                done, pending = window.popleft()
                yield done, pending.get()
        while window:
            done, pending = window.popleft()
            yield done, pending.get()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        if self.reader is not None:
            self.reader.close()
            self.reader = None


def _batched(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
