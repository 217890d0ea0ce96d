from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

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


def test_volume_passes_without_comparison_when_history_is_short() -> None:
    result = validation.volume(1, [100, 100], 0.2, 5.0, 3, LABEL)
    assert result.passed
    assert "2 prior days, volume gate needs 3; passed without comparison" in result.message
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
def test_volume_compares_with_the_trailing_median(rows: int, passed: bool, ratio: str) -> None:
    result = validation.volume(rows, [90, 100, 1000], 0.2, 5.0, 3, LABEL)
    assert result.passed is passed
    assert result.message == (
        f"canonical_events for {LABEL}: {rows} events is {ratio}x the trailing "
        "3-day median 100; allowed 0.2..5.0x"
    )
    assert result.metadata["median"] == 100


def test_volume_median_of_even_history_averages_the_middle() -> None:
    result = validation.volume(150, [100, 200, 0, 300], 0.2, 5.0, 3, LABEL)
    assert result.metadata["median"] == 150
    assert result.passed


def test_volume_with_zero_median_fails_as_infinite_ratio() -> None:
    result = validation.volume(10, [0, 0, 0], 0.2, 5.0, 3, LABEL)
    assert not result.passed
    assert math.isinf(float(result.metadata["ratio"]))
