"""Start and stop a real `dagster-webserver` and `dagster-daemon` on a given Dagster instance.

Each process gets its own session (process group), so stopping it with SIGTERM (then SIGKILL)
also stops the code server and run workers it spawned. Logs go to files; every error raised
here ends with their tails, because a failure inside Dagster is only visible there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from dagster_graphql import DagsterGraphQLClient

REPO = Path(__file__).resolve().parents[2]
INSTANCE_CONFIG = REPO / "docker" / "dagster.yaml"
WORKSPACE = REPO / "workspace.yaml"
LOG_TAIL_LINES = 40

_WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

_DAEMONS_QUERY = """
query {
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } }
}
"""


class DagsterProcessError(RuntimeError):
    """A Dagster process did not start or did not become ready; the message holds the log tails."""


@dataclass
class DagsterProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class DagsterStack:
    """A webserver (and, once started, a daemon) sharing one DAGSTER_HOME and environment."""

    home: Path
    port: int
    env: dict[str, str]
    processes: list[DagsterProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST one GraphQL document; top-level GraphQL errors raise with the log tails."""
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=60,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise DagsterProcessError(f"GraphQL errors: {body['errors']}\n{self.log_tails()}")
        data: dict[str, Any] = body["data"]
        return data

    def log_tails(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(_tail(proc, lines) for proc in self.processes)

    def has_daemon(self) -> bool:
        return any(proc.name == "dagster-daemon" for proc in self.processes)

    def start_daemon(self, timeout: float = 90.0) -> None:
        """Start `dagster-daemon run` and wait until the daemons the instance needs are healthy."""
        if self.has_daemon():
            return
        self.processes.append(
            _spawn("dagster-daemon", ["run", "-w", str(WORKSPACE)], self.home, self.env)
        )
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            statuses = self.graphql(_DAEMONS_QUERY)["instance"]["daemonHealth"]
            required = [s for s in statuses["allDaemonStatuses"] if s["required"]]
            if required and all(s["healthy"] for s in required):
                return
            if time.monotonic() > deadline:
                raise DagsterProcessError(
                    f"dagster-daemon not healthy after {timeout:.0f} s: {required}\n"
                    f"{self.log_tails()}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM each process group, SIGKILL what is left after a grace period."""
        for proc in reversed(self.processes):
            _stop(proc.process)
        self.processes.clear()

    def _check_alive(self) -> None:
        for proc in self.processes:
            code = proc.process.poll()
            if code is not None:
                raise DagsterProcessError(
                    f"{proc.name} exited with code {code}\n{self.log_tails()}"
                )


def prepare_home(home: Path, instance_config: Path = INSTANCE_CONFIG) -> Path:
    """A DAGSTER_HOME holding the given instance config (the production one by default)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(instance_config, home / "dagster.yaml")
    return home


def start_webserver(home: Path, env: Mapping[str, str], timeout: float = 90.0) -> DagsterStack:
    """`dagster-webserver -w workspace.yaml` on a free 127.0.0.1 port, code location loaded.

    env is added to this process's environment (PATH and the like are needed by the children).
    """
    full_env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        **env,
        "DAGSTER_HOME": str(home),
    }
    stack = DagsterStack(home=home, port=_free_port(), env=full_env)
    args = ["-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(stack.port)]
    stack.processes.append(_spawn("dagster-webserver", args, home, full_env))
    try:
        _wait_for_workspace(stack, timeout)
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_for_workspace(stack: DagsterStack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        stack._check_alive()
        try:
            data = stack.graphql(_WORKSPACE_QUERY)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.3)
            continue
        workspace = data["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise DagsterProcessError(f"workspace error: {workspace}\n{stack.log_tails()}")
        entries = workspace["locationEntries"]
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            failed = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
            if failed:
                raise DagsterProcessError(
                    f"code location failed to load: {failed}\n{stack.log_tails()}"
                )
            return
        last = f"locations {entries}"
        time.sleep(0.3)
    raise DagsterProcessError(
        f"dagster-webserver not ready after {timeout:.0f} s ({last})\n{stack.log_tails()}"
    )


def _spawn(name: str, args: list[str], home: Path, env: Mapping[str, str]) -> DagsterProcess:
    executable = Path(sys.executable).parent / name
    if not executable.exists():
        raise DagsterProcessError(f"no {executable}: run `make install`")
    log = home / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(executable), *args],
            cwd=REPO,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches its children
        )
    return DagsterProcess(name, process, log)


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # The leader may be gone while children of its group (code server, run workers) linger.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)


def _tail(proc: DagsterProcess, lines: int) -> str:
    try:
        text = proc.log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"--- {proc.name}: cannot read {proc.log}: {exc}"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {proc.log}:\n{tail}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
