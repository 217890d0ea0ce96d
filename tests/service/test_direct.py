"""Direct routes (POST /v1/recommend) answer as Litestar's own handling of a route does.

recsys_service.direct and json_body re-do what Litestar gives a route through its `data`
parameter, the principal dependency and the require_json guard: the checks, their order, their
errors, the response headers. The parity tests below compare /v1/recommend with /v1/similar,
a route Litestar handles itself (the same guard, parameter and dependency), so they hold on
whichever Litestar is installed. They guard the narrow litestar pin in pyproject.toml: widen
it only with these passing on the new version.
"""

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
REFERENCE = "/v1/similar"  # Litestar's own parameters, dependency and guard
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


Outcome = tuple[int, str | None, str | None]


def outcome(response: Any) -> Outcome:
    """Status, error code and error message: what a client can tell apart."""
    if response.status_code == 200:
        return 200, None, None
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


# Every refusal before the route's own work, as each check words it. Bodies that fail on a
# field name one both request types share, so both routes fail on the same field.
REFUSALS = [
    pytest.param({"content-type": "text/plain"}, b"{", id="415-not-json"),
    pytest.param({**ACME, "content-type": "application/xml"}, b'{"k": 0}', id="415-xml"),
    pytest.param({}, b'{"k": 0}', id="415-no-content-type"),
    pytest.param(JSON, b"", id="400-empty"),
    pytest.param(JSON, b'{"surface":', id="400-malformed"),
    pytest.param(JSON, b"[" * 5000 + b"]" * 5000, id="400-too-deep"),
    pytest.param(ACME, b'{"surface": "\xff"}', id="400-not-utf8"),
    pytest.param(JSON, b'{"surface": 5}', id="401-before-fields"),
    pytest.param({"X-API-Key": "not-a-key", **JSON}, b'{"k": 0}', id="401-unknown-key"),
    pytest.param({**ACME, "X-Tenant": "Bad!"}, b'{"k": 0}', id="400-bad-tenant"),
    pytest.param({**ACME, "X-Tenant": "beta"}, b'{"k": 0}', id="403-other-tenant"),
    pytest.param({"X-API-Key": "ops-direct-key", **JSON}, b'{"k": 0}', id="400-admin-no-tenant"),
    pytest.param(ACME, b'{"k": 0}', id="400-below-bound"),
    pytest.param(ACME, b'{"k": "x"}', id="400-wrong-type"),
    pytest.param(ACME, b'{"surface": 5}', id="400-not-a-string"),
    pytest.param(ACME, b'{"surface": "Home!"}', id="400-pattern"),
    pytest.param(ACME, b'{"magic": 1}', id="400-unknown-field"),
    pytest.param(ACME, b"{}", id="400-missing-field"),
    pytest.param(ACME, b"[1]", id="400-array"),
    pytest.param(ACME, b'"home"', id="400-string"),
    pytest.param(
        {**ACME, "content-type": "Application/JSON; charset=utf-8"},
        b'{"k": 201}',
        id="400-above-bound-charset",
    ),
    pytest.param(
        {**ACME, "content-type": "application/vnd.recsys+json"},
        b'{"exclude_items": [""]}',
        id="400-item-bound-plus-json",
    ),
]


@pytest.mark.parametrize(("headers", "body"), REFUSALS)
def test_refusals_match_litestars_own_route(
    published: FileStorage, client_for: ClientFactory, headers: dict[str, str], body: bytes
) -> None:
    with client_for(api_keys=KEYS) as client:
        direct = outcome(client.post(URL, content=body, headers=headers))
        litestar = outcome(client.post(REFERENCE, content=body, headers=headers))
    assert direct == litestar
    assert direct[0] != 200


def test_size_refusals_match_litestars_own_route(
    published: FileStorage, client_for: ClientFactory
) -> None:
    big = b'{"surface": "home", "item_id": "' + b"u" * 70_000 + b'"}'

    def chunks() -> Any:
        yield big[:40_000]
        yield big[40_000:]

    def refusals(client: Any, url: str) -> list[Outcome]:
        return [
            outcome(client.post(url, content=big, headers=ACME)),
            outcome(client.post(url, content=chunks(), headers=ACME)),  # chunked: no length
            outcome(client.post(url, content=b"{}", headers={**ACME, "content-length": "x"})),
        ]

    with client_for(api_keys=KEYS, max_body_bytes=64 * 1024) as client:
        direct, litestar = refusals(client, URL), refusals(client, REFERENCE)
    assert direct == litestar
    assert [(status, code) for status, code, _ in direct] == [
        (413, "body_too_large"),
        (413, "body_too_large"),
        (400, "bad_request"),
    ]


def test_an_answer_carries_the_headers_litestars_response_gives(
    neighboured: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS) as client:
        direct = client.post(URL, json={"surface": "home", "k": 2}, headers=ACME)
        litestar = client.post(
            REFERENCE, json={"surface": "home", "item_id": "acme-000"}, headers=ACME
        )
    assert direct.status_code == litestar.status_code == 200
    assert direct.headers.keys() == litestar.headers.keys()
    for name in ("content-type", "x-model-version"):
        assert direct.headers[name] == litestar.headers[name], name


@pytest.mark.parametrize("url", [URL, REFERENCE])
def test_an_invalid_body_still_spends_a_rate_limit_token(
    published: FileStorage, client_for: ClientFactory, url: str
) -> None:
    limits = {"acme": RateLimit(rate=0.001, burst=1)}
    with client_for(api_keys=KEYS, rate_limit_tenants=limits) as client:
        first = client.post(url, content=b'{"k": 0}', headers=ACME)
        second = client.post(url, content=b'{"surface": "home", "item_id": "x"}', headers=ACME)
    assert first.status_code == 400
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1


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
