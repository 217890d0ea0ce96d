"""Item→next-item transitions within sessions, weighted by 1/distance and session age; top-N."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.kinds.neighbors import NEIGHBOR_SCHEMA, check_neighbors, top_neighbors
from recsys_algo.kinds.sessions import SessionKindParams, prepare_sessions, stable_order

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SessionSeqParams(SessionKindParams):
    max_distance: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.max_distance <= 50:
            raise ConfigError(f"max_distance must be in 1..50, got {self.max_distance}")


def compute_session_seq(
    events: pl.DataFrame, as_of_end: dt.datetime, params: SessionSeqParams
) -> pl.DataFrame:
    """Successors of each item: sum over sessions of decay(session) / (j - i) for every b at
    position j following a at position i with j - i <= max_distance and b != a.

    ``neighbor_id`` is the successor; support counts sessions holding the ordered pair.
    """
    _, enc = prepare_sessions(events, as_of_end, params, "session_seq")
    firsts, seconds, sessions, weights = [], [], [], []
    # Rows are in position order within each session, so row k + d is d steps after row k
    # exactly when both rows belong to the same session.
    for d in range(1, params.max_distance + 1):
        same = enc.session[d:] == enc.session[:-d]
        a, b = enc.item[:-d][same], enc.item[d:][same]
        session = enc.session[:-d][same]
        distinct = a != b
        firsts.append(a[distinct])
        seconds.append(b[distinct])
        sessions.append(session[distinct])
        weights.append(enc.weight[session[distinct]] / d)
    pair = np.concatenate(firsts).astype(np.int64) * enc.n_items + np.concatenate(seconds)
    if len(pair) == 0:
        return pl.DataFrame(schema=NEIGHBOR_SCHEMA)
    session = np.concatenate(sessions)
    # A stable sort by (pair, session) fixes the order of every sum, so reruns are bit-equal.
    order = stable_order(pair, session)
    pair, session, weight = pair[order], session[order], np.concatenate(weights)[order]
    new_pair = np.r_[True, pair[1:] != pair[:-1]]
    starts = np.flatnonzero(new_pair)
    score = np.add.reduceat(weight, starts)
    new_session = new_pair | np.r_[True, session[1:] != session[:-1]]
    support = np.add.reduceat(new_session.astype(np.int64), starts)
    keep = support >= params.min_support
    pair, score, support = pair[starts][keep], score[keep], support[keep]
    item, successor = np.divmod(pair, enc.n_items)
    return top_neighbors(enc.item_ids, item, successor, score, support, params.top_n)


def check_session_seq(table: pa.Table, where: str) -> None:
    """Blocking checks of a session_seq artifact; raise ArtifactError naming the first problem."""
    check_neighbors(table, where, "session_seq")
