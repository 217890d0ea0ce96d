"""Landing change policy: fingerprints, the cursor, which partitions rerun, which scopes join."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.policy.landing import (
    MAX_RUNS_PER_TICK,
    Observed,
    changed,
    content_counts,
    fingerprint,
    listing,
    plan_landing_runs,
    problems_digest,
    register_scopes,
)
from recsys_algo.policy.landing_cursor import LandingCursor, decode_cursor, encode_cursor
from recsys_algo.policy.schedule import PartitionRun

DAY0 = dt.date(2026, 11, 1)
DAY1 = DAY0 + dt.timedelta(days=1)
HOUR = 6
LATER = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)  # past both days' 06:00 ticks
KEYS = ["raw/acme/home/2026-11-01/a.jsonl", "raw/acme/home/2026-11-01/b.jsonl"]


@dataclass(frozen=True)
class State:
    key: str
    size: int
    token: str


def states(token: str = "t1") -> list[State]:
    return [State(key, 10, token) for key in KEYS]


# Fingerprints and what counts as a change


def test_a_rewritten_file_changes_the_content_digest_but_not_the_names_digest() -> None:
    before, after = fingerprint(KEYS, states("t1")), fingerprint(KEYS, states("t2"))
    assert before.split(":")[0] == after.split(":")[0]
    assert changed(before, after)
    assert not changed(before, fingerprint(KEYS, states("t1")))


def test_names_only_fingerprints_see_new_files_not_rewrites() -> None:
    names = fingerprint(KEYS, None)
    assert names.endswith(":")
    assert not changed(fingerprint(KEYS, states("t1")), names)  # content dropped out of lookback
    assert changed(names, fingerprint([*KEYS, "raw/acme/home/2026-11-01/c.jsonl"], None))


def test_a_partition_never_seen_has_changed() -> None:
    assert changed(None, fingerprint(KEYS, None))


def test_content_counts_within_the_lookback_only() -> None:
    today = dt.date(2026, 11, 10)
    assert content_counts(today - dt.timedelta(days=3), today, 3)
    assert not content_counts(today - dt.timedelta(days=4), today, 3)


@given(st.lists(st.text(min_size=1), min_size=1, max_size=5, unique=True), st.booleans())
def test_a_fingerprint_never_changed_against_itself(keys: list[str], content: bool) -> None:
    fp = fingerprint(keys, [State(k, len(k), "x") for k in keys] if content else None)
    assert not changed(fp, fp)


# The cursor


@given(
    st.dictionaries(
        st.text(min_size=1),
        st.dictionaries(st.dates().map(dt.date.isoformat), st.text()),
        max_size=5,
    ),
    st.text(max_size=16),
)
def test_the_cursor_round_trips(seen: dict[str, dict[str, str]], reported: str) -> None:
    cursor = LandingCursor(seen, reported)
    assert decode_cursor(encode_cursor(cursor)) == cursor


def test_no_cursor_is_none() -> None:
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@pytest.mark.parametrize(
    ("cursor", "match"),
    [
        ('{"seen": {}}', r"is not a v1: cursor; reset the cursor in the UI"),
        ("v1:not-base64-zlib", r"is corrupt .*; reset the cursor in the UI"),
    ],
)
def test_an_unreadable_cursor_says_to_reset_it(cursor: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        decode_cursor(cursor)


# Which partitions rerun


def observed(day: dt.date = DAY0, fp: str = "n1:c1", scope: str = "acme.home") -> Observed:
    return Observed(scope, day, fp)


def cursor_with(*parts: Observed) -> LandingCursor:
    seen: dict[str, dict[str, str]] = {}
    for part in parts:
        seen.setdefault(part.scope, {})[part.day.isoformat()] = part.fingerprint
    return LandingCursor(seen)


def test_the_first_tick_records_without_running() -> None:
    plan = plan_landing_runs(None, [observed(DAY0), observed(DAY1)], [], {}, LATER, HOUR)
    assert plan.runs == []
    assert plan.cursor.seen == {"acme.home": {"2026-11-01": "n1:c1", "2026-11-02": "n1:c1"}}
    assert plan.message.startswith("first tick: recorded 2 landing partitions without running")


def test_a_changed_partition_past_its_tick_reruns_with_a_key_naming_its_fingerprint() -> None:
    previous = cursor_with(observed(DAY0), observed(DAY1))
    plan = plan_landing_runs(
        previous, [observed(DAY0, "n1:c2"), observed(DAY1)], [], {}, LATER, HOUR
    )
    assert plan.runs == [
        PartitionRun("acme.home", DAY0, "landing", "landing:acme.home:2026-11-01:n1:c2")
    ]
    assert plan.message == "requested 1 partition runs"
    assert plan.cursor.seen["acme.home"]["2026-11-01"] == "n1:c2"


def test_nothing_changed_says_so() -> None:
    plan = plan_landing_runs(cursor_with(observed()), [observed()], [], {}, LATER, HOUR)
    assert plan.runs == []
    assert plan.message == "no new or changed landing files past their day's schedule tick"


def test_before_the_days_schedule_tick_a_change_is_recorded_and_left_to_the_schedule() -> None:
    before_tick = dt.datetime.combine(DAY1, dt.time(HOUR - 1, 59), tzinfo=dt.UTC)
    plan = plan_landing_runs(cursor_with(), [observed(DAY0)], [], {}, before_tick, HOUR)
    assert plan.runs == []
    assert plan.cursor.seen == {"acme.home": {"2026-11-01": "n1:c1"}}
    at_tick = before_tick + dt.timedelta(minutes=1)
    assert len(plan_landing_runs(cursor_with(), [observed(DAY0)], [], {}, at_tick, HOUR).runs) == 1


def test_past_the_limit_per_tick_changes_are_left_unrecorded_for_the_next_tick() -> None:
    days = [DAY0 - dt.timedelta(days=i) for i in range(MAX_RUNS_PER_TICK + 3)]
    plan = plan_landing_runs(cursor_with(), [observed(d) for d in days], [], {}, LATER, HOUR)
    assert len(plan.runs) == MAX_RUNS_PER_TICK
    assert plan.message == f"requested {MAX_RUNS_PER_TICK} partition runs; 3 more on the next tick"
    assert len(plan.cursor.seen["acme.home"]) == MAX_RUNS_PER_TICK
    again = plan_landing_runs(plan.cursor, [observed(d) for d in days], [], {}, LATER, HOUR)
    assert [r.day for r in again.runs] == days[MAX_RUNS_PER_TICK:]


def test_unregistered_scopes_are_named_while_they_wait() -> None:
    plan = plan_landing_runs(cursor_with(), [], ["acme.search", "acme.search"], {}, LATER, HOUR)
    assert plan.message.endswith("; waiting for landing_scopes to register acme.search")


def test_bad_files_are_warned_about_once_per_set() -> None:
    bad = {"raw/acme/home/20261101/a.jsonl": "date '20261101' is invalid"}
    first = plan_landing_runs(cursor_with(), [], [], bad, LATER, HOUR)
    assert first.warning == (
        "landing files skipped: raw/acme/home/20261101/a.jsonl: date '20261101' is invalid"
    )
    assert first.cursor.reported == problems_digest(bad)
    assert plan_landing_runs(first.cursor, [], [], bad, LATER, HOUR).warning is None
    more = {**bad, "raw/acme/home/2026-11-01/notes.txt": "not .jsonl"}
    assert plan_landing_runs(first.cursor, [], [], more, LATER, HOUR).warning is not None


def test_a_listing_shows_ten_problems_and_counts_the_rest() -> None:
    problems = {f"raw/t/s/{i:02d}": "bad" for i in range(13)}
    text = listing(problems)
    assert text.count(": bad") == 10
    assert text.endswith("raw/t/s/09: bad; and 3 more")


# Which scopes register


def test_new_valid_scope_folders_register_and_known_ones_do_not() -> None:
    plan = register_scopes(["acme.home", "globex.feed"], {}, ["acme.home"], None)
    assert plan.new == ["globex.feed"]
    assert plan.message == "registered globex.feed"
    assert plan.cursor == "[]"


@pytest.mark.parametrize("cursor", [None, "not json", '{"a": 1}'])
def test_bad_folders_are_skipped_and_warned_about_until_the_cursor_holds_them(
    cursor: str | None,
) -> None:
    bad = {"raw/Bad Tenant/home/": "tenant 'Bad Tenant' is invalid"}
    plan = register_scopes(["acme.home"], bad, ["acme.home"], cursor)
    assert plan.new == []
    assert plan.warnings == [
        "landing folder raw/Bad Tenant/home/ skipped: tenant 'Bad Tenant' is invalid"
    ]
    assert plan.message == (
        "no new tenant.surface folders. skipped invalid folders: "
        "raw/Bad Tenant/home/: tenant 'Bad Tenant' is invalid"
    )
    assert json.loads(plan.cursor) == ["raw/Bad Tenant/home/"]
    assert register_scopes(["acme.home"], bad, ["acme.home"], plan.cursor).warnings == []
