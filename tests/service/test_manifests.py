"""GET /v1/manifests/{surface}: the verified manifest being served, without locations."""

from __future__ import annotations

import pytest

from recsys_algo.contracts import layout
from recsys_algo.store import holds
from recsys_algo.store.storage import FileStorage
from tests.service.builders import (
    item_ids,
    neighbour_rows,
    publish_popularity,
    publish_scope,
    signing_keys,
    tamper_artifact,
)
from tests.service.conftest import ClientFactory, serving_of

URL = "/v1/manifests/home"


def test_manifest_shows_the_served_version_with_digests_metrics_and_lineage(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    published = publish_scope(
        storage,
        "demo",
        "home",
        item_ids("demo-", 20),
        neighbors=neighbour_rows("demo-"),
        parameters={"blend": {"rank_offset": 5.0}},
        metrics={"ndcg_at_10": 0.25},
    )
    with client_for() as client:
        response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == "demo" and body["surface"] == "home"
    assert body["manifest_version"] == published.manifest_version
    assert response.headers["X-Model-Version"] == published.manifest_version
    assert body["as_of"] == published.as_of == "2026-11-20"
    assert body["created_at"] == published.created_at
    assert body["window"] == {"start": "2026-11-14", "end": "2026-11-20", "days": 7}
    assert body["metrics"] == {"ndcg_at_10": 0.25}
    assert body["lineage"]["parameters"] == {"blend": {"rank_offset": 5.0}}
    assert body["lineage"]["code_version"] == "test"
    assert body["previous_version"] is None
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert set(body["artifacts"]) == {"popularity", "cooc", "content_sim", "session_seq"}
    for kind, ref in published.artifacts.items():
        assert body["artifacts"][kind] == {
            "sha256": ref.sha256,
            "bytes": ref.bytes,
            "rows": ref.rows,
            "schema_version": ref.schema_version,
        }
    assert body["artifacts"]["popularity"]["rows"] == 20
    # Storage locations and the signature stay inside the service.
    assert "uri" not in response.text and "signature" not in body


def test_manifest_follows_the_hot_swap_and_names_the_previous_version(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    first = publish_popularity(storage, "demo", "home", item_ids("v1-", 5))
    with client_for() as client:
        before = client.get(URL).json()
        second = publish_popularity(storage, "demo", "home", item_ids("v2-", 5))
        serving_of(client).refresh()
        after = client.get(URL).json()
    assert before["manifest_version"] == first.manifest_version
    assert after["manifest_version"] == second.manifest_version
    assert after["previous_version"] == first.manifest_version


def test_manifest_of_a_tampered_newer_version_is_never_shown(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    good = publish_popularity(storage, "demo", "home", item_ids("v1-", 5))
    with client_for() as client:
        bad = publish_popularity(storage, "demo", "home", item_ids("v2-", 5))
        tamper_artifact(storage, bad)
        serving_of(client).refresh()
        response = client.get(URL)
    assert response.json()["manifest_version"] == good.manifest_version


def test_unverified_scope_is_503_and_unknown_surface_404(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    tamper_artifact(storage, publish_popularity(storage, "demo", "home", item_ids("d", 5)))
    with client_for() as client:
        unverified = client.get(URL)
        unknown = client.get("/v1/manifests/pdp")
    assert unverified.status_code == 503
    assert unverified.json()["error"]["code"] == "not_ready"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "scope_not_found"


@pytest.mark.parametrize("surface", ["Home", "a" * 64, "-x", "h%20me"])
def test_invalid_surface_in_the_path_is_400(
    published: FileStorage, client_for: ClientFactory, surface: str
) -> None:
    with client_for() as client:
        response = client.get(f"/v1/manifests/{surface}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "surface" in response.json()["error"]["message"]


def test_manifest_shows_the_scopes_hold_and_its_release(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    published = publish_popularity(storage, "demo", "home", item_ids("demo-", 5))
    keys = signing_keys()
    with client_for() as client:
        assert client.get(URL).json()["hold"] is None
        holds.write_hold(
            storage, keys, "demo", "home", version=published.manifest_version,
            reason="bad model", by="alice@host", origin="recsys rollback",
        )  # fmt: skip
        body = client.get(URL).json()
        assert body["hold"] == {
            "version": published.manifest_version,
            "reason": "bad model",
            "by": "alice@host",
            "at": body["hold"]["at"],
            "origin": "recsys rollback",
            "error": None,
        }
        # Another tenant's hold is not this one's; a tampered record still holds, saying so.
        holds.write_hold(
            storage, keys, "acme", "home", version=None, reason="x", by="b", origin="o"
        )
        storage.write_bytes(layout.hold_key("demo", "home"), b'{"record": "hold"}')
        tampered = client.get(URL).json()["hold"]
        assert tampered["reason"] is None and "hold record is unsigned" in tampered["error"]
        holds.remove_hold(storage, keys, "demo", "home", reason="fixed", by="a", origin="o")
        assert client.get(URL).json()["hold"] is None
