"""What each kind needs before it has something to say, decided from its own inputs.

A kind without enough is left out of the manifest with the reason returned here (recorded in
the manifest's lineage), never failed. Each kind has a check `before` computing (cheap counts
of its inputs) and a reason for an artifact that came out empty. The minimums
(docs/algorithms.md, "What each kind needs"):

- popularity: one event with a positive weight in the window;
- cooc: two items in at least min_support common sessions;
- session_seq: one item followed by another (within max_distance) in min_support sessions;
- implicit: MIN_FACTOR_USERS users and MIN_FACTOR_ITEMS items with positive-weight
  interactions (a factor model of one user or one item says nothing a list would not);
- content_sim: MIN_CONTENT_ITEMS catalog items with tags or a title, and one pair of them
  similar enough (min_score);
- revisit: one session with two or more positions (a later position is what it learns from);
- session_knn: one session with min_items distinct items;
- item_model: as implicit, MIN_FACTOR_USERS users and MIN_FACTOR_ITEMS items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from recsys_algo.kinds.session_params import SessionKindParams, SessionParams
from recsys_algo.kinds.sessions import Sessions, sessions_for

MIN_FACTOR_USERS = 2
MIN_FACTOR_ITEMS = 2
MIN_CONTENT_ITEMS = 2


def _weighted(events: pl.DataFrame, end: dt.datetime, weights: Mapping[str, float]) -> pl.Expr:
    positive = [name for name, weight in weights.items() if weight > 0]
    cut = pl.lit(end.astimezone(dt.UTC)).cast(pl.Datetime("ms", "UTC"))
    return pl.col("event_type").is_in(positive) & (pl.col("ts") < cut)


def popularity_before(events: pl.DataFrame, end: dt.datetime, params: Any) -> str | None:
    if events.select(_weighted(events, end, params.weights).any()).item():
        return None
    types = ", ".join(sorted(events["event_type"].unique().drop_nulls().to_list())) or "none"
    return (
        f"no event with a positive weight in the window ({events.height} events; "
        f"types seen: {types}; weights {dict(sorted(params.weights.items()))})"
    )


def _multi(found: Sessions, at_least: int) -> int:
    """How many sessions hold at_least positions."""
    if not found.sessions:
        return 0
    lengths = found.frame.group_by("session_key").len()["len"]
    return int((lengths >= at_least).sum())


def _unowned(found: Sessions) -> str:
    return f"; {found.dropped_events} events have neither user_id nor session_id" * bool(
        found.dropped_events
    )


def sessions_empty(events: pl.DataFrame, end: dt.datetime, params: SessionKindParams) -> str:
    """Why an item-to-item session kind came out empty: how many sessions could hold a pair."""
    found = sessions_for(events, end, params)
    return (
        f"{_multi(found, 2)} of {found.sessions} sessions hold two or more items, and no item "
        f"pair reaches min_support {params.min_support}{_unowned(found)}"
    )


def revisit_before(events: pl.DataFrame, end: dt.datetime, params: SessionParams) -> str | None:
    """The repeat model learns from a session's later positions: one session needs two."""
    found = sessions_for(events, end, params)
    if _multi(found, 2):
        return None
    return (
        f"none of {found.sessions} sessions holds two or more positions (gap_minutes "
        f"{params.gap_minutes:g}): no next item to learn from{_unowned(found)}"
    )


def session_knn_empty(events: pl.DataFrame, end: dt.datetime, params: Any) -> str:
    found = sessions_for(events, end, params)
    return (
        f"none of {found.sessions} sessions holds min_items {params.min_items} distinct "
        f"items{_unowned(found)}"
    )


def users_before(events: pl.DataFrame, end: dt.datetime, params: Any) -> str | None:
    """implicit and item_model: a model over users and items needs two of each."""
    rows = events.filter(_weighted(events, end, params.weights) & pl.col("user_id").is_not_null())
    counts = rows.group_by("user_id").len().filter(pl.col("len") >= params.min_user_events)
    users = counts.height
    items = rows.join(counts.select("user_id"), on="user_id")["item_id"].n_unique()
    if users >= MIN_FACTOR_USERS and items >= MIN_FACTOR_ITEMS:
        return None
    anonymous = events["user_id"].null_count()
    return (
        f"{users} users and {items} items with positive-weight interactions "
        f"(min_user_events {params.min_user_events}); needs {MIN_FACTOR_USERS} users and "
        f"{MIN_FACTOR_ITEMS} items" + f"; {anonymous} events carry no user_id" * bool(anonymous)
    )


def content_before(catalog: pl.DataFrame) -> str | None:
    if catalog.is_empty():
        return "no catalog: the tenant's catalog/{tenant}/items.jsonl is absent or empty"
    described = catalog.filter(
        (pl.col("tags").list.len() > 0) | (pl.col("title").fill_null("").str.strip_chars() != "")
    ).height
    if described >= MIN_CONTENT_ITEMS:
        return None
    return (
        f"{described} of {catalog.height} catalog items have tags or a title; "
        f"needs {MIN_CONTENT_ITEMS}"
    )


def content_empty(catalog: pl.DataFrame, params: Any) -> str:
    return (
        f"no two of the {catalog.height} catalog items share a tag or title word with a "
        f"similarity of min_score {params.min_score} or more"
    )
