"""Every blocking check on canonical_events, made to fail, stops the publish."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import polars as pl
import pytest

from recsys_algo.contracts.errors import ValidationGateError
from recsys_algo.stages import ingest
from recsys_algo.store import registry
from recsys_pipelines.defs.ingest import checks
from recsys_pipelines.defs.resources import PipelineSettings
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines


def _publish_baseline(env: Env) -> str:
    """A good manifest for the day before, so we can see the pointer does not move."""
    day = DAY0 - dt.timedelta(days=1)
    env.write_day(day, event_lines(day, 60))
    return env.run(day).manifest_version or ""


def _serving(env: Env) -> str | None:
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    return current.manifest.manifest_version if current else None


def _distort(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[pl.DataFrame], pl.DataFrame]
) -> None:
    """Make canonicalization write a broken file, so the check must catch it downstream."""
    real = ingest.canonicalize_parquet

    def broken(staged: bytes) -> tuple[pl.DataFrame, int]:
        frame, duplicates = real(staged)
        return change(frame), duplicates

    monkeypatch.setattr(ingest, "canonicalize_parquet", broken)


def _expect_blocked(
    env: Env, check: str, match: str, after_baseline: Callable[[], None] = lambda: None
) -> None:
    baseline = _publish_baseline(env)
    after_baseline()
    with pytest.raises(ValidationGateError, match=match) as info:
        env.run(DAY0)
    assert check in str(info.value)
    # Every gate says what keeps serving while the day is held back.
    day_before = DAY0 - dt.timedelta(days=1)
    assert str(info.value).endswith(f"{baseline} (as_of {day_before}) keeps serving")
    assert _serving(env) == baseline
    versions = {
        e.manifest.as_of
        for e in registry.history(env.storage, env.keys, TENANT, SURFACE)
        if e.manifest
    }
    assert DAY0.isoformat() not in versions  # nothing was published for the blocked day


def test_schema_check_blocks_a_canonical_file_with_the_wrong_columns(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_day(DAY0, event_lines(DAY0, 60))
    _expect_blocked(
        env,
        checks.SCHEMA,
        "column rank is Float64.*unexpected column extra",
        lambda: _distort(
            monkeypatch,
            lambda f: f.with_columns(pl.col("rank").cast(pl.Float64), extra=pl.lit(1)),
        ),
    )


def test_ts_check_blocks_events_outside_the_partition_day(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_day(DAY0, event_lines(DAY0, 60))
    _expect_blocked(
        env,
        checks.TS_IN_DAY,
        "60 events outside 2026-11-01",
        lambda: _distort(monkeypatch, lambda f: f.with_columns(pl.col("ts") + pl.duration(days=2))),
    )


def test_min_events_check_blocks_a_day_whose_lines_were_all_rejected(env: Env) -> None:
    env.write_day(DAY0, ["{bad", json.dumps({"ts": "2026-11-01T01:00:00Z"})])
    _expect_blocked(env, checks.MIN_EVENTS, "0 events, min_events is 1")


def test_max_events_check_blocks_a_flood(env: Env) -> None:
    env.settings = PipelineSettings(max_events=100)
    env.write_day(DAY0, event_lines(DAY0, 101))
    _expect_blocked(env, checks.MAX_EVENTS, "101 events, max_events is 100")


def test_duplicate_ratio_check_blocks_a_replayed_file(env: Env) -> None:
    lines = [
        json.dumps(
            {
                "ts": "2026-11-01T10:00:00Z",
                "item_id": f"i{i}",
                "event_id": "same-id",
                "event_type": "click",
            }
        )
        for i in range(40)
    ]
    env.write_day(DAY0, event_lines(DAY0, 20) + lines)
    _expect_blocked(env, checks.DUPLICATE_RATIO, r"duplicate ratio 0\.650 \(39 of 60\)")


def test_volume_check_blocks_a_collapse_against_the_trailing_median(env: Env) -> None:
    for back in range(2, 6):
        day = DAY0 - dt.timedelta(days=back)
        env.write_day(day, event_lines(day, 100))
        env.run(day)
    env.write_day(DAY0, event_lines(DAY0, 10))
    _expect_blocked(
        env,
        checks.VOLUME,
        r"10 events is 0\.\d+x the median 100 of the last 5 days that exist \(2026-10-31, ",
    )


def test_volume_check_passes_without_enough_history(env: Env) -> None:
    env.write_day(DAY0, event_lines(DAY0, 5))
    assert env.run(DAY0).serving


def _days_before_a_gap(env: Env, gap: int, days: int, events: int = 100) -> None:
    """`days` published days, the last of them `gap` + 1 days before DAY0."""
    for back in range(gap + days, gap, -1):
        day = DAY0 - dt.timedelta(days=back)
        env.write_day(day, event_lines(day, events))
        env.run(day)


def test_a_small_day_after_a_long_gap_is_held_by_volume_and_window_coverage(env: Env) -> None:
    _days_before_a_gap(env, gap=18, days=5)
    serving = _serving(env)
    env.write_day(DAY0, event_lines(DAY0, 15))
    with pytest.raises(ValidationGateError) as info:
        env.run(DAY0)
    message = str(info.value)
    # The volume gate compares with the last days that exist, not the empty calendar days.
    assert (
        "15 events is 0.15x the median 100 of the last 5 days that exist (2026-10-13, " in message
    )
    # The window holds 6 of the 24 days since the scope's first: too thin to build on.
    assert (
        "canonical_events_window_coverage: canonical_events for acme/home 2026-11-01: the "
        "window 2026-10-09..2026-11-01 holds 6 of its 24 days since the scope's first day "
        "2026-10-09 (25%), min_window_coverage is 50%" in message
    )
    assert message.count(f"{serving} (as_of 2026-10-13) keeps serving") == 2
    assert _serving(env) == serving


def test_window_coverage_blocks_a_thin_window_and_a_lower_threshold_lets_it_through(
    env: Env,
) -> None:
    first = DAY0 - dt.timedelta(days=27)
    env.write_day(first, event_lines(first, 30))
    env.run(first)
    env.write_day(DAY0, event_lines(DAY0, 30))
    with pytest.raises(ValidationGateError, match="holds 2 of its 28 days"):
        env.run(DAY0)
    env.settings = PipelineSettings(min_window_coverage=0.05)
    assert env.run(DAY0).serving
