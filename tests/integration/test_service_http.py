"""Real HTTP: `python -m recsys_service` as a subprocess over a published tmp storage."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recsys_algo.store.storage import FileStorage
from tests.service.builders import (
    SIGNING_SPEC,
    item_ids,
    neighbour_rows,
    publish_popularity,
    publish_scope,
    sha256_hex,
    tamper_artifact,
)
from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
ACME_KEY = "acme-integration-key"
ADMIN_KEY = "ops-integration-key"  # /readyz details need an admin key
STDERR_FILE = "service.stderr"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(storage: FileStorage, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update(
        RECSYS_STORAGE_URL=storage.url,
        RECSYS_SIGNING_KEYS=SIGNING_SPEC,
        RECSYS_WATCH_INTERVAL="1",
        # The default process loader, with this test's own prepared-versions directory.
        RECSYS_PREPARED_DIR=str(Path(storage.root).parent / "prepared"),
        **extra,
    )
    return env


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    # Generous: importing polars, pyarrow and litestar alone took 6-15 s on a loaded 2-core box.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("server did not become healthy")


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    store = FileStorage(tmp_path / "store")
    publish_popularity(store, "acme", "home", item_ids("acme-", 30))
    publish_popularity(store, "beta", "home", item_ids("beta-", 30))
    publish_scope(store, "acme", "pdp", item_ids("acme-", 30), neighbors=neighbour_rows("acme-"))
    return store


@pytest.fixture
def server(storage: FileStorage, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    keys = f"acme-web:acme:{sha256_hex(ACME_KEY)},ops:*:{sha256_hex(ADMIN_KEY)}"
    env = _env(storage, RECSYS_API_KEYS=keys)
    # stderr to a file, not a pipe: one JSON access line per request would fill an unread
    # pipe (64 KiB) within a few hundred requests and block the server on its next write.
    with (tmp_path / STDERR_FILE).open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "recsys_service", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base, proc
    finally:
        stop_process(proc, grace=10)


def test_real_server_serves_recommendations_and_hot_swaps(
    server: tuple[str, subprocess.Popen[bytes]], storage: FileStorage, tmp_path: Path
) -> None:
    base, proc = server
    headers = {"X-API-Key": ACME_KEY, "X-Request-ID": "it-1"}
    with httpx.Client(base_url=base, timeout=5) as client:
        assert client.get("/readyz").status_code == 200
        first = client.post("/v1/recommend", json={"surface": "home", "k": 5}, headers=headers)
        assert first.status_code == 200
        assert [i["item_id"] for i in first.json()["items"]] == item_ids("acme-", 5)
        assert first.headers["X-Request-ID"] == "it-1"
        assert client.post("/v1/recommend", json={"surface": "home"}).status_code == 401

        newer = publish_popularity(storage, "acme", "home", item_ids("new-", 30))
        tampered = publish_popularity(storage, "beta", "home", item_ids("evil-", 30))
        tamper_artifact(storage, tampered)
        deadline = time.monotonic() + 10
        version = first.headers["X-Model-Version"]
        while version != newer.manifest_version and time.monotonic() < deadline:
            time.sleep(0.2)
            swapped = client.post("/v1/recommend", json={"surface": "home"}, headers=headers)
            version = swapped.headers["X-Model-Version"]
        assert version == newer.manifest_version
        assert client.get("/readyz").json() == {"ready": True}  # no key: no details
        ready = client.get("/readyz", headers={"X-API-Key": ADMIN_KEY}).json()
        beta = next(s for s in ready["scopes"] if s["tenant"] == "beta")
        assert beta["manifest_version"] != tampered.manifest_version
        assert beta["last_error"] is not None
        metrics = client.get("/metrics").text
        assert 'recsys_manifest_swaps_total{surface="home",tenant="acme"} 2.0' in metrics
        assert 'reason="ArtifactError",surface="home",tenant="beta"' in metrics
        assert 'route="/v1/recommend",status="200"' in metrics

    os.kill(proc.pid, signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit reflects the signal.
    assert proc.wait(timeout=10) in (0, -signal.SIGTERM)
    stderr = (tmp_path / STDERR_FILE).read_text()
    assert f"recsys-service listening on {base}" in stderr
    assert ACME_KEY not in stderr
    # Everything but the one start-up line is a JSON log line, uvicorn's included.
    logs = [json.loads(line) for line in stderr.splitlines() if not line.startswith("recsys-")]
    assert any(line["logger"].startswith("uvicorn") for line in logs)
    access = [line for line in logs if line["logger"] == "recsys_service.access"]
    first_access = next(line for line in access if line["request_id"] == "it-1")
    assert (first_access["route"], first_access["status"], first_access["tenant"]) == (
        "/v1/recommend",
        200,
        "acme",
    )
    assert any(line["status"] == 401 for line in access)
    # Access lines are written in batches: the last request's line is written by shutdown.
    assert access[-1]["route"] == "/metrics"


def test_real_server_serves_similar_popular_batch_and_manifests(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, _ = server
    headers = {"X-API-Key": ACME_KEY}
    with httpx.Client(base_url=base, timeout=5, headers=headers) as client:
        similar = client.post(
            "/v1/similar", json={"surface": "pdp", "item_id": "acme-000", "kind": "cooc"}
        )
        popular = client.get("/v1/popular", params={"surface": "pdp", "k": 3})
        batch = client.post(
            "/v1/recommend/batch",
            json={"requests": [{"surface": "pdp", "k": 2, "explain": True}, {"surface": "x"}]},
        )
        manifest = client.get("/v1/manifests/pdp")
        stolen = client.get("/v1/manifests/home", headers={"X-Tenant": "beta"})
    assert [i["item_id"] for i in similar.json()["items"]] == item_ids("acme-", 4)[1:]
    assert [i["item_id"] for i in popular.json()["items"]] == item_ids("acme-", 3)
    results = batch.json()["results"]
    assert [r["status"] for r in results] == [200, 404]
    assert all("contributions" in i for i in results[0]["body"]["items"])
    assert manifest.json()["manifest_version"] == similar.headers["X-Model-Version"]
    assert set(manifest.json()["artifacts"]) == {"popularity", "cooc", "content_sim", "session_seq"}
    assert stolen.status_code == 403


def test_open_mode_refuses_a_non_loopback_host(storage: FileStorage) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recsys_service", "--host", "0.0.0.0", "--port", "0"],
        cwd=REPO,
        env=_env(storage),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "refusing to bind 0.0.0.0" in lines[0]


def test_malformed_api_keys_exit_2_without_echoing_them(storage: FileStorage) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recsys_service", "--port", "0"],
        cwd=REPO,
        env=_env(storage, RECSYS_API_KEYS="web:acme:plaintext-secret"),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "plaintext-secret" not in result.stderr.decode()
    assert "RECSYS_API_KEYS" in result.stderr.decode()


def test_hot_swaps_under_concurrent_requests_drop_nothing_and_never_mix_versions(
    server: tuple[str, subprocess.Popen[bytes]], storage: FileStorage
) -> None:
    """Four clients request continuously while three new manifests are published: every
    response is 200 and holds only the items of the version its X-Model-Version names."""
    base, _ = server
    headers = {"X-API-Key": ACME_KEY}
    body = {"surface": "home", "k": 10}
    prefix_of = {
        httpx.post(f"{base}/v1/recommend", json=body, headers=headers).headers[
            "X-Model-Version"
        ]: "acme-"
    }
    stop = threading.Event()
    failures: list[str] = []
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                response = client.post("/v1/recommend", json=body, headers=headers)
                version = response.headers.get("X-Model-Version", "")
                items = [i["item_id"] for i in response.json().get("items", [])]
                with lock:
                    seen[version] = seen.get(version, 0) + 1
                    prefix = prefix_of.get(version)
                    if response.status_code != 200 or len(items) != 10:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                    elif prefix is None or not all(i.startswith(prefix) for i in items):
                        failures.append(f"{version}: mixed or unknown items {items}")

    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while sum(seen.values()) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)  # all clients are requesting before the first swap
        for n in range(3):
            prefix = f"v{n}-"
            with lock:  # known before it can serve
                outcome = publish_popularity(storage, "acme", "home", item_ids(prefix, 30))
                prefix_of[outcome.manifest_version] = prefix
            deadline = time.monotonic() + 15
            while outcome.manifest_version not in seen and time.monotonic() < deadline:
                time.sleep(0.1)
            assert outcome.manifest_version in seen, f"never swapped to {prefix}"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == []
    assert set(seen) == set(prefix_of) and sum(seen.values()) > 20
