"""Item-item models of users: EASE (closed form), RP3beta (a random walk with a popularity
penalty) and item-kNN (cosine with shrinkage). Each gives an item x item weight matrix W; a
user's scores are their interactions times W. The artifact keeps each item's top neighbours
(the fold-in of an anonymous session) and each known user's top unseen items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.kinds.implicit.fit import user_item_weights
from recsys_algo.kinds.implicit.topn import padded_width, top_n_blocked
from recsys_algo.kinds.item_model.artifact import (
    MAX_ITEMS,
    MAX_USERS,
    UserLists,
    item_model_frame,
)
from recsys_algo.kinds.popularity import DEFAULT_WEIGHTS, check_event_weights

MODELS = ("ease", "rp3beta", "itemknn")
# EASE inverts a dense items x items matrix: 20,000 items is 3.2 GB of float64 and ~1 min.
EASE_ITEM_LIMIT = 20_000
_BLOCK_CELLS = 1 << 22  # dense item-row cells computed at once (32 MB of float64)
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Triples = tuple[I64, I64, F64]  # (row, column, value) of kept weights, in artifact order


@dataclass(frozen=True)
class ItemModelParams:
    """model: ease, rp3beta or itemknn; l2: EASE's regularization; alpha, beta: RP3beta's
    exponents (transition probabilities ** alpha, divided by popularity ** beta); shrink:
    item-kNN's shrinkage; neighbors: weights kept per item row; ease_items: EASE is fitted on
    this many most interacted items (a dense inverse), the others get no row."""

    model: Literal["ease", "rp3beta", "itemknn"] = "rp3beta"
    l2: float = 200.0
    alpha: float = 1.0
    beta: float = 0.5
    shrink: float = 10.0
    neighbors: int = 100
    top_n: int = 50
    binary: bool = True
    half_life_days: float = 14.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_user_events: int = 1
    ease_items: int = 5_000
    max_items: int = 500_000
    max_users: int = MAX_USERS
    num_threads: int = 1

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for name, low, high in (
            ("neighbors", 1, 10_000),
            ("top_n", 1, 10_000),
            ("min_user_events", 1, 1_000_000),
            ("ease_items", 1, EASE_ITEM_LIMIT),
            ("max_items", 1, MAX_ITEMS),
            ("max_users", 1, MAX_USERS),
            ("num_threads", 1, 64),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"{name} must be an integer in {low}..{high}, got {value!r}")
        for name, floor, ceiling in (
            ("l2", 1e-6, 1e9),
            ("alpha", 1e-3, 10.0),
            ("beta", 0.0, 2.0),
            ("shrink", 0.0, 1e9),
            ("half_life_days", 1e-6, 1e9),
        ):
            number = getattr(self, name)
            if not (
                isinstance(number, int | float)
                and np.isfinite(number)
                and floor <= number <= ceiling
            ):
                raise ConfigError(
                    f"{name} must be a number in [{floor:g}, {ceiling:g}], got {number!r}"
                )
        if not isinstance(self.binary, bool):
            raise ConfigError(f"binary must be true or false, got {self.binary!r}")
        check_event_weights(self.weights)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "weights": dict(sorted(self.weights.items()))}


def compute_item_model(
    events: pl.DataFrame, as_of_end: dt.datetime, params: ItemModelParams
) -> pl.DataFrame:
    """The fitted model as the artifact frame (item rows, then user rows; ids ascending)."""
    pairs = user_item_weights(events, as_of_end, params, require="item_model")
    user_ids, item_ids, matrix = interaction_matrix(pairs, params)
    with threadpool_limits(limits=params.num_threads, user_api="blas"):
        if params.model == "ease":
            kept, lists = _ease(matrix, params)
        else:
            weights = _sparse_weights(matrix, params)
            kept = _as_triples(weights)
            lists = top_n_blocked(_scorer(matrix, weights, params), matrix, params.top_n)
    return item_model_frame(item_ids, user_ids, kept, lists)


def interaction_matrix(
    pairs: pl.DataFrame, params: ItemModelParams
) -> tuple[list[str], list[str], sp.csr_matrix]:
    """users x items (ids ascending): 1 per pair (binary) or its decayed weight."""
    n_users, n_items = pairs["user_id"].n_unique(), pairs["item_id"].n_unique()
    if n_users > params.max_users:
        raise ValidationGateError(
            f"item_model: {n_users} users exceeds max_users {params.max_users}"
        )
    if n_items > params.max_items:
        raise ValidationGateError(
            f"item_model: {n_items} items exceeds max_items {params.max_items}"
        )
    coded = pairs.select(
        u=pl.col("user_id").rank("dense").cast(pl.Int64) - 1,
        i=pl.col("item_id").rank("dense").cast(pl.Int64) - 1,
    )
    values = np.ones(pairs.height) if params.binary else pairs["weight"].to_numpy()
    matrix = sp.csr_matrix(
        (values, (coded["u"].to_numpy(), coded["i"].to_numpy())), shape=(n_users, n_items)
    )
    matrix.sort_indices()
    users = pairs["user_id"].unique(maintain_order=True).to_list()
    return users, pairs["item_id"].unique().sort().to_list(), matrix


def top_per_row(block: F64, k: int, first_row: int) -> Triples:
    """(row, column, value) of each row's k largest positive cells, value desc, column asc."""
    k = min(k, block.shape[1])
    part = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < block.shape[1] else None
    cols = np.broadcast_to(np.arange(block.shape[1]), block.shape) if part is None else part
    vals = np.take_along_axis(block, cols, axis=1)
    row = np.repeat(np.arange(block.shape[0]), cols.shape[1])
    col, val = cols.ravel(), vals.ravel()
    keep = val > 0
    row, col, val = row[keep], col[keep], val[keep]
    order = np.lexsort((col, -val, row))
    return (row[order] + first_row).astype(np.int64), col[order].astype(np.int64), val[order]


