"""Parameters of the kinds built from sessions: how sessions are cut, decayed and bounded."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.events import EVENT_TYPES

# Interactions put items in sessions; an exposure is something shown, not something chosen.
INTERACTION_TYPES = ("add_to_cart", "click", "purchase", "rating")


@dataclass(frozen=True)
class SessionParams:
    """How a session kind cuts, decays and bounds its sessions (sessions.prepare_sessions)."""

    half_life_days: float = 14.0
    gap_minutes: float = 30.0
    max_session_length: int = 200
    event_types: tuple[str, ...] = INTERACTION_TYPES
    max_items: int = 2_000_000
    max_sessions: int = 50_000_000
    # True: "a a b" is two positions (a b); False keeps all three (docs/algorithms.md).
    collapse_repeats: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_life_days) and self.half_life_days > 0):
            raise ConfigError(f"half_life_days must be finite and > 0, got {self.half_life_days}")
        if not (math.isfinite(self.gap_minutes) and self.gap_minutes > 0):
            raise ConfigError(f"gap_minutes must be finite and > 0, got {self.gap_minutes}")
        if self.max_session_length < 2:
            raise ConfigError(f"max_session_length must be >= 2, got {self.max_session_length}")
        if not self.event_types or set(self.event_types) - set(EVENT_TYPES):
            raise ConfigError(
                f"event_types must be a non-empty subset of {', '.join(EVENT_TYPES)}, "
                f"got {', '.join(self.event_types) or 'nothing'}"
            )
        if self.max_items < 1 or self.max_sessions < 1:
            raise ConfigError("max_items and max_sessions must be >= 1")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "event_types": sorted(set(self.event_types))}


@dataclass(frozen=True)
class SessionKindParams(SessionParams):
    """Parameters shared by the item→item kinds built from sessions (cooc, session_seq)."""

    top_n: int = 50
    min_support: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.top_n <= 10_000:
            raise ConfigError(f"top_n must be in 1..10000, got {self.top_n}")
        if self.min_support < 1:
            raise ConfigError(f"min_support must be >= 1, got {self.min_support}")
