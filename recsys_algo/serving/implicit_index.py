"""The serving index of the `implicit` kind: precomputed top lists and fold-in for new users.

Arrays only (numpy): a serving process that maps prepared files never imports pyarrow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from recsys_algo.serving.ranking import EMPTY, Codes, Ranked, take


@dataclass(frozen=True, slots=True)
class CollabArrays:
    """What a CollabIndex serves from: arrays (memory-mappable) and the known user ids."""

    item_codes: Codes  # factor row -> item code, ascending
    row_of_code: npt.NDArray[np.int64]  # item code -> factor row, -1 for items without factors
    item_factors: npt.NDArray[np.float32]
    gram: npt.NDArray[np.float64]  # Y'Y + regularization I, for fold-in
    user_ids: list[str]
    top_offsets: npt.NDArray[np.int64]  # user row -> its slice of top_codes / top_scores
    top_codes: Codes
    top_scores: npt.NDArray[np.float32]
    regularization: float
    alpha: float


class CollabIndex:
    """Serving view of an `implicit` table: precomputed top-N for known users, fold-in otherwise.

    Items are codes of the version's vocabulary; the table's item rows are sorted by id, so
    their ordinals run in code order. regularization and alpha must match the fit (they live in
    the manifest's parameters).
    """

    def __init__(self, arrays: CollabArrays) -> None:
        self.arrays = arrays
        self.item_codes, self.row_of_code = arrays.item_codes, arrays.row_of_code
        self.item_factors, self._gram = arrays.item_factors, arrays.gram
        self.user_rows = {user: u for u, user in enumerate(arrays.user_ids)}
        self._offsets, self._top_codes = arrays.top_offsets, arrays.top_codes
        self._top_scores = arrays.top_scores
        self.regularization, self.alpha = arrays.regularization, arrays.alpha
        # One small solve and product per request: BLAS threads only add hand-off latency.
        self._blas = ThreadpoolController()

    @classmethod
    def build(
        cls,
        item_codes: Codes,
        vocab_size: int,
        item_factors: npt.NDArray[np.float32],
        user_ids: list[str],
        top_offsets: npt.NDArray[np.int64],
        top_codes: Codes,
        top_scores: npt.NDArray[np.float32],
        regularization: float,
        alpha: float,
    ) -> CollabIndex:
        row_of_code = np.full(vocab_size, -1, np.int64)
        row_of_code[item_codes] = np.arange(item_codes.size)
        factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        yy = factors.astype(np.float64)
        gram = yy.T @ yy + regularization * np.eye(yy.shape[1])
        arrays = CollabArrays(
            item_codes, row_of_code, factors, gram, user_ids, top_offsets, top_codes,
            top_scores, regularization, alpha,
        )  # fmt: skip
        return cls(arrays)

    def blas_limit(self) -> Any:
        """BLAS on one thread (a context manager): what every fold-in solves and multiplies in."""
        return self._blas.limit(limits=1, user_api="blas")

    def known_user_top(self, user_id: str, n: int, exclude: Codes) -> Ranked | None:
        """The user's precomputed top items (at most n, none excluded), or None for a user the
        model never saw."""
        row = self.user_rows.get(user_id)
        if row is None:
            return None
        start, stop = int(self._offsets[row]), int(self._offsets[row + 1])
        return take(self._top_codes[start:stop], self._top_scores[start:stop], n, exclude)

    def fold_in(self, item_codes: Codes, n: int, exclude: Codes) -> Ranked:
        """Score all items for an unseen user who interacted with item_codes (one event each).

        The user vector solves the implicit-ALS normal equations with confidence 1 + alpha:
        (Y'Y + reg I + alpha Ys'Ys) x = (1 + alpha) Ys' 1. Items without factors are ignored.
        """
        rows = self.row_of_code[item_codes]
        sent = np.unique(rows[rows >= 0])
        if sent.size == 0 or n <= 0:
            return EMPTY
        ys = self.item_factors[sent].astype(np.float64)
        with self.blas_limit():
            gram = self._gram + self.alpha * (ys.T @ ys)
            vector = np.linalg.solve(gram, (1 + self.alpha) * ys.sum(0))
            scores = self.item_factors @ vector.astype(np.float32)
        scores[sent] = -np.inf
        banned = self.row_of_code[exclude]
        scores[banned[banned >= 0]] = -np.inf
        best = _top(scores, n)
        return Ranked(self.item_codes[best], scores[best].astype(np.float64))


def _top(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    """Rows of the best k finite scores, ties by row (id order)."""
    k = min(k, scores.size)
    kth = np.partition(scores, scores.size - k)[scores.size - k]
    cand = np.flatnonzero((scores >= kth) & np.isfinite(scores))
    return cand[np.lexsort((cand, -scores[cand]))][:k]
