"""The fallback chain over HTTP on a real model of all five kinds: known users, unknown users,
sessions, exclusions; always k items while the catalog has them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.loading.model import load_model
from recsys_algo.serving.recommender import BlendParams, Query, ScopeModel
from recsys_algo.store.storage import FileStorage
from recsys_service.app import create_app
from tests.service.builders import make_settings, publish_synthetic
from tests.support.models import synthetic_tables

URL = "/v1/recommend"
K = 30


@pytest.fixture(scope="module")
def model() -> ScopeModel:
    return load_model(synthetic_tables(), {})


@pytest.fixture
def client(storage: FileStorage) -> Iterator[TestClient[Litestar]]:
    publish_synthetic(storage)
    with TestClient(create_app(make_settings(storage))) as test_client:
        yield test_client


def ask(client: TestClient[Litestar], **body: object) -> list[dict[str, object]]:
    response = client.post(URL, json={"surface": "home", "k": K, **body})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    assert len(items) == K  # the catalog holds more than K: never fewer
    assert len({i["item_id"] for i in items}) == K
    return items


def known_user(model: ScopeModel) -> str:
    assert model.collab is not None
    return next(iter(model.collab.user_rows))


# The kinds that know users: a known user's answer comes mostly from them.
USER_KINDS = {"implicit", "item_model"}


def test_a_known_user_gets_their_own_items_first(
    client: TestClient[Litestar], model: ScopeModel
) -> None:
    user = known_user(model)
    items = ask(client, user_id=user)
    assert items[0]["source"] in USER_KINDS
    assert sum(i["source"] in USER_KINDS for i in items) >= K // 2
    # The very items, order and sources of the in-process model (the manifest's blend is the
    # default one): nothing changed on the way out.
    expected = model.recommend(Query(k=K, user_id=user), BlendParams())
    assert [(i["item_id"], i["source"]) for i in items] == [(r.item_id, r.source) for r in expected]


def test_an_unknown_user_without_a_session_gets_the_popular_items(
    client: TestClient[Litestar],
) -> None:
    popular = client.get("/v1/popular", params={"surface": "home", "k": K}).json()["items"]
    for body in ({"user_id": "never-seen"}, {}, {"session_items": []}):
        items = ask(client, **body)
        assert [i["item_id"] for i in items] == [p["item_id"] for p in popular], body
        assert {i["source"] for i in items} == {"popularity"}


def test_an_unknown_user_with_a_session_gets_session_kinds_and_fold_in(
    client: TestClient[Litestar], model: ScopeModel
) -> None:
    session = [model.vocab.ids[c] for c in model.popular_items.codes[5:8].tolist()]
    items = ask(client, user_id="never-seen", session_items=session)
    sources = {i["source"] for i in items}
    assert sources - {"popularity"}, sources  # the session changed the answer
    assert "implicit" in sources  # folded in: the model never saw this user
    seen = ask(client, user_id="never-seen", session_items=session, exclude_seen=True)
    assert not {i["item_id"] for i in seen} & set(session)


def test_excluded_items_are_replaced_so_k_still_holds(
    client: TestClient[Litestar], model: ScopeModel
) -> None:
    user = known_user(model)
    first = [i["item_id"] for i in ask(client, user_id=user)]
    excluded = first[:20]
    items = ask(client, user_id=user, exclude_items=excluded)
    assert not {i["item_id"] for i in items} & set(excluded)
    # Each kind over-fetched past the exclusions: the user's own items still lead.
    assert items[0]["source"] in USER_KINDS
