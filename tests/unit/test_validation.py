from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.policy import gates as validation
from tests.support.builders import DAY, DAY_START, canonical_frame

LABEL = "demo/home 2026-11-20"


def test_schema_passes_for_canonical_frame() -> None:
    result = validation.schema(canonical_frame([{}]), LABEL)
    assert result.passed
    assert result.message == f"canonical_events for {LABEL}: schema matches"


def test_schema_fails_naming_every_problem() -> None:
    frame = canonical_frame([{}]).drop("rank").with_columns(pl.col("value").cast(pl.Int64()))
    result = validation.schema(frame, LABEL)
    assert not result.passed
    assert result.message == (
        f"canonical_events for {LABEL}: column value is Int64, expected Float64; "
        "column rank is missing"
    )


def test_ts_in_day_passes_at_both_edges() -> None:
    frame = canonical_frame(
        [{"ts": DAY_START}, {"ts": DAY_START + dt.timedelta(days=1, milliseconds=-1)}]
    )
    result = validation.ts_in_day(frame, DAY, LABEL)
    assert result.passed
    assert result.metadata == {"outside": 0}


def test_ts_in_day_counts_events_outside_the_utc_day() -> None:
    frame = canonical_frame(
        [
            {"ts": DAY_START - dt.timedelta(milliseconds=1)},
            {"ts": DAY_START + dt.timedelta(days=1)},
            {"ts": DAY_START + dt.timedelta(hours=3)},
        ]
    )
    result = validation.ts_in_day(frame, DAY, LABEL)
    assert not result.passed
    assert result.message == f"canonical_events for {LABEL}: 2 events outside 2026-11-20 (UTC)"
    assert result.metadata == {"outside": 2}


def test_ts_in_day_of_empty_frame_passes() -> None:
    assert validation.ts_in_day(canonical_frame([]), DAY, LABEL).passed


@pytest.mark.parametrize(
    "frame",
    [
        canonical_frame([{}]).with_columns(pl.col("ts").dt.replace_time_zone(None)),
        canonical_frame([{}]).drop("ts"),
    ],
    ids=["naive", "missing"],
)
def test_ts_in_day_fails_when_ts_is_not_a_utc_datetime(frame: pl.DataFrame) -> None:
    result = validation.ts_in_day(frame, DAY, LABEL)
    assert not result.passed
    assert result.message == f"canonical_events for {LABEL}: ts is not UTC datetime"


@pytest.mark.parametrize(("rows", "passed"), [(0, False), (4, False), (5, True), (6, True)])
def test_min_events(rows: int, passed: bool) -> None:
    result = validation.min_events(rows, 5, LABEL)
    assert result.passed is passed
    assert result.message == f"canonical_events for {LABEL}: {rows} events, min_events is 5"
    assert result.metadata == {"rows": rows, "min_events": 5}


def test_min_events_zero_allows_an_empty_day() -> None:
    assert validation.min_events(0, 0, LABEL).passed


@pytest.mark.parametrize(("rows", "passed"), [(9, True), (10, True), (11, False)])
def test_max_events(rows: int, passed: bool) -> None:
    result = validation.max_events(rows, 10, LABEL)
    assert result.passed is passed
    assert result.message == f"canonical_events for {LABEL}: {rows} events, max_events is 10"


@pytest.mark.parametrize(
    ("staged", "canonical", "passed", "shown"),
    [
        (100, 100, True, "0.000"),
        (100, 50, True, "0.500"),
        (100, 49, False, "0.510"),
        (0, 0, True, "0.000"),
    ],
)
def test_duplicate_ratio(staged: int, canonical: int, passed: bool, shown: str) -> None:
    result = validation.duplicate_ratio(staged, canonical, 0.5, LABEL)
    assert result.passed is passed
    assert result.message == (
        f"canonical_events for {LABEL}: duplicate ratio {shown} "
        f"({staged - canonical} of {staged}), max_duplicate_ratio is 0.5"
    )
    assert result.metadata["max"] == 0.5


