"""Item→item co-occurrence in sessions (cosine, Jaccard or lift), decayed by session age; top-N."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.kinds.neighbors import NEIGHBOR_SCHEMA, check_neighbors, top_neighbors
from recsys_algo.kinds.sessions import EncodedSessions, SessionKindParams, prepare_sessions

if TYPE_CHECKING:
    import scipy.sparse as sp

SCHEMA_VERSION = 1
SIMILARITIES = ("cosine", "jaccard", "lift")
# Upper bound on the co-occurrence entries computed at once (about 20 bytes each).
_CHUNK_ENTRIES = 8_000_000


@dataclass(frozen=True)
class CoocParams(SessionKindParams):
    similarity: Literal["cosine", "jaccard", "lift"] = "cosine"
    min_support: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.similarity not in SIMILARITIES:
            raise ConfigError(
                f"similarity must be one of {', '.join(SIMILARITIES)}, got {self.similarity!r}"
            )


def compute_cooc(events: pl.DataFrame, as_of_end: dt.datetime, params: CoocParams) -> pl.DataFrame:
    """Neighbours of each item by how often both appear in one session.

    With w_s the decay of session s, c_ij = sum of w_s over sessions holding i and j and
    n_i = c_ii: cosine c_ij / sqrt(n_i n_j), jaccard c_ij / (n_i + n_j - c_ij), lift
    c_ij N / (n_i n_j) with N = sum of w_s. support counts sessions holding both.
    """
    _, enc = prepare_sessions(events, as_of_end, params, "cooc")
    if enc.n_sessions == 0:
        return pl.DataFrame(schema=NEIGHBOR_SCHEMA)
    member = _membership(enc)  # sessions x items, 1 where the item is in the session
    # One product yields both numbers: real part counts sessions, imaginary part sums decays.
    both = member.astype(np.complex128)
    both.data += 1j * enc.weight[np.repeat(np.arange(enc.n_sessions), np.diff(member.indptr))]
    total = float(enc.weight.sum())
    by_item = member.T.tocsr()  # items x sessions
    n = by_item @ enc.weight  # decayed sessions holding each item: the diagonal of C
    frames = []
    for lo, hi in _row_chunks(by_item, member):
        co = by_item[lo:hi] @ both
        item = np.repeat(np.arange(lo, hi, dtype=np.int32), np.diff(co.indptr))
        support = np.rint(co.data.real).astype(np.int64)
        keep = support >= params.min_support
        item, nbr, c, support = item[keep], co.indices[keep], co.data.imag[keep], support[keep]
        score = _similarity(params.similarity, c, n[item], n[nbr], total)
        frames.append(top_neighbors(enc.item_ids, item, nbr, score, support, params.top_n))
    return pl.concat(frames)


def _membership(enc: EncodedSessions) -> sp.csr_matrix:
    """Binary sessions x items matrix (an item repeated within a session counts once)."""
    import scipy.sparse as sp

    matrix = sp.csr_matrix(
        (np.ones(len(enc.item), dtype=np.float64), (enc.session, enc.item)),
        shape=(enc.n_sessions, enc.n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _row_chunks(by_item: sp.csr_matrix, member: sp.csr_matrix) -> list[tuple[int, int]]:
    """Item ranges whose co-occurrence rows hold at most about _CHUNK_ENTRIES entries each.

    Row i of C has at most sum over i's sessions of their length entries; bounding that keeps
    memory flat however many items there are.
    """
    lengths = np.diff(member.indptr).astype(np.float64)
    bound = np.cumsum(by_item @ lengths)
    cuts = np.searchsorted(
        bound, np.arange(1, int(bound[-1] // _CHUNK_ENTRIES) + 1) * _CHUNK_ENTRIES
    )
    edges = np.unique(np.r_[0, cuts, by_item.shape[0]])
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _similarity(
    kind: str, c: np.ndarray, n_i: np.ndarray, n_j: np.ndarray, total: float
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "cosine":
            return np.asarray(c / (np.sqrt(n_i) * np.sqrt(n_j)))
        if kind == "jaccard":
            return np.asarray(c / (n_i + n_j - c))
        return np.asarray((c / n_i) * (total / n_j))


def check_cooc(table: pa.Table, where: str) -> None:
    """Blocking checks of a cooc artifact; raise ArtifactError naming the first problem."""
    check_neighbors(table, where, "cooc")
