"""Serving indexes of the popularity and item-to-item kinds, as arrays of item codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recsys_algo.serving.ranking import EMPTY, Codes, Floats, Ranked, rank_by_total, take


@dataclass(frozen=True, slots=True)
class PopularityIndex:
    """Item codes and scores, best first, exactly in the artifact's order."""

    codes: Codes
    scores: Floats

    def top(self, n: int, exclude: Codes) -> Ranked:
        return take(self.codes, self.scores, n, exclude)


@dataclass(frozen=True, slots=True)
class NeighborIndex:
    """item -> ranked neighbours (cooc, content_sim, session_seq), all as arrays.

    Rows are grouped by item, so an item's neighbours are rows starts[code]:ends[code]; a 1M-row
    artifact costs ~12 MB of codes and scores and no per-row Python object.
    """

    starts: npt.NDArray[np.int64]  # by item code
    ends: npt.NDArray[np.int64]
    codes: Codes  # neighbour code of each row
    scores: Floats

    def has(self, code: int) -> bool:
        return bool(self.ends[code] > self.starts[code])

    def expand(self, seeds: Sequence[tuple[int, float]], n: int, exclude: Codes) -> Ranked:
        """Sum weight * score over the seeds' neighbour lists; best n, ties by item id."""
        spans = [
            (start, end, weight)
            for code, weight in seeds
            if (end := int(self.ends[code])) > (start := int(self.starts[code]))
        ]
        if not spans:
            return EMPTY
        if len(spans) == 1 and spans[0][2] == 1.0:
            # One seed at full weight: the artifact's own order (score desc, neighbour id).
            start, end, _ = spans[0]
            return take(self.codes[start:end], self.scores[start:end], n, exclude)
        codes = np.concatenate([self.codes[start:end] for start, end, _ in spans])
        # Same products, added per item in seed order, as a scalar loop would: same floats.
        weighted = np.concatenate([weight * self.scores[start:end] for start, end, weight in spans])
        found, inverse = np.unique(codes, return_inverse=True)
        totals = np.bincount(inverse, weights=weighted, minlength=found.size).astype(np.float64)
        ranked_codes, ranked_totals = rank_by_total(found.astype(np.int32), totals)
        return take(ranked_codes, ranked_totals, n, exclude)
