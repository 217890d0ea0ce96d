"""GET /healthz and GET /readyz (200 iff every known scope has a verified manifest loaded)."""

from __future__ import annotations

from recsys_algo.store.storage import FileStorage
from tests.service.builders import item_ids, publish_popularity, tamper_artifact
from tests.service.conftest import ClientFactory


def test_healthz_is_ok_even_with_nothing_published(client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ready_lists_every_scope(published: FileStorage, client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert [(s["tenant"], s["surface"]) for s in body["scopes"]] == [
        ("acme", "home"),
        ("beta", "home"),
        ("demo", "home"),
    ]
    scope = body["scopes"][0]
    assert scope["manifest_version"] and scope["as_of"] == "2026-11-20"
    assert scope["age_seconds"] >= 0 and scope["loaded_at"].endswith("Z")
    assert scope["last_error"] is None


def test_readyz_not_ready_without_any_scope(client_for: ClientFactory) -> None:
    with client_for() as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["scopes"] == []


def test_readyz_not_ready_when_one_scope_is_tampered(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_popularity(storage, "demo", "home", item_ids("d", 5))
    bad = publish_popularity(storage, "demo", "pdp", item_ids("p", 5))
    tamper_artifact(storage, bad)
    with client_for() as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    scopes = {s["surface"]: s for s in response.json()["scopes"]}
    assert scopes["home"]["manifest_version"] is not None
    assert scopes["pdp"]["manifest_version"] is None
    assert "digest" in scopes["pdp"]["last_error"]


def test_readyz_without_signing_keys_reports_every_scope_and_serves_nothing(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(signing_keys=None) as client:
        ready = client.get("/readyz")
        recommend = client.post("/v1/recommend", json={"surface": "home"})
    assert ready.status_code == 503
    scopes = ready.json()["scopes"]
    assert len(scopes) == 3
    assert all("no signing keys" in s["last_error"] for s in scopes)
    assert recommend.status_code == 503
    assert recommend.json()["error"]["code"] == "not_ready"
