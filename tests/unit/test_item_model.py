"""The item-item user models (kind `item_model`): EASE, RP3beta and item-kNN by hand on a
three-user matrix, their artifact, its checks and its serving index."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from recsys_algo.contracts.errors import ArtifactError, ConfigError, ValidationGateError
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.item_model.artifact import check_item_model
from recsys_algo.kinds.item_model.fit import ItemModelParams, compute_item_model
from recsys_algo.loading.model import build_model
from recsys_algo.serving.recommender import BlendParams, Query
from tests.unit.session_events import END, MINUTE_MS, ev, frame, ms_before_end, zipf_events

# u1 holds a b, u2 a b c, u3 b c (binary: how often does not matter).
USERS = {"u1": "a b", "u2": "a b c c", "u3": "b c"}


def matrix_events() -> pl.DataFrame:
    rows = []
    for user, items in USERS.items():
        for k, item in enumerate(items.split()):
            rows.append(ev(user, item, ms_before_end(1) + k * MINUTE_MS))
    return frame(rows)


def lists(table: pl.DataFrame) -> dict[str, list[tuple[str, float]]]:
    """Each row's list as (item id, score rounded), keyed by entity:id."""
    items = table.filter(pl.col("entity") == "item")["id"].to_list()
    return {
        f"{entity}:{row_id}": [(items[i], round(s, 5)) for i, s in zip(top, scores, strict=True)]
        for entity, row_id, top, scores in table.rows()
    }


def fit(**params: Any) -> pl.DataFrame:
    return compute_item_model(matrix_events(), END, ItemModelParams(num_threads=1, **params))


def test_ease_by_hand() -> None:
    # G + I = [[3,2,1],[2,4,2],[1,2,3]], its inverse P = [[.5,-.25,0],[-.25,.5,-.25],[0,-.25,.5]],
    # B = -P / diag(P) with a zero diagonal: B_ab = B_ba = B_bc = B_cb = 0.5, B_ac = B_ca = 0.
    assert lists(fit(model="ease", l2=1.0)) == {
        "item:a": [("b", 0.5)],
        "item:b": [("a", 0.5), ("c", 0.5)],
        "item:c": [("b", 0.5)],
        "user:u1": [("c", 0.5)],  # B_ac + B_bc
        "user:u2": [],  # has every item
        "user:u3": [("a", 0.5)],  # B_ba + B_ca
    }


def test_ease_is_fitted_on_the_most_interacted_items_only() -> None:
    # b (3 users) and then a (2, ties with c, a by id) are kept: c gets no row and no score.
    assert lists(fit(model="ease", l2=1.0, ease_items=2))["item:c"] == []
    assert lists(fit(model="ease", l2=1.0, ease_items=2))["user:u3"][0][0] == "a"


def test_rp3beta_by_hand() -> None:
    # W = P_iu ** 1 @ P_ui ** 1, column j divided by degree_j ** 0.5 (a, c: 2 users; b: 3):
    # W_ab = (1/2 * 1/2 + 1/2 * 1/3) / sqrt 3, W_ac = (1/2 * 1/3) / sqrt 2,
    # W_ba = W_bc = (1/3 * 1/2 + 1/3 * 1/3) / sqrt 2, W_ca = W_ac, W_cb = W_ab.
    ab, ac, ba = (5 / 12) / math.sqrt(3), (1 / 6) / math.sqrt(2), (5 / 18) / math.sqrt(2)
    found = lists(fit(model="rp3beta", alpha=1.0, beta=0.5))
    assert found == {
        "item:a": [("b", round(ab, 5)), ("c", round(ac, 5))],
        "item:b": [("a", round(ba, 5)), ("c", round(ba, 5))],
        "item:c": [("b", round(ab, 5)), ("a", round(ac, 5))],
        "user:u1": [("c", round(ac + ba, 5))],
        "user:u2": [],
        "user:u3": [("a", round(ba + ac, 5))],
    }


def test_rp3beta_alpha_sharpens_the_transition_probabilities() -> None:
    # alpha 2, beta 0: W_ab = (1/2)^2 (1/2)^2 + (1/2)^2 (1/3)^2 = 1/16 + 1/36.
    found = lists(fit(model="rp3beta", alpha=2.0, beta=0.0))
    assert found["item:a"][0] == ("b", round(1 / 16 + 1 / 36, 5))


def test_item_knn_by_hand() -> None:
    # a and b share 2 users: 2 / (sqrt(2) sqrt(3) + shrink); a and c share 1: 1 / (2 + shrink).
    found = lists(fit(model="itemknn", shrink=1.0))
    assert found["item:a"] == [("b", round(2 / (math.sqrt(6) + 1), 5)), ("c", round(1 / 3, 5))]


