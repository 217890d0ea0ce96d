"""Content features for content_sim: TF-IDF tag and title vectors, grouped by identical value.

An item's vector is [t, w * title_weight] / norm, with t and w the L2-normalised tag and title
TF-IDF rows. Its cosine with another item splits into a tag part and a title part:

    score(i, j) = P[a(i), a(j)] + Q[b(i), b(j)]

where a(i) groups items with identical tag rows and title presence (which fixes the norm),
b(i) groups identical title rows and tag presence, and P, Q are group-level similarity
matrices. Catalogs repeat tag sets and title words heavily, so P and Q are far smaller than
the item-by-item matrix, and content_sim searches them instead.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys_algo.contracts.errors import ValidationGateError
from recsys_algo.kinds.content_sim import tfidf

_BLOCK_WORK = 5_000_000  # multiply-adds of one block of the group similarity product
_BLOCK_ROWS = 4096  # rows of one block (bounds the per-row histograms)
_BINS = 1024  # histogram bins over scores in [0, 1] for the per-row pruning bound
_SLACK = 1e-6


@dataclass(frozen=True)
class SideMatrix:
    """Group-by-group similarity in CSR form, with lookups and rows sorted by value desc."""

    matrix: sp.csr_matrix
    keys: np.ndarray  # row * n + col of each stored entry, ascending (CSR with sorted indices)
    by_value: np.ndarray  # entry positions, each row's entries by value desc
    sort_key: np.ndarray  # row * 4 - value at by_value positions, ascending

    @classmethod
    def build(cls, matrix: sp.csr_matrix) -> SideMatrix:
        matrix = matrix.tocsr()
        matrix.eliminate_zeros()
        matrix.sort_indices()
        n = matrix.shape[0]
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(matrix.indptr))
        keys = rows * n + matrix.indices
        # Values are in [0, 1 + tiny], so row * 4 - value orders rows, then values desc.
        key = rows * 4.0 - matrix.data
        by_value = np.argsort(key, kind="stable")
        return cls(matrix, keys, by_value, key[by_value])

    def lookup(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Values at (rows, cols); 0 where nothing is stored."""
        if self.keys.size == 0:
            return np.zeros(rows.size)
        wanted = rows.astype(np.int64) * self.matrix.shape[0] + cols
        pos = np.minimum(np.searchsorted(self.keys, wanted), self.keys.size - 1)
        found = self.keys[pos] == wanted
        return np.where(found, self.matrix.data[pos], 0.0)

    def count_at_least(self, rows: np.ndarray, low: np.ndarray, slack: float) -> np.ndarray:
        """How many of each row's top entries (by value) are >= low - slack (a superset)."""
        start = self.matrix.indptr[rows]
        stop = np.searchsorted(self.sort_key, rows * 4.0 - low + slack, side="right")
        return np.asarray(np.maximum(stop - start, 0))


@dataclass(frozen=True)
class ContentGroups:
    """Items (sorted by id) mapped to tag-side groups a and title-side groups b."""

    a: np.ndarray  # tag-side group of each item
    b: np.ndarray  # title-side group of each item
    live: np.ndarray  # items with any tag or title token (others have no neighbours)
    p: SideMatrix  # tag part of the score between a-groups
    q: SideMatrix  # title part of the score between b-groups
    tag_presence: sp.csr_matrix  # item x tag, 1 where the item has the tag


