"""Plain answers computed ahead are exactly the live answers, and only plain queries use them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from recsys_algo.loading.model import load_model
from recsys_algo.serving import precomputed as plain_module
from recsys_algo.serving.implicit_index import CollabIndex
from recsys_algo.serving.model_file import (
    model_arrays,
    model_from_arrays,
    read_prepared,
    write_prepared,
)
from recsys_algo.serving.precomputed import PLAIN_K, with_plain_answers
from recsys_algo.serving.ranking import Fused
from recsys_algo.serving.recommender import BlendParams, Query, ScopeModel
from tests.support.models import synthetic_tables

PARAMS = BlendParams(weights={"implicit": 1.0, "cooc": 0.8, "popularity": 0.4}, candidates=60)


@pytest.fixture(scope="module")
def live() -> ScopeModel:
    return load_model(synthetic_tables(), {})


@pytest.fixture(scope="module")
def ahead(live: ScopeModel) -> ScopeModel:
    return with_plain_answers(live, PARAMS)


def same(a: Fused, b: Fused) -> bool:
    return (
        np.array_equal(a.codes, b.codes)
        and np.array_equal(a.scores, b.scores)
        and np.array_equal(a.sources, b.sources)
    )


def users(model: ScopeModel) -> list[str]:
    assert model.collab is not None
    return list(model.collab.user_rows)


def test_every_user_and_anyone_get_the_live_answer_at_every_depth(
    live: ScopeModel, ahead: ScopeModel
) -> None:
    assert ahead.plain is not None
    assert ahead.plain.k == min(PLAIN_K, PARAMS.candidates) == 50
    assert ahead.plain.users == len(users(live)) > 50
    for user in [*users(live), "stranger", None]:
        for k in (1, 7, 50):
            query = Query(k=k, user_id=user)
            assert same(ahead.answer(query, PARAMS), live.answer(query, PARAMS)), (user, k)


@pytest.mark.parametrize(
    "query",
    [
        Query(k=51, user_id="u"),
        Query(k=5, user_id="u", session_items=("item-1",)),
        Query(k=5, user_id="u", exclude=frozenset({"item-1"})),
        Query(k=5, session_items=("item-2", "item-3")),
    ],
)
def test_queries_that_are_not_plain_are_answered_live(
    live: ScopeModel, ahead: ScopeModel, query: Query
) -> None:
    user = users(live)[3]
    query = dataclasses.replace(query, user_id=user if query.user_id else None)
    # Poison the stored answers: a lookup would now be visibly wrong.
    assert ahead.plain is not None
    lists = ahead.plain.lists
    scrambled = dataclasses.replace(lists, codes=lists.codes[::-1].copy())
    poisoned = dataclasses.replace(ahead, plain=dataclasses.replace(ahead.plain, lists=scrambled))
    plain_query = Query(k=5, user_id=user)
    assert not same(poisoned.answer(plain_query, PARAMS), live.answer(plain_query, PARAMS))
    assert same(poisoned.answer(query, PARAMS), live.answer(query, PARAMS))
    other = dataclasses.replace(PARAMS, rank_offset=3.0)
    assert same(
        ahead.answer(Query(k=5, user_id=user), other), live.answer(Query(k=5, user_id=user), other)
    )
    explained = ahead.answer(Query(k=5, user_id=user), PARAMS, explain=True)
    assert explained.terms is not None


@pytest.mark.parametrize(
    "params",
    [
        BlendParams(),  # the default blend: every kind, but only two take part in a plain query
        # Equal weights: an item ranked (a, b) ties one ranked (b, a); the lower code wins.
        BlendParams(weights={"implicit": 1.0, "popularity": 1.0}, rank_offset=1.0),
        BlendParams(weights={"implicit": 0.2, "popularity": 3.0}),  # popularity names most
        BlendParams(weights={"implicit": 1.0, "popularity": 1e-9}),  # popularity only fills
        BlendParams(weights={"popularity": 1.0, "cooc": 1.0}),  # no implicit: everyone alike
        BlendParams(candidates=5),  # k = candidates = 5: truncation at both ends
    ],
    ids=["default", "ties", "popularity-heavy", "popularity-tiny", "no-implicit", "shallow"],
)
@pytest.mark.parametrize(
    ("chunk", "table"),
    [(4096, 1 << 22), (7, 1 << 22), (4096, 0)],
    ids=["one-batch", "split-batches", "loop-for-huge-tables"],
)
def test_batched_answers_equal_the_live_answer_for_every_user_and_blend(
    live: ScopeModel, params: BlendParams, chunk: int, table: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plain_module, "_CHUNK", chunk)
    monkeypatch.setattr(plain_module, "_MAX_TABLE", table)
    ahead = with_plain_answers(live, params)
    assert ahead.plain is not None
    for user in [*users(live), None]:
        query = Query(k=ahead.plain.k, user_id=user)
        assert same(ahead.answer(query, params), live.answer(query, params)), user


def test_a_small_catalog_gives_short_answers_equal_to_the_live_ones(live: ScopeModel) -> None:
    # 20 popular items and 0..12 implicit items per user, overlapping: fewer than k in all.
    assert isinstance(live.collab, CollabIndex)
    arrays = live.collab.arrays
    keep = [np.arange(arrays.top_offsets[u], arrays.top_offsets[u] + u % 13)
            for u in range(len(arrays.user_ids))]  # fmt: skip
    short = dataclasses.replace(
        arrays,
        top_offsets=np.concatenate([[0], np.cumsum([len(r) for r in keep])]).astype(np.int64),
        top_codes=arrays.top_codes[np.concatenate(keep)],
        top_scores=arrays.top_scores[np.concatenate(keep)],
    )
    popularity = dataclasses.replace(
        live.popular_items,
        codes=live.popular_items.codes[:20],
        scores=live.popular_items.scores[:20],
    )
    small = dataclasses.replace(live, popular_items=popularity, collab=CollabIndex(short))
    ahead = with_plain_answers(small, PARAMS)
    assert ahead.plain is not None
    lengths = set()
    for user in [*users(small), None]:
        query = Query(k=ahead.plain.k, user_id=user)
        answer = ahead.answer(query, PARAMS)
        assert same(answer, small.answer(query, PARAMS)), user
        lengths.add(len(answer))
    assert max(lengths) < ahead.plain.k and len(lengths) > 5


def test_users_past_the_cap_are_answered_live(
    live: ScopeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plain_module, "PLAIN_MAX_USERS", 5)
    capped = with_plain_answers(live, PARAMS)
    assert capped.plain is not None and capped.plain.users == 5
    for user in users(live)[:12]:
        query = Query(k=10, user_id=user)
        assert same(capped.answer(query, PARAMS), live.answer(query, PARAMS))


def test_plain_answers_survive_the_prepared_file(ahead: ScopeModel, tmp_path: Path) -> None:
    description, arrays = model_arrays(ahead)
    write_prepared(tmp_path / "v.prep", {}, arrays)
    mapped = model_from_arrays(description, read_prepared(tmp_path / "v.prep").arrays)
    assert mapped.plain is not None and ahead.plain is not None
    assert mapped.plain.params == ahead.plain.params
    for user in users(ahead)[:20]:
        query = Query(k=20, user_id=user)
        assert same(mapped.answer(query, PARAMS), ahead.answer(query, PARAMS))
