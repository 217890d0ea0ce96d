"""OpenAPI at /schema: every route's status codes, and request bodies as msgspec checks them.

Litestar leaves some of msgspec's checks out of the schemas it writes, and
recsys_service/openapi_bodies.py adds them to what Litestar generated. The bounds test compares
the served schema with msgspec's own, so it is part of the guard of the narrow litestar pin in
pyproject.toml (with tests/service/test_direct.py): widen it only with both passing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from recsys_service import schemas
from tests.service.builders import api_key
from tests.service.conftest import ClientFactory

BOUNDS = (
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
)


def test_openapi_lists_every_status_code(client_for: ClientFactory) -> None:
    with client_for() as client:
        schema = client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    recommend = paths["/v1/recommend"]["post"]
    assert set(recommend["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "429",
        "503",
    }
    assert {p["name"] for p in recommend["parameters"]} == {"X-API-Key", "X-Tenant"}
    assert recommend["requestBody"]["required"] is True
    similar = paths["/v1/similar"]["post"]
    assert set(similar["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "429",
        "503",
    }
    assert "item_not_found" in similar["responses"]["404"]["description"]
    assert "kind_not_available" in similar["responses"]["404"]["description"]
    batch = paths["/v1/recommend/batch"]["post"]
    assert set(batch["responses"]) == {"200", "400", "401", "403", "413", "415", "429"}
    for path in ("/v1/popular", "/v1/manifests/{surface}"):
        get = paths[path]["get"]
        assert set(get["responses"]) == {"200", "400", "401", "403", "404", "429", "503"}, path
        assert {"X-API-Key", "X-Tenant", "surface"} <= {p["name"] for p in get["parameters"]}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
    assert set(paths["/metrics"]["get"]["responses"]) == {"200"}


def test_every_route_taking_an_api_key_documents_429(client_for: ClientFactory) -> None:
    with client_for() as client:
        paths = client.get("/schema/openapi.json").json()["paths"]
    keyed = [
        (path, method, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if any(p["name"] == "X-API-Key" for p in operation.get("parameters", []))
    ]
    assert len(keyed) >= 5
    for path, method, operation in keyed:
        assert "429" in operation["responses"], (method, path)
        assert "too_many_requests" in operation["responses"]["429"]["description"]
    unlimited = ("/healthz", "/readyz", "/metrics")
    assert all("429" not in op["responses"] for p in unlimited for op in paths[p].values())


def test_admin_only_metrics_documents_401_and_403(client_for: ClientFactory) -> None:
    admin = api_key("ops", "*", "ops-secret")
    with client_for(api_keys=(admin,), metrics_access="admin") as client:
        paths = client.get("/schema/openapi.json").json()["paths"]
    assert set(paths["/metrics"]["get"]["responses"]) == {"200", "401", "403"}


def bounds(schema: dict[str, Any], where: str = "") -> set[tuple[str, object]]:
    """A property's constraints wherever the schema writer put them: on the property, on its
    anyOf/oneOf alternatives (msgspec puts a nullable number's bound there), and on its items."""
    found: set[tuple[str, object]] = set()
    for option in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        for key, value in option.items():
            if key in BOUNDS:
                found.add((where + key, float(value) if isinstance(value, int) else value))
        if isinstance(option.get("items"), dict):
            found |= bounds(option["items"], f"{where}items.")
    return found


def test_request_bodies_document_every_bound_msgspec_checks(client_for: ClientFactory) -> None:
    with client_for() as client:
        documented = client.get("/schema/openapi.json").json()["components"]["schemas"]
    closed = [
        struct
        for name, struct in vars(schemas).items()
        if isinstance(struct, type)
        and issubclass(struct, msgspec.Struct)
        and struct.__struct_config__.forbid_unknown_fields
        and not name.startswith("_")
    ]
    _, truth = msgspec.json.schema_components(closed)
    assert {"RecommendRequest", "SimilarRequest", "BlendWeights"} <= {s.__name__ for s in closed}
    for struct in closed:
        name = struct.__name__
        ours = documented[name]
        assert ours.get("additionalProperties") is False, name
        for field, schema in truth[name]["properties"].items():
            assert bounds(ours["properties"][field]) == bounds(schema), f"{name}.{field}"
