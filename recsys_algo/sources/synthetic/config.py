"""The synthetic generator's knobs, validated; the defaults give a small shop with clear taste."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.sources.synthetic.world import MAX_CLUSTERS

EVENT_MIXES = ("funnel", "clicks")


@dataclass(frozen=True, kw_only=True)
class SyntheticConfig:
    """Knobs of the generator; the defaults give a small shop with clear taste structure."""

    events_per_day: int = 50_000
    n_users: int = 10_000
    n_items: int = 2_000
    n_clusters: int = 20
    bad_line_rate: float = 0.001
    zipf_exponent: float = 1.0  # item popularity ~ 1 / rank**zipf_exponent
    explore_rate: float = 0.15  # share of cluster choices outside the user's preferred ones
    stay_in_cluster: float = 0.7  # chance the next exposure stays in the current cluster
    next_item_rate: float = 0.3  # chance the next exposure is the item's usual successor
    session_min: int = 3
    session_max: int = 20
    new_request_rate: float = 0.35  # chance an exposure starts a new request (slate)
    click_rate: float = 0.10  # clicks per exposure
    cart_rate: float = 0.30  # add_to_cart per click
    purchase_rate: float = 0.40  # purchase per add_to_cart
    epoch_ms_share: float = 0.2  # ts written as epoch ms instead of an RFC 3339 string
    offset_share: float = 0.1  # RFC 3339 strings with a +02:00 offset instead of Z
    # "funnel": exposures, then clicks, carts and purchases; "clicks": every event a click (so
    # every kind sees every event, the shape of a click-stream log).
    event_mix: str = "funnel"

    def __post_init__(self) -> None:
        for name in ("events_per_day", "n_users", "n_items", "session_min", "session_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"synthetic {name} must be a non-negative integer, got {value!r}")
        if self.n_users < 1:
            raise ConfigError(f"synthetic n_users must be >= 1, got {self.n_users}")
        if not 3 <= self.n_clusters <= MAX_CLUSTERS:
            raise ConfigError(
                f"synthetic n_clusters must be in 3..{MAX_CLUSTERS}, got {self.n_clusters}"
            )
        if self.event_mix not in EVENT_MIXES:
            raise ConfigError(
                f"synthetic event_mix must be one of {', '.join(EVENT_MIXES)}, "
                f"got {self.event_mix!r}"
            )
        if self.n_items < self.n_clusters:
            raise ConfigError(
                f"synthetic n_items ({self.n_items}) must be >= n_clusters ({self.n_clusters}) "
                "so every cluster holds an item"
            )
        if not 1 <= self.session_min <= self.session_max:
            raise ConfigError(
                f"synthetic session length {self.session_min}..{self.session_max} is invalid: "
                "need 1 <= session_min <= session_max"
            )
        if not (math.isfinite(self.zipf_exponent) and self.zipf_exponent >= 0):
            raise ConfigError(f"synthetic zipf_exponent must be >= 0, got {self.zipf_exponent}")
        for field in dataclasses.fields(self):
            if field.name.endswith(("_rate", "_share")) or field.name == "stay_in_cluster":
                value = getattr(self, field.name)
                if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                    raise ConfigError(f"synthetic {field.name} must be in [0, 1], got {value!r}")

    @property
    def events_per_exposure(self) -> float:
        """Expected events (exposure plus funnel) that one exposure produces."""
        if self.event_mix == "clicks":
            return 1.0
        clicks = self.click_rate
        return 1.0 + clicks * (1.0 + self.cart_rate * (1.0 + self.purchase_rate))
