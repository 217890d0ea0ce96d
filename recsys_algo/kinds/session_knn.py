"""Session neighbours (the VSKNN family): the window's sessions, kept for the service to find
the ones that share the current session's items and recommend what those sessions held.

The artifact is the sessions themselves, most recent first; the neighbour search runs at query
time (recsys_algo.serving.session_index), because it depends on the whole current session, not
on one seed item.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.kinds.session_params import SessionParams
from recsys_algo.kinds.sessions import prepare_sessions

SCHEMA_VERSION = 1
SESSION_KNN_SCHEMA: dict[str, pl.DataType] = {
    "items": pl.List(pl.String()),
    "weight": pl.Float64(),
}
# A table larger than this is a runaway build: 20M sessions x a few items.
MAX_ROWS = 20_000_000


@dataclass(frozen=True)
class SessionKnnParams(SessionParams):
    """keep_sessions: the most recent sessions kept (memory of the serving index);
    min_items: sessions with fewer distinct items are left out. The rest are read at query time
    (the manifest's lineage carries them): neighbors, the most similar sessions that vote;
    sample, the most recent sessions holding each query item that are compared; recent_items,
    the query's latest distinct items used; idf, weigh each voted item by log(sessions /
    sessions holding it) so that ubiquitous items do not win every vote."""

    keep_sessions: int = 200_000
    min_items: int = 1
    neighbors: int = 100
    sample: int = 1000
    recent_items: int = 50
    idf: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.keep_sessions <= MAX_ROWS:
            raise ConfigError(f"keep_sessions must be in 1..{MAX_ROWS}, got {self.keep_sessions}")
        if not 1 <= self.min_items <= 100:
            raise ConfigError(f"min_items must be in 1..100, got {self.min_items}")
        if not 1 <= self.neighbors <= 10_000:
            raise ConfigError(f"neighbors must be in 1..10000, got {self.neighbors}")
        if not 1 <= self.sample <= 100_000:
            raise ConfigError(f"sample must be in 1..100000, got {self.sample}")
        if not 1 <= self.recent_items <= 1000:
            raise ConfigError(f"recent_items must be in 1..1000, got {self.recent_items}")
        if not isinstance(self.idf, bool):
            raise ConfigError(f"idf must be true or false, got {self.idf!r}")


def compute_session_knn(
    events: pl.DataFrame, as_of_end: dt.datetime, params: SessionKnnParams
) -> pl.DataFrame:
    """The window's sessions with at least min_items distinct items: each one's distinct items
    in order of first appearance and its decay, most recent (latest event) first, ties by
    session key; at most keep_sessions of them."""
    sessions, enc = prepare_sessions(events, as_of_end, params, "session_knn")
    if enc.n_sessions == 0:
        return pl.DataFrame(schema=SESSION_KNN_SCHEMA)
    frame = sessions.frame.select(
        "session_key",
        "item_id",
        "ts",
        session=pl.Series(enc.session),
        weight=pl.Series(enc.weight[enc.session]),
    )
    per_session = (
        frame.group_by("session", maintain_order=True)
        .agg(
            pl.col("session_key").first(),
            pl.col("item_id").unique(maintain_order=True).alias("items"),
            pl.col("ts").max().alias("last"),
            pl.col("weight").first(),
        )
        .filter(pl.col("items").list.len() >= params.min_items)
        .sort(["last", "session_key"], descending=[True, False])
        .head(params.keep_sessions)
    )
    return per_session.select("items", "weight").cast(SESSION_KNN_SCHEMA)  # type: ignore[arg-type]


def check_session_knn(table: pa.Table, where: str) -> None:
    """Blocking checks of a session_knn artifact; raise ArtifactError naming the first problem."""
    actual = {f.name: f.type for f in table.schema}
    strings = (pa.string(), pa.large_string())
    items = actual.get("items")
    if (
        set(actual) != {"items", "weight"}
        or actual["weight"] != pa.float64()
        or not (pa.types.is_list(items) or pa.types.is_large_list(items))
        or items.value_type not in strings  # type: ignore[union-attr]
    ):
        raise ArtifactError(
            f"{where}: session_knn schema is {actual}, expected items list<string>, weight float64"
        )
    if not 1 <= table.num_rows <= MAX_ROWS:
        raise ArtifactError(
            f"{where}: session_knn has {table.num_rows} rows, expected 1..{MAX_ROWS}"
        )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if frame["weight"].null_count() or frame["items"].null_count():
        raise ArtifactError(f"{where}: session_knn has null values")
    weights = frame["weight"].to_numpy()
    if not np.all(np.isfinite(weights) & (weights >= 0) & (weights <= 1)):
        raise ArtifactError(f"{where}: session_knn weights must be in [0, 1]")
    if frame.select((pl.col("items").list.len() == 0).any()).item():
        raise ArtifactError(f"{where}: session_knn has a session without items")
    if frame["items"].explode().null_count():
        raise ArtifactError(f"{where}: session_knn has null values")
    # Each list's own distinct count: a hash of (row, item) over every exploded row held
    # ~120 MB at 1M events and was the publish step's peak (issue 18, fourth round).
    repeats = pl.col("items").list.n_unique() != pl.col("items").list.len()
    if frame.select(repeats.any()).item():
        raise ArtifactError(f"{where}: session_knn repeats an item within a session")
