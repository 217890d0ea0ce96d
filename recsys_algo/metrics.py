"""Offline ranking metrics (recall, nDCG, MRR, coverage at k) and time-based holdout splits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import polars as pl

from recsys_algo.errors import ConfigError

HOLDOUT_EVENT_TYPES = ("click", "add_to_cart", "purchase", "rating")


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"metrics: k must be an integer >= 1, got {k!r}")


def _check_lengths(recs: Sequence[Sequence[str]], truth: Sequence[Collection[str]]) -> None:
    if len(recs) != len(truth):
        raise ConfigError(
            f"metrics: recs has {len(recs)} users but truth has {len(truth)}; they must align"
        )


def _hits(
    recs: Sequence[Sequence[str]], truth: Sequence[Collection[str]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(hit matrix users x k, distinct truth sizes) for users with non-empty truth.

    Repeated items in one list count once (at their first rank), so no metric exceeds 1.
    Set membership per item is the fastest path from Python lists (~0.7 s per 100k x 20 on
    2 shared cores; building polars frames from the lists was slower).
    """
    _check_k(k)
    _check_lengths(recs, truth)
    flags: list[list[bool]] = []
    sizes: list[int] = []
    for ranked, relevant in zip(recs, truth, strict=True):
        if not len(relevant):
            continue
        wanted = relevant if isinstance(relevant, set | frozenset) else set(relevant)
        top = ranked[:k]
        flag = [item in wanted for item in top]
        if flag.count(True) > 1:  # a repeated hit counts at its first rank only
            first: set[str] = set()
            for pos, item in enumerate(top):
                flag[pos] = flag[pos] and item not in first
                first.add(item)
        flags.append(flag)
        sizes.append(len(wanted))
    lengths = np.fromiter(map(len, flags), dtype=np.int64, count=len(flags))
    owner = np.repeat(np.arange(len(flags)), lengths)
    rank = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    hits = np.zeros((len(flags), k), dtype=bool)
    hits[owner, rank] = np.fromiter(chain.from_iterable(flags), dtype=bool, count=owner.size)
    return hits, np.asarray(sizes, dtype=np.int64)


def _recall(hits: np.ndarray, sizes: np.ndarray, k: int) -> float:
    if not hits.shape[0]:
        return 0.0
    return float(np.mean(hits.sum(axis=1) / np.minimum(sizes, k)))


def _ndcg(hits: np.ndarray, sizes: np.ndarray, k: int) -> float:
    if not hits.shape[0]:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.minimum(sizes, k) - 1]
    return float(np.mean((hits * discounts).sum(axis=1) / ideal))


def _mrr(hits: np.ndarray) -> float:
    if not hits.shape[0]:
        return 0.0
    first = hits.argmax(axis=1)
    return float(np.mean(np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)))


def recall_at_k(recs: Sequence[Sequence[str]], truth: Sequence[Collection[str]], k: int) -> float:
    """Mean over users with non-empty truth of |top-k & truth| / min(|truth|, k); 0 if none."""
    hits, sizes = _hits(recs, truth, k)
    return _recall(hits, sizes, k)


def ndcg_at_k(recs: Sequence[Sequence[str]], truth: Sequence[Collection[str]], k: int) -> float:
    """Binary-relevance nDCG: DCG of the top-k over the ideal DCG of min(|truth|, k) hits."""
    hits, sizes = _hits(recs, truth, k)
    return _ndcg(hits, sizes, k)


def mrr_at_k(recs: Sequence[Sequence[str]], truth: Sequence[Collection[str]], k: int) -> float:
    """Mean reciprocal rank of the first hit within the top k (0 for users without one)."""
    hits, _ = _hits(recs, truth, k)
    return _mrr(hits)


