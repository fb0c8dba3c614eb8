"""``snapshot --shard K/N``: one of N disjoint shares of a run's (account, region) pairs.

An organization too large for one machine runs N jobs on a scheduler it already has (a CI
matrix, Kubernetes Jobs, AWS Batch, Step Functions), each with ``--shard K/N``. Each pair
(the account-wide parts are the pair ``(account, "global")``) belongs to exactly one shard,
decided by a hash of the pair alone: the same on every machine and in every run, and adding
an account or a region moves no other pair to another shard. Every part of a pair (all its
types) is in the same shard, so a shard writes whole ``DIR/<account>/<region>/`` subtrees
that no other shard writes: shards can commit in separate clones and be merged by a rebase
without conflicts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SPEC = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")


class ShardSpecError(ValueError):
    """Not ``K/N`` with 1 <= K <= N."""


@dataclass(frozen=True)
class Shard:
    index: int  # K, from 1
    count: int  # N

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, account: str, region: str) -> bool:
        return shard_of(account, region, self.count) == self.index


def shard_of(account: str, region: str, count: int) -> int:
    """The shard (1..count) of an (account, region) pair: a stable hash, never Python's
    ``hash()`` (salted per process)."""
    digest = hashlib.sha256(f"{account}/{region}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> Shard:
    m = _SPEC.fullmatch(text.strip())
    if m is None:
        raise ShardSpecError(f"{text!r} is not K/N (this job's shard K of N, e.g. 2/8)")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= index <= count:
        raise ShardSpecError(f"{text!r}: K must be from 1 to N")
    return Shard(index, count)
