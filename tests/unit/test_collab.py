from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ArtifactError, ConfigError, ValidationGateError
from recsys_algo.contracts.events import CANONICAL_SCHEMA
from recsys_algo.kinds.artifacts import decode_artifact, encode_artifact
from recsys_algo.kinds.implicit.fit import (
    SCHEMA_VERSION,
    CollabModel,
    CollabParams,
    check_implicit,
    collab_frame,
    fit_collab,
    user_item_weights,
)
from recsys_algo.kinds.implicit.topn import top_n_unseen
from recsys_algo.loading import tables as loading
from recsys_algo.serving.ranking import Ranked

END = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
SMALL = CollabParams(factors=8, iterations=20, top_n=5)


def events_frame(
    users: list[str], items: list[str], types: list[str] | None = None
) -> pl.DataFrame:
    n = len(users)
    return pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ts": [END - dt.timedelta(hours=1 + i % 48) for i in range(n)],
            "tenant": ["demo"] * n,
            "surface": ["home"] * n,
            "user_id": users,
            "session_id": [None] * n,
            "item_id": items,
            "event_type": types or ["click"] * n,
            "value": [None] * n,
            "request_id": [None] * n,
            "rank": [None] * n,
        },
        schema=CANONICAL_SCHEMA,
    )


def blocks(users_per_group: int = 8) -> pl.DataFrame:
    """Two user groups x two item groups; each user skips one item of its own group."""
    users, items = [], []
    for group in "ab":
        for u in range(users_per_group):
            for i in range(4):
                if i != u % 4:
                    users.append(f"{group}-user{u}")
                    items.append(f"{group}{i}")
    return events_frame(users, items)


def random_events(seed: int, n: int = 600, n_users: int = 60, n_items: int = 40) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    types = rng.choice(["exposure", "click", "add_to_cart", "purchase"], n).tolist()
    users = [f"u{x}" for x in rng.integers(0, n_users, n)]
    items = [f"i{x:03d}" for x in rng.zipf(1.5, n) % n_items]
    return events_frame(users, items, types)


def artifact_table(model: CollabModel) -> pa.Table:
    blob = encode_artifact(collab_frame(model), "implicit", SCHEMA_VERSION)
    return decode_artifact(blob.data, "implicit", "test")


def user_top(model: CollabModel, user: str) -> list[str]:
    u = model.user_ids.index(user)
    rows = model.top_items[model.top_offsets[u] : model.top_offsets[u + 1]]
    return [model.item_ids[i] for i in rows]


def test_block_structure_recommends_the_unseen_item_of_the_users_own_group_first() -> None:
    model = fit_collab(blocks(), END, SMALL)
    for user in model.user_ids:
        group, number = user[0], int(user.split("user")[1])
        assert user_top(model, user)[0] == f"{group}{number % 4}"


def test_seen_items_never_appear_and_top_lists_are_sorted_and_at_most_top_n() -> None:
    events = random_events(3)
    model = fit_collab(events, END, SMALL)
    seen = events.filter(pl.col("event_type") != "exposure").group_by("user_id").agg("item_id")
    seen_by_user = {r["user_id"]: set(r["item_id"]) for r in seen.iter_rows(named=True)}
    for u, user in enumerate(model.user_ids):
        start, stop = model.top_offsets[u], model.top_offsets[u + 1]
        assert stop - start <= SMALL.top_n
        assert not set(user_top(model, user)) & seen_by_user[user]
        assert np.all(np.diff(model.top_scores[start:stop]) <= 0)


def test_refit_and_shuffled_input_rows_give_identical_artifact_bytes() -> None:
    events = random_events(5)
    first = encode_artifact(collab_frame(fit_collab(events, END, SMALL)), "implicit", 1)
    again = encode_artifact(collab_frame(fit_collab(events, END, SMALL)), "implicit", 1)
    shuffled = encode_artifact(
        collab_frame(fit_collab(events.sample(fraction=1.0, shuffle=True, seed=9), END, SMALL)),
        "implicit",
        1,
    )
    assert first.data == again.data == shuffled.data


def test_bpr_model_fits_with_a_bias_column_and_passes_the_check() -> None:
    params = CollabParams(model="bpr", factors=8, iterations=50, learning_rate=0.05, top_n=5)
    model = fit_collab(blocks(), END, params)
    assert model.item_factors.shape == (8, 9)  # implicit's BPR appends an item bias
    check_implicit(artifact_table(model), "test")


