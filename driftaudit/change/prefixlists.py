"""The prefix lists a diff's changes depend on, read from the revision the diff leads to.

A change to a list's entries is a change to every rule that uses it, and a rule whose source
is a list lets in the list's entries. After the per-file diff, :func:`see_through` reads what
the new revision (a commit's tree or the working tree) holds about each list a change
depends on — its name and entries, and the security-group rules of the same account and
region whose source it is — and has :func:`driftaudit.change.severity.classify` (pure) rate
those changes again with it.

Nothing is read unless a change adds or removes a list entry or adds a rule whose source is
a list. Then, in a commit: one ``git grep -l`` of the list ids over the security-group files
of that account and region (only the matching files are read), one ``git ls-tree`` and one
``git cat-file --batch``; in the working tree: a walk of DIR (:func:`layout.scan`) and a
read of the security-group files of that account and region, parsing only those naming a
list.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from driftaudit import layout
from driftaudit.change.differ import Change, resource_name
from driftaudit.change.severity import PREFIX_LISTS, ListUse, Rules, classify, list_used
from driftaudit.gitrepo import WORKTREE, GitError, Repo
from driftaudit.network import prefix_entries
from driftaudit.rule import Rule, rules_of

#: (account, region, list id)
Key = tuple[str, str, str]
GROUPS = "security_groups"
#: Paths handed to git are paths: no glob in DIR's name can widen them.
LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
#: git modes that are not files (a link's blob holds its target, never a document).
NOT_FILES = {"120000": "is a symbolic link (git mode 120000)", "160000": "is a submodule"}


def see_through(
    repo: Repo, rel: str, rev: str, changes: Iterable[Change], rules: Rules
) -> list[str]:
    """Rate again, seeing through prefix lists, the changes that depend on one; returns
    ``file:line: problem`` for files of ``rev`` that had to be read and could not be."""
    changes = list(changes)
    wanted = {
        (c.account, c.region, listed)
        for c in changes
        for d in c.details
        if (listed := list_used(c, d)) is not None
    }
    if not wanted:
        return []
    lists, problems = read_lists(repo, rel, rev, wanted)
    for change in changes:
        if any(list_used(change, d) for d in change.details):
            classify(change, rules, lists)
    return problems


def read_lists(
    repo: Repo, rel: str, rev: str, wanted: set[Key]
) -> tuple[dict[Key, ListUse], list[str]]:
    """What ``rev`` holds about each wanted list: its name and entries (its own file) and
    the rules using it (the security-group files of its account and region)."""
    reader = _Worktree(repo, rel) if rev == WORKTREE else _Commit(repo, rel, rev)
    docs, problems = reader.read(wanted)
    names: dict[Key, str] = {}
    entries: dict[Key, tuple[str, ...]] = {}
    users: dict[Key, list[tuple[str, Rule]]] = {}
    for doc in docs:
        key: Key = (doc["account"], doc["region"], doc["id"])
        resource = doc["resource"]
        if doc["type"] == PREFIX_LISTS:
            names[key] = resource_name(resource, PREFIX_LISTS)
            entries[key] = tuple(cidr for cidr, _ in prefix_entries(resource))
            continue
        name = resource_name(resource, GROUPS)
        label = f"{doc['id']} ({name})" if name and name != doc["id"] else doc["id"]
        for rule in rules_of(resource):  # layout.parse_document has checked them
            used = (doc["account"], doc["region"], rule.source)
            if rule.source_type == "prefix_list" and used in wanted:
                users.setdefault(used, []).append((label, rule))
    found = {
        key: ListUse(
            names.get(key, ""),
            entries.get(key, ()),
            tuple(sorted(users.get(key, []), key=lambda u: (u[0], u[1].text()))),
        )
        for key in wanted
    }
    return found, problems


def _prefix(rel: str) -> str:
    return "" if rel in ("", ".") else rel.rstrip("/") + "/"


class _Commit:
    """The files of one commit: found with git grep, read with one cat-file."""

    def __init__(self, repo: Repo, rel: str, rev: str) -> None:
        self.repo, self.rel, self.rev = repo, rel, rev

    def read(self, wanted: set[Key]) -> tuple[list[dict[str, Any]], list[str]]:
        base = _prefix(self.rel)
        paths = [
            f"{base}{account}/{region}/{PREFIX_LISTS}/{lid}.{ext}"
            for account, region, lid in sorted(wanted)
            for ext in layout.EXTENSIONS
        ]
        by_place: dict[tuple[str, str], list[str]] = {}
        for account, region, lid in sorted(wanted):
            by_place.setdefault((account, region), []).append(lid)
        for (account, region), ids in sorted(by_place.items()):
            paths += self._grep(ids, f"{base}{account}/{region}/{GROUPS}/")
        return self._documents(paths)

    def _grep(self, ids: list[str], directory: str) -> list[str]:
        patterns = [arg for lid in ids for arg in ("-e", lid)]
        proc = self.repo.git(
            "grep", "-l", "-z", "-F", *patterns, self.rev, "--", directory,
            env=LITERAL, check=False,
        )  # fmt: skip
        if proc.returncode == 1:  # nothing matches
            return []
        if proc.returncode != 0:
            said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git grep failed: {said[-1] if said else proc.returncode}")
        prefix = f"{self.rev}:"
        found = proc.stdout.decode("utf-8", "replace").split("\0")
        return [p.removeprefix(prefix) for p in found if p]

    def _documents(self, paths: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        raw = self.repo.git("ls-tree", "-z", self.rev, "--", *paths, env=LITERAL).stdout
        blobs: dict[str, str] = {}
        problems: list[str] = []
        for record in raw.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, _kind, blob = meta.decode().split()
            path = name.decode("utf-8", "replace")
            if layout.under(path, self.rel) is None:
                continue
            if mode in NOT_FILES:
                problems.append(f"{path}:1: {NOT_FILES[mode]}, not a snapshot file")
                continue
            blobs[path] = blob
        data = self.repo.read_blobs(list(blobs.values()))
        docs = []
        for path, blob in sorted(blobs.items()):
            doc, problem = layout.parse_document(data[blob], path)
            if problem is not None:
                problems.append(problem)
            elif doc is not None:
                docs.append(doc)
        return docs, problems


class _Worktree:
    """The files of the working tree, read as ``check`` reads them (regular files only)."""

    def __init__(self, repo: Repo, rel: str) -> None:
        self.repo, self.rel = repo, rel

    def read(self, wanted: set[Key]) -> tuple[list[dict[str, Any]], list[str]]:
        places = {(account, region) for account, region, _ in wanted}
        needles = [lid.encode() for _, _, lid in wanted]
        base = _prefix(self.rel)
        docs: list[dict[str, Any]] = []
        problems: list[str] = []
        for found in layout.scan(self.repo.root / self.rel):
            at = found.location
            if at is None:
                continue
            if at.type == GROUPS:
                relevant = (at.account, at.region) in places
            else:
                relevant = at.type == PREFIX_LISTS and (at.account, at.region, at.id) in wanted
            if not relevant:
                continue
            shown = f"{base}{found.rel}"
            data = self._data(found, shown, problems)
            if data is None or (at.type == GROUPS and not any(n in data for n in needles)):
                continue
            doc, problem = layout.parse_document(data, shown)
            if problem is not None:
                problems.append(problem)
            elif doc is not None:
                docs.append(doc)
        return docs, problems

    @staticmethod
    def _data(found: layout.Found, shown: str, problems: list[str]) -> bytes | None:
        if found.problem is not None:
            problems.append(f"{shown}:1: {found.problem}")
            return None
        try:
            return layout.read_regular(Path(found.path))
        except layout.NotReadable as e:
            problems.append(f"{shown}:1: {e}")
            return None
