"""Collaborative filtering (implicit ALS or BPR) over decayed, weighted user-item events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from threadpoolctl import threadpool_limits

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.kinds.implicit.artifact import MAX_ITEMS, MAX_USERS, SCHEMA_VERSION, check_implicit
from recsys_algo.kinds.implicit.topn import top_n_unseen
from recsys_algo.kinds.popularity import DEFAULT_WEIGHTS, check_event_weights
from recsys_algo.kinds.runs import run_starts

__all__ = [
    "SCHEMA_VERSION",
    "CollabModel",
    "CollabParams",
    "check_implicit",
    "collab_frame",
    "fit_collab",
    "user_item_weights",
]

_RATING_SCALE = 5.0  # a rating event's weight is scaled by value / 5 (a 5-star rating counts fully)


@dataclass(frozen=True)
class CollabParams:
    model: Literal["als", "bpr"] = "als"
    factors: int = 64
    iterations: int = 15
    regularization: float = 0.05
    alpha: float = 20.0  # ALS confidence = 1 + alpha * decayed weighted events
    learning_rate: float = 0.01  # BPR only
    half_life_days: float = 14.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    top_n: int = 50
    seed: int = 42
    num_threads: int = 1
    max_users: int = MAX_USERS
    max_items: int = MAX_ITEMS
    min_user_events: int = 1

    def __post_init__(self) -> None:
        if self.model not in ("als", "bpr"):
            raise ConfigError(f"model must be 'als' or 'bpr', got {self.model!r}")
        for name, low, high in (
            ("factors", 1, 1024),
            ("iterations", 1, 10_000),
            ("top_n", 1, 10_000),
            ("num_threads", 1, 1024),
            ("max_users", 1, MAX_USERS),
            ("max_items", 1, MAX_ITEMS),
            ("min_user_events", 1, 1_000_000),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"{name} must be in {low}..{high}, got {value}")
        for name in ("regularization", "alpha", "learning_rate", "half_life_days"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be finite and > 0, got {value}")
        if self.model == "bpr" and self.num_threads != 1:
            # implicit's BPR updates shared factors from several threads without locks.
            raise ConfigError(
                f"model 'bpr' is only deterministic with num_threads 1, got {self.num_threads}"
            )
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be in 0..2**32-1, got {self.seed}")
        check_event_weights(self.weights)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "weights": dict(sorted(self.weights.items()))}


@dataclass(frozen=True)
class CollabModel:
    """Fitted factors; users and items are indexed in ascending id order."""

    user_ids: list[str]
    item_ids: list[str]
    user_factors: npt.NDArray[np.float32]
    item_factors: npt.NDArray[np.float32]
    top_offsets: npt.NDArray[np.int64]  # user u's top items are top_items[offsets[u]:offsets[u+1]]
    top_items: npt.NDArray[np.int32]
    top_scores: npt.NDArray[np.float32]


class WeightParams(Protocol):
    """What user_item_weights reads (CollabParams and the item_model kind's parameters)."""

    @property
    def weights(self) -> Mapping[str, float]: ...
    @property
    def half_life_days(self) -> float: ...
    @property
    def min_user_events(self) -> int: ...


def user_item_weights(
    events: pl.DataFrame, as_of_end: dt.datetime, params: WeightParams, require: str = ""
) -> pl.DataFrame:
    """One row per (user, item), sorted by both: decayed weighted sum, summed in numpy over
    sorted rows (bit-identical whatever the input order). require: the kind that needs at
    least one pair (ValidationGateError naming it when there is none)."""
    weights = pl.DataFrame(
        {"event_type": list(params.weights), "weight": list(params.weights.values())},
        schema={"event_type": pl.String(), "weight": pl.Float64()},
    )
    end = pl.lit(as_of_end.astimezone(dt.UTC)).cast(pl.Datetime("ms", "UTC"))
    age_days = (end - pl.col("ts")).dt.total_milliseconds() / 86_400_000.0
    rating = (pl.col("event_type") == "rating") & pl.col("value").is_not_null()
    strength = pl.when(rating).then(pl.col("value") / _RATING_SCALE).otherwise(1.0)
    rows = (
        events.lazy()
        .filter(pl.col("user_id").is_not_null(), pl.col("ts") < end)
        .join(weights.lazy(), on="event_type", how="inner")
        .with_columns(
            contrib=pl.col("weight") * strength * 0.5 ** (age_days / params.half_life_days)
        )
        .filter(pl.col("contrib") > 0)
        .with_columns(events=pl.len().over("user_id"))
        .filter(pl.col("events") >= params.min_user_events)
        .select("user_id", "item_id", "ts", "contrib")
        .sort(["user_id", "item_id", "ts", "contrib"])
        .collect()
    )
    if rows.height == 0:
        if require:
            raise ValidationGateError(
                f"{require}: no user-item interactions with positive weight before "
                f"{as_of_end.isoformat()} (min_user_events {params.min_user_events})"
            )
        return pl.DataFrame(
            schema={"user_id": pl.String(), "item_id": pl.String(), "weight": pl.Float64()}
        )
    starts = run_starts(rows, ["user_id", "item_id"])
    return pl.DataFrame(
        {
            "user_id": rows["user_id"].gather(starts),
            "item_id": rows["item_id"].gather(starts),
            "weight": np.add.reduceat(rows["contrib"].to_numpy(), starts),
        }
    )


def _matrix(pairs: pl.DataFrame, params: CollabParams) -> tuple[list[str], list[str], Any]:
    n_users = pairs["user_id"].n_unique()
    n_items = pairs["item_id"].n_unique()
    if n_users > params.max_users:
        raise ValidationGateError(f"implicit: {n_users} users exceeds max_users {params.max_users}")
    if n_items > params.max_items:
        raise ValidationGateError(f"implicit: {n_items} items exceeds max_items {params.max_items}")
    # pairs are sorted by (user_id, item_id); dense ranks give id-ordered indices.
    coded = pairs.select(
        u=pl.col("user_id").rank("dense").cast(pl.Int64) - 1,
        i=pl.col("item_id").rank("dense").cast(pl.Int64) - 1,
        w=pl.col("weight"),
    )
    user_ids = pairs["user_id"].unique(maintain_order=True).to_list()
    item_ids = pairs["item_id"].unique().sort().to_list()
    confidence = (1.0 + params.alpha * coded["w"].to_numpy()).astype(np.float32)
    import scipy.sparse as sp

    matrix = sp.csr_matrix(
        (confidence, (coded["u"].to_numpy(), coded["i"].to_numpy())),
        shape=(n_users, n_items),
        dtype=np.float32,
    )
    matrix.sort_indices()
    return user_ids, item_ids, matrix


def _factorize(matrix: Any, params: CollabParams) -> tuple[Any, Any]:
    # implicit (and its scipy) only where a model is fitted, not where parameters are read.
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model: Any
    if params.model == "als":
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=1.0,  # the matrix already holds 1 + alpha * weight
            iterations=params.iterations,
            num_threads=params.num_threads,
            random_state=params.seed,
        )
    else:
        model = BayesianPersonalizedRanking(
            factors=params.factors,
            learning_rate=params.learning_rate,
            regularization=params.regularization,
            iterations=params.iterations,
            num_threads=params.num_threads,
            random_state=params.seed,
        )
    model.fit(matrix, show_progress=False)
    user_f = np.ascontiguousarray(model.user_factors, dtype=np.float32)
    item_f = np.ascontiguousarray(model.item_factors, dtype=np.float32)
    return user_f, item_f


