"""Exact top-N unseen items per user from factor matrices, pruned by a Cauchy-Schwarz bound."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

# Scores are float32 dot products; shrinking the bound by this much keeps every item whose
# computed score could reach the threshold despite rounding in the norms and the product.
_BOUND_MARGIN = 1e-4
_CUT_SLACK = 1e-5
_PROBE_ITEMS = 1024
_BLOCK_ELEMENTS = 1 << 24  # score matrix cells per block (64 MiB of float32)


def _kth_largest(scores: F32, k: int) -> F32:
    """Per-row k-th largest value; -inf where a row has fewer than k columns."""
    n = scores.shape[1]
    if n < k:
        return np.full(scores.shape[0], -np.inf, dtype=np.float32)
    return np.partition(scores, n - k, axis=1)[:, n - k]


def _mask_seen(scores: F32, seen: sp.csr_matrix, rows: I64, position: I64, width: int) -> None:
    """Set scores of already-seen items to -inf; columns are positions in the norm order."""
    sub = seen[rows]
    pos = position[sub.indices]
    row = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    keep = pos < width
    scores[row[keep], pos[keep]] = -np.inf


def _thresholds(
    user_f: F32, ranked: F32, seen: sp.csr_matrix, position: I64, k: int, block: int
) -> F32:
    """A lower bound on each user's k-th best unseen score: the k-th best among the probe items."""
    probe = ranked[: min(_PROBE_ITEMS, ranked.shape[0])]
    out = np.empty(user_f.shape[0], dtype=np.float32)
    for start in range(0, user_f.shape[0], block):
        rows = np.arange(start, min(start + block, user_f.shape[0]))
        scores = user_f[rows] @ probe.T
        _mask_seen(scores, seen, rows, position, probe.shape[0])
        out[rows] = _kth_largest(scores, k)
    return out


def top_n_unseen(user_f: F32, item_f: F32, seen: sp.csr_matrix, k: int) -> tuple[I64, I32, F32]:
    """Top-k items by user_f @ item_f.T per user, excluding seen[u] items.

    Returns CSR-style (offsets, item indices, scores), rows sorted by score desc then item index.
    Exact: items are scanned in descending norm order only as far as u . y can still reach a
    lower bound on the user's k-th best score (|u| |y| >= threshold); the rest cannot qualify.
    """
    n_users, n_items = user_f.shape[0], item_f.shape[0]
    norms = np.linalg.norm(item_f.astype(np.float64), axis=1)
    order = np.lexsort((np.arange(n_items), -norms))
    position = np.empty(n_items, dtype=np.int64)
    position[order] = np.arange(n_items)
    ranked = np.ascontiguousarray(item_f[order])
    neg_norms = -norms[order]  # ascending

    block = max(64, _BLOCK_ELEMENTS // max(1, min(_PROBE_ITEMS, n_items)))
    threshold = _thresholds(user_f, ranked, seen, position, k, block)
    user_norm = np.linalg.norm(user_f.astype(np.float64), axis=1)
    prunable = (threshold > 0) & (user_norm > 0)
    bound = np.where(prunable, threshold / np.where(prunable, user_norm, 1.0), 0.0)
    bound *= 1 - _BOUND_MARGIN
    scan = np.where(prunable, np.searchsorted(neg_norms, -bound, side="right"), n_items).astype(
        np.int64
    )
    scan = np.maximum(scan, min(k, n_items))

    top_items = np.full((n_users, k), -1, dtype=np.int32)
    top_scores = np.zeros((n_users, k), dtype=np.float32)
    by_scan = np.lexsort((np.arange(n_users), scan))
    start = 0
    while start < n_users:
        stop = min(n_users, start + _BLOCK_ELEMENTS // max(1, scan[by_scan[start]]))
        stop = max(stop, start + 1)
        rows = by_scan[start:stop]
        width = int(scan[rows[-1]])
        _select(
            user_f,
            ranked,
            order,
            seen,
            position,
            rows,
            width,
            threshold,
            prunable,
            k,
            top_items,
            top_scores,
        )
        start = stop

    filled = top_items >= 0
    offsets = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(filled.sum(axis=1), out=offsets[1:])
    return offsets, top_items[filled], top_scores[filled]


def _select(
    user_f: F32,
    ranked: F32,
    order: I64,
    seen: sp.csr_matrix,
    position: I64,
    rows: I64,
    width: int,
    threshold: F32,
    prunable: npt.NDArray[np.bool_],
    k: int,
    top_items: I32,
    top_scores: F32,
) -> None:
    """Score one block of users over the first `width` ranked items and keep each row's top k."""
    scores = user_f[rows] @ ranked[:width].T
    _mask_seen(scores, seen, rows, position, width)
    # Phase-one scores came from a differently shaped product; a hair lower keeps their top k.
    cut = threshold[rows] * np.float32(1 - _CUT_SLACK)
    full = ~prunable[rows]
    if full.any():
        cut[full] = _kth_largest(scores[full], k)
    row, col = np.nonzero((scores >= cut[:, None]) & (scores > -np.inf))
    value = scores[row, col]
    item = order[col]
    # Everything at or above the cut competes; ties go to the lower item index.
    ranking = np.lexsort((item, -value, row))
    row, item, value = row[ranking], item[ranking], value[ranking]
    first = np.searchsorted(row, np.arange(len(rows)))
    slot = np.arange(len(row)) - first[row]
    keep = slot < k
    top_items[rows[row[keep]], slot[keep]] = item[keep]
    top_scores[rows[row[keep]], slot[keep]] = value[keep]