def test_neighbors_and_top_n_cut_the_lists() -> None:
    found = lists(fit(model="rp3beta", neighbors=1, top_n=1))
    assert [len(v) for v in found.values()] == [1, 1, 1, 1, 0, 1]


def test_same_events_in_any_order_encode_to_identical_bytes_and_pass_the_checks() -> None:
    events = zipf_events(20_000, 400, 300, seed=6)
    for model in ("ease", "rp3beta", "itemknn"):
        params = ItemModelParams(model=model, num_threads=1)
        table = compute_item_model(events, END, params)
        check_item_model(table.to_arrow(), model)
        shuffled = events.sample(fraction=1.0, shuffle=True, seed=2)
        again = compute_item_model(shuffled, END, params)
        assert (
            encode_artifact(again, "item_model", 1).data
            == encode_artifact(table, "item_model", 1).data
        )


def test_no_interactions_is_a_gate_error_naming_the_kind() -> None:
    with pytest.raises(ValidationGateError, match="item_model: no user-item interactions"):
        compute_item_model(matrix_events().head(0), END, ItemModelParams())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "svd"}, "model"),
        ({"l2": 0.0}, "l2"),
        ({"l2": float("inf")}, "l2"),
        ({"alpha": 0.0}, "alpha"),
        ({"beta": -0.1}, "beta"),
        ({"shrink": -1.0}, "shrink"),
        ({"neighbors": 0}, "neighbors"),
        ({"ease_items": 20_001}, "ease_items"),
        ({"top_n": "50"}, "top_n"),
        ({"binary": 1}, "binary"),
        ({"weights": {"view": 1.0}}, "unknown event types"),
    ],
)
def test_bad_parameters_are_config_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ItemModelParams(**change)


def broken(change: str) -> pa.Table:
    table = fit(model="ease", l2=1.0)
    if change == "schema":
        return table.drop("top_scores").to_arrow()
    if change == "order":
        return table.reverse().to_arrow()
    if change == "self":
        return table.with_columns(
            top_items=pl.when(pl.col("id") == "a").then(pl.lit([0])).otherwise("top_items")
        ).to_arrow()
    if change == "range":
        return table.with_columns(
            top_items=pl.when(pl.col("id") == "a").then(pl.lit([7])).otherwise("top_items")
        ).to_arrow()
    if change == "unsorted":
        return table.with_columns(
            top_scores=pl.when(pl.col("id") == "b")
            .then(pl.lit([0.1, 0.2], dtype=pl.List(pl.Float32)))
            .otherwise("top_scores")
        ).to_arrow()
    return table.with_columns(
        top_items=pl.when(pl.col("id") == "b").then(pl.lit([0, 0])).otherwise("top_items")
    ).to_arrow()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("schema", "schema"),
        ("order", "item rows must come before user rows"),
        ("self", "item rows need other items"),
        ("range", "ordinals"),
        ("unsorted", "sorted"),
        ("repeat", "repeats an item"),
    ],
)
def test_the_checks_reject_a_broken_artifact(change: str, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        check_item_model(broken(change), "v1")


def test_known_users_get_their_list_and_anyone_else_the_fold_in() -> None:
    popularity = pl.DataFrame({"item_id": ["z"], "score": [1.0], "events": [1]}).to_arrow()
    model = build_model(
        {"popularity": popularity, "item_model": fit(model="ease", l2=1.0).to_arrow()}
    )
    params = BlendParams(weights={"item_model": 1.0, "popularity": 0.01})
    found = model.candidates(Query(k=3, user_id="u1"), params)["item_model"]
    assert model.scored(found) == [("c", 0.5)]
    # A stranger holding a: the row of a (b 0.5); excluding b leaves nothing.
    stranger = Query(k=3, user_id="nobody", session_items=("a",))
    assert model.scored(model.candidates(stranger, params)["item_model"]) == [("b", 0.5)]
    excluded = Query(k=3, session_items=("a",), exclude=frozenset({"b"}))
    assert model.scored(model.candidates(excluded, params)["item_model"]) == []
    # a and c: rows a (b) and c (b) add up.
    both = Query(k=3, session_items=("c", "a"))
    assert model.scored(model.candidates(both, params)["item_model"]) == [("b", 1.0)]
    assert [r.source for r in model.recommend(Query(k=1, user_id="u3"), params)] == ["item_model"]
