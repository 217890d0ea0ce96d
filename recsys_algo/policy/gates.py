"""Blocking validation rules over one day of canonical events; each returns a GateResult."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

import polars as pl

from recsys_algo.contracts.canonical import schema_problems


@dataclass(frozen=True)
class GateResult:
    passed: bool
    message: str
    metadata: dict[str, float | int | str] = field(default_factory=dict)


def schema(frame: pl.DataFrame, label: str) -> GateResult:
    problems = schema_problems(frame)
    if problems:
        return GateResult(False, f"canonical_events for {label}: {'; '.join(problems)}")
    return GateResult(True, f"canonical_events for {label}: schema matches")


def ts_in_day(frame: pl.DataFrame, day: dt.date, label: str) -> GateResult:
    if "ts" not in frame.columns or frame.schema["ts"] != pl.Datetime("ms", "UTC"):
        return GateResult(False, f"canonical_events for {label}: ts is not UTC datetime")
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    outside = frame.filter((pl.col("ts") < start) | (pl.col("ts") >= end)).height
    message = f"canonical_events for {label}: {outside} events outside {day.isoformat()} (UTC)"
    return GateResult(outside == 0, message, {"outside": outside})


def min_events(rows: int, minimum: int, label: str) -> GateResult:
    message = f"canonical_events for {label}: {rows} events, min_events is {minimum}"
    return GateResult(rows >= minimum, message, {"rows": rows, "min_events": minimum})


def max_events(rows: int, maximum: int, label: str) -> GateResult:
    message = f"canonical_events for {label}: {rows} events, max_events is {maximum}"
    return GateResult(rows <= maximum, message, {"rows": rows, "max_events": maximum})


def duplicate_ratio(staged: int, canonical: int, maximum: float, label: str) -> GateResult:
    ratio = (staged - canonical) / staged if staged else 0.0
    message = (
        f"canonical_events for {label}: duplicate ratio {ratio:.3f} "
        f"({staged - canonical} of {staged}), max_duplicate_ratio is {maximum}"
    )
    return GateResult(ratio <= maximum, message, {"ratio": ratio, "max": maximum})


def volume(
    rows: int, history: list[int], low: float, high: float, min_history: int, label: str
) -> GateResult:
    """Today's volume must lie within [low, high] x the median of the trailing days."""
    if len(history) < min_history:
        return GateResult(
            True,
            f"canonical_events for {label}: {len(history)} prior days, volume gate needs "
            f"{min_history}; passed without comparison",
            {"rows": rows, "history_days": len(history)},
        )
    median = statistics.median(history)
    ratio = rows / median if median else float("inf")
    message = (
        f"canonical_events for {label}: {rows} events is {ratio:.2f}x the trailing "
        f"{len(history)}-day median {median:g}; allowed {low}..{high}x"
    )
    return GateResult(
        low <= ratio <= high, message, {"rows": rows, "median": median, "ratio": ratio}
    )
