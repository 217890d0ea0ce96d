"""The repeat model (kind `revisit`): how likely a session's next item is one it already holds,
learned from the window's sessions by the item's recency (distinct items since) and count so far.

On real click logs a large share of next items are items the session already viewed (people
re-open what they look at); the item-to-item kinds cannot say so. For every session position t
and every distinct item x of the prefix s[0..t-1], the case (r, c) is x's recency rank r (0: the
latest distinct item) and its number of occurrences c in the prefix, both capped; the model is
P(s[t] = x | r, c) = hits / (cases + smoothing), each case weighted by its session's decay.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.kinds.session_params import SessionParams
from recsys_algo.kinds.sessions import EncodedSessions, prepare_sessions

SCHEMA_VERSION = 1
REVISIT_SCHEMA: dict[str, pl.DataType] = {
    "recency": pl.Int32(),
    "occurrences": pl.Int32(),
    "probability": pl.Float64(),
    "cases": pl.Float64(),
}
# Cells of the (session, j, t) cube computed at once: ~40 bytes each.
_BATCH_CELLS = 4_000_000


@dataclass(frozen=True)
class RevisitParams(SessionParams):
    """max_recency: recency ranks told apart (the last one holds every older item);
    max_occurrences: occurrence counts told apart (the last one holds that many or more);
    smoothing: pseudo-cases added to every cell's denominator (rare cells stay modest)."""

    max_recency: int = 20
    max_occurrences: int = 3
    smoothing: float = 1.0
    # Repeats are what this kind learns: "a a" is a repeat, so sessions keep every position.
    collapse_repeats: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.max_recency <= 200:
            raise ConfigError(f"max_recency must be in 1..200, got {self.max_recency}")
        if not 1 <= self.max_occurrences <= 50:
            raise ConfigError(f"max_occurrences must be in 1..50, got {self.max_occurrences}")
        if not (math.isfinite(self.smoothing) and 0 <= self.smoothing <= 1e6):
            raise ConfigError(f"smoothing must be finite and in [0, 1e6], got {self.smoothing}")


def compute_revisit(
    events: pl.DataFrame, as_of_end: dt.datetime, params: RevisitParams
) -> pl.DataFrame:
    """One row per (recency, occurrences) cell, all max_recency x max_occurrences of them in
    order: the decayed cases, and the probability that the case's item comes next."""
    _, enc = prepare_sessions(events, as_of_end, params, "revisit")
    cells = params.max_recency * params.max_occurrences
    hits, cases = _count_cells(enc, params.max_recency, params.max_occurrences)
    probability = np.divide(
        hits, cases + params.smoothing, out=np.zeros(cells), where=cases + params.smoothing > 0
    )
    recency, occurrences = np.divmod(np.arange(cells), params.max_occurrences)
    return pl.DataFrame(
        {
            "recency": recency.astype(np.int32),
            "occurrences": (occurrences + 1).astype(np.int32),
            "probability": probability,
            "cases": cases,
        },
        schema=REVISIT_SCHEMA,
    )


