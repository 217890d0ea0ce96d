"""POST /v1/similar and GET /v1/popular: results per kind, blend, bounds, exclusions, errors."""

from __future__ import annotations

import pytest

from recsys_algo.store.storage import FileStorage
from tests.service.builders import item_ids, neighbour_rows, publish_scope
from tests.service.conftest import ClientFactory

URL = "/v1/similar"


def _pairs(body: dict[str, list[dict[str, object]]]) -> list[tuple[object, object]]:
    return [(i["item_id"], i["source"]) for i in body["items"]]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("cooc", [("demo-001", 0.9), ("demo-002", 0.5), ("demo-003", 0.1)]),
        ("content", [("demo-002", 0.8), ("demo-004", 0.7)]),
        ("session", [("demo-005", 0.6), ("demo-001", 0.3)]),
    ],
)
def test_single_kind_returns_the_items_neighbour_list_with_its_scores(
    neighboured: FileStorage, client_for: ClientFactory, kind: str, expected: list[object]
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "item_id": "demo-000", "kind": kind})
    assert response.status_code == 200
    body = response.json()
    assert [(i["item_id"], i["score"]) for i in body["items"]] == expected
    source = {"cooc": "cooc", "content": "content_sim", "session": "session_seq"}[kind]
    assert {i["source"] for i in body["items"]} == {source}
    assert response.headers["X-Model-Version"] == body["manifest_version"]
    assert response.headers["X-Request-ID"] == body["request_id"]


def test_blend_is_the_default_and_fuses_the_three_neighbour_lists(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "item_id": "demo-000"})
    items = response.json()["items"]
    # Default weights session_seq 1.0, cooc 0.8, content_sim 0.5, rank offset 10:
    # 001 = 0.8/11 + 1/12, 002 = 0.8/12 + 0.5/11, 005 = 1/11, 003 = 0.8/13, 004 = 0.5/12.
    assert _pairs(response.json()) == [
        ("demo-001", "session_seq"),
        ("demo-002", "cooc"),
        ("demo-005", "session_seq"),
        ("demo-003", "cooc"),
        ("demo-004", "content_sim"),
    ]
    assert items[0]["score"] == pytest.approx(0.8 / 11 + 1 / 12)
    assert items[1]["score"] == pytest.approx(0.8 / 12 + 0.5 / 11)


def test_blend_uses_the_weights_recorded_in_the_manifest(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    weights = {"popularity": 0.3, "cooc": 0.0, "content_sim": 1.0, "session_seq": 0.0}
    publish_scope(
        storage,
        "demo",
        "home",
        item_ids("demo-", 20),
        neighbors=neighbour_rows("demo-"),
        parameters={"blend": {"weights": weights}},
    )
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "item_id": "demo-000"})
    assert _pairs(response.json()) == [("demo-002", "content_sim"), ("demo-004", "content_sim")]


def test_k_bounds_the_answer(neighboured: FileStorage, client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "item_id": "demo-000", "k": 2})
    assert [i["item_id"] for i in response.json()["items"]] == ["demo-001", "demo-002"]


def test_excluded_items_are_dropped_and_the_next_ones_move_up(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    body = {"surface": "home", "item_id": "demo-000", "k": 2, "exclude_items": ["demo-001"]}
    with client_for() as client:
        blended = client.post(URL, json=body)
        cooc = client.post(URL, json={**body, "kind": "cooc"})
    assert [i["item_id"] for i in blended.json()["items"]] == ["demo-002", "demo-005"]
    assert [i["item_id"] for i in cooc.json()["items"]] == ["demo-002", "demo-003"]


@pytest.mark.parametrize("kind", ["blend", "cooc", "content", "session"])
@pytest.mark.parametrize("item", ["demo-000", "demo-001", "demo-010"])
def test_the_item_itself_is_never_in_its_answer(
    neighboured: FileStorage, client_for: ClientFactory, kind: str, item: str
) -> None:
    with client_for() as client:
        response = client.post(
            URL, json={"surface": "home", "item_id": item, "kind": kind, "k": 200}
        )
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert item not in {i["item_id"] for i in response.json()["items"]}


@pytest.mark.parametrize(
    ("item", "kind"),
    [("nope", "blend"), ("demo-010", "cooc"), ("demo-010", "session"), ("demo-001", "content")],
)
def test_item_without_neighbours_of_the_kind_is_404_item_not_found(
    neighboured: FileStorage, client_for: ClientFactory, item: str, kind: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "item_id": item, "kind": kind})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "item_not_found"
    assert item in error["message"]


