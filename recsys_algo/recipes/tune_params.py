"""The tuning search's settings: seed, trial and time budgets, the folds and the protocols."""

from __future__ import annotations

import math
from dataclasses import dataclass

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.recipes.judge import PROTOCOLS


@dataclass(frozen=True)
class TuneParams:
    seed: int = 42
    kind_trials: int = 12  # per kind, the current parameters included
    blend_trials: int = 60
    time_budget_seconds: float = 480.0
    holdout_days: int = 7  # the tuning split: the window's last days are held out
    folds: int = 2  # time folds judged: the last holdout_days, then the holdout_days before
    # The held-out protocols the objective counts: the ones the scope serves (a ratings surface
    # that only answers known users gains nothing from a recipe chosen on session positions).
    protocols: tuple[str, ...] = PROTOCOLS

    def __post_init__(self) -> None:
        chosen = self.protocols
        if (
            not isinstance(chosen, tuple | list)
            or not chosen
            or len(set(chosen)) != len(chosen)
            or any(protocol not in PROTOCOLS for protocol in chosen)
        ):
            raise ConfigError(
                f"tuning: protocols must be one or both of {', '.join(PROTOCOLS)} without "
                f"repeats, got {chosen!r}"
            )
        object.__setattr__(self, "protocols", tuple(chosen))
        for name, low, high in (
            ("seed", 0, 2**32 - 1),
            ("kind_trials", 1, 1000),
            ("blend_trials", 1, 10_000),
            ("holdout_days", 1, 365),
            ("folds", 1, 4),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"tuning: {name} must be an integer in {low}..{high}, got {value!r}"
                )
        budget = self.time_budget_seconds
        if not (
            isinstance(budget, int | float) and math.isfinite(budget) and 1 <= budget <= 86_400
        ):
            raise ConfigError(f"tuning: time_budget_seconds must be in 1..86400, got {budget!r}")
