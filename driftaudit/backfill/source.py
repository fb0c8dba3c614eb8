"""Where a backfilled commit's snapshot comes from, said in its message and read back only
in the form driftaudit writes it.

A backfilled commit's message starts with ``driftaudit backfill: `` and its final paragraph
is one trailer line, ``Driftaudit-Source: aws-config accounts=… regions=… dir=…``; every
other line holding resource data (ids) is behind a prefix, on a line of its own. Backfilled
commits are the first ones of a history (``driftaudit backfill`` writes a new repository):
:func:`backfilled` accepts only such a chain from the root commit, so a commit made later,
whatever its message says, is never taken for one. ``git log
--format='%(trailers:key=Driftaudit-Source,valueonly)'`` shows the trailer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from driftaudit import layout
from driftaudit.gitrepo import Repo
from driftaudit.textsafe import one_line

MESSAGE_HEAD = "driftaudit backfill: "
TRAILER = "Driftaudit-Source:"
#: The only source today; the name answers show is :data:`LABEL`.
AWS_CONFIG = "aws-config"
LABEL = {AWS_CONFIG: "AWS Config"}
_LIST = r"(?:{0})(?:,(?:{0}))*"
_LINE = re.compile(
    rf"{TRAILER} ({AWS_CONFIG}) accounts=({_LIST.format(layout.ACCOUNT)})"
    rf" regions=({_LIST.format(layout.REGION)}) dir=(\S.*)"
)


@dataclass(frozen=True)
class Source:
    """What a backfilled commit was made from: the source, the accounts and regions read,
    and the snapshot directory (relative to the repository's root)."""

    source: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    directory: str

    def trailer(self) -> str:
        return (
            f"{TRAILER} {self.source} accounts={','.join(self.accounts)}"
            f" regions={','.join(self.regions)} dir={one_line(self.directory)}"
        )

    def of(self, rel: str) -> bool:
        return self.directory == one_line(rel)


def recorded_source(message: str) -> Source | None:
    """The source a commit message records, read only in driftaudit's form: a message
    starting with :data:`MESSAGE_HEAD` whose final paragraph is exactly one trailer line."""
    if not message.startswith(MESSAGE_HEAD):
        return None
    paragraphs = message.strip("\n").split("\n\n")
    if len(paragraphs) < 2:
        return None
    found = _LINE.fullmatch(paragraphs[-1])
    if found is None:
        return None
    source, accounts, regions, directory = found.groups()
    return Source(source, tuple(accounts.split(",")), tuple(regions.split(",")), directory)


def backfilled(repo: Repo, rel: str, head: str = "HEAD") -> dict[str, str]:
    """commit -> source of the backfilled commits of ``head``'s history for the snapshot
    directory ``rel``: the chain of such commits from the root commit on, along first
    parents (nothing when the history does not start with a backfill)."""
    proc = repo.git(
        "log",
        "--first-parent",
        "--reverse",
        "-z",
        f"--grep=^{TRAILER} ",
        "--format=%H %P%n%B",
        head,
        check=False,
    )
    if proc.returncode != 0:
        return {}
    found: dict[str, str] = {}
    expected: str | None = None  # the parent the next one must have ("" for the root)
    for record in proc.stdout.decode("utf-8", "replace").split("\0"):
        if not record.strip():
            continue
        header, _, body = record.strip("\n").partition("\n")
        sha, *parents = header.split()
        parent = parents[0] if parents else ""
        source = recorded_source(body)
        if source is None or not source.of(rel) or parent != (expected or ""):
            break
        if expected is None and parent:
            break  # the first one must be the root
        found[sha] = source.source
        expected = sha
    return found


def message(source: Source, title: str, lines: list[str], top: int = 20) -> str:
    """A backfilled commit's message: title, up to ``top`` lines (each on its own line,
    behind its prefix), then the trailer as the final paragraph."""
    body = [one_line(line) for line in lines[:top]]
    if len(lines) > top:
        body.append(f"... and {len(lines) - top} more")
    parts = [f"{MESSAGE_HEAD}{one_line(title)}"]
    if body:
        parts.append("\n".join(body))
    parts.append(source.trailer())
    return "\n\n".join(parts) + "\n"