def _count_cells(
    enc: EncodedSessions, max_recency: int, max_occurrences: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Decayed (hits, cases) per cell, summed in a fixed order (sessions by length, then key)."""
    cells = max_recency * max_occurrences
    hits, cases = np.zeros(cells), np.zeros(cells)
    n = enc.item.size
    if n == 0:
        return hits, cases
    starts = np.flatnonzero(np.r_[True, enc.session[1:] != enc.session[:-1]])
    lengths = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, lengths)
    # next_at[i]: the position of the item's next occurrence in its session (length if none);
    # occurrence[i]: how many times the item occurred up to and including row i.
    order = np.lexsort((position, enc.item, enc.session))
    same = np.r_[False, (enc.session[order][1:] == enc.session[order][:-1])]
    same &= np.r_[False, enc.item[order][1:] == enc.item[order][:-1]]
    next_at = np.repeat(lengths, lengths).astype(np.int64)
    following = np.flatnonzero(same)
    next_at[order[following - 1]] = position[order[following]]
    run = np.cumsum(~same) - 1
    first_of_run = np.flatnonzero(~same)
    occurrence = np.empty(n, np.int64)
    occurrence[order] = np.arange(n) - first_of_run[run] + 1
    # Sessions of similar length are padded together into (sessions, L, L) cubes, L a power of 2.
    widths = np.left_shift(1, np.ceil(np.log2(np.maximum(lengths, 2))).astype(np.int64))
    for width in np.unique(widths[lengths > 1]).tolist():
        chosen = np.flatnonzero((lengths > 1) & (widths == width))
        step = max(1, _BATCH_CELLS // int(width * width))
        for first in range(0, chosen.size, step):
            batch = chosen[first : first + step]
            _add_batch(
                batch, starts, lengths, next_at, occurrence, enc.weight,
                width, max_recency, max_occurrences, hits, cases,
            )  # fmt: skip
    return hits, cases


def _add_batch(
    batch: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    next_at: npt.NDArray[np.int64],
    occurrence: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    width: int,
    max_recency: int,
    max_occurrences: int,
    hits: npt.NDArray[np.float64],
    cases: npt.NDArray[np.float64],
) -> None:
    """Cases of a batch of sessions: cube[b, j, t] is position j seen from target position t."""
    cols = np.arange(width)
    valid = cols[None, :] < lengths[batch][:, None]
    rows = np.where(valid, starts[batch][:, None] + cols[None, :], 0)
    nxt = np.where(valid, next_at[rows], -1)  # padding is never the latest occurrence
    occ = occurrence[rows]
    j, t = cols[:, None], cols[None, :]
    # j is the latest occurrence of its item before t: j < t <= its next occurrence.
    latest = (j < t) & (nxt[:, :, None] >= t) & valid[:, None, :]
    # Recency of j at t: latest positions strictly between j and t (a suffix sum over j).
    after = np.cumsum(latest[:, ::-1, :], axis=1, dtype=np.int32)[:, ::-1, :] - latest
    b, jj, tt = np.nonzero(latest)
    recency = np.minimum(after[b, jj, tt], max_recency - 1)
    occurrences = np.minimum(occ[b, jj], max_occurrences)
    cell = recency * max_occurrences + occurrences - 1
    w = weight[batch][b]
    cases += np.bincount(cell, weights=w, minlength=cases.size)
    hit = nxt[b, jj] == tt
    hits += np.bincount(cell[hit], weights=w[hit], minlength=hits.size)


def check_revisit(table: pa.Table, where: str) -> None:
    """Blocking checks of a repeat artifact; raise ArtifactError naming the first problem."""
    actual = {f.name: f.type for f in table.schema}
    expected = {
        "recency": pa.int32(),
        "occurrences": pa.int32(),
        "probability": pa.float64(),
        "cases": pa.float64(),
    }
    if actual != expected:
        raise ArtifactError(f"{where}: revisit schema is {actual}, expected {expected}")
    if table.num_rows == 0 or table.num_rows > 200 * 50:
        raise ArtifactError(f"{where}: revisit has {table.num_rows} rows, expected 1..10000")
    if any(table[name].null_count for name in expected):
        raise ArtifactError(f"{where}: revisit has null values")
    recency = table["recency"].to_numpy()
    occurrences = table["occurrences"].to_numpy()
    width = int(occurrences.max())
    grid = np.divmod(np.arange(table.num_rows), width)
    if table.num_rows % width or not (
        np.array_equal(recency, grid[0]) and np.array_equal(occurrences, grid[1] + 1)
    ):
        raise ArtifactError(
            f"{where}: revisit rows must be every (recency, occurrences) cell, in order"
        )
    probability = table["probability"].to_numpy()
    if not np.all(np.isfinite(probability) & (probability >= 0) & (probability <= 1)):
        raise ArtifactError(f"{where}: revisit probabilities must be in [0, 1]")
    case_counts = table["cases"].to_numpy()
    if not np.all(np.isfinite(case_counts) & (case_counts >= 0)):
        raise ArtifactError(f"{where}: revisit cases must be finite and >= 0")
