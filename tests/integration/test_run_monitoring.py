"""A `recsys materialize` killed with -9 does not hold its scope's queue beyond run monitoring.

The production instance (docker/dagster.yaml on a real PostgreSQL server), the real daemon, a
real CLI process sharing DAGSTER_HOME with it: the CLI run starts, is killed, and a run of the
same scope queued behind it must start once the daemon's run monitoring has looked, instead of
waiting forever behind a run left STARTED.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from recsys_algo.contracts.names import scope_key
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import open_storage
from recsys_pipelines.definitions import DAILY_JOB
from tests.integration.dagster_procs import DagsterStack, prepare_home, start_webserver
from tests.integration.postgres import PostgresServer
from tests.integration.serving_probe import launch_run
from tests.pipelines.conftest import DAY0, KEY_SPEC, SMALL_DATA_PARAMS, catalog_rows, event_lines

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Using (a DocumentNode|variable_values):DeprecationWarning:gql"
    ),
]

TENANT, SURFACE = "killed", "home"
SCOPE = scope_key(TENANT, SURFACE)
POLL_SECONDS = 5  # run_monitoring.poll_interval_seconds for this test (30 in the shipped files)
# The queued run must leave the queue within: one monitoring pass, one dequeue pass (the
# coordinator's loop), and slack for a loaded 2-core machine.
DEADLINE = POLL_SECONDS + 5 + 40

RUNS = """
query($tag: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition/scope", value: $tag}]}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}
"""
EVENTS = """
query($id: ID!) {
  logsForRun(runId: $id) {
    ... on EventConnection { events { __typename ... on MessageEvent { message } } }
  }
}
"""


REPOSITORY = """
query { repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }
"""


def launch_partition_run(stack: DagsterStack, partition: str, day: str) -> str:
    """launchRun of one partition with the tags the UI sets (what the schedule does too)."""
    [repo] = stack.graphql(REPOSITORY)["repositoriesOrError"]["nodes"]
    repository = {
        "repositoryLocationName": repo["location"]["name"],
        "repositoryName": repo["name"],
    }
    tags = {
        "dagster/partition": partition,
        "dagster/partition/date": day,
        "dagster/partition/scope": SCOPE,
    }
    request = {"tags": [{"key": k, "value": v} for k, v in tags.items()], "runConfigYaml": ""}
    return launch_run(stack, repository, DAILY_JOB, request)


def runs(stack: DagsterStack) -> dict[str, dict[str, Any]]:
    found = stack.graphql(RUNS, {"tag": SCOPE})["runsOrError"]["results"]
    return {run["runId"]: run for run in found}


def wait_for(what: str, check: Any, timeout: float, stack: DagsterStack) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} not seen within {timeout:.0f} s: {runs(stack)}\n{stack.log_tails()}")


def test_a_killed_cli_run_stops_blocking_its_scope_after_one_monitoring_pass(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    storage = open_storage((tmp_path / "store").as_uri())
    write_catalog(storage, TENANT, catalog_rows())
    for i in range(2):
        day = DAY0 + dt.timedelta(days=i)
        lines = "\n".join(event_lines(day, 3000, offset=i)) + "\n"
        storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{day}/e.jsonl", lines.encode())
    home = prepare_home(tmp_path / "dagster_home")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True  # as shipped
    config["run_monitoring"]["poll_interval_seconds"] = POLL_SECONDS
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    dbname = f"mon_{uuid.uuid4().hex[:10]}"
    postgres_server.create_database(dbname)
    env = {
        **postgres_server.env(dbname),
        "RECSYS_STORAGE_URL": storage.url,
        "RECSYS_SIGNING_KEYS": KEY_SPEC,
        "RECSYS_MODEL_PARAMS": SMALL_DATA_PARAMS,
    }
    stack = start_webserver(home, env, timeout=240)
    cli: subprocess.Popen[bytes] | None = None
    try:
        stack.start_daemon(timeout=240)
        cli = subprocess.Popen(
            [str(Path(sys.executable).parent / "recsys"), "materialize", "--tenant", TENANT,
             "--surface", SURFACE, "--date", str(DAY0)],
            env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        [killed] = wait_for(
            "the CLI run STARTED",
            lambda: [rid for rid, run in runs(stack).items() if run["status"] == "STARTED"],
            180,
            stack,
        )
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=30)
        killed_at = time.monotonic()

        # The next run of the scope, as the schedule or the UI launches one: queued behind it.
        day = DAY0 + dt.timedelta(days=1)
        queued = launch_partition_run(stack, f"{day}|{SCOPE}", str(day))
        time.sleep(2)
        assert runs(stack)[queued]["status"] == "QUEUED"  # the dead run holds the slot

        wait_for(
            "the queued run leaving the queue",
            lambda: runs(stack)[queued]["status"] not in {"QUEUED", "NOT_STARTED"},
            DEADLINE,
            stack,
        )
        waited = time.monotonic() - killed_at
        assert runs(stack)[killed]["status"] == "FAILURE"
        events = stack.graphql(EVENTS, {"id": killed})["logsForRun"]["events"]
        messages = [e.get("message") or "" for e in events]
        assert any("recsys CLI process" in m and "is gone" in m for m in messages), messages
        assert waited < DEADLINE
        final = wait_for(
            "the queued run finishing",
            lambda: runs(stack)[queued]["status"] in {"SUCCESS", "FAILURE"} and runs(stack)[queued],
            240,
            stack,
        )
        assert final["status"] == "SUCCESS", stack.log_tails()
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        stack.stop()