@pytest.mark.parametrize("kind", ["blend", "cooc", "content", "session"])
def test_kind_the_manifest_lacks_is_404_kind_not_available(
    storage: FileStorage, client_for: ClientFactory, kind: str
) -> None:
    publish_scope(storage, "demo", "home", item_ids("demo-", 5))  # popularity only
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "item_id": "demo-000", "kind": kind})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "kind_not_available"


def test_a_missing_kind_is_404_even_when_other_kinds_are_present(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    cooc_only = {"cooc": neighbour_rows("demo-")["cooc"]}
    publish_scope(storage, "demo", "home", item_ids("demo-", 5), neighbors=cooc_only)
    with client_for() as client:
        session = client.post(
            URL, json={"surface": "home", "item_id": "demo-000", "kind": "session"}
        )
        blended = client.post(URL, json={"surface": "home", "item_id": "demo-000"})
    assert session.json()["error"]["code"] == "kind_not_available"
    assert _pairs(blended.json()) == [
        ("demo-001", "cooc"),
        ("demo-002", "cooc"),
        ("demo-003", "cooc"),
    ]


def test_unknown_surface_is_404_scope_not_found(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "pdp", "item_id": "demo-000"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "scope_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"surface": "home", "item_id": "demo-000", "k": 0}, "k"),
        ({"surface": "home", "item_id": "demo-000", "k": 201}, "k"),
        ({"surface": "home", "item_id": ""}, "item_id"),
        ({"surface": "home", "item_id": "x" * 257}, "item_id"),
        ({"surface": "home"}, "item_id"),
        ({"surface": "home", "item_id": "demo-000", "kind": "implicit"}, "kind"),
        (
            {"surface": "home", "item_id": "demo-000", "exclude_items": ["x"] * 1001},
            "exclude_items",
        ),
        ({"surface": "Home!", "item_id": "demo-000"}, "surface"),
        ({"surface": "home", "item_id": "demo-000", "tenant": "beta"}, "tenant"),
    ],
)
def test_invalid_similar_body_is_400_naming_the_field(
    neighboured: FileStorage, client_for: ClientFactory, body: dict[str, object], field: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"]


def test_similar_needs_a_json_body(neighboured: FileStorage, client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.post(URL, content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_popular_returns_the_popularity_order(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.get("/v1/popular", params={"surface": "home", "k": 5})
        default = client.get("/v1/popular", params={"surface": "home"})
    assert response.status_code == 200
    body = response.json()
    assert _pairs(body) == [(i, "popularity") for i in item_ids("demo-", 5)]
    assert [i["score"] for i in body["items"]] == [50.0, 49.0, 48.0, 47.0, 46.0]
    assert response.headers["X-Model-Version"] == body["manifest_version"]
    assert len(default.json()["items"]) == 20


def test_popular_k_larger_than_the_catalog_returns_it_all(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_scope(storage, "demo", "home", item_ids("d", 3))
    with client_for() as client:
        response = client.get("/v1/popular", params={"surface": "home", "k": 200})
    assert [i["item_id"] for i in response.json()["items"]] == item_ids("d", 3)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"surface": "home", "k": "0"}, "k"),
        ({"surface": "home", "k": "201"}, "k"),
        ({"surface": "home", "k": "many"}, "k"),
        ({"surface": "Home!"}, "surface"),
        ({}, "surface"),
    ],
)
def test_invalid_popular_query_is_400_naming_the_parameter(
    neighboured: FileStorage, client_for: ClientFactory, params: dict[str, str], field: str
) -> None:
    with client_for() as client:
        response = client.get("/v1/popular", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"]


def test_popular_unknown_surface_is_404(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.get("/v1/popular", params={"surface": "pdp"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "scope_not_found"
