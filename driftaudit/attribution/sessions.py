"""The credentials attribution asks each account with: the accounts file's way to reach it
(``driftaudit.yaml``: a role, a profile, the organization's role), else the caller's own
credentials when they reach that account. Sessions come from driftaudit/collect/aws.py, so
every call goes through the read-only guard."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from driftaudit.collect.accounts import AccountsFile, CommandLine, settings
from driftaudit.collect.aws import Account, AccountError, ClientPool
from driftaudit.errors import ConfigError, DriftauditError


class NoAccess(DriftauditError):
    """An account attribution cannot ask (one line: why)."""


class Sessions:
    def __init__(self, accounts: AccountsFile, workers: int = 8) -> None:
        self.file = accounts
        self.pool = ClientPool(workers=workers)
        self._lock = threading.Lock()
        self._accounts: dict[str | None, Account | NoAccess] = {}

    @classmethod
    def from_config(cls, config: Path | None) -> Sessions:
        from driftaudit.config import load_accounts

        return cls(load_accounts(config))

    def _open(self, account: str | None) -> Account:
        with self._lock:
            known = self._accounts.get(account)
            if known is None:
                role = None
                if (
                    account is not None
                    and self.file.org_role
                    and account not in self.file.org_exclude
                ):
                    partition = self.pool.partition(None)
                    role = f"arn:{partition}:iam::{account}:role/{self.file.org_role}"
                try:
                    known = self.pool.open_account(
                        settings(account, role, CommandLine(), self.file)
                    )
                except AccountError as e:
                    known = NoAccess(e.failure.describe())
                except ConfigError as e:
                    known = NoAccess(str(e))
                self._accounts[account] = known
        if isinstance(known, NoAccess):
            raise known
        return known

    def account(self, account_id: str) -> Account:
        """The account's session; NoAccess naming why not."""
        if account_id in self.file.entries or self.file.org_role:
            return self._open(account_id)
        try:
            own = self._open(None)
        except NoAccess as e:
            raise NoAccess(f"no credentials for account {account_id}: {e}") from e
        if own.account_id != account_id:
            raise NoAccess(
                f"no credentials for account {account_id}: the credentials reach account "
                f"{own.account_id}, and driftaudit.yaml names no way to reach {account_id} "
                "(an accounts entry, or an organization role)"
            )
        return own

    def client(self, account_id: str, service: str, region: str) -> Any:
        return self.pool.client(self.account(account_id), service, region)
