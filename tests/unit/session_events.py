"""Canonical event frames for the session kinds' tests: tiny hand-made ones and a Zipf bulk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from recsys_algo.contracts.events import CANONICAL_SCHEMA

END = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
DAY_MS = 86_400_000
MINUTE_MS = 60_000


def ms_before_end(days: float) -> int:
    return int((END.timestamp() - days * 86_400) * 1000)


def ev(
    user: str | None,
    item: str,
    at_ms: int,
    *,
    session: str | None = None,
    event_type: str = "click",
) -> dict[str, object]:
    return {
        "user_id": user,
        "session_id": session,
        "item_id": item,
        "ts": at_ms,
        "event_type": event_type,
    }


def frame(rows: Sequence[dict[str, object]]) -> pl.DataFrame:
    """Canonical events with ids e0, e1, ... in the given order."""
    n = len(rows)
    data = {
        "event_id": [f"e{i}" for i in range(n)],
        "ts": [r["ts"] for r in rows],
        "tenant": ["demo"] * n,
        "surface": ["home"] * n,
        "user_id": [r["user_id"] for r in rows],
        "session_id": [r["session_id"] for r in rows],
        "item_id": [r["item_id"] for r in rows],
        "event_type": [r["event_type"] for r in rows],
        "value": [None] * n,
        "request_id": [None] * n,
        "rank": [None] * n,
    }
    schema = {**CANONICAL_SCHEMA, "ts": pl.Int64()}
    return pl.DataFrame(data, schema=schema).with_columns(
        pl.col("ts").cast(pl.Datetime("ms", "UTC"))
    )


def sessions_frame(sessions: Sequence[str], *, days_before_end: float = 14.0) -> pl.DataFrame:
    """One user per session ("a b c" -> user s0 clicks a, b, c a minute apart), all sessions
    ending at the same instant, so every session gets the same decay."""
    rows = []
    end_ms = ms_before_end(days_before_end)
    for s, items in enumerate(sessions):
        names = items.split()
        for k, item in enumerate(names):
            rows.append(ev(f"s{s}", item, end_ms - (len(names) - 1 - k) * MINUTE_MS))
    return frame(rows)


def zipf_events(
    n_events: int, n_users: int, n_items: int, *, seed: int = 0, explicit_share: float = 0.0
) -> pl.DataFrame:
    """Sessions of geometric length (mean 5) by random users over the 7 days before END,
    Zipf(1.1) items, a mix of event types; a share of sessions carry an explicit session_id."""
    rng = np.random.default_rng(seed)
    lengths = rng.geometric(0.2, n_events // 4 + 1)
    lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), n_events)) + 1]
    session = np.repeat(np.arange(len(lengths)), lengths)[:n_events]
    user = rng.integers(0, n_users, len(lengths))[session]
    start = ms_before_end(7) + rng.integers(0, 7 * DAY_MS - 30 * MINUTE_MS, len(lengths))
    ts = start[session] + rng.integers(0, 20 * MINUTE_MS, n_events)
    p = 1.0 / np.arange(1, n_items + 1) ** 1.1
    item = rng.choice(n_items, n_events, p=p / p.sum())
    types = np.array(["click", "add_to_cart", "purchase", "exposure", "rating"])
    etype = types[rng.choice(len(types), n_events, p=[0.65, 0.1, 0.05, 0.15, 0.05])]
    explicit = (rng.random(len(lengths)) < explicit_share)[session]
    sid = pl.Series(session).cast(pl.String)
    none = pl.repeat(None, n_events, dtype=pl.String(), eager=True)
    return pl.DataFrame(
        {
            "event_id": pl.Series(rng.permutation(n_events)).cast(pl.String),
            "ts": pl.Series(ts).cast(pl.Datetime("ms", "UTC")),
            "tenant": pl.repeat("demo", n_events, eager=True),
            "surface": pl.repeat("home", n_events, eager=True),
            "user_id": pl.Series(user).cast(pl.String),
            "session_id": sid.zip_with(pl.Series(explicit, dtype=pl.Boolean()), none),
            "item_id": pl.Series(item).cast(pl.String),
            "event_type": etype,
            "value": pl.repeat(None, n_events, dtype=pl.Float64(), eager=True),
            "request_id": none,
            "rank": pl.repeat(None, n_events, dtype=pl.Int32(), eager=True),
        },
        schema=CANONICAL_SCHEMA,
    )
