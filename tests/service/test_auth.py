"""X-API-Key auth: 401s, tenant isolation, admin keys with X-Tenant, open mode serves only demo."""

from __future__ import annotations

import pytest

from recsys_algo.store.storage import FileStorage
from recsys_service.auth import find_key
from tests.service.builders import api_key, item_ids, publish_popularity
from tests.service.conftest import ClientFactory

URL = "/v1/recommend"
ACME_KEY, BETA_KEY, ADMIN_KEY = "acme-secret", "beta-secret", "admin-secret"
KEYS = (
    api_key("acme-web", "acme", ACME_KEY),
    api_key("beta-web", "beta", BETA_KEY),
    api_key("ops", "*", ADMIN_KEY),
)


def _ids(response_json: dict[str, list[dict[str, str]]]) -> list[str]:
    return [i["item_id"] for i in response_json["items"]]


def test_find_key_matches_only_the_exact_key() -> None:
    assert find_key(KEYS, ACME_KEY) is KEYS[0]
    assert find_key(KEYS, ADMIN_KEY) is KEYS[2]
    assert find_key(KEYS, ACME_KEY + "x") is None
    assert find_key(KEYS, "") is None


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
def test_missing_or_unknown_key_is_401(
    published: FileStorage, client_for: ClientFactory, headers: dict[str, str]
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"surface": "home"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "wrong" not in response.text


def test_tenant_key_reads_only_its_own_tenant(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS) as client:
        acme = client.post(URL, json={"surface": "home", "k": 200}, headers={"X-API-Key": ACME_KEY})
        beta = client.post(URL, json={"surface": "home", "k": 200}, headers={"X-API-Key": BETA_KEY})
        steal = client.post(
            URL,
            json={"surface": "home", "k": 200},
            headers={"X-API-Key": ACME_KEY, "X-Tenant": "beta"},
        )
    assert acme.status_code == 200 and beta.status_code == 200
    assert _ids(acme.json()) == item_ids("acme-", 50)
    assert _ids(beta.json()) == item_ids("beta-", 50)
    assert steal.status_code == 403
    assert "beta-" not in steal.text


def test_tenant_key_may_name_its_own_tenant(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = client.post(
            URL,
            json={"surface": "home", "k": 3},
            headers={"X-API-Key": ACME_KEY, "X-Tenant": "acme"},
        )
    assert _ids(response.json()) == item_ids("acme-", 3)


def test_tenant_key_gets_404_for_a_surface_only_another_tenant_has(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_popularity(storage, "acme", "home", item_ids("acme-", 5))
    publish_popularity(storage, "beta", "pdp", item_ids("beta-", 5))
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"surface": "pdp"}, headers={"X-API-Key": ACME_KEY})
    assert response.status_code == 404
    assert "beta-" not in response.text


def test_admin_key_reads_the_tenant_it_names(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS) as client:
        beta = client.post(
            URL,
            json={"surface": "home", "k": 3},
            headers={"X-API-Key": ADMIN_KEY, "X-Tenant": "beta"},
        )
        acme = client.post(
            URL,
            json={"surface": "home", "k": 3},
            headers={"X-API-Key": ADMIN_KEY, "X-Tenant": "acme"},
        )
    assert _ids(beta.json()) == item_ids("beta-", 3)
    assert _ids(acme.json()) == item_ids("acme-", 3)


@pytest.mark.parametrize("tenant_header", [None, "Bad Tenant", "../acme"])
def test_admin_key_without_valid_x_tenant_is_400(
    published: FileStorage, client_for: ClientFactory, tenant_header: str | None
) -> None:
    headers = {"X-API-Key": ADMIN_KEY}
    if tenant_header is not None:
        headers["X-Tenant"] = tenant_header
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"surface": "home"}, headers=headers)
    assert response.status_code == 400
    assert "X-Tenant" in response.json()["error"]["message"]


def test_open_mode_serves_demo_without_a_key(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home", "k": 200})
    assert response.status_code == 200
    assert _ids(response.json()) == item_ids("demo-", 50)


@pytest.mark.parametrize("tenant", ["acme", "beta"])
def test_open_mode_never_serves_other_tenants(
    published: FileStorage, client_for: ClientFactory, tenant: str
) -> None:
    with client_for() as client:
        response = client.post(URL, json={"surface": "home"}, headers={"X-Tenant": tenant})
    assert response.status_code == 403
    assert f"{tenant}-" not in response.text


def test_open_mode_without_demo_published_is_404(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_popularity(storage, "acme", "home", item_ids("acme-", 5))
    with client_for() as client:
        response = client.post(URL, json={"surface": "home"})
    assert response.status_code == 404
