"""Runs whose process died are marked failed: CLI runs beat a heart, Dagster's run monitoring asks.

`recsys materialize` runs in its own process, outside any run launcher, yet records its runs in
the shared instance with the scope's tags: killed with -9 it would leave its run STARTED and
hold the scope's concurrency slot forever. So each CLI run carries who runs it (host, pid) and
a heartbeat tag a thread renews; the instance's run launcher (MonitoredRunLauncher, named in
dagster.yaml and docker/dagster.yaml) tells the daemon's run monitoring whether that worker
lives: on the same host the pid answers at once, elsewhere a heartbeat older than
STALE_AFTER_SECONDS does. Runs the launcher started itself are its code server's to report
(Dagster marks those failed when their process dies) and count as running here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import dagster as dg

# No public export: the run-launcher extension point's own types (dagster-k8s uses the same).
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus

RUNNER_TAG = "recsys/runner"
HOST_TAG = "recsys/host"
PID_TAG = "recsys/pid"
HEARTBEAT_TAG = "recsys/heartbeat"  # Unix seconds of the last beat
CLI_RUNNER = "cli"
HEARTBEAT_SECONDS = 10.0
# Six missed beats: a stalled database write or a paused VM is not a death.
STALE_AFTER_SECONDS = 60.0


def cli_run_tags(now: float | None = None) -> dict[str, str]:
    """The tags a CLI run starts with: who runs it, and a first heartbeat."""
    return {
        RUNNER_TAG: CLI_RUNNER,
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        HEARTBEAT_TAG: f"{time.time() if now is None else now:.0f}",
    }


@contextlib.contextmanager
def heartbeat(
    instance: dg.DagsterInstance, run_id: str, every: float = HEARTBEAT_SECONDS
) -> Iterator[None]:
    """Renew the run's heartbeat tag every `every` seconds while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            # The run may not be recorded yet, or SQLite busy: the next beat tries again.
            with contextlib.suppress(Exception):
                instance.add_run_tags(run_id, {HEARTBEAT_TAG: f"{time.time():.0f}"})

    thread = threading.Thread(target=beat, name=f"recsys-heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every)


@dataclass(frozen=True)
class Verdict:
    alive: bool
    reason: str


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def cli_worker_verdict(
    tags: Mapping[str, str], now: float, host: str, stale_after: float = STALE_AFTER_SECONDS
) -> Verdict | None:
    """Whether the CLI process of a run lives (None: not a CLI run, nothing to say)."""
    if tags.get(RUNNER_TAG) != CLI_RUNNER:
        return None
    pid, beat = tags.get(PID_TAG, ""), tags.get(HEARTBEAT_TAG, "")
    where = f"recsys CLI process {tags.get(HOST_TAG, '?')}:{pid or '?'}"
    if tags.get(HOST_TAG) == host and pid.isdigit() and not _pid_alive(int(pid)):
        return Verdict(False, f"{where} is gone (killed?): its run can no longer finish")
    try:
        age = now - float(beat)
    except ValueError:
        return Verdict(False, f"{where}: heartbeat tag {beat!r} is not a time")
    if age > stale_after:
        return Verdict(False, f"{where}: no heartbeat for {age:.0f} s (limit {stale_after:.0f} s)")
    return Verdict(True, f"{where}: heartbeat {age:.0f} s ago")


class MonitoredRunLauncher(dg.DefaultRunLauncher):
    """Dagster's default launcher, plus a worker health check for runs the CLI executes."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        verdict = cli_worker_verdict(run.tags, time.time(), socket.gethostname())
        if verdict is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "launched by the code server")
        status = WorkerStatus.RUNNING if verdict.alive else WorkerStatus.FAILED
        return CheckRunHealthResult(status, verdict.reason)


def execute_recorded(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    partition_key: str,
    run_config: Mapping[str, object],
) -> dg.ExecuteInProcessResult:
    """execute_in_process, as a CLI run the daemon's run monitoring can judge: tagged with its
    host and pid and beating a heart while it runs (an ephemeral instance needs none of it).
    However the process is stopped short of a kill, its run is not left STARTED."""
    if instance.is_ephemeral:
        return job.execute_in_process(
            partition_key=partition_key, instance=instance, run_config=run_config,
            raise_on_error=False,
        )  # fmt: skip
    run_id = str(uuid.uuid4())
    try:
        with heartbeat(instance, run_id):
            return job.execute_in_process(
                partition_key=partition_key, instance=instance, run_config=run_config,
                raise_on_error=False, run_id=run_id, tags=cli_run_tags(),
            )  # fmt: skip
    finally:
        # Dagster fails the run itself when its steps are interrupted; an interrupt between
        # its own handlers (at start, at the end) would leave it STARTED.
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, "the recsys CLI stopped before the run finished")
