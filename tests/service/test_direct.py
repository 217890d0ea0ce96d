"""Direct routes (POST /v1/recommend): what Litestar's parameters gave, without them: the same
documentation, the same checks in the same order, the same body decoding."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recsys_algo.store.storage import FileStorage
from recsys_service.json_body import JsonBody, validation_message
from recsys_service.ratelimit import RateLimit
from recsys_service.schemas import RecommendRequest
from tests.service.builders import api_key
from tests.service.conftest import ClientFactory

ACME_KEY = "acme-direct-key"
KEYS = (api_key("acme-web", "acme", ACME_KEY), api_key("ops", "*", "ops-direct-key"))
URL = "/v1/recommend"
JSON = {"content-type": "application/json"}
ACME = {"X-API-Key": ACME_KEY, **JSON}
REQUEST_REF = "#/components/schemas/RecommendRequest"


def test_the_operation_documents_what_parameters_would(client_for: ClientFactory) -> None:
    with client_for(api_keys=KEYS) as client:
        schema = client.get("/schema/openapi.json").json()
    recommend = schema["paths"][URL]["post"]
    similar = schema["paths"]["/v1/similar"]["post"]  # documented by its parameters
    assert recommend["parameters"] == similar["parameters"]
    assert recommend["requestBody"] == {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RecommendRequest"}}
        },
        "required": True,
    }
    assert schema["components"]["schemas"]["RecommendRequest"]["additionalProperties"] is False
    assert (
        recommend["responses"]["200"] == schema["paths"]["/v1/similar"]["post"]["responses"]["200"]
    )
    assert "documented_body" not in str(recommend)


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        # media type first, then the body, then the key, then the fields
        ({"content-type": "text/plain"}, b"{", 415, "unsupported_media_type"),
        (JSON, b"", 400, "bad_request"),
        (JSON, b'{"surface":', 400, "bad_request"),
        (JSON, b"[" * 5000 + b"]" * 5000, 400, "bad_request"),
        (JSON, b'{"surface": 5}', 401, "unauthorized"),
        ({"X-API-Key": ACME_KEY, "X-Tenant": "Bad!", **JSON}, b'{"k": 0}', 400, "bad_request"),
        ({"X-API-Key": ACME_KEY, "X-Tenant": "beta", **JSON}, b'{"k": 0}', 403, "forbidden"),
        ({"X-API-Key": "ops-direct-key", **JSON}, b'{"k": 0}', 400, "bad_request"),
        (ACME, b'{"k": 0}', 400, "invalid_request"),
        (ACME, b'{"surface": "nope"}', 404, "scope_not_found"),
        (ACME, b'{"surface": "home", "k": "2"}', 200, None),
    ],
)
def test_checks_come_in_the_order_litestar_made_them(
    published: FileStorage,
    client_for: ClientFactory,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str | None,
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, content=body, headers=headers)
    assert response.status_code == status, response.text
    if code is not None:
        error = response.json()["error"]
        assert error["code"] == code
        assert error["request_id"] == response.headers["X-Request-ID"]
    else:
        assert len(response.json()["items"]) == 2


def test_an_invalid_body_still_spends_a_rate_limit_token(
    published: FileStorage, client_for: ClientFactory
) -> None:
    limits = {"acme": RateLimit(rate=0.001, burst=1)}
    with client_for(api_keys=KEYS, rate_limit_tenants=limits) as client:
        first = client.post(URL, content=b'{"k": 0}', headers=ACME)
        second = client.post(URL, content=b'{"surface": "home"}', headers=ACME)
    assert first.status_code == 400
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1


def test_the_size_limit_holds_for_announced_and_streamed_bodies(
    published: FileStorage, client_for: ClientFactory
) -> None:
    big = b'{"surface": "home", "user_id": "' + b"u" * 70_000 + b'"}'

    def chunks() -> Any:
        yield big[:40_000]
        yield big[40_000:]

    with client_for(api_keys=KEYS, max_body_bytes=64 * 1024) as client:
        announced = client.post(URL, content=big, headers=ACME)
        streamed = client.post(URL, content=chunks(), headers=ACME)  # chunked: no length
        bad_length = client.post(URL, content=b"{}", headers={**ACME, "content-length": "x"})
    assert announced.status_code == streamed.status_code == 413
    assert announced.json()["error"]["code"] == "body_too_large"
    assert bad_length.status_code == 400


# Bodies near RecommendRequest: valid ones, lenient spellings ("5", "true"), wrong types,
# broken bounds, unknown keys.
_flag = st.sampled_from([True, False, "true", "false", 1, 0, "yes", None])
_ids = st.lists(st.sampled_from(["a", "b", "", 1, "x" * 300]), max_size=3)
_weights = st.dictionaries(
    st.sampled_from(["cooc", "implicit", "popularity", "magic"]),
    st.one_of(st.floats(-1, 11), st.sampled_from(["1.5", "x", 0, None, True])),
    max_size=3,
)
_documents = st.fixed_dictionaries(
    {"surface": st.sampled_from(["home", "pdp", "Home!", "", 5, None])},
    optional={
        "k": st.one_of(st.integers(-1, 300), st.sampled_from(["5", "2.0", "x", 2.0, 2.5, True])),
        "user_id": st.sampled_from([None, "u-1", "", "u\x01", 7]),
        "session_id": st.sampled_from([None, "s-1", ""]),
        "session_items": st.one_of(st.none(), _ids),
        "exclude_items": _ids,
        "exclude_seen": _flag,
        "explain": _flag,
        "blend_weights": st.one_of(st.none(), _weights),
        "magic": st.just(1),
    },
)
_others = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers()))


@settings(max_examples=400, deadline=None)
@given(document=st.one_of(_documents, _others))
@example(document={"surface": "home", "k": "5", "explain": "true", "exclude_seen": 0})
@example(document={"surface": "home", "k": 2.0, "blend_weights": {"cooc": "1.5"}})
@example(document={"surface": "home", "user_id": None, "session_items": ["a", "b"]})
def test_one_typed_decode_accepts_and_refuses_exactly_what_two_steps_did(document: Any) -> None:
    raw = msgspec.json.encode(document)
    body = JsonBody(RecommendRequest)
    decoded = body.decode(raw)
    try:
        two_steps = msgspec.convert(
            msgspec.json.decode(raw), RecommendRequest, strict=False, str_keys=True
        )
    except msgspec.ValidationError as exc:
        assert decoded is None
        assert validation_message(exc).split(": ", 1)[0]  # names a field or the body
    else:
        assert decoded == two_steps
