"""make demo: generate synthetic data, materialize 14 days, serve, and show three real responses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
RECSYS = str(BIN / "recsys")
TENANT, SURFACE, START, DAYS = "demo", "home", "2026-11-01", 14
END = "2026-11-14"


def run(*args: str) -> None:
    print(f"\n$ recsys {' '.join(args)}", flush=True)
    subprocess.run([RECSYS, *args], check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(
    base: str, path: str, body: dict[str, object] | None = None
) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (base is our own http://127.0.0.1 URL)
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http only)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the service exited early with code {proc.returncode}")
        try:
            status, _ = call(base, "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("demo: the service did not become ready in time")


def main() -> int:
    run("generate", "--tenant", TENANT, "--surface", SURFACE, "--start", START, "--days", str(DAYS))
    run("materialize", "--tenant", TENANT, "--surface", SURFACE, "--start", START, "--end", END)
    run("manifests", "--tenant", TENANT, "--surface", SURFACE)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"\n$ recsys serve --port {port}", flush=True)
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEYS"}  # open loopback mode
    proc = subprocess.Popen([RECSYS, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        wait_ready(base, proc)
        _, popular = call(base, "/v1/recommend", {"surface": SURFACE, "k": 5})
        items = [str(i["item_id"]) for i in popular["items"]]  # type: ignore[index, union-attr]
        requests = [
            {"surface": SURFACE, "k": 5},
            # A user the implicit model knows: answered from its precomputed top-N, blended.
            {"surface": SURFACE, "user_id": "user-42", "k": 5, "exclude_items": items[:2]},
            # An anonymous session: neighbours of what was just viewed, plus fold-in.
            {"surface": SURFACE, "session_items": items[:3], "exclude_seen": True, "k": 5},
        ]
        for body in requests:
            status, response = call(base, "/v1/recommend", body)
            print(f"\nPOST /v1/recommend {json.dumps(body)}\n-> {status}")
            print(json.dumps(response, indent=2))
            if status != 200:
                return 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("\ndemo: done; the service was stopped. Run `make dev` for the Dagster UI.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
