"""Offline evaluation: time split, then every kind and the served blend scored on held-out users."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from recsys_algo import metrics
from recsys_algo.errors import ConfigError, ValidationGateError
from recsys_algo.recommender import BlendParams, Query, ScopeModel

INTERACTIONS = metrics.HOLDOUT_EVENT_TYPES
BLEND = "blend"
GATE_METRIC = "blend.ndcg@20"


@dataclass(frozen=True)
class EvalParams:
    ks: tuple[int, ...] = (10, 20)
    max_users: int = 2000  # a deterministic sample (by hash of user id) keeps evaluation bounded
    min_users: int = 20  # fewer held-out users than this: nothing is measured, the gate skips
    holdout_fraction: float = 0.2  # used only when the window spans a single day
    gate_margin: float = 0.10  # block publishing when blend.ndcg@20 drops by more than this

    def __post_init__(self) -> None:
        if not self.ks or any(k < 1 or k > 200 for k in self.ks):
            raise ConfigError(f"ks must be non-empty values in 1..200, got {list(self.ks)}")
        if self.min_users < 1 or self.max_users < self.min_users:
            raise ConfigError(
                f"need 1 <= min_users <= max_users, got {self.min_users} and {self.max_users}"
            )
        if not 0 < self.holdout_fraction < 1:
            raise ConfigError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if not 0 <= self.gate_margin < 1:
            raise ConfigError(f"gate_margin must be in [0, 1), got {self.gate_margin}")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ks": list(self.ks)}


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
    train, test = metrics.time_split(events, holdout_start)
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


def evaluate_model(
    model: ScopeModel,
    data: Holdout,
    params: EvalParams,
    blend_params: BlendParams,
    *,
    catalog_size: int,
) -> dict[str, float]:
    """Recall, NDCG, MRR and coverage at each k, plus next-item hit rate, per kind and blend."""
    if len(data.users) < params.min_users:
        return {"users": float(len(data.users))}  # too few to measure; the gate says so
    top = max(params.ks)
    ranked: dict[str, list[list[str]]] = {kind: [] for kind in (*model.kinds, BLEND)}
    for user_id, history in zip(data.users, data.histories, strict=True):
        query = Query(k=top, user_id=user_id, session_items=history, exclude=frozenset(history))
        found = model.candidates(query, blend_params)
        for kind in model.kinds:
            ranked[kind].append([item for item, _ in model.scored(found[kind].head(top))])
        fused = model.fuse(found, top, blend_params)
        ranked[BLEND].append([r.item_id for r in model.recommendations(fused)])
    out: dict[str, float] = {"users": float(len(data.users))}
    for source, recs in ranked.items():
        scores = metrics.evaluate(recs, data.truth, params.ks, catalog_size=catalog_size)
        out.update({f"{source}.{name}": value for name, value in scores.items() if name != "users"})
        for k in params.ks:
            out[f"{source}.next_hit@{k}"] = metrics.recall_at_k(recs, data.next_item, k)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    message: str
    baseline: float | None
    value: float | None


def quality_gate(
    candidate: Mapping[str, float], published: Mapping[str, float] | None, margin: float
) -> GateDecision:
    """Compare the candidate's blend NDCG@20 with the serving manifest's recorded value."""
    value = candidate.get(GATE_METRIC)
    baseline = None if published is None else published.get(GATE_METRIC)
    if value is None:
        users = int(candidate.get("users", 0))
        return GateDecision(
            True, f"{GATE_METRIC} not measured ({users} held-out users)", baseline, None
        )
    if baseline is None:
        return GateDecision(True, f"{GATE_METRIC}={value:.4f}; no published baseline", None, value)
    floor = baseline * (1 - margin)
    text = (
        f"{GATE_METRIC}={value:.4f}, published {baseline:.4f}, "
        f"floor {floor:.4f} (margin {margin:.0%})"
    )
    return GateDecision(value >= floor, text, baseline, value)


def metric_table(values: Mapping[str, float], sources: Sequence[str]) -> str:
    """Markdown table of sources x metrics for the Dagster UI and docs."""
    names = sorted({key.split(".", 1)[1] for key in values if "." in key})
    lines = ["| source | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for source in sources:
        cells = [f"{values.get(f'{source}.{n}', float('nan')):.4f}" for n in names]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
