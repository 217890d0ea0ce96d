"""Shared by bench/service.py and bench/soak.py: the server, wrk, RSS and version samplers."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench_store import (
    SIGNING_SPEC,
    SURFACE,
    TENANT,
    Background,
    BenchStore,
    build_store,
    log,
)

from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
WRK_DIR = Path(__file__).resolve().parent / "wrk"
API_KEY = "bench-load-key"  # a throwaway key for a loopback server; never a real secret
ADMIN_KEY = "bench-admin-key"  # reads /readyz details (scopes and versions)


def machine_info() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load} (1/5/15 min) at the end"
    )


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    def workers(self) -> list[int]:
        """The worker processes: uvicorn's are children started by multiprocessing's
        spawn_main, granian's are forks of its own command."""
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        marks = (b"spawn_main", b"granian")
        return [int(c) for c in children if any(m in _cmdline(int(c)) for m in marks)]

    def rss_mb(self) -> dict[int, float]:
        return {pid: rss_mb(pid) for pid in self.workers()}

    def pss_mb(self) -> dict[int, float]:
        """Proportional set size: a page mapped by N workers counts 1/N in each."""
        return {pid: pss_mb(pid) for pid in self.workers()}

    def loaders(self) -> list[int]:
        """Loader children (python -m recsys_service.loader_child) of the workers, now."""
        found = []
        for worker in self.workers():
            # Children of every thread: the poller that starts loaders is not the main thread.
            for task in Path(f"/proc/{worker}/task").glob("*/children"):
                with contextlib.suppress(FileNotFoundError):
                    pids = [int(c) for c in task.read_text().split()]
                    found += [p for p in pids if b"recsys_service.loader_child" in _cmdline(p)]
        return found

    def children_cpu_seconds(self) -> float:
        """CPU time of the workers' finished children (the loaders): /proc stat cutime+cstime."""
        total = 0
        for worker in self.workers():
            fields = Path(f"/proc/{worker}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16, 17)
        return total / os.sysconf("SC_CLK_TCK")

    def served_versions(self) -> set[str]:
        admin = {"X-API-Key": ADMIN_KEY}
        body = httpx.get(f"{self.base}/readyz", headers=admin, timeout=5).json()
        return {s["manifest_version"] for s in body["scopes"] if s["manifest_version"]}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def rss_mb(pid: int) -> float:
    """VmRSS of one process from /proc (no psutil dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/smaps_rollup has no Pss line")


def api_keys_env() -> str:
    admin = hashlib.sha256(ADMIN_KEY.encode()).hexdigest()
    return f"bench:{TENANT}:{hashlib.sha256(API_KEY.encode()).hexdigest()},ops:*:{admin}"


# ASGI servers the benchmarks can run an app under, each with `workers` processes on loopback.
SERVERS = ("uvicorn", "granian")


def granian_command(target: str, port: int, workers: int, *, factory: bool) -> list[str]:
    """granian's ASGI interface with the same workers (its defaults otherwise: one runtime
    thread, the uvloop event loop when installed, as uvicorn)."""
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--no-ws", "--log-level", "warning",
        "--no-access-log", *(["--factory"] if factory else []), target,
    ]  # fmt: skip


@contextmanager
def serve(
    store: BenchStore,
    workers: int,
    extra_env: dict[str, str] | None = None,
    server: str = "uvicorn",
    exposures: bool = True,
) -> Iterator[Server]:
    """`python -m recsys_service --workers N` over the store (or the same app factory under
    granian); ready when every worker serves."""
    port = free_port()
    # A fresh prepared-versions directory: the first load is a full build, as after a deploy.
    prepared = store.root.parent / f"{store.root.name}-prepared"
    shutil.rmtree(prepared, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update(
        RECSYS_STORAGE_URL=store.storage.url,
        RECSYS_SIGNING_KEYS=SIGNING_SPEC,
        RECSYS_API_KEYS=api_keys_env(),
        RECSYS_SCOPES=f"{TENANT}.{SURFACE}",
        RECSYS_WATCH_INTERVAL="1",
        RECSYS_PREPARED_DIR=str(prepared),
        OPENBLAS_NUM_THREADS="1",
        **(extra_env or {}),
    )
    entry = ["-m", "recsys_service"] if exposures else [str(BENCH / "service_no_exposures.py")]
    cmd = [sys.executable, *entry, "--port", str(port), "--workers", str(workers)]
    if server == "granian":
        factory = "recsys_service.__main__" if exposures else "service_no_exposures"
        cmd = granian_command(f"{factory}:worker_app", port, workers, factory=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))
    # The server's own output (access logs, when configured) goes to a file: on the console it
    # would drown the report, and an unread pipe would block the server under load.
    log_path = store.root.parent / f"{store.root.name}-service.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    log(f"service output: {log_path}")
    server = Server(proc, f"http://127.0.0.1:{port}")
    try:
        _wait_ready(server, workers)
        yield server
    finally:
        stop_process(proc, grace=60)


# The bare app on the service's own uvicorn protocol (one socket write per response).
_PLAIN_JOINED = (
    "import sys, uvicorn; from recsys_service.http_limits import LimitedHttpToolsProtocol as P; "
    "uvicorn.run('plain_app:app', port=int(sys.argv[1]), workers=int(sys.argv[2]), http=P, "
    "log_level='warning', access_log=False)"
)


@contextmanager
def serve_plain(
    workers: int, timeout: float = 120.0, server: str = "uvicorn", joined_writes: bool = False
) -> Iterator[str]:
    """bench/plain_app.py under uvicorn (or granian) with `workers` processes; yields its base
    URL. joined_writes: on the service's protocol (recsys_service.coalesced_writes)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "plain_app:app", "--port", str(port), "--workers",
        str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    if joined_writes:
        cmd = [sys.executable, "-c", _PLAIN_JOINED, str(port), str(workers)]
    if server == "granian":
        cmd = granian_command("plain_app:app", port, workers, factory=False)
    proc = subprocess.Popen(cmd, cwd=Path(__file__).parent, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the plain app exited with {proc.returncode} while starting")
            try:
                if httpx.get(f"{base}/plain", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the plain app did not answer within {timeout:.0f} s")
            time.sleep(0.3)
        time.sleep(2)  # the other workers finish importing
        yield base
    finally:
        stop_process(proc, grace=30)


def _wait_ready(server: Server, workers: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"the service exited with {server.proc.returncode} while starting")
        try:
            ready = httpx.get(f"{server.base}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            ready = False
        if ready and len(server.workers()) == workers:
            return
        time.sleep(0.5)
    raise SystemExit(f"the service was not ready with {workers} workers within {timeout:.0f} s")


# --- wrk -------------------------------------------------------------------------------------


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu)")
    return path


@dataclass(frozen=True)
class WrkResult:
    label: str
    requests: int
    seconds: float
    latency_us: dict[str, float]  # p50, p90, p99, p99.9, max, mean
    errors: dict[str, int]  # connect, read, write, timeout; status = responses >= 400
    statuses: dict[int, int]  # only when the script counts them (BENCH_COUNT_STATUS=1)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))

    def count(self, low: int, high: int) -> int:
        return sum(n for status, n in self.statuses.items() if low <= status <= high)


def run_wrk(
    label: str, url: str, script: str, *, seconds: float, connections: int, threads: int,
    env: dict[str, str] | None = None,
) -> WrkResult:  # fmt: skip
    """wrk with a Lua script whose done() prints one `BENCH_JSON {...}` line; parse it."""
    cmd = [
        require_wrk(), "--latency", "-t", str(threads), "-c", str(connections),
        "-d", f"{seconds:g}s", "--timeout", "5s", "-s", str(WRK_DIR / script), url,
    ]  # fmt: skip
    full_env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), **(env or {})}
    log(f"wrk {label}: {connections} connections, {threads} threads, {seconds:g} s")
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
    if out.returncode != 0 or not lines:
        raise SystemExit(
            f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout[-500:]}"
        )
    data = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    return WrkResult(
        label=label,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        latency_us={k: float(v) for k, v in data["latency_us"].items()},
        errors={k: int(v) for k, v in data["errors"].items()},
        statuses={int(k): int(v) for k, v in data.get("statuses", {}).items()},
    )


