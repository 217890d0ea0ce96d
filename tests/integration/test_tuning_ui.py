"""The tuning job through the real webserver and daemon, over GraphQL as the UI does it: the
run writes the scope's recipe and records every trial as a table, and the next daily run's
manifest lineage names the recipe version it built with."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from recsys_algo.contracts.names import Partition, scope_key
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.store import registry
from recsys_algo.store.recipes import read_current_recipe
from recsys_algo.store.storage import open_storage
from recsys_pipelines.defs.tuning.assets import TUNE_JOB
from tests.integration.postgres import PostgresServer
from tests.integration.seaweed import SeaweedServer
from tests.integration.test_dagster_ui_flows import (
    Ops,
    running_ops,
    write_raw_days,
)
from tests.pipelines.conftest import DAY0

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Using (a DocumentNode|variable_values):DeprecationWarning:gql"
    ),
]

TENANT, SURFACE = "tuneops", "home"
DAYS = [DAY0 + dt.timedelta(days=i) for i in range(4)]
TRAIN_DAYS, NEXT_DAY = DAYS[:3], DAYS[3]
# A few hundred events a day: small models, a wide gate margin (day-to-day noise never
# blocks), two held-out users are enough to measure.
MODEL_PARAMS = json.dumps(
    {
        "cooc": {"min_support": 1},
        "implicit": {"factors": 8, "iterations": 5},
        "evaluation": {"min_users": 2, "gate_margin": 0.9},
    }
)
# blend_trials: past the starting points (current, defaults, each kind alone, the best pair).
BUDGET = {"seed": 7, "kind_trials": 2, "blend_trials": 16, "holdout_days": 1}
MATERIALIZATIONS = """
query($id: ID!) {
  logsForRun(runId: $id) {
    ... on EventConnection {
      events {
        __typename
        ... on MaterializationEvent {
          assetKey { path }
          metadataEntries {
            label
            ... on TableMetadataEntry { table { records } }
            ... on TextMetadataEntry { text }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def ops(
    postgres_server: PostgresServer,
    seaweed_server: SeaweedServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Ops]:
    root = tmp_path_factory.mktemp("tuning_ui")
    storage = open_storage((root / "store").as_uri())
    write_raw_days(storage, TENANT, SURFACE, DAYS, 150)
    # The days before are ingested in process (what the ingest assets call): the tuning job
    # reads canonical days, and only the runs under test go through the daemon.
    for day in TRAIN_DAYS:
        ingest_partition(storage, Partition(TENANT, SURFACE, day))
        canonicalize_partition(storage, Partition(TENANT, SURFACE, day))
    with running_ops(postgres_server, seaweed_server, root, storage, MODEL_PARAMS) as ops:
        ops.stack.start_daemon(timeout=240)
        yield ops


def materialized(ops: Ops, run_id: str) -> dict[str, Any]:
    """The run's tuned_recipe materialization metadata, label -> entry, as the UI shows it."""
    events = ops.stack.graphql(MATERIALIZATIONS, {"id": run_id})["logsForRun"]["events"]
    (event,) = [e for e in events if e["__typename"] == "MaterializationEvent"]
    assert event["assetKey"]["path"] == ["tuned_recipe"]
    return {entry["label"]: entry for entry in event["metadataEntries"]}


def submit(ops: Ops, job: str, tags: dict[str, str], run_config: dict[str, Any]) -> str:
    """Launch a run as the launchpad does (the daemon dequeues it); wait until it ends."""
    run_id = ops.stack.client().submit_job_execution(
        job,
        repository_location_name=ops.repository["repositoryLocationName"],
        repository_name=ops.repository["repositoryName"],
        run_config=run_config,
        tags=tags,
    )
    assert ops.wait_for_run(run_id) == "SUCCESS", ops.failure_messages(run_id)
    return run_id


def test_the_tuning_job_writes_a_recipe_that_the_next_daily_run_names(ops: Ops) -> None:
    scope = scope_key(TENANT, SURFACE)
    added = ops.add_scope(scope)
    assert added["__typename"] == "AddDynamicPartitionSuccess", added

    began = time.monotonic()
    run_id = submit(
        ops,
        TUNE_JOB,
        {"dagster/partition": scope, "recsys/scope": scope},
        {"ops": {"tuned_recipe": {"config": BUDGET}}},
    )
    recipe = read_current_recipe(ops.storage, (TENANT, SURFACE))
    assert recipe is not None and recipe.source == "tuning", recipe
    assert recipe.tuning is not None and recipe.tuning["seed"] == BUDGET["seed"]
    entries = materialized(ops, run_id)
    assert entries["recipe_version"]["text"] == recipe.version
    rows = [json.loads(r) for r in entries["trials"]["table"]["records"]]
    assert len(rows) == recipe.tuning["trials"]
    assert [r["stage"] for r in rows].count("blend") == BUDGET["blend_trials"]
    assert rows[0]["stage"] == "baseline"
    assert time.monotonic() - began < 600  # bounds a hang; not a speed measurement

    # The next daily run, launched as the UI's partition backfill does.
    launched = ops.launch_backfill([NEXT_DAY], scope)
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = ops.wait_for_backfill(launched["backfillId"])
    assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, ops.stack.log_tails())
    serving = registry.read_current(ops.storage, ops.keys, TENANT, SURFACE)
    assert serving is not None
    current = serving.manifest
    assert current.as_of == NEXT_DAY.isoformat()
    assert current.lineage.parameters["recipe"] == {"default": None, "scope": recipe.version}
