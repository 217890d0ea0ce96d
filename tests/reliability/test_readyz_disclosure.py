"""/readyz tells an unauthenticated caller only whether the process is ready; an admin key gets
the details (scopes, versions, reasons with storage paths and signing key ids)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.contracts import layout
from recsys_algo.store.storage import FileStorage
from tests.reliability.service_world import TENANTS, publish_world, serving_app
from tests.service.builders import OTHER_SIGNING_SPEC, item_ids, publish_popularity, signing_keys
from tests.service.test_auth import ACME_KEY, ADMIN_KEY

CALLERS_WITHOUT_DETAILS = {
    "no key": {},
    "tenant key": {"X-API-Key": ACME_KEY},
    "unknown key": {"X-API-Key": "not-a-key"},
    "X-Tenant without a key": {"X-Tenant": "acme"},
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient[Litestar]]:
    storage = publish_world(tmp_path / "store")
    with TestClient(serving_app(storage)) as test_client:
        # A newer acme manifest signed with a key this service does not know: its reason names
        # the pointer's absolute path and the key ids.
        publish_popularity(
            storage, "acme", "home", item_ids("acme-", 5), keys=signing_keys(OTHER_SIGNING_SPEC)
        )
        test_client.app.state["serving"].refresh()
        yield test_client


@pytest.mark.parametrize("caller", sorted(CALLERS_WITHOUT_DETAILS))
def test_readyz_without_an_admin_key_says_only_whether_it_is_ready(
    client: TestClient[Litestar], caller: str, tmp_path: Path
) -> None:
    response = client.get("/readyz", headers=CALLERS_WITHOUT_DETAILS[caller])
    assert response.status_code == 200
    assert response.json() == {"ready": True}
    text = response.text + str(response.headers)
    for secret in (*TENANTS, "home", str(tmp_path), "test-kid", "other-kid", "file:"):
        assert secret not in text, (caller, secret)


def test_readyz_with_an_admin_key_has_every_scope_and_reason(client: TestClient[Litestar]) -> None:
    response = client.get("/readyz", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200
    body = response.json()
    assert [(s["tenant"], s["surface"]) for s in body["scopes"]] == [(t, "home") for t in TENANTS]
    acme = body["scopes"][0]
    assert (
        "other-kid" in acme["last_error"]
        and layout.pointer_key("acme", "home") in (acme["last_error"])
    )
    assert body["event_log"]["buffer_max"] > 0


def test_readyz_not_ready_is_503_with_the_same_minimal_body(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "store")
    with TestClient(serving_app(storage)) as client:
        response = client.get("/readyz")
        admin = client.get("/readyz", headers={"X-API-Key": ADMIN_KEY})
    assert (response.status_code, response.json()) == (503, {"ready": False})
    assert admin.status_code == 503 and admin.json()["scopes"] == []
