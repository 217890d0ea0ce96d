"""Deterministic synthetic raw events (sessions, funnel, bad lines) and catalogs, by UTC day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys_algo import synthetic_render
from recsys_algo.errors import ConfigError
from recsys_algo.names import check_name
from recsys_algo.synthetic_world import (
    GENRES,
    Items,
    Users,
    build_items,
    build_users,
    catalog_rows,
)

DAY_MS = 86_400_000
# Sessions start early enough that the slowest funnel (30 min session, then click, cart and
# purchase delays) still ends inside the day.
_TAIL_MS = 3_600_000
# Relative session starts per UTC hour: quiet nights, busy evenings.
_HOURLY = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 11, 11, 9, 6, 4.0])


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

    def __post_init__(self) -> None:
        for name in ("events_per_day", "n_users", "n_items", "session_min", "session_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"synthetic {name} must be a non-negative integer, got {value!r}")
        if self.n_users < 1:
            raise ConfigError(f"synthetic n_users must be >= 1, got {self.n_users}")
        if not 3 <= self.n_clusters <= len(GENRES):
            raise ConfigError(
                f"synthetic n_clusters must be in 3..{len(GENRES)}, got {self.n_clusters}"
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
        clicks = self.click_rate
        return 1.0 + clicks * (1.0 + self.cart_rate * (1.0 + self.purchase_rate))


def _check_seed(seed: int) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"synthetic seed must be a non-negative integer, got {seed!r}")
    return seed


def generate_catalog(
    seed: int, n_items: int = 2_000, n_clusters: int = 20
) -> list[dict[str, object]]:
    """Catalog rows (item_id, tags, title) matching generate_day for the same seed and knobs."""
    cfg = SyntheticConfig(n_items=n_items, n_clusters=n_clusters)
    # Popularity does not shape the catalog, so zipf_exponent is irrelevant here.
    items = build_items(_check_seed(seed), cfg.n_items, cfg.n_clusters, cfg.zipf_exponent)
    return catalog_rows(seed, items)


def generate_day(
    seed: int,
    day: dt.date,
    tenant: str,
    surface: str,
    *,
    events_per_day: int | None = None,
    n_users: int | None = None,
    n_items: int | None = None,
    bad_line_rate: float | None = None,
    config: SyntheticConfig | None = None,
) -> bytes:
    """JSON lines of one UTC day; keyword knobs override the matching fields of config."""
    overrides: dict[str, Any] = {
        "events_per_day": events_per_day,
        "n_users": n_users,
        "n_items": n_items,
        "bad_line_rate": bad_line_rate,
    }
    cfg = dataclasses.replace(
        config or SyntheticConfig(), **{k: v for k, v in overrides.items() if v is not None}
    )
    check_name("tenant", tenant)
    check_name("surface", surface)
    items = build_items(_check_seed(seed), cfg.n_items, cfg.n_clusters, cfg.zipf_exponent)
    users = build_users(seed, cfg.n_users, cfg.n_clusters)
    rng = day_rng(seed, day, tenant, surface)
    day_start = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()) * 1000
    steps = simulate_exposures(cfg, items, users, rng)
    events = synthetic_render.funnel(cfg, items, steps, rng, day_start)
    return synthetic_render.render(cfg, events, rng, day, tenant, surface)


def day_rng(seed: int, day: dt.date, tenant: str, surface: str) -> np.random.Generator:
    """A stream of its own for each (seed, day, tenant, surface): any day regenerates alone."""
    scope = int.from_bytes(hashlib.sha256(f"{tenant}/{surface}".encode()).digest()[:8], "big")
    sequence = np.random.SeedSequence([seed, day.toordinal(), scope])
    return np.random.Generator(np.random.PCG64(sequence))


def _run_anchor(starts_run: np.ndarray) -> np.ndarray:
    """For each position, the index of the latest position at or before it where a run starts."""
    return np.maximum.accumulate(np.where(starts_run, np.arange(starts_run.size), 0))


def simulate_exposures(
    cfg: SyntheticConfig, items: Items, users: Users, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Sessions of exposures: who saw which item, when within the day, in which slate."""
    n_target = round(cfg.events_per_day / cfg.events_per_exposure)
    if n_target == 0:
        empty = np.zeros(0, dtype=np.int64)
        return dict.fromkeys(("session", "user", "item", "request", "rank", "ts", "liked"), empty)
    lengths = rng.integers(cfg.session_min, cfg.session_max + 1, n_target // cfg.session_min + 1)
    n_sessions = int(np.searchsorted(np.cumsum(lengths), n_target)) + 1
    lengths = lengths[:n_sessions]
    n = int(lengths.sum())
    session = np.repeat(np.arange(n_sessions), lengths)
    first_step = np.cumsum(lengths) - lengths
    position = np.arange(n) - first_step[session]
    user = np.searchsorted(users.activity_cdf, rng.random(n_sessions), side="right")
    step_user = user[session]

    # Cluster: a draw from the user's tastes (or exploration), held for runs of steps.
    slot = (rng.random(n)[:, None] > users.preference_cdf[step_user]).sum(axis=1)
    candidate = users.preferred[step_user, np.minimum(slot, users.preferred.shape[1] - 1)]
    explore = rng.random(n) < cfg.explore_rate
    candidate = np.where(explore, rng.integers(0, cfg.n_clusters, n), candidate)
    switch = (position == 0) | (rng.random(n) >= cfg.stay_in_cluster)
    cluster = candidate[_run_anchor(switch)]

    # Item: popularity within the cluster, or the previous item's successor (same cluster).
    item = items.sample(cluster, rng.random(n))
    follow = ~switch & (rng.random(n) < cfg.next_item_rate)
    anchor = _run_anchor(~follow)
    depth = np.arange(n) - anchor
    item = item[anchor]
    for hop in range(1, int(depth.max()) + 1):
        moving = depth >= hop
        item[moving] = items.successor[item[moving]]

    new_request = (position == 0) | (rng.random(n) < cfg.new_request_rate)
    request = np.cumsum(new_request) - 1
    rank = np.arange(n) - _run_anchor(new_request)

    # Time: sessions start by a diurnal profile and last up to 30 minutes; a slate shares a ts.
    hour = rng.choice(24, n_sessions, p=_HOURLY / _HOURLY.sum())
    start = ((hour + rng.random(n_sessions)) / 24 * (DAY_MS - _TAIL_MS)).astype(np.int64)
    span = rng.integers(60_000, 1_800_000, n_sessions)
    gaps = np.where(position == 0, 0.0, rng.exponential(1.0, n))
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[first_step][session]
    total = elapsed[(first_step + lengths - 1)][session]
    fraction = np.divide(elapsed, total, out=np.zeros(n), where=total > 0)
    ts = start[session] + (fraction * span[session]).astype(np.int64)
    ts = ts[_run_anchor(new_request)]

    liked = (users.preferred[step_user] == cluster[:, None]).any(axis=1)
    return {
        "session": session,
        "user": step_user,
        "item": item,
        "request": request,
        "rank": rank,
        "ts": ts,
        "liked": liked,
    }
