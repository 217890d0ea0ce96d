"""Real HTTP: exposures and outcome events of a running service are ingested by the pipeline."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl

from recsys_algo.contracts.canonical import from_parquet_bytes
from recsys_algo.contracts.names import Partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.window import read_canonical
from recsys_algo.store.storage import FileStorage
from tests.integration.test_service_http import REPO, _env, _free_port, _wait_healthy
from tests.service.builders import item_ids, publish_popularity, sha256_hex
from tests.service.landing_reads import landing_days

KEY = "acme-events-key"
ADMIN_KEY = "ops-events-key"  # /readyz details need an admin key


def test_events_and_exposures_written_by_the_server_are_ingested(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "store")
    manifest = publish_popularity(storage, "acme", "home", item_ids("acme-", 30))
    port = _free_port()
    # Flush only at shutdown: SIGTERM must not lose what the buffer holds.
    env = _env(
        storage,
        RECSYS_API_KEYS=f"acme-web:acme:{sha256_hex(KEY)},ops:*:{sha256_hex(ADMIN_KEY)}",
        RECSYS_EVENTS_FLUSH_INTERVAL="300",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "recsys_service", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": KEY}
    try:
        _wait_healthy(base, proc, timeout=120)  # imports are slow on a loaded 2-core box
        with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
            shown = client.post(
                "/v1/recommend",
                json={"surface": "home", "k": 5, "user_id": "u-1"},
                headers={"X-Request-ID": "it-req-1"},
            )
            assert shown.status_code == 200
            clicked = shown.json()["items"][2]["item_id"]
            now = dt.datetime.now(dt.UTC).isoformat()
            click = {"ts": now, "surface": "home", "item_id": clicked, "event_type": "click"}
            click |= {"user_id": "u-1", "request_id": "it-req-1", "rank": 2}
            accepted = client.post("/v1/events", json={"events": [click]})
            assert accepted.status_code == 202, accepted.text
            ready = client.get("/readyz", headers={"X-API-Key": ADMIN_KEY}).json()
            assert ready["event_log"]["held"] == 6
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
    assert KEY not in stderr

    days = landing_days(storage, "acme", "home")
    assert days, "the stopped service left no landing file: what it accepted was lost"
    frames = []
    for day in days:
        partition = Partition("acme", "home", day)
        report = ingest_partition(storage, partition)
        assert report.quarantined == 0, report.reasons
        canonicalize_partition(storage, partition)
        data = read_canonical(storage, "acme", "home", day)
        assert data is not None
        frames.append(from_parquet_bytes(data))
    rows = pl.concat(frames)
    exposures = rows.filter(pl.col("event_type") == "exposure").sort("rank")
    assert exposures["item_id"].to_list() == [i["item_id"] for i in shown.json()["items"]]
    assert exposures["rank"].to_list() == [0, 1, 2, 3, 4]
    assert set(exposures["request_id"]) == {"it-req-1"}
    assert set(exposures["user_id"]) == {"u-1"}
    assert shown.headers["X-Model-Version"] == manifest.manifest_version
    clicks = rows.filter(pl.col("event_type") == "click")
    assert clicks.select("item_id", "request_id", "rank").rows() == [(clicked, "it-req-1", 2)]
