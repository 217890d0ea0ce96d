"""The serving index of the `session_knn` kind: neighbouring sessions vote for their items.

VSKNN (vector-multiplication session kNN): the current session's latest distinct items weigh
linearly by recency (the latest 1, the oldest kept 1/D); a past session's similarity is the sum
of the weights of the items it shares with the current one; the `neighbors` most similar of
the `sample` most recent sessions holding any of those items vote, each item of a neighbour
gaining the neighbour's similarity (times the item's idf when asked). Arrays only (numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recsys_algo.serving.ranking import EMPTY, Codes, Floats, Ranked, rank_by_total, take

Offsets = npt.NDArray[np.int64]


def gather(offsets: Offsets, values: Codes, rows: npt.NDArray[np.int64]) -> tuple[Codes, Offsets]:
    """The values of the given CSR rows back to back, and the position of each value's row."""
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(rows.size), lengths)
    at = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths) + starts[owner]
    return values[at], owner


def latest_items(session: Codes, recent_items: int) -> tuple[list[int], list[float]]:
    """The session's latest recent_items distinct items, the known ones sorted by code, with
    their recency weights (unknown items, negative codes, count for the others' positions).

    Plain Python: a session is at most a few hundred codes, and a query one of thousands in
    the evaluation's batches (serving/batched), where numpy's per-call cost dominated."""
    recent: list[int] = []
    for code in reversed(session.tolist()):
        if code not in recent:
            recent.append(code)
            if len(recent) == recent_items:
                break
    size = len(recent)
    known = sorted((c, (size - i) / size) for i, c in enumerate(recent) if c >= 0)
    return [c for c, _ in known], [w for _, w in known]


@dataclass(frozen=True, slots=True)
class SessionIndex:
    """Sessions as item codes (row 0 the most recent) and, per item code, its sessions in the
    same order."""

    offsets: Offsets  # session s holds items[offsets[s]:offsets[s + 1]]
    items: Codes
    item_starts: Offsets  # by item code: its sessions are sessions_of_item[start:end]
    item_ends: Offsets
    sessions_of_item: npt.NDArray[np.int32]
    idf: Floats | None  # by item code; None: every item weighs 1
    neighbors: int
    sample: int
    recent_items: int

    @classmethod
    def build(
        cls,
        offsets: Offsets,
        items: Codes,
        vocab_size: int,
        *,
        neighbors: int,
        sample: int,
        recent_items: int,
        idf: bool,
    ) -> SessionIndex:
        """Index sessions given as CSR rows of item codes (distinct within a row)."""
        session_of = np.repeat(np.arange(offsets.size - 1, dtype=np.int32), np.diff(offsets))
        order = np.argsort(items, kind="stable")  # stable: each item's sessions stay in order
        by_item = items[order]
        every = np.arange(vocab_size)
        weights = None
        if idf:
            counts = np.bincount(items, minlength=vocab_size).astype(np.float64)
            sessions = max(1, offsets.size - 1)
            weights = np.log(sessions / np.maximum(counts, 1.0)) + 1.0
        return cls(
            offsets=offsets.astype(np.int64),
            items=items.astype(np.int32),
            item_starts=np.searchsorted(by_item, every, side="left").astype(np.int64),
            item_ends=np.searchsorted(by_item, every, side="right").astype(np.int64),
            sessions_of_item=session_of[order],
            idf=weights,
            neighbors=neighbors,
            sample=sample,
            recent_items=recent_items,
        )

    def _query(self, session: Codes) -> tuple[Codes, Floats]:
        codes, weights = latest_items(session, self.recent_items)
        return np.array(codes, dtype=session.dtype), np.array(weights, dtype=np.float64)

    def rank(self, session: Codes, n: int, exclude: Codes) -> Ranked:
        """The items of the most similar sessions by summed similarity, best n, ties by code."""
        if session.size == 0 or n <= 0:
            return EMPTY
        query, weights = self._query(session)
        spans = [
            self.sessions_of_item[start : min(end, start + self.sample)]
            for start, end in zip(
                self.item_starts[query].tolist(), self.item_ends[query].tolist(), strict=True
            )
            if end > start
        ]
        if not spans:
            return EMPTY
        # The `sample` most recent sessions holding any query item (row order is recency).
        candidates = np.unique(np.concatenate(spans))[: self.sample].astype(np.int64)
        held, owner = gather(self.offsets, self.items, candidates)
        at = np.minimum(np.searchsorted(query, held), query.size - 1)
        shared = np.where(query[at] == held, weights[at], 0.0)
        similarity = np.bincount(owner, weights=shared, minlength=candidates.size).astype(float)
        best = np.lexsort((candidates, -similarity))[: self.neighbors]
        best = best[similarity[best] > 0]
        voted, voter = gather(self.offsets, self.items, candidates[best])
        votes: Floats = similarity[best][voter]
        if self.idf is not None:
            votes = votes * self.idf[voted]
        found, inverse = np.unique(voted, return_inverse=True)
        totals = np.bincount(inverse, weights=votes, minlength=found.size).astype(np.float64)
        codes, scores = rank_by_total(found.astype(np.int32), totals)
        return take(codes, scores, n, exclude)
