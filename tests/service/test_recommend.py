"""POST /v1/recommend: results, bounds, exclusions, errors, request ids, hot swap."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from recsys_algo.store.storage import FileStorage
from tests.service.builders import item_ids, publish_popularity, tamper_artifact
from tests.service.conftest import ClientFactory, serving_of

URL = "/v1/recommend"


def test_happy_path_returns_top_k_sorted_with_version_headers(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "k": 7})
    assert response.status_code == 200
    body = response.json()
    items = body["items"]
    assert [i["item_id"] for i in items] == item_ids("demo-", 7)
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert {i["source"] for i in items} == {"popularity"}
    assert response.headers["X-Model-Version"] == body["manifest_version"]
    assert response.headers["X-Request-ID"] == body["request_id"]
    assert len(body["request_id"]) == 32


def test_default_k_is_20(published: FileStorage, client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home"})
    assert len(response.json()["items"]) == 20


def test_k_larger_than_catalog_returns_the_whole_catalog(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_popularity(storage, "demo", "home", item_ids("d", 3))
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "k": 200})
    assert [i["item_id"] for i in response.json()["items"]] == item_ids("d", 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"surface": "home", "k": 0}, "k"),
        ({"surface": "home", "k": 201}, "k"),
        ({"surface": "home", "k": "many"}, "k"),
        ({"surface": "home", "k": 2.5}, "k"),
        ({"surface": "Home!"}, "surface"),
        ({"surface": "../etc"}, "surface"),
        ({}, "surface"),
        ({"surface": "home", "exclude_items": [""]}, "exclude_items"),
        ({"surface": "home", "session_items": ["x"] * 201}, "session_items"),
        ({"surface": "home", "exclude_items": ["x"] * 1001}, "exclude_items"),
        ({"surface": "home", "user_id": "u" * 257}, "user_id"),
        ({"surface": "home", "tenant": "beta"}, "tenant"),
    ],
)
def test_invalid_body_is_400_naming_the_field(
    published: FileStorage, client_for: ClientFactory, body: dict[str, object], field: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_malformed_json_is_400(published: FileStorage, client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.post(URL, content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_non_json_content_type_is_415(published: FileStorage, client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.post(
            URL, content=b'{"surface": "home"}', headers={"Content-Type": "text/plain"}
        )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_oversized_body_is_413(published: FileStorage, client_for: ClientFactory) -> None:
    exclude = [f"item-{i:0200d}" for i in range(400)]  # ~80 KiB, over the 64 KiB limit
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "exclude_items": exclude})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_exclude_items_still_gives_k_items(
    published: FileStorage, client_for: ClientFactory
) -> None:
    excluded = item_ids("demo-", 5)
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "k": 10, "exclude_items": excluded})
    got = [i["item_id"] for i in response.json()["items"]]
    assert got == item_ids("demo-", 15)[5:]


def test_exclude_seen_drops_session_items_and_keeps_k(
    published: FileStorage, client_for: ClientFactory
) -> None:
    seen = ["demo-000", "demo-002", "demo-004"]
    body = {"surface": "home", "k": 5, "session_items": seen, "exclude_seen": True}
    with client_for() as client:
        response = client.post(URL, json=body)
    got = [i["item_id"] for i in response.json()["items"]]
    assert got == ["demo-001", "demo-003", "demo-005", "demo-006", "demo-007"]


def test_session_items_are_kept_unless_exclude_seen(
    published: FileStorage, client_for: ClientFactory
) -> None:
    body = {"surface": "home", "k": 2, "session_items": ["demo-000"]}
    with client_for() as client:
        response = client.post(URL, json=body)
    assert [i["item_id"] for i in response.json()["items"]] == ["demo-000", "demo-001"]


def test_unknown_surface_is_404_scope_not_found(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "pdp"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "scope_not_found"


def test_tampered_scope_is_503_not_ready(storage: FileStorage, client_for: ClientFactory) -> None:
    bad = publish_popularity(storage, "demo", "home", item_ids("d", 5))
    tamper_artifact(storage, bad)
    with client_for() as client:
        response = client.post(URL, json={"surface": "home"})
        ready = client.get("/readyz").json()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert "digest" in ready["scopes"][0]["last_error"]


@pytest.mark.parametrize("incoming", ["abc-123", "A.b_C-9", "x" * 128])
def test_wellformed_request_id_is_honoured(
    published: FileStorage, client_for: ClientFactory, incoming: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home"}, headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming
    assert response.json()["request_id"] == incoming


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 129, "semi;colon"])
def test_malformed_request_id_is_replaced(
    published: FileStorage, client_for: ClientFactory, incoming: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home"}, headers={"X-Request-ID": incoming})
    rid = response.headers["X-Request-ID"]
    assert rid != incoming and len(rid) == 32 and int(rid, 16) >= 0
    assert response.json()["request_id"] == rid


def test_every_response_carries_one_request_id_and_generated_ids_differ(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        responses = [
            client.post(URL, json={"surface": "home"}),
            client.post(URL, json={"surface": "home"}),
            client.get("/not/a/route"),  # unrouted: 404
            client.put(URL),  # 405
            client.post(URL, content=b"{", headers={"content-type": "application/json"}),
        ]
    ids = [r.headers.get_list("X-Request-ID") for r in responses]
    assert all(len(found) == 1 for found in ids), ids
    generated = [found[0] for found in ids]
    assert len(set(generated)) == len(generated)
    assert all(len(rid) == 32 and rid == rid.lower() and int(rid, 16) >= 0 for rid in generated)


def test_refresh_hot_swaps_and_rejects_a_tampered_newer_version(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    first = publish_popularity(storage, "demo", "home", item_ids("v1-", 10))
    with client_for() as client:
        serving = serving_of(client)
        before = client.post(URL, json={"surface": "home", "k": 3})
        second = publish_popularity(storage, "demo", "home", item_ids("v2-", 10))
        serving.refresh()
        after = client.post(URL, json={"surface": "home", "k": 3})
        third = publish_popularity(storage, "demo", "home", item_ids("v3-", 10))
        tamper_artifact(storage, third)
        serving.refresh()
        kept = client.post(URL, json={"surface": "home", "k": 3})
        ready = client.get("/readyz")
    assert before.headers["X-Model-Version"] == first.manifest_version
    assert after.headers["X-Model-Version"] == second.manifest_version
    assert [i["item_id"] for i in after.json()["items"]] == item_ids("v2-", 3)
    assert kept.headers["X-Model-Version"] == second.manifest_version
    assert [i["item_id"] for i in kept.json()["items"]] == item_ids("v2-", 3)
    scope = ready.json()["scopes"][0]
    assert ready.status_code == 200  # still serving a verified manifest
    assert scope["manifest_version"] == second.manifest_version
    assert "digest" in scope["last_error"]


def test_empty_or_deeply_nested_body_is_400_not_500(
    published: FileStorage, client_for: ClientFactory
) -> None:
    json_header = {"Content-Type": "application/json"}
    with client_for() as client:
        empty = client.post(URL, content=b"", headers=json_header)
        nested = client.post(URL, content=b"[" * 5000 + b"]" * 5000, headers=json_header)
    assert empty.status_code == 400 and "empty" in empty.json()["error"]["message"]
    assert nested.status_code == 400 and "nested" in nested.json()["error"]["message"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (URL, b'{"surface": "\xff"}'),
        ("/v1/recommend/batch", b'{"requests": [{"surface": "\xfe\xff"}]}'),
        ("/v1/similar", b'{"surface": "home", "item_id": "\xc3"}'),
    ],
)
def test_invalid_utf8_in_a_body_is_400_not_500(
    published: FileStorage, client_for: ClientFactory, url: str, body: bytes
) -> None:
    with client_for() as client:
        response = client.post(url, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "request body is not valid UTF-8",
        "request_id": response.headers["X-Request-ID"],
    }


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_fields = st.sampled_from(
    ["surface", "user_id", "session_items", "k", "exclude_items", "exclude_seen", "other"]
)
_bodies = st.dictionaries(_fields, _values | st.just("home"), max_size=6) | _values


def test_arbitrary_json_bodies_never_give_500(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:

        @hyp_settings(max_examples=150, deadline=None)
        @given(body=_bodies)
        def check(body: object) -> None:
            raw = msgspec.json.encode(body)
            response = client.post(URL, content=raw, headers={"Content-Type": "application/json"})
            assert response.status_code in (200, 400, 404), response.text
            if response.status_code == 400:
                assert response.json()["error"]["code"] in ("invalid_request", "bad_request")

        check()
