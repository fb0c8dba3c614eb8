"""The pure parts of a backfill on plain data: which history windows a resource needs, how
items become snapshots, how a backfilled commit says its source (and how nothing else can)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from driftaudit.backfill import windows
from driftaudit.backfill.convert import Converted
from driftaudit.backfill.source import AWS_CONFIG, Source, backfilled, message, recorded_source
from driftaudit.backfill.timeline import Resource, file_bytes, plan
from driftaudit.gitrepo import Repo
from tests.support.gitsnap import ACCOUNT, REGION, git, init_repo

T0 = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
SINCE = T0
UNTIL = T0 + 30 * DAY


def seen(day: float, discovered: bool = False) -> windows.Seen:
    return windows.Seen(T0 + day * DAY, discovered)


# --- windows ---------------------------------------------------------------------------------


def walk(need: windows.Need, items: list[windows.Seen]) -> list[tuple[float, float]]:
    """The windows read (as days from T0) when the resource's items are ``items``."""
    out = []
    window = windows.first_window(need)
    while window is not None:
        earlier, later = window
        out.append(((earlier - T0) / DAY, (later - T0) / DAY))
        read = [s for s in items if s.time >= earlier]
        window = windows.next_window(need, earlier, read)
    return out


def test_a_quiet_resource_still_there_costs_one_call_a_week_of_the_period() -> None:
    need = windows.need_for(SINCE, UNTIL, 90 * DAY, None, current=True)
    assert need is not None
    # The window reaching into the lookback costs no more than one stopping at since, and
    # finds a changed resource's state before the period at no further cost.
    assert walk(need, []) == [(23, 30), (16, 23), (9, 16), (2, 9), (-5, 2)]
    assert windows.sequential_calls(30) == 5


def test_reading_stops_at_the_first_item_a_resource_ever_had() -> None:
    need = windows.need_for(SINCE, UNTIL, 90 * DAY, None, current=True)
    assert need is not None
    assert walk(need, [seen(20, discovered=True), seen(25)]) == [(23, 30), (16, 23)]


def test_a_change_in_the_period_sends_it_back_for_the_state_before_within_the_lookback() -> None:
    need = windows.need_for(SINCE, UNTIL, 14 * DAY, None, current=True)
    assert need is not None
    # An item before the period, 10 days before it: found in the lookback, then stop.
    assert walk(need, [seen(-10), seen(12)])[-2:] == [(-5, 2), (-12, -5)]
    # None within the lookback: stop there (the state at since is then unknown).
    assert walk(need, [seen(12)])[-1] == (-14, -12)


def test_a_resource_deleted_before_the_period_is_not_read_and_one_deleted_in_it_from_then() -> None:
    assert windows.need_for(SINCE, UNTIL, 90 * DAY, T0 - DAY, current=False) is None
    need = windows.need_for(SINCE, UNTIL, 90 * DAY, T0 + 10 * DAY, current=True)
    assert need is not None and need.later == T0 + 11 * DAY and not need.current


def test_no_window_spans_more_than_seven_days() -> None:
    need = windows.need_for(SINCE, UNTIL, 365 * DAY, None, current=False)
    assert need is not None
    spans = walk(need, [])
    assert all(later - earlier <= 7 for earlier, later in spans)
    assert spans[-1][0] == -365


# --- items to snapshots ------------------------------------------------------------------------


def item(day: float, doc: dict[str, object] | None, status: str = "OK") -> Converted:
    when = T0 + day * DAY
    if doc is None:
        return Converted(when, str(day), status, gone=True)
    rid = str(doc["GroupId"])
    return Converted(when, str(day), status, rid, {**doc, "Tags": {}})


def group(gid: str, rules: int = 0) -> dict[str, object]:
    return {
        "GroupId": gid,
        "Rules": [
            {
                "Direction": "ingress",
                "Protocol": "tcp",
                "FromPort": p,
                "ToPort": p,
                "Source": "10.0.0.0/8",
                "SourceType": "cidr",
            }
            for p in range(22, 22 + rules)
        ],
    }


def resource(gid: str, changes: list[Converted], current: bool = False) -> Resource:
    now = file_bytes(ACCOUNT, REGION, "security_groups", gid, {**group(gid, 9), "Tags": {}}, "yaml")
    return Resource(
        ACCOUNT,
        REGION,
        "security_groups",
        "AWS::EC2::SecurityGroup",
        gid,
        changes,
        now if current else None,
    )


def path(gid: str) -> str:
    return f"{ACCOUNT}/{REGION}/security_groups/{gid}.yaml"


def test_the_first_snapshot_is_the_state_at_since_and_each_change_a_snapshot_after() -> None:
    result = plan(
        [
            resource(
                "sg-01",
                [item(-40, group("sg-01"), "ResourceDiscovered"), item(5, group("sg-01", 1))],
            ),
            resource(
                "sg-02",
                [item(3, group("sg-02"), "ResourceDiscovered"), item(9, None, "ResourceDeleted")],
            ),
        ],
        SINCE,
        UNTIL,
    )
    times = [(s.time - T0) / DAY for s in result.snapshots]
    assert times == [0, 3, 5, 9]
    first, created, changed, deleted = result.snapshots
    assert first.initial and set(first.files) == {path("sg-01")}
    assert created.events == [("security_groups", "sg-02", "added")]
    assert changed.events == [("security_groups", "sg-01", "changed")]
    assert deleted.files == {path("sg-02"): None}
    assert deleted.events == [("security_groups", "sg-02", "removed")]
    assert result.unknown_at_since == []


