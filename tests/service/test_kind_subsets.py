"""A manifest holds popularity plus any subset of the other kinds (the pipeline leaves out those
its data cannot support): every route answers from what is there and names what is missing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.kinds.artifacts import decode_artifact
from recsys_algo.kinds.kind import KINDS, NEIGHBOR_KINDS, POPULARITY, SIMILAR_ALIASES, Kind
from recsys_algo.store.registry import publish
from recsys_algo.store.storage import FileStorage
from recsys_service.app import create_app
from tests.service.builders import AS_OF, make_settings, signing_keys
from tests.support.models import synthetic_blobs

OPTIONAL = [kind for kind in KINDS if kind != POPULARITY]
# Tuples in Kind order: the same ids in every xdist worker (sets iterate by string hash).
SUBSETS = [
    chosen for size in range(len(OPTIONAL) + 1) for chosen in itertools.combinations(OPTIONAL, size)
]
K = 10


def why(kind: str) -> str:
    return f"{kind}: not enough data (test)"


@pytest.fixture
def subset_client(
    storage: FileStorage, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient[Litestar], frozenset[str]]]:
    present = frozenset(request.param)
    blobs = [b for b in synthetic_blobs() if b.kind == POPULARITY or b.kind in present]
    omitted = {kind.value: why(kind) for kind in OPTIONAL if kind not in present}
    publish(
        storage, signing_keys(), tenant="demo", surface="home", as_of=AS_OF,
        window=Window(start="2026-11-14", end=AS_OF.isoformat(), days=7), blobs=blobs,
        lineage=Lineage(inputs={}, code_version="test", parameters={}, omitted_kinds=omitted),
        metrics={},
    )  # fmt: skip
    with TestClient(create_app(make_settings(storage))) as client:
        yield client, present | {POPULARITY}


def a_user_and_an_item() -> tuple[str, str]:
    """A user the implicit artifact knows and an item with cooc neighbours (both exist in the
    synthetic model; when the manifest lacks implicit the user is simply unknown)."""
    blobs = {b.kind: b for b in synthetic_blobs()}
    users = decode_artifact(blobs[Kind.IMPLICIT].data, Kind.IMPLICIT, "t").to_pydict()
    user = next(i for i, e in zip(users["id"], users["entity"], strict=True) if e == "user")
    neighbours = decode_artifact(blobs[Kind.COOC].data, Kind.COOC, "t")
    return user, str(neighbours["item_id"][0])


def sources(response: dict[str, object]) -> set[str]:
    return {str(item["source"]) for item in response["items"]}  # type: ignore[attr-defined,index]


@pytest.mark.parametrize(
    "subset_client", SUBSETS, indirect=True, ids=lambda s: "+".join(s) or "popularity-only"
)
def test_every_route_answers_from_the_kinds_present_and_names_the_missing(
    subset_client: tuple[TestClient[Litestar], frozenset[str]],
) -> None:
    client, present = subset_client
    missing = {kind.value: why(kind) for kind in KINDS if kind not in present}
    user, item = a_user_and_an_item()
    bodies = [
        {},  # anonymous: the cold-start fill
        {"user_id": user},
        {"session_items": [item]},
        {"user_id": "nobody-knows-me", "session_items": [item], "exclude_seen": True},
    ]
    for body in bodies:
        response = client.post("/v1/recommend", json={"surface": "home", "k": K, **body})
        assert response.status_code == 200, (body, response.text)
        found = response.json()
        assert len(found["items"]) == K
        assert sources(found) <= present, (body, sources(found))
    explained = client.post(
        "/v1/recommend",
        json={"surface": "home", "k": K, "session_items": [item], "explain": True},
    ).json()
    assert explained["missing_kinds"] == missing
    for entry in explained["items"]:
        assert set(entry["contributions"]) <= present
    batch = client.post(
        "/v1/recommend/batch", json={"requests": [{"surface": "home", **b} for b in bodies]}
    )
    assert [r["status"] for r in batch.json()["results"]] == [200] * len(bodies)
    popular = client.get("/v1/popular", params={"surface": "home", "k": K})
    assert popular.status_code == 200 and sources(popular.json()) == {POPULARITY}
    manifest = client.get("/v1/manifests/home").json()
    assert manifest["missing_kinds"] == missing
    assert set(manifest["artifacts"]) == present
    assert manifest["lineage"]["omitted_kinds"] == missing


@pytest.mark.parametrize(
    "subset_client", SUBSETS, indirect=True, ids=lambda s: "+".join(s) or "popularity-only"
)
def test_similar_serves_the_neighbour_kinds_present_and_says_why_the_others_are_not(
    subset_client: tuple[TestClient[Litestar], frozenset[str]],
) -> None:
    client, present = subset_client
    _, item = a_user_and_an_item()
    for alias, kind in SIMILAR_ALIASES.items():
        response = client.post(
            "/v1/similar", json={"surface": "home", "item_id": item, "kind": alias}
        )
        if kind in present:
            assert response.status_code in (200, 404), response.text
            if response.status_code == 404:  # the item may have no neighbours of that kind
                assert response.json()["error"]["code"] == "item_not_found"
            continue
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "kind_not_available"
        assert f"has no {kind} artifact ({kind}: {why(kind)})" in error["message"]
    blended = client.post("/v1/similar", json={"surface": "home", "item_id": item})
    if present & set(NEIGHBOR_KINDS):
        assert blended.status_code in (200, 404)
    else:
        assert blended.json()["error"]["code"] == "kind_not_available"
