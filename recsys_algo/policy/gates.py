"""Blocking validation rules over one day of canonical events; each returns a GateResult."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from recsys_algo.contracts.canonical import schema_problems


def keeps_serving(scope: str, version: str | None, as_of: str | None) -> str:
    """What serves while a gate holds a day back: the end of every blocking message."""
    if version is None:
        return f"nothing is served for {scope} yet"
    return f"{version} (as_of {as_of}) keeps serving"


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


def _days(days: Sequence[dt.date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:7])
    return shown + (f" and {len(days) - 7} more" if len(days) > 7 else "")


def volume(
    rows: int,
    history: Sequence[tuple[dt.date, int]],
    low: float,
    high: float,
    min_history: int,
    label: str,
) -> GateResult:
    """Today's volume must lie within [low, high] x the median of the last days that exist
    (history: (day, rows), newest first; days without events are not counted as zeros)."""
    days = [day for day, _ in history]
    if len(history) < min_history:
        earlier = f" ({_days(days)})" if days else ""
        return GateResult(
            True,
            f"canonical_events for {label}: the scope's first days: {len(history)} earlier "
            f"days exist{earlier}, the volume gate compares from {min_history}; passed "
            "without comparison",
            {"rows": rows, "history_days": len(history)},
        )
    median = statistics.median(count for _, count in history)
    ratio = rows / median if median else float("inf")
    message = (
        f"canonical_events for {label}: {rows} events is {ratio:.2f}x the median {median:g} "
        f"of the last {len(history)} days that exist ({_days(days)}); allowed {low}..{high}x"
    )
    return GateResult(
        low <= ratio <= high, message, {"rows": rows, "median": median, "ratio": ratio}
    )


def window_coverage(
    present: Sequence[dt.date],
    day: dt.date,
    window_days: int,
    scope_first: dt.date,
    minimum: float,
    label: str,
) -> GateResult:
    """The share of the window's days that have events must reach `minimum`. Days before the
    scope's first day do not count: a new scope's first days are not a gap."""
    window_start = day - dt.timedelta(days=window_days - 1)
    start = max(window_start, scope_first)
    span = (day - start).days + 1
    held = sum(1 for d in present if start <= d <= day)
    share = held / span
    since = f" since the scope's first day {scope_first}" if start > window_start else ""
    message = (
        f"canonical_events for {label}: the window {start}..{day} holds {held} of its {span} "
        f"days{since} ({share:.0%}), min_window_coverage is {minimum:.0%}"
    )
    return GateResult(
        share >= minimum, message, {"days_present": held, "days": span, "coverage": share}
    )