def test_artifact_has_item_rows_then_user_rows_and_passes_the_check() -> None:
    model = fit_collab(blocks(), END, SMALL)
    table = artifact_table(model)
    check_implicit(table, "test")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    assert frame["entity"].to_list() == ["item"] * 8 + ["user"] * 16
    assert frame["id"].to_list() == model.item_ids + model.user_ids
    assert frame["top_items"][:8].null_count() == 8


class Served:
    """A CollabIndex over a vocabulary of its own items, asked and answered in item ids."""

    def __init__(self, table: pa.Table, **fit: float) -> None:
        items = table["id"].filter(pc.equal(table["entity"], "item"))
        # A vocabulary with an item the model never saw: fold-in must skip it.
        self.vocab = loading.vocab_from_columns([items, pa.array(["ghost"])])
        self.index = loading.factors_index(table, self.vocab, **fit)

    def codes(self, ids: list[str]) -> np.ndarray:
        return self.vocab.codes_of(ids)

    def ids(self, ranked: Ranked | None) -> list[str] | None:
        return None if ranked is None else [self.vocab.ids[c] for c in ranked.codes]

    def known(self, user: str, n: int, exclude: list[str] = []) -> list[str] | None:  # noqa: B006
        return self.ids(self.index.known_user_top(user, n, self.codes(exclude)))

    def fold_in(self, sent: list[str], n: int, exclude: list[str] = []) -> list[str]:  # noqa: B006
        return self.ids(self.index.fold_in(self.codes(sent), n, self.codes(exclude))) or []


def test_index_serves_known_users_their_precomputed_top_and_none_for_strangers() -> None:
    model = fit_collab(blocks(), END, SMALL)
    served = Served(artifact_table(model), regularization=SMALL.regularization, alpha=SMALL.alpha)
    assert served.known("a-user1", 2) == user_top(model, "a-user1")[:2]
    assert (
        served.known("a-user1", 2, exclude=user_top(model, "a-user1")[:1])
        == (user_top(model, "a-user1")[1:3])
    )
    assert served.known("nobody", 2) is None


def test_fold_in_of_group_a_items_ranks_the_other_group_a_items_first() -> None:
    served = Served(artifact_table(fit_collab(blocks(), END, SMALL)))
    ranked = served.fold_in(["a0", "a1"], 8)
    assert sorted(ranked[:2]) == ["a2", "a3"]
    assert len(ranked) == 6
    assert "a0" not in ranked and "a1" not in ranked


def test_fold_in_ignores_unknown_ids_and_honours_exclude() -> None:
    served = Served(artifact_table(fit_collab(blocks(), END, SMALL)))
    assert served.fold_in(["a0", "ghost"], 4) == served.fold_in(["a0"], 4)
    assert served.fold_in(["ghost"], 4) == []
    assert served.fold_in([], 4) == []
    excluded = served.fold_in(["a0"], 8, exclude=["a1", "ghost"])
    assert "a1" not in excluded and len(excluded) == 6


def test_guardrails_name_the_limit_and_the_value_seen() -> None:
    events = blocks()
    with pytest.raises(ValidationGateError, match="implicit: 16 users exceeds max_users 15"):
        fit_collab(events, END, CollabParams(factors=4, max_users=15))
    with pytest.raises(ValidationGateError, match="implicit: 8 items exceeds max_items 7"):
        fit_collab(events, END, CollabParams(factors=4, max_items=7))
    with pytest.raises(ValidationGateError, match="no user-item interactions"):
        fit_collab(events, END - dt.timedelta(days=30), SMALL)


def test_interactions_sum_decayed_type_weights_with_ratings_scaled_by_value() -> None:
    rows = [
        ("u1", "x", "click", 14.0, None),  # one half-life (and a second) old: 1 * 0.5
        ("u1", "x", "purchase", 0.0, None),  # 5
        ("u1", "y", "rating", 0.0, 2.5),  # 2 * 2.5 / 5
        ("u1", "z", "exposure", 0.0, None),  # weight 0: dropped
        (None, "x", "purchase", 0.0, None),  # anonymous: dropped
    ]  # the window end is exclusive, so every event is a second older than its age
    events = events_frame([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    events = events.with_columns(
        ts=pl.Series([END - dt.timedelta(days=r[3], seconds=1) for r in rows]).cast(
            pl.Datetime("ms", "UTC")
        ),
        value=pl.Series([r[4] for r in rows], dtype=pl.Float64),
    )
    pairs = user_item_weights(events, END, CollabParams())
    assert pairs["item_id"].to_list() == ["x", "y"]
    assert pairs["weight"].to_list() == pytest.approx([5.5, 1.0], rel=1e-5)


def test_min_user_events_drops_light_users() -> None:
    events = pl.concat([blocks(), events_frame(["light"], ["a0"])])
    model = fit_collab(events, END, CollabParams(factors=4, min_user_events=2))
    assert "light" not in model.user_ids


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "svd"}, "model must be"),
        ({"factors": 0}, "factors must be in"),
        ({"alpha": float("nan")}, "alpha must be finite"),
        ({"weights": {"view": 1.0}}, "unknown event types"),
        ({"model": "bpr", "num_threads": 2}, "only deterministic with num_threads 1"),
    ],
)
def test_invalid_params_raise_config_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CollabParams(**kwargs)  # type: ignore[arg-type]


