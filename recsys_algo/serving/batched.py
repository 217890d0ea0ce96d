"""Session kNN over many queries at once, for the offline evaluation, and the array helpers the
other batches share (serving/batched_model.py).

Each batch gives, per query, exactly the `Ranked` its one-query method gives (same codes,
same floats): every sum adds the same terms in the same order (np.bincount adds in element
order, and the elements are laid out query by query in the one-query order), and every sort
uses the same keys and tie-breaks. What changes is that thousands of queries cost a few array
passes instead of thousands of small ones. tests/unit/test_batched_ranking.py holds both paths
to the same answers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from recsys_algo.serving.ranking import EMPTY, Codes, Floats, Ranked
from recsys_algo.serving.session_index import SessionIndex, gather, latest_items

Ints = npt.NDArray[np.int64]
# Queries are packed with their item codes into one int64 key: group << SHIFT | code.
SHIFT = 32
_LOW = (1 << SHIFT) - 1
# Gathered rows per chunk of queries: bounds the memory of one pass (~100 MB at 4M rows).
CHUNK_ROWS = 4_000_000


def _spans(starts: Ints, ends: Ints) -> tuple[Ints, Ints]:
    """For CSR spans [starts, ends): each element's position and the index of its span."""
    lengths = ends - starts
    owner = np.repeat(np.arange(starts.size), lengths)
    at = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths) + starts[owner]
    return at, owner


def group_rank(group: Ints) -> Ints:
    """Position of each element within its run of equal (sorted) group ids."""
    first = np.ones(group.size, bool)
    first[1:] = group[1:] != group[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
    return np.arange(group.size) - run_start


def _distinct(keys: Ints) -> tuple[Ints, Ints, Ints]:
    """(distinct keys ascending, the order that sorts keys stably, each sorted key's rank among
    the distinct ones): np.unique's results from one radix sort, without its hashing."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.ones(ordered.size, bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first], order, np.cumsum(first) - 1


def _sum_per_key(keys: Ints, values: Floats) -> tuple[Ints, Floats]:
    """Distinct keys (ascending) and the sum of their values, added in element order (a stable
    sort keeps each key's values in that order)."""
    found, order, rank = _distinct(keys)
    return found, np.bincount(rank, weights=values[order], minlength=found.size).astype(np.float64)


def rank_groups(
    keys: Ints, totals: Floats, queries: int, n: int, excludes: Sequence[Codes]
) -> list[Ranked]:
    """Per query (key >> SHIFT): codes (key & low bits) by total descending, ties by code, the
    first n not excluded: `rank_by_total` then `take`, for every query at once."""
    group, codes = keys >> SHIFT, keys & _LOW
    # keys ascend, so codes ascend within a query: a stable sort keeps them as the tie order.
    order = np.lexsort((-totals, group))
    group, codes, totals = group[order], codes[order], totals[order]
    banned = [(q << SHIFT) | e.astype(np.int64) for q, e in enumerate(excludes) if e.size]
    if banned:
        keep = ~np.isin((group << SHIFT) | codes, np.concatenate(banned))
        group, codes, totals = group[keep], codes[keep], totals[keep]
    keep = group_rank(group) < n
    return per_query(group[keep], codes[keep].astype(np.int32), totals[keep], queries)


def per_query(group: Ints, codes: Codes, scores: Floats, queries: int) -> list[Ranked]:
    """Rows grouped by ascending query id as one Ranked per query (EMPTY for a query without)."""
    bounds = np.searchsorted(group, np.arange(queries + 1)).tolist()
    return [
        Ranked(codes[a:b], scores[a:b]) if b > a else EMPTY for a, b in itertools.pairwise(bounds)
    ]


def chunks(sizes: Sequence[int], limit: int = CHUNK_ROWS) -> Iterator[tuple[int, int]]:
    """Consecutive [start, stop) ranges of items whose sizes sum to about limit (at least one)."""
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if total and total + size > limit:
            yield start, i
            start, total = i, 0
        total += size
    if start < len(sizes):
        yield start, len(sizes)


def session_rank_many(
    index: SessionIndex, sessions: Sequence[Codes], n: int, excludes: Sequence[Codes]
) -> list[Ranked]:
    """`index.rank(sessions[q], n, excludes[q])` for every query q."""
    if n <= 0:
        return [EMPTY] * len(sessions)
    asked = [(q, *latest_items(s, index.recent_items)) for q, s in enumerate(sessions) if s.size]
    out: list[Ranked] = [EMPTY] * len(sessions)
    # Each sampled session adds its items; each query a row of item weights.
    sizes = [len(items) * index.sample + index.item_starts.size for _, items, _ in asked]
    for lo, hi in chunks(sizes, CHUNK_ROWS // 2):
        part = asked[lo:hi]
        ranked = _session_chunk(index, part, n, [excludes[q] for q, _, _ in part])
        for (q, _, _), one in zip(part, ranked, strict=True):
            out[q] = one
    return out


def _session_chunk(
    index: SessionIndex,
    part: Sequence[tuple[int, list[int], list[float]]],
    n: int,
    excludes: Sequence[Codes],
) -> list[Ranked]:
    qgroup = np.repeat(np.arange(len(part), dtype=np.int64), [len(i) for _, i, _ in part])
    qitems = np.array([c for _, items, _ in part for c in items], np.int64)
    qweights = np.array([w for _, _, ws in part for w in ws], np.float64)
    table = np.zeros((len(part), index.item_starts.size))  # query x item: its weight, or 0
    table[qgroup, qitems] = qweights
    first = index.item_starts[qitems]
    last = np.minimum(index.item_ends[qitems], first + index.sample)
    at, owner = _spans(first, last)
    # Per query, the `sample` most recent sessions (lowest rows) holding any of its items.
    sampled = _distinct((qgroup[owner] << SHIFT) | index.sessions_of_item[at].astype(np.int64))[0]
    sampled = sampled[group_rank(sampled >> SHIFT) < index.sample]
    cgroup, candidates = sampled >> SHIFT, sampled & _LOW
    held, holder = gather(index.offsets, index.items, candidates)
    shared = table[cgroup[holder], held]
    similarity = np.bincount(holder, weights=shared, minlength=candidates.size).astype(float)
    best = np.lexsort((candidates, -similarity, cgroup))
    best = best[group_rank(cgroup[best]) < index.neighbors]
    best = best[similarity[best] > 0]
    voted, voter = gather(index.offsets, index.items, candidates[best])
    votes: Floats = similarity[best][voter]
    if index.idf is not None:
        votes = votes * index.idf[voted]
    keys = (cgroup[best][voter] << SHIFT) | voted.astype(np.int64)
    found, totals = _sum_per_key(keys, votes)
    return rank_groups(found, totals, len(part), n, excludes)