def test_a_resource_without_an_item_in_the_period_is_as_it_is_now() -> None:
    result = plan([resource("sg-01", [], current=True)], SINCE, UNTIL)
    (only,) = result.snapshots
    assert only.time == SINCE and b"FromPort: 30" in (only.files[path("sg-01")] or b"")


def test_an_unknown_state_at_since_is_said_and_never_invented() -> None:
    result = plan([resource("sg-01", [item(5, group("sg-01", 1))], current=True)], SINCE, UNTIL)
    assert result.unknown_at_since == ["AWS::EC2::SecurityGroup sg-01"]
    assert [s.initial for s in result.snapshots] == [False]  # it appears at day 5 only


def test_items_within_one_second_are_one_snapshot_and_not_recorded_says_nothing() -> None:
    second_later = Converted(
        T0 + 5 * DAY + dt.timedelta(milliseconds=400),
        "b",
        "OK",
        "sg-02",
        {**group("sg-02"), "Tags": {}},
    )
    result = plan(
        [
            resource(
                "sg-01",
                [
                    item(5, group("sg-01"), "ResourceDiscovered"),
                    Converted(T0 + 7 * DAY, "x", "ResourceNotRecorded"),
                ],
            ),
            resource("sg-02", [second_later]),
        ],
        SINCE,
        UNTIL,
    )
    (snapshot,) = result.snapshots
    assert set(snapshot.files) == {path("sg-01"), path("sg-02")}
    assert result.not_recorded == {"AWS::EC2::SecurityGroup": 1}


def test_a_change_config_records_but_driftaudit_does_not_keep_makes_no_commit() -> None:
    same = group("sg-01", 1)
    result = plan(
        [
            resource(
                "sg-01",
                [item(-1, same, "ResourceDiscovered"), item(4, same), item(6, group("sg-01", 2))],
            )
        ],
        SINCE,
        UNTIL,
    )
    assert [(s.time - T0) / DAY for s in result.snapshots] == [0, 6]


# --- the source trailer ------------------------------------------------------------------------

SOURCE = Source(AWS_CONFIG, (ACCOUNT,), (REGION,), ".")


def test_the_trailer_is_read_back_only_in_driftaudits_form() -> None:
    text = message(SOURCE, "1 change(s) from AWS Config", ["security_groups sg-01: changed"])
    assert recorded_source(text) == SOURCE
    assert text.rstrip().splitlines()[-1] == (
        "Driftaudit-Source: aws-config accounts=123456789012 regions=us-east-1 dir=."
    )
    # Not ours: another title, the trailer not alone in the last paragraph, or elsewhere.
    assert recorded_source(text.replace("driftaudit backfill: ", "fix: ")) is None
    assert recorded_source(text.rstrip() + "\nSigned-off-by: x\n") is None
    assert recorded_source(text.rstrip() + "\n\nmore\n") is None
    assert recorded_source("driftaudit backfill: x\n\n" + SOURCE.trailer() + "\nextra\n") is None


def test_resource_data_cannot_end_a_paragraph_or_forge_a_trailer() -> None:
    forged = "sg-01: changed\n\n" + SOURCE.trailer()
    text = message(SOURCE, "t", [forged])
    assert text.count("Driftaudit-Source:") == 2 and recorded_source(text) == SOURCE
    assert "\n\nDriftaudit-Source" not in text.split("\n\n", 2)[1]


def commit(repo: Path, text: str, date: str) -> str:
    (repo / "f").write_text(date)
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", text, date=date)
    return git(repo, "rev-parse", "HEAD").strip()


def test_only_the_chain_of_backfilled_commits_from_the_root_counts(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    text = message(SOURCE, "from AWS Config", [])
    first = commit(repo, text, "2026-11-01T06:00:00Z")
    second = commit(repo, text, "2026-11-02T06:00:00Z")
    commit(repo, "driftaudit snapshot: 1 change(s)\n\nDriftaudit-Run: x", "2026-11-03T06:00:00Z")
    forged = commit(repo, text, "2026-11-04T06:00:00Z")  # made later: not a backfill
    found = backfilled(Repo(repo), ".")
    assert found == {first: "aws-config", second: "aws-config"}
    assert forged not in found
    assert backfilled(Repo(repo), "snapshots") == {}  # another directory's


def test_a_history_not_starting_with_a_backfill_has_none(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    commit(repo, "first", "2026-11-01T06:00:00Z")
    commit(repo, message(SOURCE, "from AWS Config", []), "2026-11-02T06:00:00Z")
    assert backfilled(Repo(repo), ".") == {}


@pytest.mark.parametrize("n", [0, 1])
def test_an_empty_repository_has_no_backfill(tmp_path: Path, n: int) -> None:
    repo = init_repo(tmp_path / "r")
    assert backfilled(Repo(repo), ".") == {}