def recommend_env(store: BenchStore, **extra: str) -> dict[str, str]:
    """What bench/wrk/recommend.lua reads: the user list, the key and the surface."""
    return {
        "BENCH_USERS": str(store.users_file),
        "BENCH_API_KEY": API_KEY,
        "BENCH_SURFACE": SURFACE,
        **extra,
    }


def ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def print_wrk_table(results: list[WrkResult]) -> None:
    print("| endpoint | requests/s | p50 (ms) | p99 (ms) | max (ms) | non-2xx | socket errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        lat = r.latency_us
        print(
            f"| {r.label} | {r.rps:,.0f} | {ms(lat['p50'])} | {ms(lat['p99'])} | "
            f"{ms(lat['max'])} | {r.errors['status']} | {r.socket_errors} |"
        )


# --- samplers running beside a wrk run -------------------------------------------------------


@dataclass
class Sampler(Background):
    """Every `interval` s: the versions /readyz reports and each worker's RSS, until stopped."""

    server: Server
    interval: float
    versions: set[str] = field(default_factory=set)
    first_seen: dict[str, float] = field(default_factory=dict)  # version -> monotonic time
    rss: list[tuple[float, dict[int, float]]] = field(default_factory=list)  # (t, pid -> MB)
    loader_rss_peak: float = 0.0  # MB, the largest loader child seen
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        start = time.monotonic()
        while True:
            try:
                seen = self.server.served_versions()
                for version in seen - self.versions:
                    self.first_seen[version] = time.monotonic()
                self.versions |= seen
                self.rss.append((time.monotonic() - start, self.server.rss_mb()))
                for loader in self.server.loaders():
                    with contextlib.suppress(FileNotFoundError, RuntimeError):
                        self.loader_rss_peak = max(self.loader_rss_peak, rss_mb(loader))
            except (httpx.HTTPError, OSError, ValueError) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            if self._stop.wait(self.interval):
                return


# --- command line shared by the scripts ------------------------------------------------------


def add_common_args(parser: argparse.ArgumentParser) -> None:
    default_store = Path(tempfile.gettempdir()) / "recsys-bench-service-store"
    parser.add_argument(
        "--store", type=Path, default=default_store,
        help=f"directory of the bench store, built once and reused (default {default_store})",
    )  # fmt: skip
    parser.add_argument(
        "--users", type=int, default=100_000,
        help="synthetic user population; about half act in 2M events, giving ~50k known users",
    )  # fmt: skip
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--events-per-day", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    # One wrk thread drives 27k requests/s of the plain app here; a second only competes with
    # the server for the 2 cores (plain app, 16 connections: p99 4.1 ms with 2, 1.3 ms with 1).
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")


def store_from_args(args: argparse.Namespace) -> BenchStore:
    require_wrk()  # before a build of minutes, not after
    return build_store(
        args.store, users=args.users, items=args.items, events_per_day=args.events_per_day,
        days=args.days, seed=args.seed,
    )  # fmt: skip


def wait_served(server: Server, version: str, timeout: float = 60.0) -> bool:
    """True once /readyz reports `version` served (either worker may answer: ask repeatedly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if version in server.served_versions():
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return False
