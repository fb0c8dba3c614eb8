"""Since when a host has been held by none of our resources, from the history: what an
``unheld-host`` finding of ``check`` adds ("unheld since between T1 and T2").

``check`` reads the working tree; the history is HEAD's snapshot commits, indexed as
``driftaudit history`` indexes them (DIR/.driftaudit/history.sqlite, brought up to date
first). The index is opened only when a finding asks, once per run. Without a history (DIR
in no git repository, no snapshot commits, a shallow clone, an index that cannot be opened)
nothing is said about since when: the finding stands without it.

Which holdings count is the network rule of the snapshot itself, asked of the history
(``history ip --vpc``): a public address anywhere; a private one in the rule's VPC, or in a
VPC connected to it while they were connected.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from driftaudit.errors import DriftauditError


class UnheldSince:
    """``since(address, vpc)`` for :func:`driftaudit.baseline.evaluate.evaluate`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.index: Any = None
        self.opened = False
        self.answers: dict[tuple[str, str], str | None] = {}

    def __call__(self, address: str, vpc: str) -> str | None:
        if (address, vpc) not in self.answers:
            self.answers[address, vpc] = self._since(address, vpc)
        return self.answers[address, vpc]

    def _open(self) -> Any:
        if not self.opened:
            self.opened = True
            from driftaudit.history.index import open_index

            try:
                index = open_index(self.directory)
            except (DriftauditError, sqlite3.Error, OSError):
                return None  # no history here: nothing is said about since when
            if index.samples == 0:
                index.close()
                return None
            self.index = index
        return self.index

    def _since(self, address: str, vpc: str) -> str | None:
        index = self._open()
        if index is None:
            return None
        from driftaudit.history.queries import Filters, ip_history

        # With the group's VPC, history answers with the holdings that made the address ours
        # there: in that VPC or, while connected, in a VPC connected to it (public: any).
        answer = ip_history(index, address, filters=Filters(vpc=vpc or None))
        return since_text(answer["holders"], answer["index"])

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None


def since_text(holders: list[dict[str, Any]], index: dict[str, Any]) -> str:
    """What the history says of an address no resource of ours holds now, from the holders
    that count (``history ip``'s JSON): since when, between which two snapshots."""
    if not holders:
        return f"never held in the {index['snapshots']} snapshot(s) since {index['first']}"
    if any(h["end"]["first_without"] is None for h in holders):
        return f"held until the last committed snapshot {index['last']}"
    end = max((h["end"] for h in holders), key=lambda e: (e["last_with"], e["first_without"]))
    return f"unheld since between {end['last_with']} and {end['first_without']}"
