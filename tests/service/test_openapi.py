"""OpenAPI at /schema lists every status code each route can return."""

from __future__ import annotations

from tests.service.conftest import ClientFactory


def test_openapi_lists_every_status_code(client_for: ClientFactory) -> None:
    with client_for() as client:
        schema = client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    recommend = paths["/v1/recommend"]["post"]
    assert set(recommend["responses"]) == {"200", "400", "401", "403", "404", "413", "415", "503"}
    assert {p["name"] for p in recommend["parameters"]} == {"X-API-Key", "X-Tenant"}
    assert recommend["requestBody"]["required"] is True
    similar = paths["/v1/similar"]["post"]
    assert set(similar["responses"]) == {"200", "400", "401", "403", "404", "413", "415", "503"}
    assert "item_not_found" in similar["responses"]["404"]["description"]
    assert "kind_not_available" in similar["responses"]["404"]["description"]
    batch = paths["/v1/recommend/batch"]["post"]
    assert set(batch["responses"]) == {"200", "400", "401", "403", "413", "415"}
    for path in ("/v1/popular", "/v1/manifests/{surface}"):
        get = paths[path]["get"]
        assert set(get["responses"]) == {"200", "400", "401", "403", "404", "503"}, path
        assert {"X-API-Key", "X-Tenant", "surface"} <= {p["name"] for p in get["parameters"]}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
