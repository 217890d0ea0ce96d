"""Start and stop a real PostgreSQL server (Debian's `postgresql`; scripts/ensure_servers.sh).

initdb refuses to run as root, so as root the server runs as the `postgres` system user in a
directory of its own under /tmp (pytest's tmp dirs are mode 700 and owned by root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

SUPERUSER = "postgres"
RUN_AS = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    workdir: Path
    bindir: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A fresh database for one test; returns its DSN."""
        conn = psycopg2.connect(self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.dsn(name)

    def env(self, dbname: str) -> dict[str, str]:
        """The variables docker/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": SUPERUSER,
            "DAGSTER_PG_PASSWORD": "unused-trust-auth",
            "DAGSTER_PG_DB": dbname,
        }


def bindir() -> Path:
    """The newest installed server's bin directory (initdb is not on PATH on Debian)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(
            "no PostgreSQL server binaries (initdb): run scripts/ensure_servers.sh "
            "(make test does) or `apt-get install -y postgresql`"
        )
    return Path(initdb).parent


def _major(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], log: Path) -> None:
    """Run a server tool, as the postgres user when we are root."""
    command = args
    if os.geteuid() == 0:
        command = ["runuser", "-u", RUN_AS, "--", *args]
    with log.open("ab") as out:
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=120)


def start(timeout: float = 30.0) -> PostgresServer:
    workdir = Path(tempfile.mkdtemp(prefix="recsys-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, RUN_AS, RUN_AS)
    try:
        return _start_in(workdir, bindir(), timeout)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _start_in(workdir: Path, tools: Path, timeout: float) -> PostgresServer:
    # server.log is written by the server (as postgres); tools.log by us.
    data, log, tools_log = workdir / "data", workdir / "server.log", workdir / "tools.log"
    _run(
        [str(tools / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
         "--no-instructions"],
        tools_log,
    )  # fmt: skip
    port = _free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off"
    _run(
        [str(tools / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"],
        tools_log,
    )
    server = PostgresServer("127.0.0.1", port, workdir, tools)
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(server.dsn(), connect_timeout=2).close()
            return server
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                stop(server)
                raise RuntimeError(f"PostgreSQL did not answer on port {port}: see {log}") from None
            time.sleep(0.1)


def halt(server: PostgresServer) -> None:
    """Stop the server the hard way (as a crash would), keeping its data for resume()."""
    _run([str(server.bindir / "pg_ctl"), "-D", str(server.workdir / "data"), "-m", "immediate",
          "stop"], server.workdir / "tools.log")  # fmt: skip


def resume(server: PostgresServer, timeout: float = 30.0) -> None:
    """Start a halted server again on its port; returns once it answers."""
    options = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {server.workdir} -c fsync=off"
    _run(
        [str(server.bindir / "pg_ctl"), "-D", str(server.workdir / "data"), "-l",
         str(server.workdir / "server.log"), "-w", "-o", options, "start"],
        server.workdir / "tools.log",
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(server.dsn(), connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(server: PostgresServer) -> None:
    data = server.workdir / "data"
    # A failed start leaves nothing running: pg_ctl's error is expected then.
    with contextlib.suppress(subprocess.CalledProcessError):
        _run([str(server.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
             server.workdir / "tools.log")  # fmt: skip
    shutil.rmtree(server.workdir, ignore_errors=True)
