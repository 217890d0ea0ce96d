"""Ranked lists as item codes, and their weighted reciprocal-rank fusion, in numpy.

Every index of one served version speaks in int32 codes into one `ItemVocab`, sorted by item
id, so a tie broken by code is a tie broken by id and no request turns ids into Python objects
until its k answers are known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recsys_algo.kinds.kind import SOURCE_ORDER

Codes = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]

# Ranks 0..N-1 as floats: a kind's reciprocal-rank terms are one vectorised division.
_RANKS = np.arange(20_000, dtype=np.float64)
_NO_CODES: Codes = np.zeros(0, np.int32)
_NO_FLOATS: Floats = np.zeros(0, np.float64)


@dataclass(frozen=True, slots=True)
class ItemVocab:
    """The distinct item ids of a version, sorted (code order is id order), and their codes."""

    ids: list[str]
    codes: dict[str, int]

    @classmethod
    def of(cls, ids: Iterable[str]) -> ItemVocab:
        ordered = sorted(set(ids))
        return cls(ordered, {item: code for code, item in enumerate(ordered)})

    def __len__(self) -> int:
        return len(self.ids)

    def codes_of(self, ids: Iterable[str]) -> Codes:
        """Codes of the ids this version knows, in the given order; unknown ids are dropped."""
        known = self.codes
        return np.fromiter((known[i] for i in ids if i in known), dtype=np.int32)

    def session_codes(self, session_items: Sequence[str]) -> Codes:
        """A session's items as codes, in order, repeats kept; an id the version does not know
        gets its own negative code, so it still counts as a distinct item."""
        known = self.codes
        unknown: dict[str, int] = {}
        return np.fromiter(
            (
                known[item] if item in known else unknown.setdefault(item, -1 - len(unknown))
                for item in session_items
            ),
            dtype=np.int32,
            count=len(session_items),
        )


@dataclass(frozen=True, slots=True)
class Ranked:
    """One kind's ranking for a query: distinct item codes, best first, with that kind's scores."""

    codes: Codes
    scores: Floats

    def __len__(self) -> int:
        return int(self.codes.size)

    def head(self, n: int) -> Ranked:
        return self if self.codes.size <= n else Ranked(self.codes[:n], self.scores[:n])


EMPTY = Ranked(_NO_CODES, _NO_FLOATS)


def take(codes: Codes, scores: npt.NDArray[np.floating], n: int, exclude: Codes) -> Ranked:
    """The first n entries whose code is not excluded (codes and scores already ranked)."""
    if exclude.size:
        window = codes[: n + exclude.size]  # even if every excluded code ranks high, n remain
        keep = ~np.isin(window, exclude)
        codes, scores = window[keep], scores[: window.size][keep]
    return Ranked(codes[:n], np.asarray(scores[:n], dtype=np.float64))


def rank_by_total(codes: Codes, totals: Floats) -> tuple[Codes, Floats]:
    """Sort distinct ascending codes by total descending; stable, so ties stay in code order."""
    order = np.argsort(-totals, kind="stable")
    return codes[order], totals[order]


@dataclass(frozen=True, slots=True)
class Fused:
    """The blend's top k: codes, fused scores, the index in SOURCE_ORDER of each item's source,
    and (explain only) each kind's term per item, one row per kind in SOURCE_ORDER."""

    codes: Codes
    scores: Floats
    sources: npt.NDArray[np.int8]
    terms: Floats | None = None

    def __len__(self) -> int:
        return int(self.codes.size)


def rank_terms(weight: float, rank_offset: float, n: int) -> Floats:
    """weight / (rank_offset + rank + 1) for ranks 0..n-1: the same float operations, in the same
    order, as the scalar formula (computed per call: ~1 us, and no cache a client's override
    weights could fill)."""
    ranks = _RANKS[:n] if n <= _RANKS.size else np.arange(n, dtype=np.float64)
    return weight / ((rank_offset + ranks) + 1)


def _segments(
    ranked: Mapping[str, Ranked], weights: Mapping[str, float], rank_offset: float
) -> list[tuple[int, Codes, Floats]]:
    found = []
    for source, kind in enumerate(SOURCE_ORDER):
        weight = weights.get(kind, 0.0)
        lists = ranked.get(kind)
        if weight <= 0 or lists is None or not lists.codes.size:
            continue
        found.append((source, lists.codes, rank_terms(weight, rank_offset, lists.codes.size)))
    return found


def _unique(codes: Codes) -> tuple[Codes, npt.NDArray[np.intp]]:
    """np.unique(codes, return_inverse=True) without its wrapper's cost (small arrays)."""
    order = codes.argsort(kind="stable")
    ordered = codes[order]
    first = np.empty(ordered.size, bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(ordered.size, np.intp)
    inverse[order] = first.cumsum() - 1
    return ordered[first], inverse


def fuse(
    ranked: Mapping[str, Ranked],
    k: int,
    weights: Mapping[str, float],
    rank_offset: float,
    *,
    explain: bool = False,
) -> Fused:
    """Weighted reciprocal-rank fusion: score(item) = sum over kinds of weight / (offset + rank).

    Terms are added per item in SOURCE_ORDER (as a scalar loop would: same floats); the source
    is the kind with the largest term, the earlier kind on a tie; ties of score go to the lower
    code. Each kind's codes must be distinct.
    """
    segments = _segments(ranked, weights, rank_offset)
    if not segments:
        return Fused(_NO_CODES, _NO_FLOATS, np.zeros(0, np.int8), np.zeros((len(SOURCE_ORDER), 0)))
    if len(segments) == 1:
        # One kind: its terms fall strictly with rank, so its own order is the blend's.
        source, codes, parts = segments[0]
        codes, parts = codes[:k], parts[:k]
        terms = None
        if explain:
            terms = np.zeros((len(SOURCE_ORDER), codes.size))
            terms[source] = parts
        return Fused(codes, parts, np.full(codes.size, source, np.int8), terms)
    unique, inverse = _unique(np.concatenate([c for _, c, _ in segments]))
    totals = np.zeros(unique.size)
    best = np.zeros(unique.size)
    sources = np.zeros(unique.size, np.int8)
    terms = np.zeros((len(SOURCE_ORDER), unique.size)) if explain else None
    start = 0
    for source, codes, parts in segments:
        at = inverse[start : start + codes.size]
        start += codes.size
        totals[at] += parts  # codes are distinct within a kind: one term per item
        better = parts > best[at]  # strictly: on a tie the earlier kind stays the source
        best[at[better]] = parts[better]
        sources[at[better]] = source
        if terms is not None:
            terms[source, at] = parts
    order = np.argsort(-totals, kind="stable")[:k]
    return Fused(
        unique[order].astype(np.int32, copy=False),
        totals[order],
        sources[order],
        None if terms is None else terms[:, order],
    )


@dataclass(frozen=True, slots=True)
class FusedLists:
    """Many fused answers in flat arrays: row r is [offsets[r], offsets[r + 1]) of each."""

    offsets: npt.NDArray[np.int64]
    codes: Codes
    scores: Floats
    sources: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.offsets.size) - 1

    def row(self, r: int, k: int) -> Fused:
        start = int(self.offsets[r])
        stop = min(int(self.offsets[r + 1]), start + k)
        return Fused(self.codes[start:stop], self.scores[start:stop], self.sources[start:stop])
