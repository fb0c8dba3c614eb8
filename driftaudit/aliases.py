"""The names shown beside account ids in reports, diffs and history answers.

Two sources, read from the repository alone so that ``report`` or ``history`` run later,
anywhere, show the same names: the ``alias`` of an account in the accounts file
(``driftaudit.yaml``: a name chosen for it), else the alias AWS gave it
(iam:ListAccountAliases), as the ``accounts`` snapshot file
``DIR/<account>/global/accounts/<account>.yaml`` recorded it at the revision shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from driftaudit import layout
from driftaudit.gitrepo import Repo
from driftaudit.textsafe import one_line


def recorded(repo: Repo, rel: str, rev: str) -> dict[str, str]:
    """account -> alias, from the ``accounts`` files of ``rel`` at ``rev`` (or WORKTREE).
    A file that does not parse gives no name: the reader that compares it says why."""
    from driftaudit.collect.collectors.accounts import alias_of

    paths = {
        path: blob
        for path, blob in _accounts_entries(repo, rel, rev).items()
        if (loc := layout.under(path, rel)) is not None and loc.type == "accounts"
    }
    blobs = repo.read_blobs(sorted(set(paths.values())))
    out = {}
    for path, blob in sorted(paths.items()):
        doc, _problem = layout.parse_document(blobs[blob], path)
        if doc is not None and (alias := alias_of(doc["resource"])):
            out[doc["account"]] = alias
    return out


def _accounts_entries(repo: Repo, rel: str, rev: str) -> dict[str, str]:
    """path -> blob of the ``accounts`` files only: listing a commit's whole snapshot tree
    to find a handful of them cost more than the history query itself (0.17 s at 14,000
    files). Two ``git ls-tree`` calls: the account directories, then their accounts files."""
    from driftaudit.gitrepo import WORKTREE

    if rev == WORKTREE:
        return repo.tree_entries(rev, rel)
    base = "" if rel in ("", ".") else rel.rstrip("/") + "/"
    top = repo.git("ls-tree", "-z", rev, "--", base or ".").stdout
    accounts = []
    for rec in top.split(b"\0"):
        meta, _, name = rec.partition(b"\t")
        account = name.decode("utf-8", "replace").rpartition("/")[2]
        if rec and meta.split()[1:2] == [b"tree"] and layout.ACCOUNT_RE.fullmatch(account):
            accounts.append(f"{base}{account}/global/accounts/")
    if not accounts:
        return {}
    raw = repo.git("ls-tree", "-r", "-z", rev, "--", *accounts).stdout
    out = {}
    for rec in raw.split(b"\0"):
        if rec:
            meta, _, name = rec.partition(b"\t")
            out[name.decode("utf-8", "replace")] = meta.split()[2].decode()
    return out


def configured(config: Path | None) -> dict[str, str]:
    """account -> alias, from the accounts file (``alias:`` of ``accounts:`` entries)."""
    if config is None:
        return {}  # without importing the config reader and its schema checks
    from driftaudit.config import load_accounts

    found = load_accounts(config)
    return {account: found.alias(account) for account in found.entries if found.alias(account)}


def account_aliases(repo: Repo, rel: str, rev: str, config: Path | None) -> dict[str, str]:
    """What to show beside each account id: the accounts file's alias, else AWS's."""
    return {**recorded(repo, rel, rev), **configured(config)}


def label(account: str, aliases: Mapping[str, str]) -> str:
    """``123456789012 (prod)``, or the id alone when it has no alias (on one line whatever
    a hand-edited file holds)."""
    alias = aliases.get(account)
    return f"{account} ({one_line(alias)})" if alias else account


def annotate(answer: Any, aliases: Mapping[str, str]) -> None:
    """Give every item of a history answer that names an account (a holder, a group, a
    target) its ``account_alias``, in place, when the account has one; the query echoed
    in the answer (``--account``) is left as the user gave it."""
    if isinstance(answer, dict):
        account = answer.get("account")
        if isinstance(account, str) and aliases.get(account):
            answer["account_alias"] = aliases[account]
        for key, value in answer.items():
            if key != "query":
                annotate(value, aliases)
    elif isinstance(answer, list):
        for value in answer:
            annotate(value, aliases)
