"""What the tuning job may change of each kind: one search space per kind, as overrides.

A space asks a trial (optuna's, or anything with the same three methods) for values and returns
the kind's overrides; the tuning job (recsys_algo.recipes.tuning) fits the kind with them. Kinds
without a space are not tuned. Bounds stay inside each kind's own validated ranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from recsys_algo.kinds.kind import Kind


class Trial(Protocol):
    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


Space = Callable[[Trial], dict[str, Any]]


def _revisit(trial: Trial) -> dict[str, Any]:
    return {
        "smoothing": trial.suggest_float("smoothing", 0.01, 100.0, log=True),
        "max_occurrences": trial.suggest_int("max_occurrences", 1, 5),
    }


def _session_knn(trial: Trial) -> dict[str, Any]:
    return {
        "neighbors": trial.suggest_int("neighbors", 10, 500, log=True),
        "sample": trial.suggest_categorical("sample", [250, 500, 1000, 2500]),
        "recent_items": trial.suggest_int("recent_items", 1, 50, log=True),
        "idf": trial.suggest_categorical("idf", [False, True]),
    }


def _session_seq(trial: Trial) -> dict[str, Any]:
    return {"max_distance": trial.suggest_int("max_distance", 1, 10)}


def _item_model(trial: Trial) -> dict[str, Any]:
    model = trial.suggest_categorical("model", ["ease", "rp3beta", "itemknn"])
    if model == "ease":
        return {"model": model, "l2": trial.suggest_float("l2", 1.0, 5000.0, log=True)}
    if model == "rp3beta":
        return {
            "model": model,
            "alpha": trial.suggest_float("alpha", 0.2, 1.5),
            "beta": trial.suggest_float("beta", 0.0, 1.0),
        }
    return {"model": model, "shrink": trial.suggest_float("shrink", 0.0, 500.0)}


def _implicit(trial: Trial) -> dict[str, Any]:
    return {
        "factors": trial.suggest_categorical("factors", [32, 64, 128]),
        "regularization": trial.suggest_float("regularization", 0.01, 1000.0, log=True),
        "alpha": trial.suggest_float("alpha", 1.0, 100.0, log=True),
    }


# In the order they are tuned: the cheap session kinds first, the user models last.
SPACES: Mapping[Kind, Space] = {
    Kind.REVISIT: _revisit,
    Kind.SESSION_KNN: _session_knn,
    Kind.SESSION_SEQ: _session_seq,
    Kind.ITEM_MODEL: _item_model,
    Kind.IMPLICIT: _implicit,
}
# Which held-out protocol judges a kind alone: its own answers to sessions or to users.
SESSION_KINDS: tuple[Kind, ...] = (Kind.REVISIT, Kind.SESSION_KNN, Kind.SESSION_SEQ)


# Each item_model algorithm with its shipped knobs, tried before the sampler's own points: the
# algorithm is chosen by measurement on every scope, not by which the sampler happens to draw.
STARTS: Mapping[Kind, Sequence[Mapping[str, Any]]] = {
    Kind.ITEM_MODEL: (
        {"model": "ease", "l2": 200.0},
        {"model": "rp3beta", "alpha": 1.0, "beta": 0.5},
        {"model": "itemknn", "shrink": 10.0},
    ),
}

# The blend's space. Reciprocal-rank fusion ranks the same whatever the common scale of the
# weights (score = sum weight / (offset + rank)), so the space holds weight ratios: any blend
# whose smallest non-zero weight is at least POPULARITY_RANGE[0] / WEIGHT_MAX of its largest is
# a point of it, scaled (blend_point), the shipped defaults included.
WEIGHT_MAX = 3.0
POPULARITY_RANGE = (0.01, 1.0)  # > 0: popularity is the cold-start fill
RANK_OFFSET_RANGE = (1.0, 200.0)


def blend_space(trial: Trial, kinds: Sequence[str], popularity: str) -> dict[str, Any]:
    """Blend overrides: a weight per present kind (popularity's > 0: the cold-start fill) and
    the rank offset."""
    weights = {
        kind: trial.suggest_float(
            f"weight.{kind}", *(POPULARITY_RANGE if kind == popularity else (0.0, WEIGHT_MAX))
        )
        for kind in kinds
    }
    return {
        "weights": weights,
        "rank_offset": trial.suggest_float("rank_offset", *RANK_OFFSET_RANGE, log=True),
    }


def blend_point(
    weights: Mapping[str, float], rank_offset: float, kinds: Sequence[str], popularity: str
) -> dict[str, float]:
    """The point of blend_space that ranks as these weights do (the same weights scaled into
    the space; a ratio beyond the space's is clamped), as optuna's enqueue_trial takes it."""
    own = {kind: float(weights.get(kind, 0.0)) for kind in kinds}
    largest = max((w for kind, w in own.items() if kind != popularity), default=0.0)
    scale = min(
        WEIGHT_MAX / largest if largest > 0 else math.inf,
        POPULARITY_RANGE[1] / own[popularity] if own.get(popularity, 0.0) > 0 else math.inf,
    )
    scale = 1.0 if math.isinf(scale) else scale
    point = {}
    for kind, weight in own.items():
        low, high = POPULARITY_RANGE if kind == popularity else (0.0, WEIGHT_MAX)
        point[f"weight.{kind}"] = min(max(weight * scale, low), high)
    point["rank_offset"] = min(max(float(rank_offset), RANK_OFFSET_RANGE[0]), RANK_OFFSET_RANGE[1])
    return point


def alone_point(
    kinds: Sequence[str], chosen: Sequence[str], rank_offset: float, popularity: str
) -> dict[str, float]:
    """The blend point where only `chosen` weigh, equally, and popularity fills in last."""
    weights = {kind: 1.0 if kind in chosen else 0.0 for kind in kinds}
    weights[popularity] = 1.0 if popularity in chosen else POPULARITY_RANGE[0]
    return blend_point(weights, rank_offset, kinds, popularity)
