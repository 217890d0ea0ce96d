"""OpenAPI at /schema lists every status code each route can return."""

from __future__ import annotations

from tests.service.builders import api_key
from tests.service.conftest import ClientFactory


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
