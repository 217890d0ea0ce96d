"""Plain queries answered ahead: every known user, and anyone else, with nothing but k.

A query with a user id (or none), no session items, no exclusions, the version's own blend and
k up to PLAIN_K has one answer per user and version. The loader computes all of them once, by
the same `fuse(candidates(...))` a live request runs, so a lookup returns exactly the live
answer (tests/unit/test_plain.py checks every user). Anything else is answered live.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from recsys_algo.kinds.kind import FACTORS, POPULARITY, SOURCE_ORDER
from recsys_algo.serving.implicit_index import CollabIndex
from recsys_algo.serving.item_model_index import ItemModelIndex
from recsys_algo.serving.ranking import Fused, FusedLists, Ranked, rank_terms
from recsys_algo.serving.recommender import (
    NO_CODES,
    BlendParams,
    PlainAnswers,
    Query,
    ScopeModel,
)

PLAIN_K = 50
# Users beyond this many (in factor-row order) are answered live: ~30 us and 650 bytes each.
PLAIN_MAX_USERS = 2_000_000


def plain_answers(model: ScopeModel, params: BlendParams, k: int = PLAIN_K) -> PlainAnswers:
    """Every plain answer of the model at depth k (at most params.candidates, so each is the
    prefix of any shallower one: a plain answer for k' <= k is its first k' items)."""
    k = min(k, params.candidates)
    # Rows follow the first user model's users (ScopeModel.plain_row looks them up there).
    users: list[str] = []
    models = [users_of for _, users_of in model.user_models()]
    if models and isinstance(models[0], CollabIndex | ItemModelIndex):
        users = models[0].arrays.user_ids[:PLAIN_MAX_USERS]
    # Filled in place: ~650 bytes a user, where a list of answers held ~1.7 kB at its peak.
    rows = len(users) + 1
    offsets = np.zeros(rows + 1, np.int64)
    codes = np.empty(rows * k, np.int32)
    scores = np.empty(rows * k, np.float64)
    sources = np.empty(rows * k, np.int8)
    end = row = 0

    def put(sizes: npt.NDArray[np.int64], found: Fused) -> None:
        nonlocal end, row
        stop = end + found.codes.size
        codes[end:stop], scores[end:stop], sources[end:stop] = (
            found.codes, found.scores, found.sources
        )  # fmt: skip
        offsets[row + 1 : row + 1 + sizes.size] = end + np.cumsum(sizes)
        end, row = stop, row + sizes.size

    collab = model.collab
    others = [kind for kind, _ in model.user_models() if kind != FACTORS]
    if (
        users
        and isinstance(collab, CollabIndex)
        and len(collab.user_rows) == len(collab.arrays.user_ids)
        # The batched path fuses implicit and popularity only: another user model in the
        # blend takes the per-user path (~30 us a user).
        and not any(params.weights.get(kind, 0.0) > 0 for kind in others)
    ):
        # Known users at once (distinct ids, so row u is user u); the loop took ~30 us a user.
        popular = model.popular_items.top(max(k, params.candidates), NO_CODES)
        for sizes, found in _known_users(collab, popular, params, k, len(users)):
            put(sizes, found)
    for user in [*users[row:], None]:
        found = model.fuse(model.candidates(Query(k=k, user_id=user), params), k, params)
        put(np.array([len(found)], np.int64), found)
    lists = FusedLists(offsets, codes[:end], scores[:end], sources[:end])
    return PlainAnswers(params, k, len(users), lists)


_IMPLICIT, _POPULARITY = SOURCE_ORDER.index(FACTORS), SOURCE_ORDER.index(POPULARITY)
_CHUNK = 4096  # users per batch: ~W x 4096 x 30 bytes of temporaries (W = 2 x candidates)
_LAST = np.iinfo(np.int64).max  # sorts after every real item
_MAX_TABLE = 1 << 22  # possible totals (~1,000 x 1,000 candidates): 32 MB of floats at most


def _known_users(
    collab: CollabIndex, popular: Ranked, params: BlendParams, k: int, users: int
) -> Iterator[tuple[npt.NDArray[np.int64], Fused]]:
    """The plain answers of user rows 0..users-1, chunk by chunk: each row's size, and the
    rows back to back.

    The same answer `fuse(candidates(...))` gives, without its per-call overhead: with no
    session there are no seeds, so only two kinds take part, the user's own implicit list and
    the popularity list every user shares. An item's total is its implicit term plus its
    popularity term (the same two float additions fuse makes, from zero, in SOURCE_ORDER); its
    source is popularity only when that term is strictly larger; rows are ordered by total,
    ties by the lower code. tests/unit/test_plain.py checks every user against the live answer.
    """
    n = max(k, params.candidates)
    w_imp = params.weights.get(FACTORS, 0.0)
    w_pop = params.weights.get(POPULARITY, 0.0)
    pop_codes = popular.codes if w_pop > 0 else NO_CODES  # popular holds at most n
    p = pop_codes.size
    if (n + 1) * (p + 1) > _MAX_TABLE:
        return  # candidates in the thousands: the per-user loop, rather than a huge table
    pop_terms = np.append(rank_terms(w_pop, params.rank_offset, p), 0.0)  # [p]: not popular
    pop_at = np.full(int(collab.row_of_code.size), p, np.int64)  # item code -> popularity rank
    pop_at[pop_codes] = np.arange(p)
    imp_terms = np.append(rank_terms(w_imp, params.rank_offset, n), 0.0)  # [n]: not in it
    # Every total an item can have, by (implicit rank, popularity rank), as fuse adds it from
    # zero in SOURCE_ORDER (x + 0.0 is x). Its place among the distinct totals, best first,
    # packed with the code and the source into one int64 per item, makes one integer sort per
    # row order by total, ties by the lower code, as fuse's stable sort of distinct codes does.
    # The source bit is popularity's term strictly larger: always so for a popular item the
    # user's list lacks (row n, implicit term 0.0), never for an item that is not popular.
    table = imp_terms[:, None] + pop_terms[None, :]
    values, place = np.unique(-table, return_inverse=True)
    values = -values  # best first
    code_bits = max(1, int(collab.row_of_code.size).bit_length())
    shift, code_mask = code_bits + 1, (1 << code_bits) - 1
    key_table = place.reshape(table.shape).astype(np.int64) << shift
    key_table |= pop_terms[None, :] > imp_terms[:, None]
    pop_only_keys = key_table[n, :p] | (pop_codes.astype(np.int64) << 1)
    offsets, top_codes = collab.arrays.top_offsets, collab.arrays.top_codes
    ranks = np.arange(n)
    for first in range(0, users, _CHUNK):
        last = min(first + _CHUNK, users)
        m = last - first
        starts = offsets[first:last]
        lengths = np.minimum(offsets[first + 1 : last + 1] - starts, n if w_imp > 0 else 0)
        own = ranks < lengths[:, None]  # m x n: the user's implicit list, padded
        user_codes = np.zeros((m, n), np.int32)
        if top_codes.size:
            user_codes = top_codes[np.where(own, starts[:, None] + ranks, 0)]
        at = np.where(own, pop_at[user_codes], p)  # p: not popular
        # The user's items: place of (implicit rank, popularity rank), code, source.
        user_keys = key_table[ranks, at] | (user_codes.astype(np.int64) << 1)
        user_keys = np.where(own, user_keys, _LAST)
        both = at < p
        unseen = np.ones((m, p + 1), bool)  # popular items not already in the user's list
        unseen[np.nonzero(both)[0], at[both]] = False
        shared = unseen[:, :p]
        pop_keys = np.where(shared, pop_only_keys, _LAST)
        keys = np.hstack([user_keys, pop_keys])
        if keys.shape[1] > k:
            keys = np.partition(keys, k - 1, axis=1)[:, :k]
        keys.sort(axis=1)
        sizes = np.minimum(lengths + shared.sum(1), k)
        found = keys[np.arange(keys.shape[1]) < sizes[:, None]]
        yield (
            sizes.astype(np.int64),
            Fused(
                ((found >> 1) & code_mask).astype(np.int32),
                values[found >> shift],
                np.where(found & 1, _POPULARITY, _IMPLICIT).astype(np.int8),
            ),
        )


def with_plain_answers(model: ScopeModel, params: BlendParams) -> ScopeModel:
    return dataclasses.replace(model, plain=plain_answers(model, params))
