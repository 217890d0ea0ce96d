"""Tenant isolation on every data route: a key of tenant A never sees tenant B's data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.store.storage import FileStorage
from tests.service.builders import item_ids, neighbour_rows, publish_scope
from tests.service.conftest import ClientFactory
from tests.service.test_auth import ACME_KEY, ADMIN_KEY, BETA_KEY, KEYS

Call = Callable[[TestClient[Litestar], str, dict[str, str]], httpx.Response]


def _similar(client: TestClient[Litestar], surface: str, headers: dict[str, str]) -> Any:
    body = {"surface": surface, "item_id": "acme-000"}
    return client.post("/v1/similar", json=body, headers=headers)


def _popular(client: TestClient[Litestar], surface: str, headers: dict[str, str]) -> Any:
    return client.get("/v1/popular", params={"surface": surface}, headers=headers)


def _manifest(client: TestClient[Litestar], surface: str, headers: dict[str, str]) -> Any:
    return client.get(f"/v1/manifests/{surface}", headers=headers)


def _batch(client: TestClient[Litestar], surface: str, headers: dict[str, str]) -> Any:
    body = {"requests": [{"surface": surface, "session_items": ["acme-000"]}]}
    return client.post("/v1/recommend/batch", json=body, headers=headers)


ROUTES: dict[str, Call] = {
    "similar": _similar,
    "popular": _popular,
    "manifest": _manifest,
    "batch": _batch,
}


@pytest.fixture
def scopes(neighboured: FileStorage) -> FileStorage:
    """Plus beta/pdp: a surface only tenant beta has."""
    publish_scope(
        neighboured, "beta", "pdp", item_ids("beta-", 20), neighbors=neighbour_rows("beta-")
    )
    return neighboured


@pytest.mark.parametrize("route", ROUTES)
def test_tenant_key_reads_its_own_tenant_only(
    scopes: FileStorage, client_for: ClientFactory, route: str
) -> None:
    with client_for(api_keys=KEYS) as client:
        own = ROUTES[route](client, "home", {"X-API-Key": ACME_KEY})
        named = ROUTES[route](client, "home", {"X-API-Key": ACME_KEY, "X-Tenant": "acme"})
    for response in (own, named):
        assert response.status_code == 200
        assert "acme" in response.text and "beta" not in response.text


@pytest.mark.parametrize("route", ROUTES)
def test_tenant_key_naming_another_tenant_is_403(
    scopes: FileStorage, client_for: ClientFactory, route: str
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = ROUTES[route](client, "home", {"X-API-Key": ACME_KEY, "X-Tenant": "beta"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "beta-" not in response.text


@pytest.mark.parametrize("route", ROUTES)
def test_surface_only_another_tenant_has_is_404(
    scopes: FileStorage, client_for: ClientFactory, route: str
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = ROUTES[route](client, "pdp", {"X-API-Key": ACME_KEY})
    body = response.json()
    if route == "batch":
        assert response.status_code == 200
        assert body["results"][0]["status"] == 404
        assert body["results"][0]["error"]["code"] == "scope_not_found"
    else:
        assert response.status_code == 404
        assert body["error"]["code"] == "scope_not_found"
    assert "beta-" not in response.text


def test_another_tenants_item_is_unknown_to_similar(
    scopes: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = client.post(
            "/v1/similar",
            json={"surface": "home", "item_id": "beta-000"},
            headers={"X-API-Key": ACME_KEY},
        )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "item_not_found"


@pytest.mark.parametrize("route", ROUTES)
def test_admin_key_reads_the_tenant_it_names_and_must_name_one(
    scopes: FileStorage, client_for: ClientFactory, route: str
) -> None:
    with client_for(api_keys=KEYS) as client:
        beta = ROUTES[route](client, "pdp", {"X-API-Key": ADMIN_KEY, "X-Tenant": "beta"})
        unnamed = ROUTES[route](client, "home", {"X-API-Key": ADMIN_KEY})
        beta_own = ROUTES[route](client, "pdp", {"X-API-Key": BETA_KEY})
    assert unnamed.status_code == 400
    # The admin sees exactly what beta's own key sees.
    assert beta.status_code == beta_own.status_code
    assert _without_request_ids(beta.json()) == _without_request_ids(beta_own.json())
    if route in ("popular", "manifest"):
        assert beta.status_code == 200 and "beta" in beta.text


def _without_request_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_request_ids(v) for k, v in value.items() if k != "request_id"}
    if isinstance(value, list):
        return [_without_request_ids(v) for v in value]
    return value


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_missing_or_unknown_key_is_401(
    scopes: FileStorage, client_for: ClientFactory, route: str, headers: dict[str, str]
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = ROUTES[route](client, "home", headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("route", ROUTES)
def test_open_mode_never_serves_other_tenants(
    scopes: FileStorage, client_for: ClientFactory, route: str
) -> None:
    with client_for() as client:
        response = ROUTES[route](client, "home", {"X-Tenant": "acme"})
    assert response.status_code == 403
    assert "acme-" not in response.text
