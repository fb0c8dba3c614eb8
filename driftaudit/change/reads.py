"""What one command reads, parses and compares, shared by the diffs it makes.

A report compares the range and then every first-parent commit of it (the per-day chart and
the undone list): for a one-day range, the very same files twice; over a longer range, a file
changed once is the same pair of blobs in the range's diff and in its commit's. One
:class:`Reads` per command holds what the git side answered (the changed files of a pair of
revisions), each blob's document and each compared pair's change, so no blob is read or
parsed twice and no pair compared twice. Only what is still to be asked for is kept: the
diffs to come are announced first (:meth:`Reads.expect`), each document and change is
counted, and dropped after its last use; without that announcement nothing is kept. It lives
as long as the command's diffs, never longer (no cache outlives one command).

What depends on the diff stays with the diff (driftaudit.change.rangediff): the severity
rules, the prefix lists seen through, the ignore rules of the day, the folding. A change is
handed out as a copy each time, as those steps change it in place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from driftaudit.change.differ import Change, compare
from driftaudit.gitrepo import Entry, Repo

#: A document's key: (blob id, the path it is read as; the path decides YAML or JSON and
#: names the file in a problem).
DocKey = tuple[str, str]
#: A compared pair's key: (old blob, new blob, new path, old path).
PairKey = tuple[str | None, str | None, str, str]
Parsed = tuple[dict[str, Any] | None, str | None]


def pair_key(entry: Entry) -> PairKey:
    return (entry.old, entry.new, entry.path, entry.old_path or entry.path)


def sides(entry: Entry) -> tuple[tuple[str | None, str, str], tuple[str | None, str, str]]:
    """(blob, mode, path read as) of the old and the new side."""
    return (
        (entry.old, entry.old_mode, entry.old_path or entry.path),
        (entry.new, entry.new_mode, entry.path),
    )


class Reads:
    """The blobs, documents, changed-file lists and compared pairs of one command's diffs
    (see the module's doc). ``stats`` counts the work done: ``blobs_read`` (handed to
    ``git cat-file``), ``parsed`` (documents parsed), ``compared`` (pairs compared) and
    ``reused`` (pairs whose change was already there)."""

    def __init__(self, repo: Repo, parse: Callable[[bytes, str], Parsed]) -> None:
        self.repo = repo
        self.parse = parse
        self.stats: Counter[str] = Counter()
        self._entries: dict[tuple[str, str, str], list[Entry]] = {}
        self._docs: dict[DocKey, Parsed] = {}
        self._changes: dict[PairKey, Change | None] = {}
        #: Uses still to come, of each document and each pair (from :meth:`expect`).
        self._doc_uses: Counter[DocKey] = Counter()
        self._pair_uses: Counter[PairKey] = Counter()

    def changed(self, old: str, new: str, rel: str) -> list[Entry]:
        """``Repo.changed``, asked once per pair of revisions."""
        key = (old, new, rel)
        if key not in self._entries:
            self._entries[key] = self.repo.changed(old, new, rel)
        return self._entries[key]

    def expect(self, entries: Iterable[Entry], readable: Callable[[str], bool]) -> None:
        """Announce a diff to come over ``entries``: what it will compare and parse is kept
        until then. ``readable(mode)``: whether a side of that git mode is parsed at all."""
        for entry in entries:
            key = pair_key(entry)
            self._pair_uses[key] += 1
            if self._pair_uses[key] > 1:
                continue  # compared once: its documents are not asked for again
            for blob, mode, where in sides(entry):
                if blob is not None and readable(mode):
                    self._doc_uses[(blob, where)] += 1

    def documents(self, wanted: Iterable[DocKey]) -> dict[DocKey, Parsed]:
        """The documents of ``wanted`` (blob, path), blobs read in one ``git cat-file`` for
        those not parsed yet. Each request is one use (see :meth:`expect`)."""
        wanted = list(dict.fromkeys(wanted))
        missing = sorted({blob for blob, where in wanted if (blob, where) not in self._docs})
        data = self.repo.read_blobs(missing) if missing else {}
        self.stats["blobs_read"] += len(data)
        out: dict[DocKey, Parsed] = {}
        for key in wanted:
            parsed = self._docs.get(key)
            if parsed is None:
                parsed = self.parse(data[key[0]], key[1])
                self.stats["parsed"] += 1
            out[key] = parsed
            if self._doc_uses[key] > 1:
                self._doc_uses[key] -= 1
                self._docs[key] = parsed
            else:
                self._doc_uses.pop(key, None)
                self._docs.pop(key, None)
        return out

    def known(self, entry: Entry) -> bool:
        """Whether the pair was compared already (its documents are then not needed)."""
        return pair_key(entry) in self._changes

    def change(
        self, entry: Entry, docs: tuple[dict[str, Any] | None, dict[str, Any] | None]
    ) -> Change | None:
        """The change of the pair (``compare`` of ``docs``, unless :meth:`known`), a fresh
        copy each time."""
        key = pair_key(entry)
        if key in self._changes:
            found = self._changes[key]
            self.stats["reused"] += 1
        else:
            found = compare(docs[0], docs[1], entry.path)
            self.stats["compared"] += 1
        if self._pair_uses[key] > 1:
            self._pair_uses[key] -= 1
            self._changes[key] = found
        else:
            self._pair_uses.pop(key, None)
            self._changes.pop(key, None)
        return fresh(found) if found is not None else None


def fresh(change: Change) -> Change:
    """A copy that classifying, seeing through lists, silencing and folding (which set
    severities and notes, and move details) can change without touching the original."""
    return replace(change, details=[replace(d) for d in change.details], derived=[])
