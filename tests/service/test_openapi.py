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
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
