"""Managed prefix lists (DescribeManagedPrefixLists + GetManagedPrefixListEntries per list).

A security-group rule whose source is ``pl-…`` lets in whatever the list holds: without the
list, adding ``0.0.0.0/0`` to the list behind an SSH rule changes no snapshot file. Which
lists are kept:

* the account's own (customer-managed: OwnerId is the account, learned from
  sts:GetCallerIdentity, since neither call says whose snapshot this is);
* every list the region's security-group rules reference, whoever owns it: AWS-managed
  (``com.amazonaws.…``, OwnerId ``AWS``) or shared by another account (AWS RAM). They are
  learned from DescribeSecurityGroupRules (each rule names its PrefixListId), the same call
  the security_groups part makes; DescribeManagedPrefixLists has no filter for "referenced".

Other lists visible in the region (the other AWS-managed ones, lists shared with us that no
rule uses) are not ours to audit and are left out, as are deleted ones (State
``delete-complete``, shown for a while like terminated instances). A list deleted between the
two calls is left out too (GetManagedPrefixListEntries: InvalidPrefixListID.NotFound).

Cost per region: one GetCallerIdentity, the pages of DescribeManagedPrefixLists and of
DescribeSecurityGroupRules (1,000 rules a page), and the pages of GetManagedPrefixListEntries
for each kept list (AWS-managed lists hold at most a few hundred entries).

The entries are kept in the resource as ``Entries``, sorted by Cidr (their identity when
compared) and written one per line, so a diff shows one line per entry added or removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from driftaudit.canonical import Spec
from driftaudit.collect.collectors.base import (
    Call,
    Clients,
    ConfigRecord,
    Raw,
    ResourceType,
    field_id,
    paginate,
)
from driftaudit.rule import network_of

LISTING = Call("ec2", "DescribeManagedPrefixLists", "PrefixLists")
ENTRIES = Call("ec2", "GetManagedPrefixListEntries", "Entries", "Entries")
#: Which lists the region's rules reference (only PrefixListId is read of its items).
RULES = Call("ec2", "DescribeSecurityGroupRules")
#: Whose snapshot this is: a customer-managed list is ours when its OwnerId is this account.
IDENTITY = Call("sts", "GetCallerIdentity")
#: What GetManagedPrefixListEntries answers for a list deleted since it was listed.
GONE = frozenset({"InvalidPrefixListID.NotFound", "InvalidPrefixListId.NotFound"})


def fetch(clients: Clients) -> list[Raw]:
    ec2 = clients("ec2")
    account = clients("sts").get_caller_identity()["Account"]
    lists = paginate(ec2, LISTING.method, LISTING.result)
    referenced = {
        r["PrefixListId"]
        for r in paginate(ec2, RULES.method, "SecurityGroupRules")
        if r.get("PrefixListId")
    }
    out: list[Raw] = []
    for item in lists:
        if item.get("State") == "delete-complete":
            continue
        if item.get("OwnerId") != account and item["PrefixListId"] not in referenced:
            continue
        try:
            entries = paginate(
                ec2, ENTRIES.method, ENTRIES.result, PrefixListId=item["PrefixListId"]
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in GONE:
                continue  # deleted after DescribeManagedPrefixLists listed it
            raise
        out.append({**item, "Entries": entries})
    return out


def transform(raw: Raw) -> Raw:
    return dict(raw)


def from_config(configuration: Raw, item: Raw) -> Raw:
    """AWS Config records a prefix list in CloudFormation's form: its ARN is ``Arn``, its
    entries are in the item (no State)."""
    out = {k: v for k, v in configuration.items() if str(k).lower() != "arn"}
    arn = next((v for k, v in configuration.items() if str(k).lower() == "arn"), None)
    if arn is not None:
        out["prefixListArn"] = arn
    return out


# --- a snapshot's list, as readers take it -----------------------------------------------------


def entry_problem(value: Any) -> str | None:
    """What is wrong with a snapshot's ``Entries`` (``Entries[2].Cidr: 'x' is not a CIDR``),
    or None: every reader (driftaudit.network.prefix_entries) then has a CIDR per entry."""
    if value is None:
        return None
    if not isinstance(value, list):
        return f"Entries: {_show(value)} is not a list of entries"
    for n, item in enumerate(value):
        if not isinstance(item, Mapping):
            return f"Entries[{n}]: {_show(item)} is not an entry (expected a mapping)"
        cidr, description = item.get("Cidr"), item.get("Description", "")
        if not isinstance(cidr, str) or network_of(cidr) is None:
            return f"Entries[{n}].Cidr: {_show(cidr)} is not a CIDR"
        if not isinstance(description, str):
            return f"Entries[{n}].Description: {_show(description)} is not text"
    return None


def entries_problem(resource: Mapping[str, Any]) -> tuple[list[Any], str] | None:
    """(JSON path, problem) of the first unreadable entry of a list resource, or None."""
    problem = entry_problem(resource.get("Entries"))
    if problem is None:
        return None
    where = problem.partition(": ")[0]
    path: list[Any] = ["resource"]
    for part in where.replace("]", "").replace("[", ".").split("."):
        if part:
            path.append(int(part) if part.isdigit() else part)
    return path, problem


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


RESOURCE = ResourceType(
    name="managed_prefix_lists",
    label="prefix list",
    calls=(LISTING, ENTRIES, RULES, IDENTITY),
    fetch=fetch,
    transform=transform,
    id_of=field_id("PrefixListId"),
    spec=Spec(
        # Version counts the list's modifications: every change of the entries, which the
        # entries themselves show, bumps it.
        drop=frozenset({"Version"}),
        sort_by={"Entries": ("Cidr",)},
        one_line=frozenset({"Entries"}),
    ),
    volatile_doc=(
        "Version (counts modifications: it moves with every change of the entries, which "
        "the Entries show)"
    ),
    name_keys=("PrefixListName",),
    state_path="State",
    check=entries_problem,
    config=ConfigRecord(
        {"AWS::EC2::PrefixList": ("ec2", "ManagedPrefixList")},
        extra={"Entries": ("ec2", "PrefixListEntrySet")},
        prepare=from_config,
        lacks={
            "State": "not in Config's item, which has CloudFormation's form",
            "StateMessage": "not in Config's item, which has CloudFormation's form",
        },
    ),
)
