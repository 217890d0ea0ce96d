"""POST /v1/recommend/batch and explain: per-element statuses, limits, one snapshot, terms."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from recsys_algo.store.storage import FileStorage
from recsys_service.controllers import recommend
from recsys_service.serving_state import ScopeEntry, ServingState
from tests.service.builders import item_ids, publish_popularity, publish_scope, tamper_artifact
from tests.service.conftest import ClientFactory, serving_of

URL = "/v1/recommend/batch"


def _ids(body: Mapping[str, Any]) -> list[str]:
    return [i["item_id"] for i in body["items"]]


def test_batch_answers_each_element_in_order(
    published: FileStorage, client_for: ClientFactory
) -> None:
    requests = [
        {"surface": "home", "k": 2},
        {"surface": "home", "k": 3, "exclude_items": ["demo-000"]},
    ]
    with client_for() as client:
        response = client.post(URL, json={"requests": requests})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 200]
    assert _ids(results[0]["body"]) == item_ids("demo-", 2)
    assert _ids(results[1]["body"]) == item_ids("demo-", 4)[1:]
    assert all("error" not in r for r in results)
    assert results[0]["body"]["request_id"] == response.headers["X-Request-ID"]


def test_batch_element_failures_stay_in_their_slot(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_popularity(storage, "demo", "home", item_ids("demo-", 10))
    bad = publish_popularity(storage, "demo", "pdp", item_ids("pdp-", 10))
    tamper_artifact(storage, bad)  # nothing verified loads for demo/pdp
    requests: list[dict[str, Any]] = [
        {"surface": "home", "k": 1},
        {"surface": "cart"},
        {"surface": "home", "k": 0},
        {"surface": "pdp"},
        {"surface": "home", "tenant": "beta"},
        {"k": 1},
        {"surface": "home", "k": "2"},
    ]
    with client_for() as client:
        response = client.post(URL, json={"requests": requests})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 404, 400, 503, 400, 400, 200]
    codes = [r.get("error", {}).get("code") for r in results]
    assert codes == [
        None,
        "scope_not_found",
        "invalid_request",
        "not_ready",
        "invalid_request",
        "invalid_request",
        None,
    ]
    assert results[2]["error"]["message"].startswith("k: ")
    assert "tenant" in results[4]["error"]["message"]
    assert "surface" in results[5]["error"]["message"]
    assert all("body" not in r for r in results if r["status"] != 200)
    assert _ids(results[6]["body"]) == item_ids("demo-", 2)


def test_batch_of_256_is_answered_and_257_is_refused(
    published: FileStorage, client_for: ClientFactory
) -> None:
    one = {"surface": "home", "k": 1}
    with client_for() as client:
        full = client.post(URL, json={"requests": [one] * 256})
        over = client.post(URL, json={"requests": [one] * 257})
    assert full.status_code == 200
    assert len(full.json()["results"]) == 256
    assert over.status_code == 400
    error = over.json()["error"]
    assert error["code"] == "invalid_request"
    assert "requests" in error["message"] and "256" in error["message"]


@pytest.mark.parametrize(
    "body",
    [{"requests": []}, {}, {"requests": [1]}, {"requests": {"surface": "home"}}, {"other": 1}],
)
def test_malformed_batch_is_400(
    published: FileStorage, client_for: ClientFactory, body: dict[str, object]
) -> None:
    with client_for() as client:
        response = client.post(URL, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


class _SwapOnFirstRead(dict[tuple[str, str], ScopeEntry]):
    """A snapshot that triggers a hot swap the first time the batch reads from it."""

    def __init__(self, entries: Mapping[tuple[str, str], ScopeEntry], swap: Any) -> None:
        super().__init__(entries)
        self.swap: Any = swap

    def get(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        swap, self.swap = self.swap, None
        if swap is not None:
            swap()
        return super().get(key, default)


def test_a_swap_during_a_batch_does_not_mix_versions(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    first = publish_popularity(storage, "demo", "home", item_ids("v1-", 10))
    with client_for() as client:
        serving: ServingState = serving_of(client)

        def swap() -> None:
            publish_popularity(storage, "demo", "home", item_ids("v2-", 10))
            serving.refresh()

        serving._entries = _SwapOnFirstRead(serving.entries, swap)
        during = client.post(URL, json={"requests": [{"surface": "home", "k": 1}] * 5})
        after = client.post(URL, json={"requests": [{"surface": "home", "k": 1}]})
    bodies = [r["body"] for r in during.json()["results"]]
    assert {b["manifest_version"] for b in bodies} == {first.manifest_version}
    assert {_ids(b)[0] for b in bodies} == {"v1-000"}
    assert after.json()["results"][0]["body"]["manifest_version"] != first.manifest_version
    assert _ids(after.json()["results"][0]["body"]) == ["v2-000"]


def test_explain_contributions_are_per_kind_and_sum_to_the_score(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    body = {"surface": "home", "k": 10, "session_items": ["demo-000"], "explain": True}
    with client_for() as client:
        response = client.post("/v1/recommend", json=body)
    items = response.json()["items"]
    assert len(items) == 10
    kinds: set[str] = set()
    for item in items:
        parts = item["contributions"]
        kinds |= set(parts)
        assert sum(parts.values()) == pytest.approx(item["score"], rel=1e-12)
        assert item["source"] == max(parts, key=lambda kind: parts[kind])
    assert kinds == {"popularity", "cooc", "content_sim", "session_seq"}
    # demo-001: session_seq rank 2 (1/12), cooc rank 1 (0.8/11), popularity rank 2 (0.3/12).
    first = items[0]
    assert first["item_id"] == "demo-001"
    assert first["contributions"] == pytest.approx(
        {"session_seq": 1 / 12, "cooc": 0.8 / 11, "popularity": 0.3 / 12}
    )


def test_without_explain_items_carry_no_contributions(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    body = {"surface": "home", "k": 5, "session_items": ["demo-000"]}
    with client_for() as client:
        plain = client.post("/v1/recommend", json=body).json()
        explained = client.post("/v1/recommend", json={**body, "explain": True}).json()
    assert all(set(i) == {"item_id", "score", "source"} for i in plain["items"])
    strip = [{k: v for k, v in i.items() if k != "contributions"} for i in explained["items"]]
    assert strip == plain["items"]


def test_batch_elements_may_ask_for_explain(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_scope(storage, "demo", "home", item_ids("demo-", 5))
    requests = [{"surface": "home", "k": 2, "explain": True}, {"surface": "home", "k": 2}]
    with client_for() as client:
        results = client.post(URL, json={"requests": requests}).json()["results"]
    explained, plain = (r["body"]["items"] for r in results)
    assert [set(i["contributions"]) for i in explained] == [{"popularity"}, {"popularity"}]
    assert all("contributions" not in i for i in plain)


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_fields = st.sampled_from(
    ["surface", "item_id", "session_items", "k", "exclude_items", "explain", "kind", "other"]
)
_objects = st.dictionaries(_fields, _values | st.just("home") | st.just("demo-000"), max_size=6)


def test_arbitrary_batch_elements_and_similar_bodies_never_give_500(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    json_header = {"Content-Type": "application/json"}
    with client_for() as client:

        @hyp_settings(max_examples=100, deadline=None)
        @given(elements=st.lists(_objects, min_size=1, max_size=4), body=_objects | _values)
        def check(elements: list[object], body: object) -> None:
            batch = client.post(
                URL, content=msgspec.json.encode({"requests": elements}), headers=json_header
            )
            assert batch.status_code == 200, batch.text
            for result in batch.json()["results"]:
                assert result["status"] in (200, 400, 404)
            similar = client.post(
                "/v1/similar", content=msgspec.json.encode(body), headers=json_header
            )
            assert similar.status_code in (200, 400, 404), similar.text

        check()


def test_batch_names_the_versions_it_served_in_x_model_version(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    home = publish_popularity(storage, "demo", "home", item_ids("demo-", 5))
    pdp = publish_popularity(storage, "demo", "pdp", item_ids("pdp-", 5))
    with client_for() as client:
        one = client.post(URL, json={"requests": [{"surface": "home"}, {"surface": "nope"}]})
        both = client.post(
            URL,
            json={"requests": [{"surface": "pdp"}, {"surface": "home"}, {"surface": "pdp"}]},
        )
        none = client.post(URL, json={"requests": [{"surface": "nope"}, {"k": 0}]})
    assert one.headers["X-Model-Version"] == home.manifest_version
    # Distinct versions in order of first use, as an HTTP list.
    assert both.headers["X-Model-Version"] == f"{pdp.manifest_version}, {home.manifest_version}"
    assert none.status_code == 200
    assert "X-Model-Version" not in none.headers


def test_batch_elements_are_computed_off_the_event_loop(
    published: FileStorage, client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    loops: list[bool] = []
    real = recommend.answer_element

    def spy(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)  # a worker thread: no event loop runs here
        return real(*args)

    monkeypatch.setattr(recommend, "answer_element", spy)
    requests = [{"surface": "home", "k": k} for k in (1, 3, 2)]
    with client_for() as client:
        batch = client.post(URL, json={"requests": requests})
        singles = [client.post("/v1/recommend", json=r).json() for r in requests]
    assert loops == [False, False, False]
    bodies = [r["body"] for r in batch.json()["results"]]
    assert [_ids(b) for b in bodies] == [_ids(s) for s in singles]
    assert {b["request_id"] for b in bodies} == {batch.headers["X-Request-ID"]}
