"""``history ip ADDRESS --ipam``: Amazon VPC IPAM's own history of an address.

Where an account runs an IPAM, GetIpamAddressHistory answers "which resource had this
address" directly: for an exact CIDR (``ADDRESS/32``, ``/128``) in a scope (the IPAM's
default private scope for a private address, its public scope for a public one), the
resources IPAM saw with it, each between a sampled start and end time. IPAM samples too: a
change may be earlier than its sampled start (AWS says so), and IPAM's history starts when
the IPAM was made (it is not retroactive) and is kept up to three years.

Each snapshotted (account, region) is asked for its IPAMs (DescribeIpams, the IPAMs whose
home region it is); each IPAM found is asked once. Read-only: ``Describe*`` and ``Get*``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from driftaudit.attribution.events import epoch
from driftaudit.attribution.sessions import NoAccess, Sessions
from driftaudit.rule import is_public, network_of
from driftaudit.textsafe import one_line
from driftaudit.times import iso

#: IPAM keeps an address's history up to three years.
KEPT = dt.timedelta(days=3 * 365)


def _error(e: Exception, operation: str, where: str) -> str:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return one_line(f"{where}: ec2:{operation} failed: {err.get('Code')}: {err.get('Message')}")
    return one_line(f"{where}: ec2:{operation} failed: {e}")


def _pages(client: Any, method: str, key: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        page = getattr(client, method)(**params, **({"NextToken": token} if token else {}))
        out += page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return out


def ipam_history(
    sessions: Sessions,
    targets: Iterable[tuple[str, str]],
    address: str,
    at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """IPAM's records of ``address`` (at ``at``, else over the last three years) from every
    IPAM homed in one of ``targets`` (account, region)."""
    net = network_of(address)
    assert net is not None
    private = not is_public(net)
    cidr = f"{net.network_address}/{net.max_prefixlen}"
    start, end = (at, at) if at is not None else (now - KEPT, now)
    asked: list[dict[str, Any]] = []
    problems: list[str] = []
    records: dict[tuple[str, str, str], dict[str, Any]] = {}
    for account, region in sorted(set(targets)):
        where = f"{account}/{region}"
        try:
            ec2 = sessions.client(account, "ec2", region)
        except NoAccess as e:
            problems.append(one_line(f"{where}: {e}"))
            continue
        try:
            ipams = [
                i
                for i in _pages(ec2, "describe_ipams", "Ipams")
                if i.get("IpamRegion", region) == region
            ]
        except (ClientError, BotoCoreError) as e:
            problems.append(_error(e, "DescribeIpams", where))
            continue
        for ipam in ipams:
            scope = ipam.get("PrivateDefaultScopeId" if private else "PublicDefaultScopeId")
            if not scope:
                continue
            asked.append(
                {"account": account, "region": region, "ipam": ipam["IpamId"], "scope": scope}
            )
            try:
                found = _pages(
                    ec2,
                    "get_ipam_address_history",
                    "HistoryRecords",
                    Cidr=cidr,
                    IpamScopeId=scope,
                    StartTime=start,
                    EndTime=end,
                )
            except (ClientError, BotoCoreError) as e:
                problems.append(_error(e, "GetIpamAddressHistory", where))
                continue
            for r in found:
                began, ended = epoch(r.get("SampledStartTime")), epoch(r.get("SampledEndTime"))
                record = {
                    "type": r.get("ResourceType"),
                    "id": r.get("ResourceId"),
                    "name": r.get("ResourceName"),
                    "account": r.get("ResourceOwnerId"),
                    "region": r.get("ResourceRegion"),
                    "vpc": r.get("VpcId"),
                    "cidr": r.get("ResourceCidr"),
                    "sampled_start": iso(began) if began is not None else None,
                    "sampled_end": iso(ended) if ended is not None else None,
                    "ipam": ipam["IpamId"],
                }
                key = (str(record["id"]), str(record["cidr"]), str(record["sampled_start"]))
                records.setdefault(key, record)
    listed = sorted(
        records.values(), key=lambda r: (r["sampled_start"] or "", r["type"] or "", r["id"] or "")
    )
    return {
        "cidr": cidr,
        "scope": "private" if private else "public",
        "asked": asked,
        "records": listed,
        "problems": problems,
    }


def targets_of(index: Any) -> list[tuple[str, str]]:
    """The (account, region) pairs the history holds resources in."""
    from driftaudit.history.index import rows

    found = rows(
        index.db,
        "SELECT DISTINCT account, region FROM held "
        "UNION SELECT DISTINCT account, region FROM groups",
    )
    return sorted((str(a), str(r)) for a, r in found if r != "global")
