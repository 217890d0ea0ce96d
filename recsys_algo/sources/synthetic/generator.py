"""Deterministic synthetic raw events (sessions, funnel, bad lines) and catalogs, by UTC day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

import numpy as np

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import check_name
from recsys_algo.sources.synthetic import render as synthetic_render
from recsys_algo.sources.synthetic.config import SyntheticConfig
from recsys_algo.sources.synthetic.world import (
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
