"""The user's path through real processes: generate, materialize, serve over HTTP, roll back."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import msgspec
import pytest

from recsys_algo.contracts import layout
from recsys_algo.kinds.artifacts import decode_artifact
from recsys_algo.store.storage import open_storage
from tests.support.processes import stop_process

BIN = Path(sys.executable).parent
KEYS = "e2e-1:" + "5a" * 32
TENANT, SURFACE = "e2e", "home"
API_KEY = "e2e-secret-key"
HEADERS = {"X-API-Key": API_KEY}


def recommend(base: str, k: int) -> httpx.Response:
    return httpx.post(f"{base}/v1/recommend", json={"surface": SURFACE, "k": k}, headers=HEADERS)


def recsys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "recsys"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp_path = tmp_path_factory.mktemp("e2e")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "DAGSTER_"))}
    return {
        **base,
        "RECSYS_STORAGE_URL": (tmp_path / "store").as_uri(),
        "RECSYS_SIGNING_KEYS": KEYS,
        "DAGSTER_HOME": str(home),
        "RECSYS_WATCH_INTERVAL": "1",
        "RECSYS_PREPARED_DIR": str(tmp_path / "prepared"),
        "RECSYS_API_KEYS": f"e2e-client:{TENANT}:{hashlib.sha256(API_KEY.encode()).hexdigest()}",
    }


@pytest.fixture(scope="module")
def published(env: dict[str, str]) -> dict[str, str]:
    scope = ["--tenant", TENANT, "--surface", SURFACE]
    done = recsys(
        env, "generate", *scope, "--start", "2026-11-01", "--days", "3", "--events-per-day", "3000"
    )
    assert done.returncode == 0, done.stderr
    # The default blend's session MRR falls as the window fills (0.29 -> 0.21 on day 3 here:
    # more kinds outvote revisit and session_knn), which the gate rightly blocks; this test is
    # about the path from landing to serving, so it publishes past the gate, on the record.
    done = recsys(
        env, "materialize", *scope, "--start", "2026-11-01", "--end", "2026-11-03",
        "--override-quality-gate", "e2e: the path, not the blend",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(as_of 2026-11-03)" in done.stdout
    return env


@pytest.fixture
def service(published: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """A running service; tests compare against the current pointer, so order does not matter."""
    port = free_port()
    log = tmp_path / "service.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(BIN / "recsys"), "serve", "--port", str(port)],
            env=published,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("service did not become ready")
        yield base
    finally:
        stop_process(proc)


def test_materialize_records_runs_in_the_sqlite_dagster_instance(published: dict[str, str]) -> None:
    with dg.DagsterInstance.from_config(published["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert instance.get_dynamic_partitions("scopes") == [f"{TENANT}.{SURFACE}"]


def test_served_items_are_the_published_popularity_top_k(
    service: str, published: dict[str, str]
) -> None:
    response = recommend(service, 10)
    assert response.status_code == 200
    body = response.json()
    storage = open_storage(published["RECSYS_STORAGE_URL"])
    manifest = msgspec.json.decode(storage.read_bytes(layout.pointer_key(TENANT, SURFACE)))
    assert body["manifest_version"] == manifest["manifest_version"]
    ref = manifest["artifacts"]["popularity"]
    table = decode_artifact(storage.read_bytes(ref["uri"]), "popularity", ref["uri"])
    assert [i["item_id"] for i in body["items"]] == table["item_id"].to_pylist()[:10]
    assert {i["source"] for i in body["items"]} == {"popularity"}


def test_rollback_is_picked_up_by_the_running_service(
    service: str, published: dict[str, str]
) -> None:
    before = recommend(service, 3)
    done = recsys(published, "rollback", "--tenant", TENANT, "--surface", SURFACE)
    assert done.returncode == 0, done.stderr
    target = done.stdout.strip().split("-> ")[1].split(" ")[0]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = recommend(service, 3)
        assert now.status_code == 200  # no failed request during the swap
        if now.headers["x-model-version"] == target:
            break
        time.sleep(0.2)
    else:
        pytest.fail("service never served the rolled-back version")
    assert before.headers["x-model-version"] != target
