"""The serving index of the `item_model` kind: known users' precomputed top items, and for
anyone else the summed weight rows of the session's items (the item-item model's fold-in).

Arrays only (numpy): a serving process that maps prepared files never imports pyarrow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recsys_algo.serving.indexes import NeighborIndex
from recsys_algo.serving.ranking import EMPTY, Codes, Ranked, take


@dataclass(frozen=True, slots=True)
class ItemModelArrays:
    """What an ItemModelIndex serves from: arrays (memory-mappable) and the known user ids."""

    starts: npt.NDArray[np.int64]  # by item code: its weight row is codes[start:end]
    ends: npt.NDArray[np.int64]
    codes: Codes
    scores: npt.NDArray[np.float64]
    user_ids: list[str]
    top_offsets: npt.NDArray[np.int64]  # user row -> its slice of top_codes / top_scores
    top_codes: Codes
    top_scores: npt.NDArray[np.float32]


class ItemModelIndex:
    """Serving view of an `item_model` table (EASE, RP3beta or item-kNN)."""

    # Distinct session items folded in: a long history is cut to its latest ones.
    MAX_FOLD_IN = 500

    def __init__(self, arrays: ItemModelArrays) -> None:
        self.arrays = arrays
        self.rows = NeighborIndex(arrays.starts, arrays.ends, arrays.codes, arrays.scores)
        self.user_rows = {user: u for u, user in enumerate(arrays.user_ids)}

    def known_user_top(self, user_id: str, n: int, exclude: Codes) -> Ranked | None:
        """The user's precomputed top items (at most n, none excluded), or None for a user the
        model never saw."""
        row = self.user_rows.get(user_id)
        if row is None:
            return None
        start, stop = int(self.arrays.top_offsets[row]), int(self.arrays.top_offsets[row + 1])
        return take(
            self.arrays.top_codes[start:stop], self.arrays.top_scores[start:stop], n, exclude
        )

    def fold_in(self, item_codes: Codes, n: int, exclude: Codes) -> Ranked:
        """Scores of an unseen user who holds item_codes (oldest first): the sum of their weight
        rows, each distinct item once (the latest MAX_FOLD_IN of them)."""
        if item_codes.size == 0 or n <= 0:
            return EMPTY
        latest_first = item_codes[::-1]
        codes, first = np.unique(latest_first, return_index=True)
        recent = codes[np.argsort(first)][: self.MAX_FOLD_IN]
        return self.rows.expand([(int(c), 1.0) for c in np.sort(recent).tolist()], n, exclude)
