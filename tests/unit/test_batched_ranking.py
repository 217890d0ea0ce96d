"""The evaluation's batched ranking gives every kind's list exactly as one query at a time does.

`serving.batched_model.candidates_many` ranks all of the evaluation's queries per kind in a few
array passes; `ScopeModel.candidates` is the one-query path the service runs. For the held-out users
(their history excluded) and the held-out session positions of the synthetic generator and of
the three public data sets, both must give the same codes and the same float scores for every
kind, so the recorded metrics and the gate's decisions cannot move.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys_algo.contracts.canonical import canonicalize
from recsys_algo.contracts.catalog import decode_catalog, encode_catalog
from recsys_algo.contracts.events import parse_files
from recsys_algo.contracts.names import Partition
from recsys_algo.evaluation.evaluate import split_model
from recsys_algo.evaluation.sessions import session_cases
from recsys_algo.evaluation.split import holdout, split_window
from recsys_algo.kinds.kind import REVISIT
from recsys_algo.kinds.registry import Inputs
from recsys_algo.recipes.params import ModelParams
from recsys_algo.serving import batched, batched_model
from recsys_algo.serving.recommender import Query, ScopeModel
from recsys_algo.sources.diginetica.importer import import_diginetica
from recsys_algo.sources.movielens.importer import import_movielens
from recsys_algo.sources.synthetic import generator as synthetic
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.model_inputs import forget_model_inputs, read_model_inputs
from recsys_algo.store import landing
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage
from tests.support.shared_data import DIGINETICA, ML_100K, ML_LATEST_SMALL, shared_data

DAY = dt.date(2026, 11, 20)
TENANT, SURFACE = "t", "home"
WINDOW_DAYS = 14


def _queries(inputs: Inputs, params: ModelParams) -> tuple[ScopeModel, list[Query]]:
    """The evaluation's model and its queries: held-out users with their history excluded, and
    every held-out session position from its prefix (at k 20 and a few at k 150)."""
    split = split_window(inputs.events, inputs.as_of_end, params.evaluation)
    model = split_model(inputs, split, params)
    assert model is not None
    data = holdout(split, params.evaluation)
    cases = session_cases(split, params.evaluation)
    queries = [
        Query(k=20, user_id=user, session_items=history, exclude=frozenset(history))
        for user, history in zip(data.users, data.histories, strict=True)
    ] + [Query(k=20, session_items=prefix) for prefix in cases.prefixes]
    # Another k (more candidates than the blend asks for), unknown users and items, an empty
    # query: the batches group by k and must leave none of these out.
    queries += [dataclasses.replace(q, k=150) for q in queries[::7]]
    queries += [Query(k=20, user_id="nobody", session_items=("no-such-item",)), Query(k=5)]
    # A public set's last days may hold few held-out users: its training users too, each as a
    # known user (history excluded) and as an anonymous session of their latest items.
    for user, items in _histories(split.train, 300):
        queries.append(Query(k=20, user_id=user, session_items=items, exclude=frozenset(items)))
        queries.append(Query(k=20, session_items=items[-8:]))
    return model, queries


def _histories(events: pl.DataFrame, users: int) -> list[tuple[str, tuple[str, ...]]]:
    """Up to `users` users of the events (by id) with their items, oldest first."""
    rows = (
        events.drop_nulls("user_id")
        .sort("ts", "item_id")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item_id").tail(60))
        .sort("user_id")
        .head(users)
    )
    return [(user, tuple(items)) for user, items in rows.iter_rows()]


def _assert_same_lists(
    model: ScopeModel, queries: list[Query], params: ModelParams
) -> dict[str, int]:
    """Compare both paths query by query; how many non-empty lists each kind gave."""
    batch = batched_model.candidates_many(model, queries, params.blend)
    assert len(batch) == len(queries)
    non_empty = dict.fromkeys(model.kinds, 0)
    for query, found in zip(queries, batch, strict=True):
        one = model.candidates(query, params.blend)
        assert sorted(found) == sorted(one), query
        for kind, ranked in one.items():
            np.testing.assert_array_equal(found[kind].codes, ranked.codes, err_msg=kind)
            # Same floats, bit for bit (assert_array_equal would accept -0.0 for 0.0).
            assert found[kind].scores.tobytes() == ranked.scores.tobytes(), kind
            assert found[kind].codes.dtype == ranked.codes.dtype
            non_empty[kind] += len(ranked) > 0
    return non_empty


def test_batched_lists_equal_one_query_lists_on_synthetic_days() -> None:
    data = synthetic.generate_day(
        5, DAY, "demo", "home", events_per_day=6000, n_users=300, n_items=200, bad_line_rate=0.0
    )
    frame, _ = canonicalize(parse_files([("day.jsonl", data)], "demo", "home", DAY).frame())
    catalog = decode_catalog(encode_catalog(synthetic.generate_catalog(5, 200)), "catalog")
    inputs = Inputs(frame, catalog, dt.datetime.combine(DAY, dt.time(), dt.UTC) + dt.timedelta(1))
    params = ModelParams()
    model, queries = _queries(inputs, params)
    non_empty = _assert_same_lists(model, queries, params)
    assert all(non_empty.values()), non_empty  # every kind was exercised


def test_small_chunks_split_the_batches_without_changing_a_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = synthetic.generate_day(9, DAY, "demo", "home", events_per_day=3000, n_users=200)
    frame, _ = canonicalize(parse_files([("day.jsonl", data)], "demo", "home", DAY).frame())
    catalog = decode_catalog(encode_catalog(synthetic.generate_catalog(9)), "catalog")
    inputs = Inputs(frame, catalog, dt.datetime.combine(DAY, dt.time(), dt.UTC) + dt.timedelta(1))
    monkeypatch.setattr(batched, "CHUNK_ROWS", 3000)  # many chunks of a few queries each
    params = ModelParams()
    model, queries = _queries(inputs, params)
    _assert_same_lists(model, queries, params)


@pytest.mark.parametrize("name", [ML_LATEST_SMALL, ML_100K, DIGINETICA])
def test_batched_lists_equal_one_query_lists_on_the_shared_data_sets(
    name: str, tmp_path: Path
) -> None:
    folder = shared_data(name)
    storage = FileStorage(tmp_path)
    if name == DIGINETICA:
        write_catalog(storage, TENANT, [])
        last = import_diginetica(folder, storage, TENANT, SURFACE).last_day
    else:
        last = import_movielens(folder, storage, TENANT, SURFACE).last_day
    for back in reversed(range(WINDOW_DAYS)):
        p = Partition(TENANT, SURFACE, last - dt.timedelta(days=back))
        if landing.read_landing_files(storage, TENANT, SURFACE, p.day):
            ingest_partition(storage, p)
            canonicalize_partition(storage, p)
    params = ModelParams()
    forget_model_inputs()
    read = read_model_inputs(storage, Partition(TENANT, SURFACE, last), WINDOW_DAYS, params)
    forget_model_inputs()
    model, queries = _queries(read.inputs, params)
    non_empty = _assert_same_lists(model, queries, params)
    # Ratings never repeat an item, so the repeat model has nothing to rank there.
    assert [kind for kind, count in non_empty.items() if not count] in ([], [REVISIT]), non_empty