def fit_collab(events: pl.DataFrame, as_of_end: dt.datetime, params: CollabParams) -> CollabModel:
    """Fit ALS/BPR on confidence 1 + alpha * sum(weight * decay); precompute top-N unseen items.

    implicit and the top-N product run on params.num_threads threads (1 by default, BLAS inside
    implicit always on 1), so reruns on the same machine give bit-identical factors and scores.
    """
    pairs = user_item_weights(events, as_of_end, params, require="implicit")
    user_ids, item_ids, matrix = _matrix(pairs, params)
    # Loaded before the limit below: threadpool_limits only reaches BLAS libraries already
    # loaded, and implicit brings its own (unlimited, it warns and runs slower).
    import implicit.cpu.als  # noqa: F401

    # implicit parallelises over users itself and wants single-threaded BLAS underneath.
    with threadpool_limits(limits=1, user_api="blas"):
        user_f, item_f = _factorize(matrix, params)
    with threadpool_limits(limits=params.num_threads, user_api="blas"):
        offsets, top_items, top_scores = top_n_unseen(user_f, item_f, matrix, params.top_n)
    return CollabModel(user_ids, item_ids, user_f, item_f, offsets, top_items, top_scores)


def collab_frame(model: CollabModel) -> pl.DataFrame:
    """The artifact: item rows (ordinal order) then user rows, each with its factors."""
    n_items, n_users = len(model.item_ids), len(model.user_ids)
    dim = model.item_factors.shape[1]
    factors = np.concatenate([model.item_factors, model.user_factors]).reshape(-1)
    offsets = np.concatenate([np.zeros(n_items, np.int32), model.top_offsets.astype(np.int32)])
    is_item = np.r_[np.ones(n_items, bool), np.zeros(n_users, bool)]
    table = pa.table(
        {
            "entity": pa.array(["item"] * n_items + ["user"] * n_users, pa.string()),
            "id": pa.array(model.item_ids + model.user_ids, pa.string()),
            "factors": pa.FixedSizeListArray.from_arrays(pa.array(factors, pa.float32()), dim),
            "top_items": pa.ListArray.from_arrays(
                offsets, pa.array(model.top_items, pa.int32()), mask=pa.array(is_item)
            ),
            "top_scores": pa.ListArray.from_arrays(
                offsets, pa.array(model.top_scores, pa.float32()), mask=pa.array(is_item)
            ),
        }
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