def coverage_at_k(recs: Sequence[Sequence[str]], k: int, catalog_size: int) -> float:
    """Distinct items across all top-k lists over catalog_size (capped at 1)."""
    _check_k(k)
    if not isinstance(catalog_size, int) or catalog_size < 1:
        raise ConfigError(f"metrics: catalog_size must be an integer >= 1, got {catalog_size!r}")
    distinct = set(chain.from_iterable(ranked[:k] for ranked in recs))
    return min(1.0, len(distinct) / catalog_size)


def evaluate(
    recs: Sequence[Sequence[str]],
    truth: Sequence[Collection[str]],
    ks: Sequence[int] = (10, 20),
    *,
    catalog_size: int,
) -> dict[str, float]:
    """recall@k, ndcg@k, mrr@k and coverage@k for each k, plus "users" (users with truth)."""
    if not ks:
        raise ConfigError("metrics: ks must name at least one cutoff")
    for k in ks:
        _check_k(k)
    top = max(ks)
    all_hits, sizes = _hits(recs, truth, top)
    result: dict[str, float] = {}
    for k in ks:
        hits = all_hits[:, :k]
        result[f"recall@{k}"] = _recall(hits, sizes, k)
        result[f"ndcg@{k}"] = _ndcg(hits, sizes, k)
        result[f"mrr@{k}"] = _mrr(hits)
        result[f"coverage@{k}"] = coverage_at_k(recs, k, catalog_size)
    users = all_hits.shape[0]
    result["users"] = float(users)
    return result


def time_split(
    events: pl.DataFrame, holdout_start: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, test): events before holdout_start, and at or after it."""
    if holdout_start.tzinfo is None:
        raise ConfigError("metrics: holdout_start must be timezone-aware")
    cut = pl.lit(holdout_start.astimezone(dt.UTC)).cast(pl.Datetime("ms", "UTC"))
    return events.filter(pl.col("ts") < cut), events.filter(pl.col("ts") >= cut)


def holdout_truth(
    test: pl.DataFrame, *, event_types: Sequence[str] = HOLDOUT_EVENT_TYPES
) -> dict[str, set[str]]:
    """user_id -> items the user interacted with in the holdout; null user_ids are dropped."""
    grouped = (
        test.lazy()
        .filter(pl.col("user_id").is_not_null(), pl.col("event_type").is_in(list(event_types)))
        .group_by("user_id")
        .agg(pl.col("item_id").unique())
        .sort("user_id")
        .collect()
    )
    return {
        user: set(items)
        for user, items in zip(grouped["user_id"], grouped["item_id"].to_list(), strict=True)
    }


@dataclass(frozen=True)
class NextItemTruth:
    """For next-item evaluation: each user's recent training items and first holdout item."""

    user_ids: list[str]
    history: list[list[str]]  # last training items, oldest first
    target: list[str]  # first holdout item after the history


def next_item_truth(
    train: pl.DataFrame,
    test: pl.DataFrame,
    *,
    history_len: int = 5,
    event_types: Sequence[str] = HOLDOUT_EVENT_TYPES,
) -> NextItemTruth:
    """Users with both training history and a holdout interaction, sorted by user_id.

    Within a user, events are ordered by (ts, event_id) so ties resolve the same on every run.
    """
    _check_k(history_len)
    types = list(event_types)

    def interactions(frame: pl.DataFrame) -> pl.LazyFrame:
        return (
            frame.lazy()
            .filter(pl.col("user_id").is_not_null(), pl.col("event_type").is_in(types))
            .sort(["user_id", "ts", "event_id"])
        )

    history = (
        interactions(train).group_by("user_id").agg(pl.col("item_id").tail(history_len).alias("h"))
    )
    target = interactions(test).group_by("user_id").agg(pl.col("item_id").first().alias("t"))
    joined = history.join(target, on="user_id", how="inner").sort("user_id").collect()
    return NextItemTruth(
        user_ids=joined["user_id"].to_list(),
        history=joined["h"].to_list(),
        target=joined["t"].to_list(),
    )
