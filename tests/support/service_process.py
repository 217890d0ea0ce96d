"""`python -m recsys_service` as a real process for tests: a free loopback port, wait, stop."""

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

import httpx

from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Service:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    stderr: Path  # the JSON log lines, once stopped

    def rss_kib(self) -> int:
        """Resident memory of the serving process, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")


@contextmanager
def running_service(store_url: str, workdir: Path, **env_vars: str) -> Iterator[Service]:
    """The service on a free loopback port with only these RECSYS_* variables; stopped (by its
    pid) on exit. Its stderr goes to a file: an unread pipe would fill and block the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update(RECSYS_STORAGE_URL=store_url, **env_vars)
    port = free_port()
    stderr = workdir / f"service-{port}.stderr"
    cmd = [sys.executable, "-m", "recsys_service", "--host", "127.0.0.1", "--port", str(port)]
    with stderr.open("wb") as err:
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    service = Service(f"http://127.0.0.1:{port}", port, process, stderr)
    try:
        # Generous: the imports alone took 6-15 s on a loaded 2-core machine.
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"server exited with {process.returncode}"
            try:
                if httpx.get(f"{service.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not answer /healthz in 120 s"
            time.sleep(0.1)
        yield service
    finally:
        stop_process(process, grace=20)