def _ease(matrix: sp.csr_matrix, params: ItemModelParams) -> tuple[Triples, UserLists]:
    """EASE on the ease_items most interacted items (ties by id): B = -P / diag(P), diag 0,
    with P = (X'X + l2 I)^-1 from a Cholesky factorisation."""
    counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
    chosen = np.sort(np.lexsort((np.arange(counts.size), -counts))[: params.ease_items])
    sub = matrix[:, chosen].tocsr()
    gram = (sub.T @ sub).toarray() + params.l2 * np.eye(chosen.size)
    inverse = _spd_inverse(gram)
    weights = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(weights, 0.0)
    rows, cols, vals = top_per_row(weights, params.neighbors, 0)
    width = padded_width(chosen.size, params.top_n)
    dense = weights.astype(np.float32)

    def score(start: int, stop: int) -> npt.NDArray[np.float32]:
        out = np.zeros((stop - start, width), np.float32)
        out[:, : chosen.size] = sub[start:stop] @ dense
        return out

    offsets, top, scores = top_n_blocked(score, sub, params.top_n)
    # Back to ordinals among all items.
    return (chosen[rows], chosen[cols], vals), (offsets, chosen[top].astype(np.int32), scores)


def _spd_inverse(gram: F64) -> F64:
    """The inverse of a symmetric positive definite matrix from its Cholesky factor (LAPACK
    potrf + potri: about half the work of a general inverse), symmetrised."""
    factor, info = scipy.linalg.lapack.dpotrf(gram, lower=False, overwrite_a=True)
    if info == 0:
        inverse, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ValidationGateError(
            f"item_model: EASE's Gram matrix is not invertible (LAPACK {info})"
        )
    upper = np.triu(inverse)
    return np.asarray(upper + np.triu(upper, 1).T, dtype=np.float64)


def _sparse_weights(matrix: sp.csr_matrix, params: ItemModelParams) -> sp.csr_matrix:
    """RP3beta or item-kNN weights, each item row cut to its `neighbors` best, in row blocks."""
    n_items = matrix.shape[1]
    users_of = matrix.T.tocsr()  # items x users
    if params.model == "rp3beta":
        to_item = _row_normalised(matrix).power(params.alpha).tocsr()
        to_user = _row_normalised(users_of).power(params.alpha).tocsr()
        degree = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.float64)
        penalty = np.power(np.maximum(degree, 1.0), -params.beta)
    else:
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    step = max(1, _BLOCK_CELLS // max(1, n_items))
    parts = []
    for first in range(0, n_items, step):
        last = min(n_items, first + step)
        if params.model == "rp3beta":
            block = (to_user[first:last] @ to_item).toarray() * penalty[None, :]
        else:
            block = (users_of[first:last] @ matrix).toarray()
            block /= norms[first:last, None] * norms[None, :] + params.shrink + 1e-12
        block[np.arange(last - first), np.arange(first, last)] = 0.0
        parts.append(top_per_row(block, params.neighbors, first))
    rows, cols, vals = (np.concatenate(p) for p in zip(*parts, strict=True))
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items))


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sp.diags(1.0 / np.maximum(sums, 1e-12)) @ matrix


def _as_triples(weights: sp.csr_matrix) -> Triples:
    """A weight matrix's cells in artifact order: by row, value desc, column asc."""
    coo = weights.tocoo()
    order = np.lexsort((coo.col, -coo.data, coo.row))
    return coo.row[order].astype(np.int64), coo.col[order].astype(np.int64), coo.data[order]


def _scorer(matrix: sp.csr_matrix, weights: sp.csr_matrix, params: ItemModelParams) -> Any:
    width = padded_width(matrix.shape[1], params.top_n)

    def score(start: int, stop: int) -> npt.NDArray[np.float32]:
        out = np.zeros((stop - start, width), np.float32)
        out[:, : matrix.shape[1]] = (matrix[start:stop] @ weights).toarray()
        return out

    return score
