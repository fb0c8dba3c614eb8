"""Parts written by several threads at once (as ``snapshot`` writes them) under the same
account and region: a part emptied (its directories pruned) while another part of that
region writes its first files never makes the other fail, and the tree ends as written.

(The race store.py's lock closes, a region directory pruned between another part opening
it and making its type directory there, has a window of microseconds: this test guards
concurrent writing as a whole, it does not reliably provoke that race.)"""

from __future__ import annotations

import threading
from pathlib import Path

from driftaudit.collect.collectors import REGISTRY
from driftaudit.collect.engine import Part
from driftaudit.collect.store import write_part

ACCOUNT, REGION = "123456789012", "us-east-1"
TYPES = sorted(REGISTRY)[:8]


def files(rtype: str, round_: int) -> dict[str, bytes]:
    return {f"x-{round_:04d}{i}.yaml": f"{rtype} {round_} {i}\n".encode() for i in range(3)}


def test_parts_written_at_once_never_trip_over_each_others_directories(tmp_path: Path) -> None:
    root = tmp_path / "snaps"
    errors: list[BaseException] = []
    for round_ in range(40):
        # Even rounds: the first half of the types has files, the second half none; odd
        # rounds the other way round: every round empties and prunes some type directories
        # (and, when they were the last, the region's and the account's) while others are
        # made in the same region.
        half = len(TYPES) // 2
        full = set(TYPES[:half] if round_ % 2 == 0 else TYPES[half:])
        wanted = {t: files(t, round_) if t in full else {} for t in TYPES}
        start = threading.Barrier(len(TYPES))

        def write(
            rtype: str,
            wanted: dict[str, dict[str, bytes]] = wanted,
            start: threading.Barrier = start,
        ) -> None:
            start.wait()
            try:
                write_part(root, Part(ACCOUNT, REGION, rtype), wanted[rtype])
            except BaseException as e:  # noqa: BLE001 - collected for the assertion
                errors.append(e)

        threads = [threading.Thread(target=write, args=(t,)) for t in TYPES]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], (round_, errors)
        on_disk = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }
        assert on_disk == {
            f"{ACCOUNT}/{REGION}/{t}/{name}": data
            for t in TYPES
            for name, data in wanted[t].items()
        }


def test_the_flush_is_of_dirs_filesystem_only_where_linux_allows(tmp_path: Path) -> None:
    """A part's new files are flushed with syncfs(2) on DIR's filesystem (not every disk of
    a shared machine); where it fails (here: a descriptor that is no directory) the flush
    falls back to sync(2) rather than leaving the files unflushed or raising."""
    import os
    import sys

    from driftaudit.collect import store

    if sys.platform.startswith("linux"):
        assert store._syncfs() is not None
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        store.flush_filesystem(fd)
    finally:
        os.close(fd)
    store.flush_filesystem(-1)  # EBADF from syncfs: sync instead
