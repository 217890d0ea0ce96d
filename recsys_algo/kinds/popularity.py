"""Decayed, event-type weighted popularity over a trailing window; top-N."""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.contracts.events import EVENT_TYPES
from recsys_algo.kinds.runs import run_starts

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "exposure": 0.0,
    "click": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
    "rating": 2.0,
}
SCHEMA_VERSION = 1


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class PopularityParams:
    half_life_days: float = 7.0
    top_n: int = 1000
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        # Type checks first: a float top_n or a string weight would otherwise fail later
        # inside polars with a TypeError instead of a ConfigError naming the parameter.
        if not _is_number(self.half_life_days):
            raise ConfigError(f"half_life_days must be a number, got {self.half_life_days!r}")
        if isinstance(self.top_n, bool) or not isinstance(self.top_n, numbers.Integral):
            raise ConfigError(f"top_n must be an integer, got {self.top_n!r}")
        if not self.half_life_days > 0:
            raise ConfigError(f"half_life_days must be > 0, got {self.half_life_days}")
        if not 1 <= self.top_n <= 1_000_000:
            raise ConfigError(f"top_n must be in 1..1000000, got {self.top_n}")
        check_event_weights(self.weights)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "weights": dict(sorted(self.weights.items()))}


def check_event_weights(weights: Mapping[str, float]) -> None:
    """Event-type weights (popularity, implicit, item_model): known types, finite and >= 0."""
    unknown = set(weights) - set(EVENT_TYPES)
    if unknown:
        raise ConfigError(f"weights name unknown event types: {', '.join(sorted(unknown))}")
    if any(not (_is_number(w) and w >= 0 and np.isfinite(w)) for w in weights.values()):
        raise ConfigError("event weights must be finite and >= 0")


def compute_popularity(
    events: pl.DataFrame, as_of_end: dt.datetime, params: PopularityParams
) -> pl.DataFrame:
    """Score = sum of weight(event_type) * 0.5 ** (age_days / half_life); ties broken by item_id.

    Summation runs in numpy over item-sorted rows, so reruns give bit-identical scores.
    """
    weights = pl.DataFrame(
        {"event_type": list(params.weights), "weight": list(params.weights.values())},
        schema={"event_type": pl.String(), "weight": pl.Float64()},
    )
    end = pl.lit(as_of_end.astimezone(dt.UTC)).cast(pl.Datetime("ms", "UTC"))
    # Sort before any float arithmetic: vectorised pow may round differently by array position,
    # so each value's position must depend on the data alone, never on the input row order.
    rows = (
        events.lazy()
        .select("item_id", "ts", "event_type")
        .join(weights.lazy(), on="event_type", how="inner")
        .filter(pl.col("weight") > 0, pl.col("ts") < end)
        .with_columns(age_ms=(end - pl.col("ts")).dt.total_milliseconds())
        .select("item_id", "ts", "event_type", "weight", "age_ms")
        .sort(["item_id", "ts", "event_type"])
        .collect()
    )
    age_days = rows["age_ms"].to_numpy() / 86_400_000.0
    contrib = rows["weight"].to_numpy() * np.power(0.5, age_days / params.half_life_days)
    if rows.height == 0:
        return pl.DataFrame(
            schema={"item_id": pl.String(), "score": pl.Float64(), "events": pl.Int64()}
        )
    starts = run_starts(rows, ["item_id"])
    scores = np.add.reduceat(contrib, starts)
    counts = np.diff(np.r_[starts, rows.height])
    items = rows["item_id"].gather(starts)
    return (
        pl.DataFrame({"item_id": items, "score": scores, "events": counts.astype(np.int64)})
        .sort(["score", "item_id"], descending=[True, False])
        .head(params.top_n)
    )


def check_popularity(table: pa.Table, where: str) -> None:
    expected = {"item_id": pa.string(), "score": pa.float64(), "events": pa.int64()}
    actual = {f.name: f.type for f in table.schema}
    # polars may emit large_string; both are Arrow strings.
    actual = {k: pa.string() if v == pa.large_string() else v for k, v in actual.items()}
    if actual != expected:
        raise ArtifactError(f"{where}: popularity schema is {actual}, expected {expected}")
    if table.num_rows == 0:
        raise ArtifactError(f"{where}: popularity has no rows")
    for name in ("item_id", "events"):
        if nulls := table[name].null_count:
            raise ArtifactError(
                f"{where}: popularity column {name} must not be null ({nulls} nulls)"
            )
    scores = table["score"].to_numpy()
    if not np.all(np.isfinite(scores)) or np.any(scores <= 0):
        raise ArtifactError(f"{where}: popularity scores must be finite and > 0")
    if np.any(np.diff(scores) > 0):
        raise ArtifactError(f"{where}: popularity rows are not sorted by score")
    if len(set(table["item_id"].to_pylist())) != table.num_rows:
        raise ArtifactError(f"{where}: popularity repeats an item_id")
