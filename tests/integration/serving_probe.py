"""The service as a real process over a storage, asked over HTTP which version it serves; and the
GraphQL an operator's UI sends to run a schedule's next tick by hand ("Test schedule")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.integration.dagster_procs import DagsterStack
from tests.service.builders import sha256_hex
from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
API_KEY = "ui-flows-key"

SCHEDULE_DRY_RUN = """
mutation($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult {
        runRequests { runKey tags { key value } runConfigYaml }
        skipReason
        error { message }
      }
    }
    ... on PythonError { message }
  }
}
"""
LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


@dataclass
class Service:
    base: str
    tenant: str
    surface: str

    def manifest(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base}/v1/manifests/{self.surface}", headers={"X-API-Key": API_KEY}, timeout=5
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def recommended_version(self) -> str:
        response = httpx.post(
            f"{self.base}/v1/recommend",
            json={"surface": self.surface, "k": 3},
            headers={"X-API-Key": API_KEY},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return response.headers["X-Model-Version"]

    def wait_for_version(self, version: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        seen = self.recommended_version()
        while seen != version:
            assert time.monotonic() < deadline, f"still serving {seen}, not {version}"
            time.sleep(0.5)
            seen = self.recommended_version()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_service(
    storage_url: str, key_spec: str, tenant: str, surface: str, log: Path
) -> Iterator[Service]:
    """`python -m recsys_service` on a free loopback port, one API key for tenant."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update(
        RECSYS_STORAGE_URL=storage_url,
        RECSYS_SIGNING_KEYS=key_spec,
        RECSYS_WATCH_INTERVAL="1",
        RECSYS_PREPARED_DIR=str(log.parent / "prepared"),
        RECSYS_API_KEYS=f"ops:{tenant}:{sha256_hex(API_KEY)}",
    )
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys_service", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    service = Service(f"http://127.0.0.1:{port}", tenant, surface)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"service exited: {log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{service.base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"service not ready: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        yield service
    finally:
        stop_process(process, grace=10)


def scheduled_run_request(
    stack: DagsterStack,
    repository: dict[str, str],
    schedule: str,
    tick: float,
    scope_tag: tuple[str, str],
) -> dict[str, Any]:
    """The run request the schedule makes at `tick` for one scope (the UI's "Test schedule")."""
    selector = {**repository, "scheduleName": schedule}
    dry = stack.graphql(SCHEDULE_DRY_RUN, {"selector": selector, "timestamp": tick})
    result = dry["scheduleDryRun"]["evaluationResult"]
    assert result["error"] is None and result["skipReason"] is None, result
    [request] = [
        r
        for r in result["runRequests"]
        if {"key": scope_tag[0], "value": scope_tag[1]} in r["tags"]
    ]
    return dict(request)


def launch_run(
    stack: DagsterStack, repository: dict[str, str], job: str, request: dict[str, Any]
) -> str:
    """launchRun with a run request's tags and config (the dry run's "Launch run" button)."""
    params = {
        "selector": {**repository, "jobName": job},
        "runConfigData": yaml.safe_load(request["runConfigYaml"] or "{}") or {},
        "executionMetadata": {"tags": request["tags"]},
    }
    launched = stack.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return str(launched["run"]["runId"])
