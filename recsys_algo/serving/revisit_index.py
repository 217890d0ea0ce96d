"""The serving index of the repeat model (kind `revisit`): session items by repeat probability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_algo.serving.ranking import EMPTY, Codes, Floats, Ranked, take


@dataclass(frozen=True, slots=True)
class RevisitIndex:
    """P(next = item | its recency rank, its occurrences so far), row-major by recency; the
    last recency row and the last occurrence column hold everything beyond them."""

    probability: Floats
    occurrences: int  # columns: occurrence counts 1..occurrences (the last: or more)

    @property
    def recency(self) -> int:
        return self.probability.size // self.occurrences

    def rank(self, session: Codes, n: int, exclude: Codes) -> Ranked:
        """The distinct items of the session (codes, oldest first, repeats kept; negative codes
        are items the version does not know, which still count for recency) by probability,
        best first, ties to the more recent; items of probability 0 are left out."""
        if session.size == 0 or n <= 0:
            return EMPTY
        latest_first = session[::-1]
        codes, first, counts = np.unique(latest_first, return_index=True, return_counts=True)
        by_recency = np.argsort(first)
        codes, counts = codes[by_recency], counts[by_recency]
        recency = np.minimum(np.arange(codes.size), self.recency - 1)
        cell = recency * self.occurrences + np.minimum(counts, self.occurrences) - 1
        scores = self.probability[cell]
        keep = (codes >= 0) & (scores > 0)
        codes, scores = codes[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")
        return take(codes[order].astype(np.int32), scores[order], n, exclude)
