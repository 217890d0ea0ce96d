"""Column checks an import applies before it writes anything: each failing row becomes a BadRow.

Every check is a polars expression giving a reason (a string) for a bad row and null for a
good one; the first reason of a row is the one reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from recsys_algo.contracts.errors import ConfigError, DataSourceError
from recsys_algo.contracts.event_rules import MAX_ID_CHARS, MAX_MS, MIN_MS
from recsys_algo.sources.tabular.limits import MAX_BAD_ROWS
from recsys_algo.sources.tabular.table import LINE, BadRow, Table

REASON = "_reason"
SHOWN_CHARS = 64  # of a bad value, in a message
SHOWN_ROWS = 5  # bad rows named in a refusal
_CONTROL = r"[\x00-\x1f\x7f]"
TIME_UNITS = {"s": 1000, "ms": 1, "us": 0.001, "ns": 0.000_001}
ISO = "iso"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def shown(column: str) -> pl.Expr:
    """A value as a message quotes it: at most SHOWN_CHARS characters, in quotes."""
    text = pl.col(column).cast(pl.String)
    return pl.format("'{}'", text.str.slice(0, SHOWN_CHARS))


def id_reason(column: str, name: str, *, required: bool) -> pl.Expr:
    """The event contract's id rule: 1..MAX_ID_CHARS characters, no control characters."""
    text = pl.col(column).cast(pl.String)
    bad = text.str.len_chars().gt(MAX_ID_CHARS) | text.str.contains(_CONTROL)
    reason = pl.when(bad).then(
        pl.format(
            "{} {} must be 1..{} characters without control characters",
            pl.lit(name),
            shown(column),
            pl.lit(MAX_ID_CHARS),
        )
    )
    if required:
        return pl.when(text.is_null()).then(pl.lit(f"{name} is empty")).otherwise(reason)
    return reason


def epoch_ms(table: Table, column: str, unit: str) -> pl.Series:
    """Epoch milliseconds of a time column in `unit` (s, ms, us, ns or iso); null if unreadable.

    Numbers are truncated to whole milliseconds. ISO 8601 strings without an offset are UTC.
    Parquet timestamps are taken as they are (naive ones as UTC), whatever the unit.
    """
    series = table.frame[column]
    if series.dtype == pl.Date:
        series = series.cast(pl.Datetime("ms"))
    if isinstance(series.dtype, pl.Datetime):
        zone = series.dtype.time_zone
        utc = series.dt.replace_time_zone("UTC") if zone is None else series
        return utc.dt.convert_time_zone("UTC").dt.epoch("ms")
    if unit == ISO:
        text = series.cast(pl.String)
        values = {v: _iso_ms(v) for v in text.unique().drop_nulls().to_list()}
        return text.replace_strict(values, default=None, return_dtype=pl.Int64())
    factor = TIME_UNITS[unit]
    exact = series.cast(pl.Int64, strict=False)  # whole numbers: exact to the millisecond
    number = series.cast(pl.Float64, strict=False)  # decimals, exponents
    scaled = number * factor
    whole = exact * int(factor) if factor >= 1 else exact // round(1 / factor)
    ms = (
        pl.when(exact.is_not_null())
        .then(whole)
        .otherwise(scaled.floor().cast(pl.Int64, strict=False))
    )
    in_range = scaled.is_finite() & scaled.is_between(MIN_MS, MAX_MS)
    return pl.select(pl.when(in_range).then(ms)).to_series()


def _iso_ms(text: str) -> int | None:
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    ms = (parsed - _EPOCH) // dt.timedelta(milliseconds=1)
    return ms if MIN_MS <= ms <= MAX_MS else None


def time_reason(raw: str, parsed: str, unit: str) -> pl.Expr:
    what = "an ISO 8601 time" if unit == ISO else f"a time in epoch {unit} after 1970"
    return (
        pl.when(pl.col(raw).is_null())
        .then(pl.lit(f"{raw} is empty"))
        .when(pl.col(parsed).is_null())
        .then(pl.format("{} {} is not {}", pl.lit(raw), shown(raw), pl.lit(what)))
    )


def number_reason(raw: str, parsed: str) -> pl.Expr:
    """For an optional number column: present but not a finite number."""
    return pl.when(pl.col(raw).is_not_null() & ~pl.col(parsed).is_finite().fill_null(False)).then(
        pl.format("{} {} is not a finite number", pl.lit(raw), shown(raw))
    )


def split_bad(table: Table, frame: pl.DataFrame, reasons: Sequence[pl.Expr]) -> pl.DataFrame:
    """The rows no reason applies to; the others are added to table.bad, in line order."""
    checked = frame.with_columns(pl.coalesce(*reasons).alias(REASON)) if reasons else frame
    if REASON not in checked.columns:
        return frame
    bad = checked.filter(pl.col(REASON).is_not_null())
    table.bad.extend(
        table.bad_row(line, reason) for line, reason in bad.select(LINE, REASON).rows()
    )
    table.bad.sort(key=lambda row: row.line)
    return checked.filter(pl.col(REASON).is_null()).drop(REASON)


def check_bad_row_limit(allowed: int) -> None:
    if not 0 <= allowed <= MAX_BAD_ROWS:
        raise ConfigError(f"max_bad_rows {allowed} must be in 0..{MAX_BAD_ROWS}")


def refuse_bad_rows(bad: Sequence[BadRow], allowed: int, source: str) -> None:
    """DataSourceError naming the first bad rows when there are more than `allowed`."""
    if len(bad) <= allowed:
        return
    first = "; ".join(str(row) for row in bad[:SHOWN_ROWS])
    more = f" and {len(bad) - SHOWN_ROWS} more" if len(bad) > SHOWN_ROWS else ""
    raise DataSourceError(
        f"{source}: {len(bad)} bad row(s), {allowed} allowed: {first}{more}; nothing was "
        "written (fix the rows, or let up to N through with max_bad_rows / --max-bad-rows N)"
    )


def nothing_left(frame: pl.DataFrame, source: str) -> None:
    if frame.is_empty():
        raise DataSourceError(f"{source}: no events to import")
