"""Synthetic exposures -> funnel events -> JSON lines, with a configured share of bad lines."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from recsys_algo.sources.synthetic.config import SyntheticConfig
from recsys_algo.sources.synthetic.world import item_ids, user_ids

if TYPE_CHECKING:
    from recsys_algo.sources.synthetic.world import Items

# Funnel codes sort after exposure so a click never precedes its exposure at the same ts.
_TYPES = ("exposure", "click", "add_to_cart", "purchase")
# Delays after the previous funnel step, in ms (low, high).
_DELAYS = ((1_000, 60_000), (5_000, 300_000), (30_000, 900_000))
_RANK_DECAY = 0.5  # click propensity ~ 1 / (1 + rank) ** _RANK_DECAY
_LIKED_BOOST = 3.0  # items from a preferred cluster are this much more clickable
BAD_KINDS = ("invalid_json", "missing_item_id", "unknown_event_type", "wrong_tenant")
_WITHOUT_EVENT_ID = 0.1  # share of events left to the parser's derived event_id
_OFFSET_MS = 2 * 3_600_000  # written as +02:00


class _Line(msgspec.Struct, omit_defaults=True):
    ts: str | int
    tenant: str
    surface: str
    user_id: str
    session_id: str
    item_id: str
    event_type: str
    value: float | None = None
    request_id: str | None = None
    rank: int | None = None
    event_id: str | None = None


_ENCODER = msgspec.json.Encoder()


def funnel(
    cfg: SyntheticConfig,
    items: Items,
    steps: dict[str, np.ndarray],
    rng: np.random.Generator,
    day_start_ms: int,
) -> dict[str, np.ndarray]:
    """Exposures plus clicks, carts and purchases, ordered by time: one row per event; with
    event_mix "clicks", one click per step instead."""
    n = steps["item"].size
    if cfg.event_mix == "clicks":
        order = np.argsort(steps["ts"], kind="stable")
        return {
            "ts": steps["ts"][order] + day_start_ms,
            "kind": np.ones(n, dtype=np.int64),
            **{k: steps[k][order] for k in ("session", "user", "item", "request", "rank")},
            "value": np.full(n, np.nan),
        }
    propensity = np.where(steps["liked"], _LIKED_BOOST, 1.0) / (1.0 + steps["rank"]) ** _RANK_DECAY
    click_p = (
        np.clip(cfg.click_rate * propensity / propensity.mean(), 0.0, 1.0) if n else propensity
    )
    source = [np.arange(n)]
    kind = [np.zeros(n, dtype=np.int64)]
    ts = [steps["ts"]]
    active, active_ts = np.arange(n), steps["ts"]
    for code, (rate, (low, high)) in enumerate(
        zip((click_p, cfg.cart_rate, cfg.purchase_rate), _DELAYS, strict=True), start=1
    ):
        rate_now = rate[active] if isinstance(rate, np.ndarray) else rate
        keep = rng.random(active.size) < rate_now
        active, active_ts = active[keep], active_ts[keep] + rng.integers(low, high, keep.sum())
        source.append(active)
        kind.append(np.full(active.size, code))
        ts.append(active_ts)
    all_source, all_kind, all_ts = np.concatenate(source), np.concatenate(kind), np.concatenate(ts)
    order = np.lexsort((all_kind, all_source, all_ts))
    src = all_source[order]
    kinds = all_kind[order]
    return {
        "ts": all_ts[order] + day_start_ms,
        "kind": kinds,
        "session": steps["session"][src],
        "user": steps["user"][src],
        "item": steps["item"][src],
        "request": steps["request"][src],
        "rank": steps["rank"][src],
        "value": np.where(kinds == 3, items.price[steps["item"][src]], np.nan),
    }


def _timestamps(ts_ms: np.ndarray, rng: np.random.Generator, cfg: SyntheticConfig) -> list[object]:
    """Mostly RFC 3339 (Z or +02:00), some epoch ms, so both parser paths are exercised."""
    choice = rng.random(ts_ms.size)
    as_int = choice < cfg.epoch_ms_share
    with_offset = ~as_int & (choice < cfg.epoch_ms_share + cfg.offset_share)
    utc = np.datetime_as_string(ts_ms.astype("datetime64[ms]"), unit="ms").tolist()
    local = (ts_ms + _OFFSET_MS).astype("datetime64[ms]")
    shifted = np.datetime_as_string(local, unit="ms").tolist()
    return [
        int(ms) if i else (f"{s}+02:00" if o else f"{u}Z")
        for ms, i, o, u, s in zip(
            ts_ms.tolist(), as_int.tolist(), with_offset.tolist(), utc, shifted, strict=True
        )
    ]


def render(
    cfg: SyntheticConfig,
    events: dict[str, np.ndarray],
    rng: np.random.Generator,
    day: dt.date,
    tenant: str,
    surface: str,
) -> bytes:
    n = events["ts"].size
    if n == 0:
        return b""
    stamp = day.strftime("%Y%m%d")
    # Id strings are built once per user, item, session and request, not once per event.
    items, users = item_ids(cfg.n_items), user_ids(cfg.n_users)
    sessions = [f"s-{stamp}-{i}" for i in range(int(events["session"].max()) + 1)]
    requests = [f"r-{stamp}-{i}" for i in range(int(events["request"].max()) + 1)]
    kinds = events["kind"].tolist()
    ts_values = _timestamps(events["ts"], rng, cfg)
    with_id = (rng.random(n) >= _WITHOUT_EVENT_ID).tolist()
    lines = [
        _Line(
            ts=ts,
            tenant=tenant,
            surface=surface,
            user_id=users[user],
            session_id=sessions[session],
            item_id=items[item],
            event_type=_TYPES[kind],
            value=value if kind == 3 else None,
            request_id=requests[request] if kind < 2 else None,
            rank=rank if kind < 2 else None,
            event_id=f"e-{stamp}-{i}" if has_id else None,
        )
        for i, (ts, kind, user, session, item, request, rank, value, has_id) in enumerate(
            zip(
                ts_values,
                kinds,
                events["user"].tolist(),
                events["session"].tolist(),
                events["item"].tolist(),
                events["request"].tolist(),
                events["rank"].tolist(),
                events["value"].tolist(),
                with_id,
                strict=True,
            )
        )
    ]
    n_bad = int(rng.binomial(n, cfg.bad_line_rate)) if cfg.bad_line_rate > 0 else 0
    return _ENCODER.encode_lines(_with_bad_lines(lines, n_bad, rng, tenant))


def _with_bad_lines(
    lines: list[_Line], n_bad: int, rng: np.random.Generator, tenant: str
) -> list[_Line | msgspec.Raw]:
    """Insert n_bad broken copies of random events right after their originals."""
    if n_bad == 0:
        return list(lines)
    after = np.sort(rng.choice(len(lines), n_bad, replace=False)).tolist()
    kinds = rng.integers(0, len(BAD_KINDS), n_bad).tolist()
    out: list[_Line | msgspec.Raw] = []
    previous = 0
    for position, kind in zip(after, kinds, strict=True):
        out.extend(lines[previous : position + 1])
        out.append(msgspec.Raw(bad_line(lines[position], BAD_KINDS[kind], tenant)))
        previous = position + 1
    out.extend(lines[previous:])
    return out


def bad_line(line: _Line, kind: str, tenant: str) -> bytes:
    """A line the raw event parser must reject, for the reason named by kind."""
    fields = msgspec.to_builtins(line)
    fields.pop("event_id", None)  # a copy must not collide with the original's id
    if kind == "invalid_json":
        encoded = _ENCODER.encode(fields)
        return encoded[: len(encoded) // 2]
    if kind == "missing_item_id":
        del fields["item_id"]
    elif kind == "unknown_event_type":
        fields["event_type"] = "view"
    else:
        fields["tenant"] = f"{tenant}-elsewhere"
    return _ENCODER.encode(fields)
