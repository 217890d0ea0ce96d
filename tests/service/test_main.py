"""`python -m recsys_service`: argument and bind checks, and one real 2-worker server."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar

from recsys_algo.store.storage import FileStorage
from recsys_service.__main__ import is_loopback, main, worker_app
from tests.service.builders import SIGNING_SPEC, item_ids, publish_popularity
from tests.support.processes import stop_process
from tests.support.service_process import running_service

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def _clear_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "RECSYS_API_KEYS",
        "RECSYS_SCOPES",
        "RECSYS_WATCH_INTERVAL",
        "RECSYS_LOG_LEVEL",
        "RECSYS_RATE_LIMIT",
        "RECSYS_RATE_LIMIT_TENANTS",
        "RECSYS_METRICS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECSYS_STORAGE_URL", "file:///nonexistent-recsys-store")


def test_open_mode_on_public_host_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clear_env(monkeypatch)
    assert main(["--host", "0.0.0.0", "--port", "8000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RECSYS_API_KEYS" in err[0]


@pytest.mark.parametrize("interval", ["0", "31", "soon"])
def test_bad_watch_interval_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], interval: str
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setenv("RECSYS_WATCH_INTERVAL", interval)
    assert main(["--port", "8000"]) == 2
    assert "RECSYS_WATCH_INTERVAL" in capsys.readouterr().err


def test_bad_port_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_env(monkeypatch)
    assert main(["--port", "70000"]) == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECSYS_LOG_LEVEL", "loud"),
        ("RECSYS_RATE_LIMIT", "fast"),
        ("RECSYS_RATE_LIMIT_TENANTS", "acme"),
        ("RECSYS_METRICS", "maybe"),
        ("RECSYS_MAX_HEADER_BYTES", "100"),
        ("RECSYS_MAX_HEADERS", "many"),
    ],
)
def test_bad_observability_settings_exit_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setenv(name, value)
    assert main(["--port", "8000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]


@pytest.mark.parametrize("workers", ["0", "-1", "65"])
def test_workers_out_of_range_exits_2_naming_the_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    _clear_env(monkeypatch)
    assert main(["--workers", workers]) == 2
    assert f"--workers {workers} is invalid" in capsys.readouterr().err


def test_workers_do_not_lift_the_open_mode_bind_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clear_env(monkeypatch)
    assert main(["--host", "0.0.0.0", "--workers", "2"]) == 2
    assert "RECSYS_API_KEYS" in capsys.readouterr().err


@pytest.mark.parametrize(("workers", "factory"), [(1, False), (3, True)])
def test_workers_choose_app_object_or_factory_import_string(
    monkeypatch: pytest.MonkeyPatch, workers: int, factory: bool
) -> None:
    _clear_env(monkeypatch)
    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    assert main(["--workers", str(workers), "--port", "8123"]) == 0
    [(app, kwargs)] = calls
    assert kwargs["workers"] == workers and kwargs["factory"] is factory
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8123
    if factory:
        # The string must resolve to the factory uvicorn's workers will call.
        module, _, name = str(app).partition(":")
        assert getattr(importlib.import_module(module), name) is worker_app
    else:
        assert isinstance(app, Litestar)


def _workers(pid: int) -> list[int]:
    """Worker processes of a uvicorn supervisor (its multiprocessing resource tracker excluded)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    cmdlines = {int(c): Path(f"/proc/{c}/cmdline").read_bytes() for c in children}
    return [c for c, cmd in cmdlines.items() if b"spawn_main" in cmd]


def test_two_workers_serve_from_two_child_processes(tmp_path: Path) -> None:
    store = FileStorage(tmp_path / "store")
    publish_popularity(store, "demo", "home", item_ids("demo-", 10))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update(RECSYS_STORAGE_URL=store.url, RECSYS_SIGNING_KEYS=SIGNING_SPEC)
    cmd = [sys.executable, "-m", "recsys_service", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        workers = _wait_for_workers(proc, base, 2)
        with httpx.Client(base_url=base, timeout=5) as client:
            answers = [client.post("/v1/recommend", json={"surface": "home", "k": 3}) for _ in "ab"]
        assert [r.status_code for r in answers] == [200, 200]
        assert answers[0].json()["items"][0]["item_id"] == "demo-000"
        assert all(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        stop_process(proc, grace=20)
        assert proc.stderr is not None
        proc.stderr.close()
    # The supervisor stops its workers before it exits.
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def _wait_for_workers(proc: subprocess.Popen[bytes], base: str, n: int) -> list[int]:
    # Generous: each worker imports polars, pyarrow and litestar: 6-15 s on a loaded 2-core box,
    # 90 s seen with 8 test suites running at once.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited early with {proc.returncode}"
        workers = _workers(proc.pid)
        try:
            ready = httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            ready = False
        if ready and len(workers) == n:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"no {n} ready workers within 180 s (workers: {_workers(proc.pid)})")


@pytest.mark.parametrize("value", [",,,", " ", "", " , ,"])
def test_an_api_key_list_that_names_no_key_exits_2_instead_of_opening_the_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setenv("RECSYS_API_KEYS", value)
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(app))
    assert main(["--port", "8123"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RECSYS_API_KEYS is set but names no key" in err[0], err
    assert started == []


def test_open_mode_logs_a_warning_when_the_service_starts(tmp_path: Path) -> None:
    store = FileStorage(tmp_path / "store")
    with running_service(store.url, tmp_path, RECSYS_LOADER="thread") as service:
        pass
    err = service.stderr.read_text()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    warnings = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert any("open mode" in message for message in warnings), err