def replace(table: pa.Table, name: str, array: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


def test_check_refuses_nan_factors_bad_top_items_unsorted_scores_and_wrong_schema() -> None:
    table = artifact_table(fit_collab(blocks(), END, SMALL))
    factors = table["factors"].combine_chunks()
    values = factors.flatten().to_numpy().copy()
    values[3] = np.nan
    nan_factors = pa.FixedSizeListArray.from_arrays(pa.array(values), factors.type.list_size)
    items = table["top_items"].to_pylist()
    scores = table["top_scores"].to_pylist()
    out_of_range = [*items[:8], [99, *items[8][1:]], *items[9:]]
    duplicated = [*items[:8], [items[8][0], items[8][0], *items[8][2:]], *items[9:]]
    unsorted = [*scores[:8], scores[8][::-1], *scores[9:]]
    list_i32, list_f32 = pa.large_list(pa.int32()), pa.large_list(pa.float32())
    cases = [
        (replace(table, "factors", nan_factors), "factors must be present and finite"),
        (replace(table, "top_items", pa.array(out_of_range, list_i32)), "item ordinals"),
        (replace(table, "top_items", pa.array(duplicated, list_i32)), "repeat an item"),
        (replace(table, "top_scores", pa.array(unsorted, list_f32)), "sorted descending"),
        (table.drop_columns(["top_scores"]), "schema is wrong"),
        (replace(table, "top_items", pa.array(items, pa.large_list(pa.int64()))), "schema"),
        (table.slice(8), "no item rows"),
    ]
    for broken, message in cases:
        with pytest.raises(ArtifactError, match=message):
            check_implicit(broken, "demo/home")


def assert_matches_full_sort(user_f: np.ndarray, item_f: np.ndarray, k: int, seed: int) -> None:
    n_users, n_items = user_f.shape[0], item_f.shape[0]
    seen = sp.random(n_users, n_items, density=0.2, format="csr", rng=seed, dtype=np.float32)
    offsets, items, scores = top_n_unseen(user_f, item_f, seen, k)
    full = user_f @ item_f.T
    for u in range(n_users):
        row = full[u].copy()
        row[seen[u].indices] = -np.inf
        order = np.lexsort((np.arange(n_items), -row))
        expected = order[np.isfinite(row[order])][:k]
        assert items[offsets[u] : offsets[u + 1]].tolist() == expected.tolist()
        # Blocked and whole products may round differently in the last bit.
        np.testing.assert_allclose(scores[offsets[u] : offsets[u + 1]], row[expected], rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 300), st.integers(1, 12), st.integers(0, 2**16))
def test_top_n_unseen_matches_a_full_sort_with_ties_by_item_index(
    n_users: int, n_items: int, k: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct values make many exact ties.
    user_f = rng.integers(-2, 3, (n_users, 3)).astype(np.float32)
    item_f = rng.integers(-2, 3, (n_items, 3)).astype(np.float32)
    assert_matches_full_sort(user_f, item_f, k, seed)


@pytest.mark.parametrize(("n_items", "k", "dim"), [(5000, 50, 3), (5000, 50, 16), (700, 300, 8)])
def test_top_n_unseen_is_exact_when_items_span_many_groups(n_items: int, k: int, dim: int) -> None:
    rng = np.random.default_rng(n_items + k + dim)
    user_f = rng.integers(-3, 4, (40, dim)).astype(np.float32)
    item_f = rng.integers(-3, 4, (n_items, dim)).astype(np.float32)
    assert_matches_full_sort(user_f, item_f, k, 1)
    assert_matches_full_sort(user_f, rng.standard_normal((n_items, dim)).astype(np.float32), k, 2)
