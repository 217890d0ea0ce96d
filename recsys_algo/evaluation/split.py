"""Held-out truth, defined once: the window's last day held out, and what each user did next."""

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
