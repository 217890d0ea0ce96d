"""MovieLens -> raw rating events, one landing file per UTC day, plus the tenant catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from recsys_algo.contracts.names import check_name
from recsys_algo.sources.movielens.files import (
    ML_100K,
    ML_100K_GENRES,
    ML_LATEST_SMALL,
    MovieLens,
    detect_format,
    load_movielens,
)
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.landing import write_landing_file
from recsys_algo.store.storage import Storage

__all__ = [
    "LANDING_NAME",
    "ML_100K",
    "ML_100K_GENRES",
    "ML_LATEST_SMALL",
    "SESSION_GAP_MS",
    "ImportSummary",
    "MovieLens",
    "detect_format",
    "import_movielens",
    "load_movielens",
    "rating_events",
]

SESSION_GAP_MS = 30 * 60 * 1000  # a pause longer than this between two ratings starts a session
LANDING_NAME = "movielens.jsonl"
CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class ImportSummary:
    format: str
    days: int
    events: int
    items: int
    users: int
    first_day: dt.date
    last_day: dt.date


def rating_events(ratings: pl.DataFrame) -> pl.DataFrame:
    """Ratings (user, item, rating, ts in epoch s) -> raw event columns plus the UTC day.

    Sessions: each user's ratings in time order, split where the gap exceeds SESSION_GAP_MS;
    session_id is ml-{user}-{n} with n counting from 1 per user.
    """
    user = pl.col("user").cast(pl.String)
    item = pl.col("item").cast(pl.String)
    ts = pl.col("ts") * 1000
    return (
        ratings.sort("user", "ts", "item")
        .with_columns(
            (ts.diff().over("user").fill_null(SESSION_GAP_MS + 1) > SESSION_GAP_MS)
            .cum_sum()
            .over("user")
            .alias("session")
        )
        .select(
            ts.alias("ts"),
            user.alias("user_id"),
            pl.format("ml-{}-{}", user, pl.col("session")).alias("session_id"),
            item.alias("item_id"),
            pl.lit("rating").alias("event_type"),
            pl.col("rating").alias("value"),
            pl.format("ml-{}-{}-{}", user, item, ts).alias("event_id"),
            pl.from_epoch(ts, "ms").dt.date().alias("day"),
        )
        .sort("day", "ts", "user_id", "item_id")
    )


def day_files(
    events: pl.DataFrame, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[dt.date, bytes]]:
    """(day, JSON lines) per day of events sorted by day, serialised a chunk of days at a time.

    One write_ndjson call per chunk rather than per day: a call costs ~0.3 ms, and ratings
    histories span thousands of days; chunks keep memory bounded for large data sets.
    """
    counts = events.group_by("day", maintain_order=True).len()
    days: list[dt.date] = counts["day"].to_list()
    lengths: list[int] = counts["len"].to_list()
    first_row = first_day = 0
    while first_day < len(days):
        last_day, rows = first_day, 0
        while last_day < len(days) and (rows == 0 or rows + lengths[last_day] <= chunk_rows):
            rows += lengths[last_day]
            last_day += 1
        chunk = events.slice(first_row, rows).drop("day").write_ndjson().encode()
        # JSON escapes newlines inside strings, so every b"\n" ends a row.
        line_ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n")) + 1
        if line_ends.size != rows:
            raise AssertionError(f"ndjson chunk has {line_ends.size} lines for {rows} rows")
        ends = line_ends[np.cumsum(lengths[first_day:last_day]) - 1].tolist()
        for day, start, end in zip(days[first_day:last_day], [0, *ends], ends, strict=False):
            yield day, chunk[start:end]
        first_row += rows
        first_day = last_day


def import_movielens(path: Path, storage: Storage, tenant: str, surface: str) -> ImportSummary:
    """Write raw/{tenant}/{surface}/{day}/movielens.jsonl for every day and the catalog."""
    check_name("tenant", tenant)
    check_name("surface", surface)
    data = load_movielens(path)
    events = rating_events(data.ratings)
    days = 0
    for day, lines in day_files(events):
        write_landing_file(storage, tenant, surface, day, LANDING_NAME, lines)
        days += 1
    write_catalog(storage, tenant, data.catalog.to_dicts())
    return ImportSummary(
        format=data.format,
        days=days,
        events=events.height,
        items=data.catalog.height,
        users=data.ratings["user"].n_unique(),
        first_day=events["day"].min(),  # type: ignore[arg-type]
        last_day=events["day"].max(),  # type: ignore[arg-type]
    )
