"""Whether a CLI run's process lives, as the daemon's run monitoring asks the run launcher."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from recsys_pipelines.run_health import (
    HEARTBEAT_TAG,
    HOST_TAG,
    PID_TAG,
    RUNNER_TAG,
    STALE_AFTER_SECONDS,
    MonitoredRunLauncher,
    cli_run_tags,
    cli_worker_verdict,
)

NOW = 1_800_000_000.0


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def tags(**changes: str) -> dict[str, str]:
    return {**cli_run_tags(now=NOW), **changes}


def test_a_live_cli_process_with_a_fresh_heartbeat_is_alive() -> None:
    verdict = cli_worker_verdict(tags(), NOW + 5, host=tags()[HOST_TAG])
    assert verdict is not None and verdict.alive
    assert tags()[PID_TAG] == str(os.getpid()) and tags()[RUNNER_TAG] == "cli"


def test_a_dead_pid_on_this_host_is_dead_at_once() -> None:
    run_tags = tags(**{PID_TAG: str(dead_pid())})
    verdict = cli_worker_verdict(run_tags, NOW + 1, host=run_tags[HOST_TAG])
    assert verdict is not None and not verdict.alive and "is gone" in verdict.reason


def test_on_another_host_only_the_heartbeat_tells() -> None:
    run_tags = tags(**{PID_TAG: str(dead_pid()), HOST_TAG: "elsewhere"})
    fresh = cli_worker_verdict(run_tags, NOW + STALE_AFTER_SECONDS - 1, host="here")
    stale = cli_worker_verdict(run_tags, NOW + STALE_AFTER_SECONDS + 1, host="here")
    assert fresh is not None and fresh.alive
    assert stale is not None and not stale.alive and "no heartbeat for 61 s" in stale.reason


@pytest.mark.parametrize("beat", ["", "soon"])
def test_a_heartbeat_that_is_not_a_time_is_dead(beat: str) -> None:
    verdict = cli_worker_verdict(tags(**{HEARTBEAT_TAG: beat}), NOW, host="elsewhere")
    assert verdict is not None and not verdict.alive


def test_runs_the_launcher_started_are_left_to_its_code_server() -> None:
    assert cli_worker_verdict({"dagster/partition": "x"}, NOW, host="h") is None
    launcher = MonitoredRunLauncher()
    run = dg.DagsterRun(job_name="daily_partition", run_id="r1", tags={})
    assert launcher.supports_check_run_worker_health
    assert launcher.check_run_worker_health(run).status.value == "RUNNING"
    dead = dg.DagsterRun(
        job_name="daily_partition", run_id="r2", tags=tags(**{PID_TAG: str(dead_pid())})
    )
    assert launcher.check_run_worker_health(dead).status.value == "FAILED"
