"""Secrets never in logs or responses; timing-safe key lookup; hostile names, sizes and types."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.contracts import layout
from recsys_service import auth
from tests.reliability.service_world import (
    DATA_ENDPOINTS,
    EVENTS,
    IDENTITIES,
    PUBLIC_ENDPOINTS,
    SECRETS,
    call,
    other_tenants_items,
    publish_world,
    serving_app,
)
from tests.service.builders import SIGNING_SPEC
from tests.service.test_auth import ADMIN_KEY, KEYS

MAX_BODY = 4096
SIGNING_SECRET = SIGNING_SPEC.split(":", 1)[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_world(tmp_path_factory.mktemp("world") / "store").root


@pytest.fixture
def client(world: Path) -> Iterator[TestClient[Litestar]]:
    from recsys_algo.store.storage import FileStorage

    with TestClient(serving_app(FileStorage(world), max_body_bytes=MAX_BODY)) as test_client:
        yield test_client


# --- secrets -----------------------------------------------------------------------------------


def test_keys_and_signing_secrets_never_appear_in_logs_responses_or_metrics(
    world: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from recsys_algo.store.storage import FileStorage

    storage = FileStorage(world)
    bodies: list[str] = []
    app = serving_app(storage, max_body_bytes=MAX_BODY)
    with caplog.at_level(logging.DEBUG), TestClient(app) as client:
        for endpoint in {**DATA_ENDPOINTS, **PUBLIC_ENDPOINTS, "events": EVENTS}.values():
            for headers in IDENTITIES.values():
                response = call(client, endpoint, headers)
                bodies.append(response.text + str(response.headers))
        for bad in (b"{", b"x" * (MAX_BODY + 1)):  # failing requests log too
            response = client.post("/v1/recommend", content=bad, headers={"X-API-Key": ADMIN_KEY})
            bodies.append(response.text)
        # A broken manifest makes the poller log its reason (the signing path).
        pointer = world / layout.pointer_key("acme", "home")
        saved = pointer.read_bytes()
        pointer.write_bytes(saved.replace(b'"as_of":"', b'"as_of":"1'))
        try:
            client.app.state["serving"].refresh()
        finally:
            pointer.write_bytes(saved)
        # Last, so the metrics have counted all of the above (statuses, the load failure).
        scraped = [client.get("/metrics", headers=h) for h in IDENTITIES.values()]
        bodies += [r.text + str(r.headers) for r in scraped]
    assert "recsys_manifest_load_failures_total{" in scraped[0].text  # the scrape saw it
    printed = capfd.readouterr()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records) + printed.out + printed.err
    assert "keeping" in logged  # the capture really saw the service's log lines
    secrets = (*SECRETS, SIGNING_SECRET, *(hashlib.sha256(s.encode()).hexdigest() for s in SECRETS))
    for secret in secrets:
        assert secret not in logged, secret
        assert not [b for b in bodies if secret in b], secret


def test_key_lookup_compares_fixed_length_digests_with_every_key() -> None:
    compared: list[tuple[int, int]] = []
    original = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return original(a, b)

    auth.hmac.compare_digest = spy  # type: ignore[assignment]
    try:
        # Each configured key (first, middle, last: an early exit shows whatever the order),
        # and misses of every length.
        for presented in (*SECRETS[:3], "", "x" * 10_000, "ünïcödé"):
            compared.clear()
            auth.find_key(KEYS, presented)
            # Every configured key is compared (no early exit on a match or a miss), always
            # 32 bytes against 32 bytes, whatever the length of what was presented.
            assert compared == [(32, 32)] * len(KEYS), presented
    finally:
        auth.hmac.compare_digest = original


# --- hostile names -----------------------------------------------------------------------------

HOSTILE = [
    "../acme",
    "..",
    "acme/../beta",
    "a/b",
    "a\\b",
    "acme\x00",
    "x" * 1_000,
    "ACME",
    "acmé",
    "\uff41\uff43\uff4d\uff45",  # fullwidth acme
    " acme",
    "",
]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_surface_names_are_400_and_read_nothing(
    client: TestClient[Litestar], name: str
) -> None:
    key = {"X-API-Key": IDENTITIES["own-key"]["X-API-Key"]}
    responses = [
        client.post("/v1/recommend", json={"surface": name}, headers=key),
        client.post("/v1/similar", json={"surface": name, "item_id": "acme-000"}, headers=key),
        client.get("/v1/popular", params={"surface": name}, headers=key),
    ]
    for response in responses:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_request"
        assert other_tenants_items(response.text) == []


@pytest.mark.parametrize("name", ["..%2Fbeta", "%2E%2E", "a%00", "x" * 300, "%C3%A9"])
def test_hostile_surface_in_the_path_never_reads_another_scope(
    client: TestClient[Litestar], name: str
) -> None:
    response = client.get(f"/v1/manifests/{name}", headers=IDENTITIES["own-key"])
    assert response.status_code in (400, 404), response.text
    assert "beta" not in response.text


@pytest.mark.parametrize("tenant", ["../beta", "beta/..", "beta\x00", "BETA", "x" * 100])
def test_hostile_tenant_header_is_400_for_admin(client: TestClient[Litestar], tenant: str) -> None:
    response = client.get(
        "/v1/popular",
        params={"surface": "home"},
        headers={"X-API-Key": ADMIN_KEY, "X-Tenant": tenant},
    )
    assert response.status_code == 400, response.text
    assert other_tenants_items(response.text) == []


@pytest.mark.parametrize("item", ["../beta-000", "beta-000", "\x00", "x" * 257, "é" * 200])
def test_hostile_item_ids_never_reach_another_tenant(
    client: TestClient[Litestar], item: str
) -> None:
    key = IDENTITIES["own-key"]
    similar = client.post("/v1/similar", json={"surface": "home", "item_id": item}, headers=key)
    assert similar.status_code in (400, 404), similar.text
    rec = client.post(
        "/v1/recommend", json={"surface": "home", "session_items": [item]}, headers=key
    )
    assert rec.status_code in (200, 400), rec.text
    for response in (similar, rec):
        # An error may echo the caller's own input back; nothing else of beta's may appear.
        assert other_tenants_items(response.text.replace(item, "")) == []


# --- sizes and content types -------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["announced", "chunked"])
@pytest.mark.parametrize("path", ["/v1/recommend", "/v1/similar", "/v1/recommend/batch"])
def test_oversized_body_is_413(client: TestClient[Litestar], path: str, streamed: bool) -> None:
    body = b'{"surface": "home", "pad": "' + b"x" * MAX_BODY + b'"}'
    headers = {**IDENTITIES["own-key"], "Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must count what arrives
        yield from (body[i : i + 1000] for i in range(0, len(body), 1000))

    response = client.post(path, content=chunks() if streamed else body, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(client: TestClient[Litestar], content_type: str) -> None:
    response = client.post(
        "/v1/recommend",
        content=b'{"surface": "home"}',
        headers={**IDENTITIES["own-key"], "Content-Type": content_type},
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


# --- the CLI and pipeline names ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../acme", "a/b", "acme\x00", "x" * 100, "ACME", "acmé"])
def test_cli_refuses_hostile_tenant_names_with_exit_2(tmp_path: Path, name: str) -> None:
    from recsys_pipelines.cli import main

    result = CliRunner().invoke(
        main,
        ["manifests", "--tenant", name, "--surface", "home"],
        env={"RECSYS_STORAGE_URL": (tmp_path / "s").as_uri(), "RECSYS_SIGNING_KEYS": SIGNING_SPEC},
    )
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*"))
