"""Every kind of a served model over many queries (`candidates_many`): per query, exactly
`ScopeModel.candidates`. Session kNN and the implicit fold-in are batched (serving/batched.py);
the other kinds' per-query paths are already as cheap as a batch, measured (issue 18)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from recsys_algo.kinds.kind import POPULARITY, REVISIT, SESSIONS
from recsys_algo.serving import batched
from recsys_algo.serving.batched import group_rank, per_query, session_rank_many
from recsys_algo.serving.implicit_index import CollabIndex
from recsys_algo.serving.ranking import EMPTY, Codes, Ranked
from recsys_algo.serving.recommender import NO_CODES, BlendParams, Query, ScopeModel, seeds_of


def candidates_many(
    model: ScopeModel, queries: Sequence[Query], params: BlendParams
) -> list[dict[str, Ranked]]:
    """`model.candidates(query, params)` for every query, each kind's queries in one batch."""
    out: list[dict[str, Ranked]] = [{} for _ in queries]
    by_n: dict[int, list[int]] = {}
    for q, query in enumerate(queries):
        by_n.setdefault(max(query.k, params.candidates), []).append(q)
    for n, chosen in by_n.items():
        found = _candidates(model, [queries[q] for q in chosen], params, n)
        for q, one in zip(chosen, found, strict=True):
            out[q] = one
    return out


def _candidates(
    model: ScopeModel, queries: Sequence[Query], params: BlendParams, n: int
) -> list[dict[str, Ranked]]:
    vocab = model.vocab
    excludes = [vocab.codes_of(q.exclude) if q.exclude else NO_CODES for q in queries]
    out: list[dict[str, Ranked]] = [{POPULARITY: model.popular_items.top(n, e)} for e in excludes]

    def put(kind: str, ranked: Sequence[Ranked]) -> None:
        for found, one in zip(out, ranked, strict=True):
            found[kind] = one

    known = vocab.codes
    seeds = [
        [(known[i], w) for i, w in seeds_of(q.session_items, params) if i in known] for q in queries
    ]
    # Neighbour sums stay one query at a time: a batch (one sort of every query's sums) measured
    # slower than the small per-query sorts (docs/benchmarks.md, issue 18).
    for kind, index in model.neighbors.items():
        put(
            kind,
            [index.expand(s, n, e) if s else EMPTY for s, e in zip(seeds, excludes, strict=True)],
        )
    if model.revisits is not None or model.sessions is not None:
        sessions = [vocab.session_codes(q.session_items) for q in queries]
        if model.revisits is not None:
            revisits = model.revisits
            put(REVISIT, [revisits.rank(s, n, e) for s, e in zip(sessions, excludes, strict=True)])
        if model.sessions is not None:
            put(SESSIONS, session_rank_many(model.sessions, sessions, n, excludes))
    for kind, users in model.user_models():
        top = [
            users.known_user_top(q.user_id, n, e) if q.user_id is not None else None
            for q, e in zip(queries, excludes, strict=True)
        ]
        cold = [q for q, ranked in enumerate(top) if ranked is None]
        sent = [vocab.codes_of(queries[q].session_items) for q in cold]
        asked = [q for q, codes in zip(cold, sent, strict=True) if codes.size]
        given = [codes for codes in sent if codes.size]
        banned = [excludes[q] for q in asked]
        if isinstance(users, CollabIndex):
            folded = collab_fold_in_many(users, given, n, banned)
        else:
            folded = [users.fold_in(c, n, e) for c, e in zip(given, banned, strict=True)]
        filled = dict(zip(asked, folded, strict=True))
        put(kind, [r if r is not None else filled.get(q, EMPTY) for q, r in enumerate(top)])
    return out


def collab_fold_in_many(
    index: CollabIndex, sent: Sequence[Codes], n: int, excludes: Sequence[Codes]
) -> list[Ranked]:
    """`index.fold_in(sent[q], n, excludes[q])` for every query q: the normal equations solved
    as one stack (LAPACK's same solve per matrix), the top n of each score row in one pass. The
    scores stay one matrix-vector product per query: a matrix product may round differently."""
    out: list[Ranked] = [EMPTY] * len(sent)
    arrays, factors = index.arrays, index.item_factors
    rows_per_chunk = max(1, batched.CHUNK_ROWS // max(1, factors.shape[0]))
    for lo in range(0, len(sent) if n > 0 else 0, rows_per_chunk):
        asked, grams, rhs, seen = [], [], [], []
        for q in range(lo, min(lo + rows_per_chunk, len(sent))):
            rows = index.row_of_code[sent[q]]
            chosen = np.unique(rows[rows >= 0])
            if chosen.size:
                ys = factors[chosen].astype(np.float64)
                asked.append(q)
                grams.append(arrays.gram + arrays.alpha * (ys.T @ ys))
                rhs.append((1 + arrays.alpha) * ys.sum(0))
                seen.append(chosen)
        if not asked:
            continue
        scores = np.empty((len(asked), factors.shape[0]), np.float32)
        with index.blas_limit():
            vectors = np.linalg.solve(np.stack(grams), np.stack(rhs)[..., None])[..., 0]
            for r, vector in enumerate(vectors):
                scores[r] = factors @ vector.astype(np.float32)
        for r, q in enumerate(asked):
            scores[r, seen[r]] = -np.inf
            banned = index.row_of_code[excludes[q]]
            scores[r, banned[banned >= 0]] = -np.inf
        for q, one in zip(asked, _top_rows(scores, n, index.item_codes), strict=True):
            out[q] = one
    return out


def _top_rows(scores: npt.NDArray[np.float32], n: int, item_codes: Codes) -> list[Ranked]:
    """implicit_index._top for every row: the best n finite scores, ties by column."""
    k = min(n, scores.shape[1])
    kth = np.partition(scores, scores.shape[1] - k, axis=1)[:, scores.shape[1] - k]
    row, col = np.nonzero((scores >= kth[:, None]) & np.isfinite(scores))
    value = scores[row, col]
    order = np.lexsort((col, -value, row))
    order = order[group_rank(row[order]) < k]
    found = value[order].astype(np.float64)
    return per_query(row[order].astype(np.int64), item_codes[col[order]], found, scores.shape[0])