def _row_groups(matrix: sp.csr_matrix, flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group): rows equal in values and flag share one.

    Groups are numbered in order of first appearance, so numbering follows item id order.
    """
    seen: dict[tuple[bytes, bytes, bool], int] = {}
    group = np.empty(matrix.shape[0], dtype=np.int64)
    ptr, idx, val = matrix.indptr, matrix.indices, matrix.data
    for row in range(matrix.shape[0]):
        lo, hi = ptr[row], ptr[row + 1]
        key = (idx[lo:hi].tobytes(), val[lo:hi].tobytes(), bool(flag[row]))
        group[row] = seen.setdefault(key, len(seen))
    first = np.zeros(len(seen), dtype=np.int64)
    first[group[::-1]] = np.arange(matrix.shape[0])[::-1]
    return group, first


def _block_rows(unique: sp.csr_matrix, unique_t: sp.csr_matrix) -> list[tuple[int, int]]:
    """Row ranges whose share of unique @ unique.T stays under _BLOCK_WORK multiply-adds."""
    per_entry = unique.copy()
    per_entry.data = np.diff(unique_t.indptr)[unique.indices].astype(np.float64)
    cum = np.cumsum(np.asarray(per_entry.sum(axis=1)).ravel())
    bounds = [0]
    while bounds[-1] < unique.shape[0]:
        done = cum[bounds[-1] - 1] if bounds[-1] else 0.0
        stop = int(np.searchsorted(cum, done + _BLOCK_WORK, side="right"))
        stop = min(stop, bounds[-1] + _BLOCK_ROWS)
        bounds.append(min(max(stop, bounds[-1] + 1), unique.shape[0]))
    return list(itertools.pairwise(bounds))


def _similarity(
    unique: sp.csr_matrix,
    weight: np.ndarray,
    size: np.ndarray,
    other_max: np.ndarray,
    need: int,
    max_pairs: int,
) -> sp.csr_matrix:
    """Weighted cosine between groups, computed in row blocks and pruned per row.

    A row keeps entries >= theta - other_max - slack, where theta is a value that `need`
    items reach on this side alone and other_max bounds the other side's part: dropped
    entries can only belong to pairs scoring below theta, which never make a list.
    """
    unique_t = unique.T.tocsr()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    kept = 0
    for start, stop in _block_rows(unique, unique_t):
        block = (unique[start:stop] @ unique_t).tocsr()
        rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
        values = weight[rows] * block.data * weight[block.indices]
        cols = block.indices
        nonzero = values > 0
        rows, cols, values = rows[nonzero], cols[nonzero], values[nonzero]
        if values.size == 0:
            continue
        # Per row, a value that the best groups (weighted by size) reach `need` times: the
        # lower edge of the histogram bin where the count from the top first reaches it.
        local = rows - start
        bins = np.minimum((values * _BINS).astype(np.int64), _BINS)
        hist = np.bincount(
            local * (_BINS + 1) + bins, weights=size[cols], minlength=(stop - start) * (_BINS + 1)
        ).reshape(stop - start, _BINS + 1)
        from_top = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
        top_bin = (from_top >= need).sum(axis=1) - 1
        theta = np.maximum(top_bin, 0) / _BINS
        low = np.where(top_bin >= 0, theta - other_max[start:stop] - _SLACK, -np.inf)
        keep = values >= low[local]
        kept += int(keep.sum())
        if kept > max_pairs:
            raise ValidationGateError(
                f"content_sim: group similarity keeps more than max_pairs {max_pairs} pairs "
                f"(rows {start}..{stop} of {unique.shape[0]} reached {kept}); catalog tags or "
                "titles are too uniform: raise max_pairs or lower title_weight"
            )
        parts.append((rows[keep], cols[keep], values[keep]))
    n = unique.shape[0]
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    values = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    return sp.csr_matrix((values, (rows, cols)), shape=(n, n))


def _side(
    rows: sp.csr_matrix,
    flag: np.ndarray,
    weight: np.ndarray,
    other_weight: np.ndarray,
    other_max: float,
    need: int,
    max_pairs: int,
) -> tuple[np.ndarray, SideMatrix]:
    """Groups of identical (row, flag) and the pruned weighted cosine between groups."""
    group, first = _row_groups(rows, flag)
    size = np.bincount(group, minlength=first.size) * (weight[first] > 0)
    matrix = _similarity(
        rows[first], weight[first], size, other_weight[first] * other_max, need, max_pairs
    )
    return group, SideMatrix.build(matrix)


def build_groups(
    tags: list[list[str]],
    titles: list[str],
    *,
    title_weight: float,
    stop_words: str | None,
    max_features: int,
    top_n: int,
    max_pairs: int,
) -> ContentGroups:
    tag_rows = tfidf.tag_rows(tags, max_features)
    title_rows = tfidf.title_rows(titles, stop_words, max_features)
    has_t = np.diff(tag_rows.indptr) > 0
    has_w = (np.diff(title_rows.indptr) > 0) & (title_weight > 0)
    norm = np.sqrt(has_t + title_weight**2 * has_w)
    live = norm > 0
    safe = np.where(live, norm, 1.0)
    alpha = has_t / safe
    beta = np.where(has_w, title_weight, 0.0) / safe
    need = top_n + 2  # one list serves a whole combo: top_n plus the member itself, plus one
    a, p = _side(tag_rows, has_w, alpha, beta, float(beta.max(initial=0.0)), need, max_pairs)
    b, q = _side(title_rows, has_t, beta, alpha, float(alpha.max(initial=0.0)), need, max_pairs)
    presence = tag_rows.copy()
    presence.data = np.ones_like(presence.data)
    return ContentGroups(a=a, b=b, live=live, p=p, q=q, tag_presence=presence)
