"""Peak memory of a process and its children, for the benchmarks: the resident memory of the
whole process tree (worker processes, git), sampled from /proc while it runs.

Summing counts twice the pages a forked worker still shares with its parent, and counts the
pack files git maps: the figure is an upper bound of what the command needs.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

PERIOD = 0.02  # seconds between samples


def tree_rss(pid: int) -> int:
    """Bytes resident in ``pid`` and its descendants now (0 for those already gone)."""
    total, todo, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            for task in os.listdir(f"/proc/{p}/task"):
                children = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                todo += [int(c) for c in children]
        except (OSError, ValueError):
            continue
    return total


def sampled(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """Run ``cmd`` once: (wall seconds, CPU seconds of it and its children, peak MB of the
    tree's resident memory, the finished process with its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # Output to files, read at the end: a large answer must not fill a pipe while the
    # process is only watched.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(PERIOD)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak / 2**20, done