def days_back(*counts: int, gap: int = 0) -> list[tuple[dt.date, int]]:
    """(day, rows) newest first, the newest `gap` days before DAY missing."""
    return [(DAY - dt.timedelta(days=gap + 1 + i), n) for i, n in enumerate(counts)]


def test_volume_passes_without_comparison_only_in_the_scopes_first_days() -> None:
    result = validation.volume(1, days_back(100, 100), 0.2, 5.0, 3, LABEL)
    assert result.passed
    assert result.message == (
        f"canonical_events for {LABEL}: the scope's first days: 2 earlier days exist "
        "(2026-11-19, 2026-11-18), the volume gate compares from 3; passed without comparison"
    )
    assert result.metadata == {"rows": 1, "history_days": 2}


@pytest.mark.parametrize(
    ("rows", "passed", "ratio"),
    [
        (100, True, "1.00"),
        (20, True, "0.20"),
        (19, False, "0.19"),
        (500, True, "5.00"),
        (501, False, "5.01"),
    ],
)
def test_volume_compares_with_the_median_of_the_last_days_that_exist(
    rows: int, passed: bool, ratio: str
) -> None:
    # 18 days without events before DAY: the comparison is with the days before the gap.
    result = validation.volume(rows, days_back(90, 100, 1000, gap=18), 0.2, 5.0, 3, LABEL)
    assert result.passed is passed
    assert result.message == (
        f"canonical_events for {LABEL}: {rows} events is {ratio}x the median 100 of the last "
        "3 days that exist (2026-11-01, 2026-10-31, 2026-10-30); allowed 0.2..5.0x"
    )
    assert result.metadata["median"] == 100


def test_volume_median_of_even_history_averages_the_middle() -> None:
    result = validation.volume(150, days_back(100, 200, 0, 300), 0.2, 5.0, 3, LABEL)
    assert result.metadata["median"] == 150
    assert result.passed


def test_volume_with_zero_median_fails_as_infinite_ratio() -> None:
    result = validation.volume(10, days_back(0, 0, 0), 0.2, 5.0, 3, LABEL)
    assert not result.passed
    assert math.isinf(float(result.metadata["ratio"]))


def window(*offsets: int) -> list[dt.date]:
    return [DAY - dt.timedelta(days=o) for o in offsets]


def test_window_coverage_blocks_a_window_that_holds_too_few_of_its_days() -> None:
    # 9 of 28 days: the day itself after an 18-day gap, and 8 days before the gap.
    present = window(0, *range(19, 27), 60)
    result = validation.window_coverage(present, DAY, 28, present[-1], 0.5, LABEL)
    assert not result.passed
    assert result.message == (
        f"canonical_events for {LABEL}: the window 2026-10-24..2026-11-20 holds 9 of its 28 "
        "days (32%), min_window_coverage is 50%"
    )
    assert result.metadata == {"days_present": 9, "days": 28, "coverage": 9 / 28}


def test_window_coverage_counts_only_days_since_the_scopes_first_day() -> None:
    present = window(2, 1, 0)
    result = validation.window_coverage(present, DAY, 28, present[0], 0.5, LABEL)
    assert result.passed
    assert result.message == (
        f"canonical_events for {LABEL}: the window 2026-11-18..2026-11-20 holds 3 of its 3 "
        "days since the scope's first day 2026-11-18 (100%), min_window_coverage is 50%"
    )


@given(
    offsets=st.sets(st.integers(1, 60), max_size=40),
    window_days=st.integers(1, 40),
    minimum=st.floats(0, 1),
)
def test_window_coverage_passes_exactly_when_the_share_reaches_the_minimum(
    offsets: set[int], window_days: int, minimum: float
) -> None:
    present = sorted(window(0, *offsets))
    result = validation.window_coverage(present, DAY, window_days, present[0], minimum, LABEL)
    start = max(DAY - dt.timedelta(days=window_days - 1), present[0])
    inside = [d for d in present if d >= start]
    assert result.metadata["days"] == (DAY - start).days + 1
    assert result.passed is (len(inside) / ((DAY - start).days + 1) >= minimum)
