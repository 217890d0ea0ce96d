"""Split canonical events into ordered item sessions: the input of cooc and session_seq."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.contracts.events import EVENT_TYPES
from recsys_algo.kinds.session_params import (
    INTERACTION_TYPES,
    SessionKindParams,
    SessionParams,
)

SESSION_SCHEMA: dict[str, pl.DataType] = {
    "session_key": pl.String(),
    "item_id": pl.String(),
    "ts": pl.Datetime("ms", "UTC"),
    "position": pl.Int32(),
    "event_type": pl.String(),
}
_MS_PER_DAY = 86_400_000.0
# Re-exported: the session kinds import their parameters from here.
__all__ = ["INTERACTION_TYPES", "SessionKindParams", "SessionParams"]


@dataclass(frozen=True)
class Sessions:
    """Session rows sorted by (session_key, position); how many sessions; how many were capped."""

    frame: pl.DataFrame
    sessions: int
    capped: int
    dropped_events: int  # events with neither user_id nor session_id


def sessionize(
    events: pl.DataFrame,
    *,
    gap_minutes: float = 30,
    max_session_length: int = 200,
    event_types: Collection[str] | None = None,
    until: dt.datetime | None = None,
    collapse_repeats: bool = True,
) -> Sessions:
    """Group events into sessions and number each session's items 0..n-1 in time order.

    Only events of ``event_types`` (all when None) before ``until`` (if given) are used, for
    items and for gaps alike. A session is the explicit ``session_id`` when present (per
    user, or alone when user_id is null); otherwise a run of one user's events in which no
    gap exceeds ``gap_minutes`` (a gap of exactly gap_minutes stays in the session). Within
    a session, events are ordered by ts, then item_id, then event_type; consecutive repeats
    of an item collapse to the first unless ``collapse_repeats`` is False. Sessions longer
    than ``max_session_length`` keep their last positions. Sessions are ordered by user_id
    (null first), then gap sessions by start, then explicit sessions by session_id.
    """
    if not (math.isfinite(gap_minutes) and gap_minutes > 0):
        raise ConfigError(f"gap_minutes must be finite and > 0, got {gap_minutes}")
    if max_session_length < 1:
        raise ConfigError(f"max_session_length must be >= 1, got {max_session_length}")
    if event_types is not None:
        unknown = set(event_types) - set(EVENT_TYPES)
        if unknown:
            raise ConfigError(f"event_types names unknown types: {', '.join(sorted(unknown))}")
    wanted = pl.lit(value=True)
    if event_types is not None:
        wanted = wanted & pl.col("event_type").is_in(sorted(event_types))
    if until is not None:
        wanted = wanted & (
            pl.col("ts") < pl.lit(until.astimezone(dt.UTC)).cast(pl.Datetime("ms", "UTC"))
        )
    owned = pl.col("user_id").is_not_null() | pl.col("session_id").is_not_null()
    rows = events.select("user_id", "session_id", "ts", "item_id", "event_type").filter(wanted)
    dropped = rows.height - rows.select(owned.sum()).item()
    rows = rows.filter(owned) if dropped else rows
    if rows.height == 0:
        return Sessions(pl.DataFrame(schema=SESSION_SCHEMA), 0, 0, dropped)

    user, users = sorted_codes(rows["user_id"])
    sid, sids = sorted_codes(rows["session_id"])
    item, _ = sorted_codes(rows["item_id"])
    etype, _ = sorted_codes(rows["event_type"])
    ts = rows["ts"].dt.epoch("ms").to_numpy()
    # Integer sort keys: ids are compared through their sorted codes, so order never depends
    # on input row order, and tied timestamps fall back to item and type, not to event ids.
    order = stable_order(user, sid, ts, item, etype)
    user, sid, item, ts = user[order], sid[order], item[order], ts[order]
    gap_ms = gap_minutes * 60_000
    new = np.r_[
        True,
        (user[1:] != user[:-1]) | (sid[1:] != sid[:-1]) | ((sid[1:] < 0) & (np.diff(ts) > gap_ms)),
    ]
    session = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    if collapse_repeats:
        keep = new | np.r_[True, item[1:] != item[:-1]]
        session, order = session[keep], order[keep]

    starts = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
    lengths = np.diff(np.r_[starts, len(session)])
    position = np.arange(len(session)) - np.repeat(starts, lengths)
    # Keep the last max_session_length positions: the tail is what led to the latest items.
    excess = np.maximum(lengths - max_session_length, 0)
    position = position - np.repeat(excess, lengths)
    tail = position >= 0
    # Code -1 (null) reads the null that sorted_codes appends last.
    keys = _session_keys(users.gather(user[first]), sids.gather(sid[first]), ts[first])
    # Only the columns kept: user_id and session_id live on in the keys (two string columns
    # of every row less to gather, issue 18 fourth round).
    frame = (
        rows.select("ts", "item_id", "event_type")[order[tail]]
        .with_columns(
            session_key=keys.gather(session[tail]),
            position=pl.Series(position[tail], dtype=pl.Int32()),
        )
        .select(list(SESSION_SCHEMA))
    )
    return Sessions(frame, len(first), int(np.count_nonzero(excess)), dropped)


def stable_order(*keys: np.ndarray) -> np.ndarray:
    """A stable argsort of rows by integer keys, the first most significant.

    Adjacent keys are folded into one int64 while their value ranges fit, because one sort
    of a single key is several times faster than numpy's lexsort over many.
    """
    folded: list[np.ndarray] = []
    span = 0
    for key in keys:
        lo, hi = (int(key.min()), int(key.max())) if len(key) else (0, 0)
        width = hi - lo + 1
        # A folded value is at most span * width - 1, which must fit in int64, and width is a
        # factor in int64 arithmetic, so it must fit too (a key spanning all of int64 does not).
        if folded and width < 2**63 and span * width <= 2**63:
            folded[-1] = folded[-1] * width + (key.astype(np.int64) - lo)
            span *= width
        elif width <= 2**63:
            folded.append(key.astype(np.int64) - lo)
            span = width
        else:  # too wide to shift without overflow; nothing folds into it either
            folded.append(key.astype(np.int64))
            span = 2**63
    order = np.argsort(folded[0], kind="stable")
    if len(folded) == 1:
        return order
    # Later keys only break ties of the first, which are usually few: re-sort just those.
    first = folded[0][order]
    tied = first[1:] == first[:-1]
    slots = np.flatnonzero(np.r_[tied, False] | np.r_[False, tied])
    rows = order[slots]
    order[slots] = rows[np.lexsort([key[rows] for key in folded[:0:-1]] + [first[slots]])]
    return order


def sorted_codes(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Codes such that code order is id order, and the ids by code; a null is code -1, and
    the ids end with a null so that gathering code -1 (negative indexing) reads it.

    Hashing first and sorting only the distinct values is much cheaper than sorting rows.
    """
    encoded = pc.dictionary_encode(values.to_arrow())
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1
    index = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    ids = pl.Series(values.name, encoded.dictionary.take(order), dtype=pl.String())
    return rank[index], ids.append(pl.Series([None], dtype=pl.String()))


