"""Exact top-N unseen items per user from factor matrices: blocked product, group-max threshold."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import scipy.sparse as sp  # only annotates: the matrix arrives built

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

_GROUPS = 256  # column groups whose maxima bound each row's k-th best score
_BLOCK_CELLS = 1 << 23  # score-matrix cells per block (32 MiB of float32)


def top_n_unseen(user_f: F32, item_f: F32, seen: sp.csr_matrix, k: int) -> tuple[I64, I32, F32]:
    """Top-k items by user_f @ item_f.T per user, excluding the items in seen[u].

    Returns CSR-style (offsets, item indices, scores); each row is sorted by score descending,
    ties by item index. Exact: see top_n_blocked.
    """
    n_items = item_f.shape[0]
    width = padded_width(n_items, k)
    padded = np.zeros((width, item_f.shape[1]), dtype=np.float32)
    padded[:n_items] = item_f
    return top_n_blocked(lambda start, stop: user_f[start:stop] @ padded.T, seen, k)


def padded_width(n_items: int, k: int) -> int:
    """Columns of a score block: n_items padded to whole column groups."""
    groups = -(-max(_GROUPS, k) // 8) * 8
    return -(-n_items // groups) * groups


def top_n_blocked(
    score_rows: Callable[[int, int], F32], seen: sp.csr_matrix, k: int
) -> tuple[I64, I32, F32]:
    """Top-k unseen items per user from blocks of scores: score_rows(start, stop) gives the
    float32 scores of users start..stop-1 as a (stop - start, padded_width(items, k)) array
    (the padding's values are ignored; the array may be overwritten). seen is users x items.

    Returns CSR-style (offsets, item indices, scores); each row is sorted by score descending,
    ties by item index. Exact: the k-th largest of the column-group maxima is a lower bound on
    the row's k-th best score (k groups, k distinct items at least that high), so only cells at
    or above it are sorted - typically little more than k per row.
    """
    n_users, n_items = seen.shape
    groups = max(_GROUPS, k)  # the bound needs at least k groups
    groups = -(-groups // 8) * 8  # rows are then whole 8-byte words of the mask
    width = padded_width(n_items, k)
    block = max(1, _BLOCK_CELLS // width)
    top_items = np.full((n_users, k), -1, dtype=np.int32)
    top_scores = np.zeros((n_users, k), dtype=np.float32)
    for start in range(0, n_users, block):
        stop = min(n_users, start + block)
        scores = score_rows(start, stop)
        scores[:, n_items:] = -np.inf
        sub = seen[start:stop]
        scores[np.repeat(np.arange(stop - start), np.diff(sub.indptr)), sub.indices] = -np.inf
        _keep_top(scores, groups, k, top_items[start:stop], top_scores[start:stop])
    filled = top_items >= 0
    offsets = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(filled.sum(axis=1), out=offsets[1:])
    return offsets, top_items[filled], top_scores[filled]


def _keep_top(scores: F32, groups: int, k: int, out_items: I32, out_scores: F32) -> None:
    """Write each row's best k finite cells (score desc, column asc) into the output rows."""
    rows = scores.shape[0]
    # Group j holds columns j, j + groups, ...: a max over slabs, which numpy vectorises.
    group_max = scores.reshape(rows, -1, groups).max(axis=1)
    cut = np.partition(group_max, groups - k, axis=1)[:, groups - k]
    # Few cells pass; find them through 8-byte words of the mask instead of byte by byte.
    mask = scores >= cut[:, None]
    words = np.flatnonzero(mask.view(np.uint64))
    cells = (words[:, None] * 8 + np.arange(8)).ravel()
    cells = cells[mask.ravel()[cells]]
    value = scores.ravel()[cells]
    finite = value > -np.inf  # a row with under k unseen items has cut -inf
    cells, value = cells[finite], value[finite]
    row, col = np.divmod(cells, scores.shape[1])
    # cells ascend by (row, column), so a stable sort on (row, score desc) leaves ties by column.
    ranking = np.argsort((row << 32) | _descending_key(value), kind="stable")
    row, col, value = row[ranking], col[ranking], value[ranking]
    slot = np.arange(len(row)) - np.searchsorted(row, row)
    keep = slot < k
    out_items[row[keep], slot[keep]] = col[keep]
    out_scores[row[keep], slot[keep]] = value[keep]


def _descending_key(value: F32) -> I64:
    """Non-negative int64 keys that ascend as the float32 values descend (no NaN)."""
    bits = (value + np.float32(0.0)).view(np.int32).astype(np.int64)  # + 0.0 turns -0.0 into 0.0
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # int order == float order
    return np.int64(0x7FFFFFFF) - ordered
