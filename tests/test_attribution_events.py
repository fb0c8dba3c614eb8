"""CloudTrail events read and matched (driftaudit/attribution: events, effects, questions),
on the recorded-shape records of tests/data/cloudtrail-events/ (each wrapped as LookupEvents
returns it), and the plumbing around them: the token bucket, the cache, the read-only
guard's one exception."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from driftaudit.attribution.cache import Cache
from driftaudit.attribution.effects import effects_of
from driftaudit.attribution.events import epoch, items, parse_event
from driftaudit.attribution.lookup import TokenBucket
from driftaudit.attribution.questions import MARGIN, Question, line, resolve
from driftaudit.collect.aws import is_allowed
from driftaudit.rule import Rule
from tests.support.cloudtrailfake import FIXTURES, event, fixture, iam_user, lookup_event

ACCOUNT, REGION = "123456789012", "us-east-1"
ADMIN, WEB = "sg-0admin00000000001", "sg-0web0000000000002"


def read(kind: str) -> Any:
    """A fixture as LookupEvents returns it, read back."""
    return parse_event(lookup_event(fixture(kind)))


def rule(direction: str, protocol: str, source: str, ports: tuple[int, int] | None) -> Rule:
    kind = "cidr6" if ":" in source else "group" if source.startswith("sg-") else "cidr"
    item: dict[str, Any] = {
        "Direction": direction,
        "Protocol": protocol,
        "SourceType": kind,
        "Source": source,
    }
    if ports:
        item["FromPort"], item["ToPort"] = ports
    return Rule.from_dict(item)


def keys(refs: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.group, r.rule.key(ACCOUNT) if r.rule else None, r.rule_id) for r in refs]


SSH = rule("ingress", "tcp", "10.191.12.13/32", (22, 22))


# --- the wire form -------------------------------------------------------------------------


def test_items_reads_every_list_form_of_the_xml_wire() -> None:
    assert items({"items": [{"a": 1}]}) == [{"a": 1}]
    assert items({"item": [{"a": 1}]}) == [{"a": 1}]
    assert items({"item": {"a": 1}}) == [{"a": 1}]  # one member, bare
    assert items({}) == [] and items(None) == [] and items({"items": None}) == []
    assert items([1, 2]) == [1, 2]


def test_times_read_in_every_form_an_event_uses() -> None:
    expected = int(dt.datetime(2026, 11, 12, 6, 20, 12, tzinfo=dt.timezone.utc).timestamp())
    assert epoch("2026-11-12T06:20:12Z") == expected
    assert epoch(1794464412000) == expected  # RunInstances' launchTime: epoch milliseconds
    assert epoch(1794464412) == expected
    assert epoch(dt.datetime(2026, 11, 12, 6, 20, 12)) == expected  # naive: UTC
    assert epoch("yesterday") is None and epoch(True) is None


def test_every_fixture_reads_as_an_event_with_its_exact_time_and_actor() -> None:
    names = sorted(p.stem for p in FIXTURES.glob("*.json"))
    assert len(names) == 18
    for name in names:
        e = read(name)
        record = fixture(name)
        assert e.id == record["eventID"] and e.name == record["eventName"]
        assert e.time == epoch(record["eventTime"])
        assert e.actor.principal == record["userIdentity"]["arn"]
        assert (e.error is None) == ("errorCode" not in record), name


def test_the_actor_shows_the_service_and_role_behind_a_session() -> None:
    launched = read("RunInstances")
    assert launched.actor.invoked_by == "autoscaling.amazonaws.com"
    assert launched.actor.session_issuer == (
        "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )
    made = read("CreateNetworkInterface")
    assert made.actor.invoked_by == "cloudformation.amazonaws.com"
    assert made.actor.session_issuer == "arn:aws:iam::123456789012:role/cfn-exec"
    assert read("TerminateInstances").actor.principal == "arn:aws:iam::123456789012:user/bob"
    assert read("TerminateInstances").actor.session_issuer is None


# --- what each event did ---------------------------------------------------------------------


def test_authorize_adds_the_rules_of_its_response_with_their_ids() -> None:
    found = effects_of(read("AuthorizeSecurityGroupIngress"))
    assert keys(found.added_rules) == [(ADMIN, SSH.key(ACCOUNT), "sgr-0a1b2c3d4e5f60001")]
    egress = effects_of(read("AuthorizeSecurityGroupEgress"))
    to_db = rule("egress", "tcp", "sg-0db00000000000003", (5432, 5432))
    assert keys(egress.added_rules) == [(WEB, to_db.key(ACCOUNT), "sgr-0a1b2c3d4e5f60003")]


def test_a_failed_call_changed_nothing() -> None:
    failed = read("AuthorizeSecurityGroupIngress-failed")
    assert failed.error == "Client.InvalidPermission.Duplicate"
    assert effects_of(failed).added_rules == []


def test_an_authorize_without_a_rule_set_is_read_from_its_request_canonicalised() -> None:
    # Events recorded before AWS returned securityGroupRuleSet: the request says what was
    # added, and AWS keeps 10.191.12.13/24 as 10.191.12.0/24.
    record = fixture("AuthorizeSecurityGroupIngress")
    record["responseElements"] = {"requestId": "r", "_return": True}
    permission = record["requestParameters"]["ipPermissions"]["items"][0]
    permission["ipRanges"] = {"items": [{"cidrIp": "10.191.12.13/24"}]}
    permission["ipProtocol"] = "6"  # a protocol number: tcp
    found = effects_of(parse_event(lookup_event(record)))
    wide = rule("ingress", "tcp", "10.191.12.0/24", (22, 22))
    assert keys(found.added_rules) == [(ADMIN, wide.key(ACCOUNT), None)]


def test_revokes_remove_what_their_response_says_and_nothing_it_did_not_know() -> None:
    removed = effects_of(read("RevokeSecurityGroupIngress"))
    assert keys(removed.removed_rules) == [(ADMIN, SSH.key(ACCOUNT), "sgr-0a1b2c3d4e5f60001")]
    nothing = effects_of(read("RevokeSecurityGroupIngress-unknown"))
    other = rule("ingress", "tcp", "10.191.12.31/32", (22, 22))
    assert nothing.removed_rules == []
    assert keys(nothing.unknown_rules) == [(ADMIN, other.key(ACCOUNT), None)]
    by_id = effects_of(read("RevokeSecurityGroupIngress-by-id"))
    https6 = rule("ingress", "tcp", "2001:db8::/64", (443, 443))
    assert keys(by_id.removed_rules) == [(WEB, https6.key(ACCOUNT), "sgr-0a1b2c3d4e5f60006")]
    everything = effects_of(read("RevokeSecurityGroupEgress"))
    assert keys(everything.removed_rules) == [
        (WEB, rule("egress", "-1", "0.0.0.0/0", None).key(ACCOUNT), "sgr-0a1b2c3d4e5f60007")
    ]


def test_a_revoke_by_id_without_a_response_set_still_names_the_rule() -> None:
    record = fixture("RevokeSecurityGroupIngress-by-id")
    record["responseElements"] = {"requestId": "r", "_return": True}
    found = effects_of(parse_event(lookup_event(record)))
    assert keys(found.removed_rules) == [(WEB, None, "sgr-0a1b2c3d4e5f60006")]


def test_modify_security_group_rules_keeps_the_id_and_says_the_new_value() -> None:
    found = effects_of(read("ModifySecurityGroupRules"))
    office = rule("ingress", "tcp", "10.191.13.0/24", (22, 22))
    assert keys(found.modified_rules) == [(ADMIN, office.key(ACCOUNT), "sgr-0a1b2c3d4e5f60008")]


def test_instances_addresses_and_interfaces() -> None:
    assert effects_of(read("RunInstances")).launched == ["i-0debug0000000001"]
    assert effects_of(read("TerminateInstances")).terminated == ["i-0debug0000000001"]
    assert effects_of(read("AllocateAddress")).allocated == [
        ("eipalloc-0a1b2c3d4e5f60011", "203.0.113.25")
    ]
    associated = effects_of(read("AssociateAddress")).associated[0]
    assert (associated.allocation_id, associated.association_id, associated.instance_id) == (
        "eipalloc-0a1b2c3d4e5f60011",
        "eipassoc-0a1b2c3d4e5f60012",
        "i-0web10000000000001",
    )
    assert effects_of(read("DisassociateAddress")).disassociated == ["eipassoc-0a1b2c3d4e5f60012"]
    assert effects_of(read("ReleaseAddress")).released == ["eipalloc-0a1b2c3d4e5f60011"]
    assert effects_of(read("CreateNetworkInterface")).created_interfaces == [
        ("eni-0appl000000000001", ("10.191.12.50",))
    ]
    assert effects_of(read("DeleteNetworkInterface")).deleted_interfaces == [
        "eni-0appl000000000001"
    ]
    # Assigned by count: the address is only in the response.
    assert effects_of(read("AssignPrivateIpAddresses")).assigned == [
        ("eni-0web10000000000001", "10.191.12.77")
    ]
    assert effects_of(read("UnassignPrivateIpAddresses")).unassigned == [
        ("eni-0web10000000000001", "10.191.12.77")
    ]


def test_the_fakes_builder_keeps_every_fixtures_shape() -> None:
    def paths(value: Any, at: str = "") -> set[str]:
        if isinstance(value, dict):
            return {at} | {p for k, v in value.items() for p in paths(v, f"{at}.{k}")}
        if isinstance(value, list):
            return {at} | {p for v in value for p in paths(v, f"{at}[]")}
        return {at}

    when = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)
    for path in FIXTURES.glob("*.json"):
        built = event(path.stem, when, iam_user("dave"), swap={"sg-0admin": "sg-0other"})
        shape = paths(built) - {p for p in paths(built) if p.startswith(".userIdentity")}
        original = paths(fixture(path.stem))
        assert shape == original - {p for p in original if p.startswith(".userIdentity")}
    failed = event("AuthorizeSecurityGroupIngress", when, error=("Client.X", "no"))
    assert failed["responseElements"] is None and failed["errorCode"] == "Client.X"


# --- questions and answers ---------------------------------------------------------------------

T0 = int(dt.datetime(2026, 11, 13, 6, 0, tzinfo=dt.timezone.utc).timestamp())
T1 = T0 + 86400


def added(rule_: Rule = SSH, rule_id: str | None = None) -> Question:
    return Question(
        "rule_added", ACCOUNT, REGION, ADMIN, (ADMIN,), T0, T1, rule=rule_, rule_id=rule_id
    )


def at(kind: str, when: dt.datetime, **kw: Any) -> Any:
    return parse_event(lookup_event(event(kind, when, iam_user("alice"), **kw)))


def test_one_matching_event_is_the_exact_answer_and_failed_calls_are_not() -> None:
    when = dt.datetime(2026, 11, 13, 14, 3, 12, tzinfo=dt.timezone.utc)
    found = [
        at("AuthorizeSecurityGroupIngress", when),
        at("AuthorizeSecurityGroupIngress-failed", when - dt.timedelta(minutes=2)),
    ]
    q = added()
    answer = resolve([q], found, q.window)
    assert answer["status"] == "exact"
    assert answer["event"]["principal"] == "arn:aws:iam::123456789012:user/alice"
    assert answer["event"]["time"] == "2026-11-13T14:03:12Z"
    assert line(answer) == (
        "by arn:aws:iam::123456789012:user/alice at 2026-11-13T14:03:12Z "
        f"(AuthorizeSecurityGroupIngress, event {found[0].id})"
    )


def test_none_and_several_keep_the_snapshot_bounds_and_say_why() -> None:
    when = dt.datetime(2026, 11, 13, 9, 0, tzinfo=dt.timezone.utc)
    q = added()
    failed = [at("AuthorizeSecurityGroupIngress-failed", when)]
    none = resolve([q], failed, q.window)
    assert none["status"] == "none" and none["event"] is None
    assert "1 failed call(s) ignored (Client.InvalidPermission.Duplicate)" in none["reason"]
    assert "the snapshot bounds stand" in line(none)
    twice = [at("AuthorizeSecurityGroupIngress", when + dt.timedelta(hours=h)) for h in (0, 5)]
    several = resolve([q], twice, q.window)
    assert several["status"] == "several" and len(several["candidates"]) == 2
    assert "2 events made this change" in several["reason"]


def test_an_event_outside_the_window_or_of_another_rule_or_group_answers_nothing() -> None:
    q = added()
    lo, hi = q.window
    late = dt.datetime.fromtimestamp(hi + 60, dt.timezone.utc)
    assert resolve([q], [at("AuthorizeSecurityGroupIngress", late)], q.window)["status"] == "none"
    inside = dt.datetime.fromtimestamp(T0 + 3600, dt.timezone.utc)
    other_port = at(
        "AuthorizeSecurityGroupIngress",
        inside,
        set_values={"responseElements.securityGroupRuleSet.items.0.fromPort": 2222},
    )
    other_group = at("AuthorizeSecurityGroupIngress", inside, swap={ADMIN: "sg-0other0000000009"})
    assert resolve([q], [other_port, other_group], q.window)["status"] == "none"
    assert hi - lo == T1 - T0 + 2 * MARGIN


def test_a_revoke_that_removed_nothing_is_not_the_removal() -> None:
    when = dt.datetime(2026, 11, 13, 10, 14, 2, tzinfo=dt.timezone.utc)
    other = rule("ingress", "tcp", "10.191.12.31/32", (22, 22))
    q = Question("rule_removed", ACCOUNT, REGION, ADMIN, (ADMIN,), T0, T1, rule=other)
    answer = resolve([q], [at("RevokeSecurityGroupIngress-unknown", when)], q.window)
    assert answer["status"] == "none"
    assert "removed nothing (the rule was in its unknownIpPermissionSet)" in answer["reason"]


def test_a_rule_changed_in_place_is_matched_by_its_id() -> None:
    when = dt.datetime(2026, 11, 13, 11, 30, 45, tzinfo=dt.timezone.utc)
    modify = at("ModifySecurityGroupRules", when)
    old = rule("ingress", "tcp", "10.191.12.0/24", (22, 22))
    new = rule("ingress", "tcp", "10.191.13.0/24", (22, 22))
    rid = "sgr-0a1b2c3d4e5f60008"
    removed = Question("rule_removed", ACCOUNT, REGION, ADMIN, (ADMIN,), T0, T1, old, rid)
    assert resolve([removed], [modify], removed.window)["status"] == "exact"
    assert resolve([added(new, rid)], [modify], removed.window)["status"] == "exact"
    # Not the rule it now is: another content under the same id.
    assert resolve([added(old, rid)], [modify], removed.window)["status"] == "none"


def test_a_boundary_with_alternatives_is_answered_by_any_one_of_them() -> None:
    when = dt.datetime(2026, 11, 13, 9, 12, 44, tzinfo=dt.timezone.utc)
    gone = Question("terminated", ACCOUNT, REGION, "i-0debug0000000001", ("i-0debug0000000001",),
                    T0, T1)  # fmt: skip
    unassigned = Question("unassigned", ACCOUNT, REGION, "eni-0debug0000000001",
                          ("eni-0debug0000000001",), T0, T1, address="10.191.12.13")  # fmt: skip
    answer = resolve([gone, unassigned], [at("TerminateInstances", when)], gone.window)
    assert answer["status"] == "exact" and answer["event"]["name"] == "TerminateInstances"
    assert (
        "TerminateInstances of i-0debug0000000001; or UnassignPrivateIpAddresses"
        in (answer["looked_for"])
    )


# --- plumbing ------------------------------------------------------------------------------------


def test_the_read_only_guard_allows_lookup_events_and_no_other_lookup_or_write() -> None:
    assert is_allowed("cloudtrail", "LookupEvents")
    assert is_allowed("ec2", "GetIpamAddressHistory") and is_allowed("ec2", "DescribeIpams")
    for operation in ("StopLogging", "DeleteTrail", "PutEventSelectors", "LookupEventsAll"):
        assert not is_allowed("cloudtrail", operation)
    assert not is_allowed("ec2", "LookupEvents")  # the one exception is CloudTrail's


def test_the_token_bucket_spaces_calls_half_a_second_apart() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.take()
    assert slept == [0.5, 0.5, 0.5, 0.5]
    now[0] += 10  # idle: the next call goes at once, never in a burst after it
    bucket.take()
    bucket.take()
    assert slept[-1] == 0.5 and len(slept) == 5


def test_the_cache_keeps_a_lookup_and_follows_no_link(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    events = [{"EventId": "e1", "CloudTrailEvent": "{}", "EventTime": "2026-11-13T00:00:00Z"}]
    cache.put(ACCOUNT, REGION, ADMIN, 1, 2, events)
    assert cache.get(ACCOUNT, REGION, ADMIN, 1, 2) == events
    assert cache.get(ACCOUNT, REGION, ADMIN, 1, 3) is None  # another window
    assert (tmp_path / ".driftaudit" / ".gitignore").read_text() == "*\n"
    kept = tmp_path / ".driftaudit" / "cloudtrail" / Cache.file_name(ACCOUNT, REGION, ADMIN, 1, 2)
    kept.write_text("{not json")
    assert cache.get(ACCOUNT, REGION, ADMIN, 1, 2) is None  # damaged: asked again
    # A link where a cache file belongs is neither read nor written through.
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"version": 1}))
    kept.unlink()
    kept.symlink_to(target)
    assert cache.get(ACCOUNT, REGION, ADMIN, 1, 2) is None
    cache.put(ACCOUNT, REGION, ADMIN, 1, 2, events)
    assert json.loads(target.read_text()) == {"version": 1}
    # A link where the cache directory belongs: nothing kept, nothing read through it.
    other = tmp_path / "other"
    other.mkdir()
    linked = tmp_path / "linked"
    (linked / ".driftaudit").mkdir(parents=True)
    os.symlink(other, linked / ".driftaudit" / "cloudtrail")
    Cache(linked).put(ACCOUNT, REGION, ADMIN, 1, 2, events)
    assert list(other.iterdir()) == []
    assert Cache(linked).get(ACCOUNT, REGION, ADMIN, 1, 2) is None


@pytest.mark.parametrize("kind", ["AuthorizeSecurityGroupIngress", "RunInstances"])
def test_an_unreadable_event_is_refused_by_name(kind: str) -> None:
    from driftaudit.attribution.events import EventError

    wrapped = lookup_event(fixture(kind))
    wrapped["CloudTrailEvent"] = "{not json"
    with pytest.raises(EventError, match="CloudTrailEvent is not JSON"):
        parse_event(wrapped)
