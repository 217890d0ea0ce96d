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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


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


def _tags_as_tokens(tags: list[str]) -> list[str]:
    # Each tag is one token, whatever characters it holds; repeats count once.
    return sorted(set(tags))


def _tfidf(docs: list[Any], make: Callable[[], TfidfVectorizer], n: int) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows; a corpus without any token gives 0 columns."""
    try:
        matrix = make().fit_transform(docs).tocsr()
    except ValueError as exc:  # sklearn: empty vocabulary (no tokens anywhere)
        if "empty vocabulary" not in str(exc):
            raise
        return sp.csr_matrix((n, 0), dtype=np.float64)
    matrix = normalize(matrix).tocsr()
    matrix.sort_indices()
    return matrix


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


def _side(
    rows: sp.csr_matrix, flag: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, SideMatrix]:
    """Groups of identical (row, flag) and the weighted cosine between groups."""
    group, first = _row_groups(rows, flag)
    unique = rows[first]
    scale = sp.diags(weight[first])
    return group, SideMatrix.build(scale @ (unique @ unique.T) @ scale)


def build_groups(
    tags: list[list[str]],
    titles: list[str],
    *,
    title_weight: float,
    stop_words: str | None,
    max_features: int,
) -> ContentGroups:
    n = len(tags)
    tag_rows = _tfidf(
        tags,
        lambda: TfidfVectorizer(
            analyzer=_tags_as_tokens, binary=True, max_features=max_features, dtype=np.float64
        ),
        n,
    )
    title_rows = _tfidf(
        titles,
        lambda: TfidfVectorizer(
            lowercase=True, stop_words=stop_words, max_features=max_features, dtype=np.float64
        ),
        n,
    )
    has_t = np.diff(tag_rows.indptr) > 0
    has_w = (np.diff(title_rows.indptr) > 0) & (title_weight > 0)
    norm = np.sqrt(has_t + title_weight**2 * has_w)
    live = norm > 0
    safe = np.where(live, norm, 1.0)
    alpha = has_t / safe
    beta = np.where(has_w, title_weight, 0.0) / safe
    a, p = _side(tag_rows, has_w, alpha)
    b, q = _side(title_rows, has_t, beta)
    presence = tag_rows.copy()
    presence.data = np.ones_like(presence.data)
    return ContentGroups(a=a, b=b, live=live, p=p, q=q, tag_presence=presence)