def _session_keys(users: pl.Series, sids: pl.Series, start_ms: np.ndarray) -> pl.Series:
    """Unambiguous keys: the user id is length-prefixed, so no two (user, session) collide."""
    user, sid = pl.col("user"), pl.col("sid")
    user_part = pl.format("{}:{}", user.str.len_chars(), user)
    return pl.DataFrame({"user": users, "sid": sids, "start": start_ms}).select(
        pl.when(sid.is_null())
        .then(pl.format("g{}@{}", user_part, pl.col("start")))
        .when(user.is_null())
        .then(pl.format("a|{}", sid))
        .otherwise(pl.format("s{}|{}", user_part, sid))
    )["user"]


@dataclass(frozen=True)
class EncodedSessions:
    """Session rows as integer codes: items by sorted item_id, sessions by sorted session_key."""

    item_ids: pl.Series  # code i is item_ids[i]; codes ascend with the id
    item: np.ndarray  # int32 item code per row
    session: np.ndarray  # int32 session index per row, non-decreasing
    weight: np.ndarray  # float64 decay per session

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_sessions(self) -> int:
        return len(self.weight)


def encode_sessions(
    frame: pl.DataFrame, as_of_end: dt.datetime, half_life_days: float
) -> EncodedSessions:
    """Integer codes for a sessionize() frame; sessions decay by the age of their last event."""
    item64, ids = sorted_codes(frame["item_id"])
    item_ids, item = ids.head(-1), item64.astype(np.int32)
    session = frame["session_key"].rle_id().cast(pl.Int32()).to_numpy()
    last = np.flatnonzero(np.r_[session[1:] != session[:-1], True]) if len(session) else session
    end_ms = int(as_of_end.astimezone(dt.UTC).timestamp() * 1000)
    # Rows are in time order within a session, so its last row holds its latest event.
    age_days = (end_ms - frame["ts"].dt.epoch("ms").to_numpy()[last]) / _MS_PER_DAY
    weight = np.asarray(0.5 ** (np.maximum(age_days, 0.0) / half_life_days), dtype=np.float64)
    return EncodedSessions(item_ids, item, session, weight)


def sessions_for(events: pl.DataFrame, as_of_end: dt.datetime, params: SessionParams) -> Sessions:
    """The sessions a session kind reads: its event types, its gap, before as_of_end."""
    return sessionize(
        events,
        until=as_of_end,
        gap_minutes=params.gap_minutes,
        max_session_length=params.max_session_length,
        event_types=params.event_types,
        collapse_repeats=params.collapse_repeats,
    )


def prepare_sessions(
    events: pl.DataFrame, as_of_end: dt.datetime, params: SessionParams, kind: str
) -> tuple[Sessions, EncodedSessions]:
    """Sessionize events before as_of_end and encode them, enforcing the size guardrails."""
    sessions = sessions_for(events, as_of_end, params)
    if sessions.sessions > params.max_sessions:
        raise ValidationGateError(
            f"{kind}: {sessions.sessions} sessions exceeds max_sessions {params.max_sessions}"
        )
    encoded = encode_sessions(sessions.frame, as_of_end, params.half_life_days)
    if encoded.n_items > params.max_items:
        raise ValidationGateError(
            f"{kind}: {encoded.n_items} distinct items exceeds max_items {params.max_items}"
        )
    return sessions, encoded
