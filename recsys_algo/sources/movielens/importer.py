"""MovieLens -> raw rating events, one landing file per UTC day, plus the tenant catalog."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recsys_algo.contracts.names import check_name
from recsys_algo.sources.days import CHUNK_ROWS, day_files, write_days
from recsys_algo.sources.movielens.files import (
    ML_100K,
    ML_100K_GENRES,
    ML_LATEST_SMALL,
    MovieLens,
    detect_format,
    load_movielens,
)
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import Storage

__all__ = [
    "CHUNK_ROWS",
    "LANDING_NAME",
    "ML_100K",
    "ML_100K_GENRES",
    "ML_LATEST_SMALL",
    "SESSION_GAP_MS",
    "ImportSummary",
    "MovieLens",
    "day_files",
    "detect_format",
    "import_movielens",
    "load_movielens",
    "rating_events",
]

SESSION_GAP_MS = 30 * 60 * 1000  # a pause longer than this between two ratings starts a session
LANDING_NAME = "movielens.jsonl"


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


def import_movielens(path: Path, storage: Storage, tenant: str, surface: str) -> ImportSummary:
    """Write raw/{tenant}/{surface}/{day}/movielens.jsonl for every day and the catalog."""
    check_name("tenant", tenant)
    check_name("surface", surface)
    data = load_movielens(path)
    events = rating_events(data.ratings)
    written = write_days(storage, tenant, surface, events, LANDING_NAME)
    write_catalog(storage, tenant, data.catalog.to_dicts())
    return ImportSummary(
        format=data.format,
        days=written.days,
        events=events.height,
        items=data.catalog.height,
        users=data.ratings["user"].n_unique(),
        first_day=written.first_day,
        last_day=written.last_day,
    )
