"""Held-out truth, defined once: the splits (the window's last day, global time splits, each
user's own last interactions) and what each held-out user did next."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import polars as pl

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.evaluation.params import EvalParams

# Event types that count as a user's interaction with an item (exposures do not).
INTERACTIONS = ("click", "add_to_cart", "purchase", "rating")


def time_split(
    events: pl.DataFrame, holdout_start: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, test): events before holdout_start, and at or after it."""
    if holdout_start.tzinfo is None:
        raise ConfigError("evaluation: holdout_start must be timezone-aware")
    cut = pl.lit(holdout_start.astimezone(dt.UTC)).cast(pl.Datetime("ms", "UTC"))
    ts = events["ts"]
    if ts.null_count() == 0 and ts.is_sorted():
        # A window is in time order (each canonical day is sorted by ts, days follow one
        # another): the two parts are slices of it, not a second copy of its rows (~70 MB at
        # 1M events, held through the whole evaluation; issue 18 fourth round).
        start_ms = pl.select(cut.dt.epoch("ms")).item()
        at = int(ts.dt.epoch("ms").search_sorted(start_ms, side="left"))
        return events.slice(0, at), events.slice(at)
    return events.filter(pl.col("ts") < cut), events.filter(pl.col("ts") >= cut)


@dataclass(frozen=True)
class Split:
    train: pl.DataFrame
    test: pl.DataFrame
    holdout_start: dt.datetime


def split_window(events: pl.DataFrame, window_end: dt.datetime, params: EvalParams) -> Split:
    """Hold out the window's last day; a one-day window holds out its last fraction of time."""
    if events.is_empty():
        raise ValidationGateError("evaluation: the window has no events to split")
    first = events["ts"].min()
    assert isinstance(first, dt.datetime)
    holdout_start = window_end - dt.timedelta(days=1)
    if first >= holdout_start:
        span = window_end - first
        holdout_start = window_end - span * params.holdout_fraction
    train, test = time_split(events, holdout_start)
    return Split(train, test, holdout_start)


@dataclass(frozen=True)
class Holdout:
    users: list[str]
    histories: list[tuple[str, ...]]  # training interactions, oldest first (deduplicated)
    truth: list[set[str]]  # held-out interactions not already seen in training
    next_item: list[set[str]]  # the first held-out interaction with an unseen item


def _sample_key(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()


def holdout(split: Split, params: EvalParams) -> Holdout:
    """Users with training history and something new in the holdout; a stable sample of them."""
    interactions = pl.col("event_type").is_in(INTERACTIONS) & pl.col("user_id").is_not_null()
    order = ["user_id", "ts", "event_id"]
    train = split.train.filter(interactions).sort(order).select("user_id", "item_id")
    test = split.test.filter(interactions).sort(order).select("user_id", "item_id")
    histories = (
        train.unique(["user_id", "item_id"], keep="last", maintain_order=True)
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item_id").alias("history"))
    )
    fresh = test.join(train.unique(), on=["user_id", "item_id"], how="anti").unique(
        ["user_id", "item_id"], keep="first", maintain_order=True
    )
    truth = fresh.group_by("user_id", maintain_order=True).agg(pl.col("item_id").alias("truth"))
    joined = histories.join(truth, on="user_id", how="inner")
    rows = sorted(joined.iter_rows(), key=lambda row: _sample_key(row[0]))[: params.max_users]
    rows.sort(key=lambda row: row[0])
    return Holdout(
        users=[r[0] for r in rows],
        histories=[tuple(r[1]) for r in rows],
        truth=[set(r[2]) for r in rows],
        next_item=[{r[2][0]} for r in rows],
    )


def time_splits(events: pl.DataFrame, fraction: float, origins: int) -> list[Split]:
    """Split i (1..origins) trains on events before the (1 - i * fraction) quantile of time and
    tests on the next `fraction` of events; one origin holds out the last `fraction`.

    Each split is a global time split: nothing after a split's start is trained on.
    """
    _check_fraction(fraction)
    if not 1 <= origins < 1 / fraction:
        raise ConfigError(f"origins times the holdout fraction must stay below 1, got {origins}")
    if events.is_empty():
        raise ValidationGateError("evaluation: no events to split")
    ts = events["ts"].sort()
    bounds = [ts[min(int(len(ts) * (1 - i * fraction)), len(ts) - 1)] for i in range(origins + 1)]
    splits = []
    for i in range(1, origins + 1):
        start, end = bounds[i], bounds[i - 1]
        assert isinstance(start, dt.datetime)
        test = pl.col("ts") >= start
        if i > 1:  # the last split runs to the end of the data, inclusive
            test = test & (pl.col("ts") < end)
        splits.append(Split(events.filter(pl.col("ts") < start), events.filter(test), start))
    return splits


MIN_USER_EVENTS = 5  # users with fewer interactions are not split: all of them train
MIN_USER_TRAIN = 2  # a split user keeps at least this many interactions in training


def per_user_split(events: pl.DataFrame, fraction: float) -> Split:
    """Temporal leave-last-out: each user's own last `fraction` of interactions is held out.

    A user with n >= MIN_USER_EVENTS interactions holds out their last
    min(max(1, floor(n * fraction)), n - MIN_USER_TRAIN) by (ts, event_id); everything else
    (including every non-interaction event and the events of users with fewer interactions)
    is training. The training part therefore contains other users' ratings that are later
    than a user's held-out ones (leakage, see docs/quality.md). holdout_start, which the
    split's training uses as as_of_end for decay, is the latest training timestamp + 1 ms.
    """
    _check_fraction(fraction)
    interactions = pl.col("event_type").is_in(INTERACTIONS) & pl.col("user_id").is_not_null()
    ranked = (
        events.with_row_index("_row")
        .sort("user_id", "ts", "event_id", nulls_last=True)
        .with_columns(
            _n=pl.when(interactions).then(pl.len().over("user_id", interactions)),
            _pos=pl.when(interactions).then(pl.int_range(pl.len()).over("user_id", interactions)),
        )
        .with_columns(
            _held=pl.min_horizontal(
                pl.max_horizontal((pl.col("_n") * fraction).floor().cast(pl.Int64), pl.lit(1)),
                pl.col("_n") - MIN_USER_TRAIN,
            )
        )
        .with_columns(
            _test=(
                interactions
                & (pl.col("_n") >= MIN_USER_EVENTS)
                & (pl.col("_pos") >= pl.col("_n") - pl.col("_held"))
            ).fill_null(False)
        )
        .sort("_row")
    )
    helpers = ["_row", "_n", "_pos", "_held", "_test"]
    train = ranked.filter(~pl.col("_test")).drop(helpers)
    test = ranked.filter(pl.col("_test")).drop(helpers)
    last = train["ts"].max()
    if not isinstance(last, dt.datetime):
        raise ValidationGateError("evaluation: no events to split")
    return Split(train, test, last + dt.timedelta(milliseconds=1))


def _check_fraction(fraction: float) -> None:
    if not 0 < fraction < 1:
        raise ConfigError(f"the holdout fraction must be in (0, 1), got {fraction}")
