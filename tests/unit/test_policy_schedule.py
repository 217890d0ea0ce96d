"""The daily runs a schedule tick asks for, and when a day's tick has passed."""

from __future__ import annotations

import datetime as dt

from recsys_algo.policy.schedule import PartitionRun, daily_runs, schedule_tick_passed

TICK = dt.datetime(2026, 11, 23, 6, tzinfo=dt.UTC)


def test_a_tick_asks_for_yesterday_of_every_scope_sorted_with_stable_keys() -> None:
    runs = daily_runs({"globex.feed", "acme.home"}, TICK + dt.timedelta(minutes=3))
    day = dt.date(2026, 11, 22)
    assert runs == [
        PartitionRun("acme.home", day, "schedule", "daily:acme.home:2026-11-22"),
        PartitionRun("globex.feed", day, "schedule", "daily:globex.feed:2026-11-22"),
    ]


def test_yesterday_is_the_utc_one() -> None:
    # 01:00 on the 23rd in UTC+02:00 is still the 22nd in UTC: yesterday is the 21st.
    local = dt.datetime(2026, 11, 23, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert daily_runs(["acme.home"], local)[0].day == dt.date(2026, 11, 21)


def test_no_scopes_no_runs() -> None:
    assert daily_runs([], TICK) == []


def test_a_days_tick_passes_at_the_schedule_hour_the_next_day() -> None:
    day = dt.date(2026, 11, 22)
    assert not schedule_tick_passed(day, TICK - dt.timedelta(seconds=1), 6)
    assert schedule_tick_passed(day, TICK, 6)
