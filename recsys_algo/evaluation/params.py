"""Evaluation parameters: cutoffs, the held-out sample's size, the quality gate's margin."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recsys_algo.contracts.errors import ConfigError


@dataclass(frozen=True)
class EvalParams:
    ks: tuple[int, ...] = (10, 20)
    max_users: int = 2000  # a deterministic sample (by hash of user id) keeps evaluation bounded
    min_users: int = 20  # fewer held-out users than this: nothing is measured, the gate skips
    # Held-out session positions (session next-item cases): a stable sample of whole sessions.
    max_session_cases: int = 5000
    # Counts positions, not sessions (the gate's message names both; the s.e. is by session).
    min_session_cases: int = 100  # fewer: session metrics are not measured, the gate says so
    holdout_fraction: float = 0.2  # used only when the window spans a single day
    gate_margin: float = 0.10  # block publishing when blend.ndcg@20 drops by more than this

    def __post_init__(self) -> None:
        if not self.ks or any(k < 1 or k > 200 for k in self.ks):
            raise ConfigError(f"ks must be non-empty values in 1..200, got {list(self.ks)}")
        if self.min_users < 1 or self.max_users < self.min_users:
            raise ConfigError(
                f"need 1 <= min_users <= max_users, got {self.min_users} and {self.max_users}"
            )
        if self.min_session_cases < 1 or self.max_session_cases < self.min_session_cases:
            raise ConfigError(
                "need 1 <= min_session_cases <= max_session_cases, got "
                f"{self.min_session_cases} and {self.max_session_cases}"
            )
        if not 0 < self.holdout_fraction < 1:
            raise ConfigError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if not 0 <= self.gate_margin < 1:
            raise ConfigError(f"gate_margin must be in [0, 1), got {self.gate_margin}")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ks": list(self.ks)}
