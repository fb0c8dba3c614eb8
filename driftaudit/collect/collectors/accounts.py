"""The account itself: its id and its alias, one file per account in the layout's region
``global`` (``DIR/<account>/global/accounts/<account>.yaml``).

It is what lets ``report``, ``diff`` and ``history`` show an alias beside an account id
later, from the repository alone (the alias as of the snapshot they read), and what makes a
renamed account a change like any other. The accounts file's ``alias`` (driftaudit.yaml),
when set, is shown instead; it is configuration, not AWS state, and is not written here.

GetCallerIdentity also says which account the credentials reach: the file's id is AWS's
answer, never a name from configuration. Its Arn and UserId are left out: they name the
caller (a role session, an SSO user), which changes from run to run and person to person.
"""

from __future__ import annotations

from driftaudit.collect.collectors.base import Call, Clients, Raw, ResourceType, field_id, paginate

CALLS = (
    Call("sts", "GetCallerIdentity"),
    # An account has at most one alias; AWS still answers with a list.
    Call("iam", "ListAccountAliases", "AccountAliases", kept_in="AccountAliases"),
)


def fetch(clients: Clients) -> list[Raw]:
    identity = clients("sts").get_caller_identity()
    aliases = paginate(clients("iam"), "list_account_aliases", "AccountAliases")
    return [{"AccountId": identity["Account"], "AccountAliases": aliases}]


def transform(raw: Raw) -> Raw:
    return {"AccountId": str(raw["AccountId"]), "AccountAliases": list(raw["AccountAliases"])}


def alias_of(resource: Raw) -> str:
    """The account's alias as its file records it, "" without one (or in a file edited into
    another shape)."""
    aliases = resource.get("AccountAliases")
    if isinstance(aliases, list) and aliases and isinstance(aliases[0], str):
        return aliases[0]
    return ""


RESOURCE = ResourceType(
    name="accounts",
    label="account",
    calls=CALLS,
    fetch=fetch,
    transform=transform,
    id_of=field_id("AccountId"),
    scope="account",
)
