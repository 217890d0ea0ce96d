"""DIGINETICA product views (CIKM Cup 2016) -> raw click events, one landing file per UTC day.

The file is semicolon-separated with a header, `session_id;user_id;item_id;timeframe;eventdate`
(the full data set spells them sessionId;userId;itemId). `timeframe` is milliseconds since the
session started and `eventdate` the day of the view; `user_id` is `NA` for anonymous views.
There is no catalog. Times of day are not in the data: a session is placed so that each view
falls on its own eventdate, starting at midnight of its first day, or, for a session that runs
past midnight, so that its first view on its last day lands at midnight of that day.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.contracts.names import check_name
from recsys_algo.sources.days import landing_name_for, write_days
from recsys_algo.sources.tabular.checks import (
    check_bad_row_limit,
    id_reason,
    nothing_left,
    refuse_bad_rows,
    shown,
    split_bad,
)
from recsys_algo.sources.tabular.limits import DEFAULT_MAX_ROWS
from recsys_algo.sources.tabular.summary import LogSummary
from recsys_algo.sources.tabular.table import (
    LINE,
    Table,
    TableFormat,
    read_table,
)
from recsys_algo.store.storage import Storage

COLUMNS = ("session_id", "user_id", "item_id", "timeframe", "eventdate")
FILE_NAMES = ("train-item-views.csv", "sample_train-item-views.csv")
EVENT_TYPE = "click"  # a product view is an item the user chose to open, not one shown
MS_PER_DAY = 86_400_000
MAX_OFFSET_MS = 30 * MS_PER_DAY  # a longer "session" is not one; its rows are bad rows
_OFFSET, _DAY, _START = "_offset", "_day", "_start"


def find_views(path: Path) -> Path:
    """The views file: PATH itself, or the first of FILE_NAMES in the folder PATH."""
    if path.is_dir():
        for name in FILE_NAMES:
            if (path / name).is_file():
                return path / name
        raise DataSourceError(f"{path}: holds none of {', '.join(FILE_NAMES)}")
    if not path.is_file():
        raise DataSourceError(f"{path}: no such file or folder")
    return path


def _header_names(path: Path) -> tuple[str, ...]:
    """The file's own header spelling of COLUMNS (snake_case or camelCase)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(4096).decode("utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataSourceError(f"{path}: cannot read the header ({exc})") from None
    names = tuple(first.split(";"))
    if tuple(n.replace("_", "").lower() for n in names) != tuple(
        c.replace("_", "") for c in COLUMNS
    ):
        raise DataSourceError(
            f"{path}: header {first[:120]!r} is not DIGINETICA's "
            f"{';'.join(COLUMNS)} (or sessionId;userId;itemId;timeframe;eventdate)"
        )
    return names


def view_events(table: Table, names: tuple[str, ...], prefix: str) -> pl.DataFrame:
    """Checked click events plus "day", sorted by day, time and line; bad rows to table.bad."""
    session, user, item, offset, day = names
    frame = table.frame.with_columns(
        pl.col(offset).cast(pl.Int64, strict=False).alias(_OFFSET),
        pl.col(day).str.to_date("%Y-%m-%d", strict=False).alias(_DAY),
    )
    frame = split_bad(
        table,
        frame,
        [
            id_reason(session, "session_id", required=True),
            id_reason(user, "user_id", required=False),
            id_reason(item, "item_id", required=True),
            pl.when(~pl.col(_OFFSET).is_between(0, MAX_OFFSET_MS).fill_null(False)).then(
                pl.format(
                    "{} {} is not milliseconds in 0..{}",
                    pl.lit(offset),
                    shown(offset),
                    pl.lit(MAX_OFFSET_MS),
                )
            ),
            pl.when(pl.col(_DAY).is_null()).then(
                pl.format("{} {} is not a YYYY-MM-DD day", pl.lit(day), shown(day))
            ),
        ],
    )
    midnight = pl.col(_DAY).cast(pl.Datetime("ms")).dt.epoch("ms")
    last_day = pl.col(_DAY).max().over(session)
    on_last_day = pl.when(pl.col(_DAY) == last_day).then(pl.col(_OFFSET))
    spans = pl.col(_DAY).min().over(session) != last_day
    start = last_day.cast(pl.Datetime("ms")).dt.epoch("ms") - pl.when(spans).then(
        on_last_day.min().over(session)
    ).otherwise(0)
    frame = frame.with_columns((start + pl.col(_OFFSET)).alias("ts"))
    misplaced = (pl.col("ts") < midnight) | (pl.col("ts") >= midnight + MS_PER_DAY)
    frame = split_bad(
        table,
        frame,
        [
            pl.when(misplaced).then(
                pl.format(
                    "session {}: {} {} on {} does not fit the session's other views",
                    pl.col(session),
                    pl.lit(offset),
                    pl.col(offset),
                    pl.col(day),
                )
            )
        ],
    )
    return (
        frame.select(
            "ts",
            pl.col(user).alias("user_id"),
            pl.col(session).alias("session_id"),
            pl.col(item).alias("item_id"),
            pl.lit(EVENT_TYPE).alias("event_type"),
            pl.lit(None, pl.Float64()).alias("value"),
            pl.format("{}-{}", pl.lit(prefix), pl.col(LINE)).alias("event_id"),
            pl.col(_DAY).alias("day"),
            LINE,
        )
        .sort("day", "ts", LINE)
        .drop(LINE)
    )


def import_diginetica(
    path: Path,
    storage: Storage,
    tenant: str,
    surface: str,
    *,
    max_bad_rows: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> LogSummary:
    """Check every view, then write raw/{tenant}/{surface}/{day}/{file stem}.jsonl per day."""
    check_name("tenant", tenant)
    check_name("surface", surface)
    check_bad_row_limit(max_bad_rows)
    views = find_views(path)
    names = _header_names(views)
    fmt = TableFormat(separator=";", null_values=("", "NA"), max_rows=max_rows)
    table = read_table(views, fmt, names)
    landing_name = landing_name_for(views)
    events = view_events(table, names, landing_name.removesuffix(".jsonl"))
    refuse_bad_rows(table.bad, max_bad_rows, str(views))
    nothing_left(events, str(views))
    written = write_days(storage, tenant, surface, events, landing_name)
    return LogSummary.of(str(views), landing_name, events, written, table.bad)
