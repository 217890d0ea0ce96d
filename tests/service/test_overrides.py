"""Per-request blend weight overrides: applied within bounds, shown by explain, never sticky."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from recsys_algo.store.storage import FileStorage
from tests.service.builders import item_ids, neighbour_rows, publish_scope
from tests.service.conftest import ClientFactory

URL = "/v1/recommend"
SESSION = {"surface": "home", "k": 5, "session_items": ["demo-000"], "explain": True}
MANIFEST_WEIGHTS = {"popularity": 0.3, "cooc": 0.8, "content_sim": 0.5, "session_seq": 1.0}


@pytest.fixture
def scoped(storage: FileStorage) -> FileStorage:
    publish_scope(
        storage,
        "demo",
        "home",
        item_ids("demo-", 50),
        neighbors=neighbour_rows("demo-"),
        parameters={"blend": {"weights": MANIFEST_WEIGHTS}},
    )
    return storage


def test_overrides_change_the_ranking_and_explain_shows_the_weights_used(
    scoped: FileStorage, client_for: ClientFactory
) -> None:
    override = {"content_sim": 10, "cooc": 0, "session_seq": 0}
    with client_for() as client:
        default = client.post(URL, json=SESSION).json()
        changed = client.post(URL, json={**SESSION, "blend_weights": override}).json()
    assert default["blend_weights"] == MANIFEST_WEIGHTS
    assert default["items"][0]["item_id"] == "demo-001"
    assert changed["blend_weights"] == {**MANIFEST_WEIGHTS, **override}
    first = changed["items"][0]
    # content_sim ranks demo-002 first (10/11); popularity ranks it third (0.3/13).
    assert (first["item_id"], first["source"]) == ("demo-002", "content_sim")
    assert first["contributions"] == pytest.approx({"content_sim": 10 / 11, "popularity": 0.3 / 13})
    kinds = {kind for item in changed["items"] for kind in item["contributions"]}
    assert kinds == {"content_sim", "popularity"}  # a zero weight contributes nothing


def test_overrides_are_per_request_and_keep_k_items(
    scoped: FileStorage, client_for: ClientFactory
) -> None:
    popular_only = {"cooc": 0, "session_seq": 0, "content_sim": 0, "popularity": 2.5}
    with client_for() as client:
        only = client.post(URL, json={**SESSION, "k": 20, "blend_weights": popular_only}).json()
        after = client.post(URL, json=SESSION).json()
        plain = client.post(URL, json={**SESSION, "explain": False, "blend_weights": popular_only})
    assert [i["item_id"] for i in only["items"]] == item_ids("demo-", 20)
    assert only["items"][0]["contributions"] == pytest.approx({"popularity": 2.5 / 11})
    assert after["blend_weights"] == MANIFEST_WEIGHTS
    assert after["items"][0]["item_id"] == "demo-001"
    assert plain.status_code == 200
    assert "blend_weights" not in plain.json()
    assert [i["item_id"] for i in plain.json()["items"]] == item_ids("demo-", 5)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"cooc": 10.5}, "blend_weights.cooc: Expected `float` <= 10.0"),
        ({"cooc": -1}, "blend_weights.cooc: Expected `float` >= 0.0"),
        ({"popularity": 0}, "blend_weights.popularity: Expected `float` > 0.0"),
        ({"magic": 1}, "unknown field `magic`"),
        ({"implicit": "high"}, "blend_weights.implicit"),
        ([1, 2], "blend_weights: Expected `object | null`, got `array`"),
    ],
)
def test_out_of_bounds_or_unknown_weights_are_400_naming_the_field(
    scoped: FileStorage, client_for: ClientFactory, weights: Any, message: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json={**SESSION, "blend_weights": weights})
        batch = client.post(
            f"{URL}/batch", json={"requests": [{**SESSION, "blend_weights": weights}]}
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]
    (slot,) = batch.json()["results"]
    assert (slot["status"], slot["error"]["code"]) == (400, "invalid_request")
    assert message in slot["error"]["message"]


def test_the_boundaries_themselves_are_accepted(
    scoped: FileStorage, client_for: ClientFactory
) -> None:
    weights = {"implicit": 0, "cooc": 10, "session_seq": 0.0, "content_sim": 1e-9, "popularity": 10}
    with client_for() as client:
        response = client.post(URL, json={**SESSION, "blend_weights": weights})
    assert response.status_code == 200
    assert response.json()["blend_weights"] == {**MANIFEST_WEIGHTS, **weights}


def test_batch_elements_apply_their_own_overrides(
    scoped: FileStorage, client_for: ClientFactory
) -> None:
    requests = [
        SESSION,
        {**SESSION, "blend_weights": {"content_sim": 10, "cooc": 0, "session_seq": 0}},
    ]
    with client_for() as client:
        single = [client.post(URL, json=r).json() for r in requests]
        batch = client.post(f"{URL}/batch", json={"requests": requests})
    bodies = [r["body"] for r in batch.json()["results"]]
    for one, element in zip(single, bodies, strict=True):
        assert {**element, "request_id": None} == {**one, "request_id": None}
    assert bodies[1]["items"][0]["item_id"] == "demo-002"


KINDS = ["implicit", "session_seq", "cooc", "content_sim", "popularity"]
_weights = st.dictionaries(
    st.sampled_from([*KINDS, "other"]),
    st.floats(-20, 20, allow_nan=False) | st.integers(-20, 20),
    max_size=6,
)


def _allowed(weights: dict[str, float]) -> bool:
    return all(
        kind in KINDS and 0 <= w <= 10 and (kind != "popularity" or w > 0)
        for kind, w in weights.items()
    )


def test_any_weights_are_answered_200_iff_within_bounds_and_never_500(
    scoped: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:

        @hyp_settings(max_examples=100, deadline=None)
        @given(weights=_weights)
        def check(weights: dict[str, float]) -> None:
            response = client.post(URL, json={**SESSION, "blend_weights": weights})
            assert response.status_code == (200 if _allowed(weights) else 400), response.text
            if response.status_code == 200:
                body = response.json()
                assert body["blend_weights"] == {**MANIFEST_WEIGHTS, **weights}
                assert len(body["items"]) == SESSION["k"]

        check()
