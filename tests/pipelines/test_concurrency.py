"""Per-scope run concurrency: both dagster.yaml files queue a second run of a scope, keyed on
tags every run of a scope carries. (How the daemon dequeues under those limits is Dagster's.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import yaml

from recsys_algo.policy.schedule import PartitionRun
from recsys_pipelines.definitions import DAILY_JOB
from recsys_pipelines.defs.automation.run_requests import partition_run
from recsys_pipelines.defs.automation.settings import SCOPE_TAG
from recsys_pipelines.defs.partitions import partition_key
from tests.pipelines.conftest import SURFACE, TENANT, Env

ROOT = Path(__file__).resolve().parents[2]
PARTITION_SCOPE_TAG = "dagster/partition/scope"  # Dagster tags each dimension of a partition key
SCOPE = f"{TENANT}.{SURFACE}"
DAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize("path", ["dagster.yaml", "docker/dagster.yaml"])
def test_dagster_yaml_limits_each_scope_to_one_run(path: str) -> None:
    config = yaml.safe_load((ROOT / path).read_text())
    with dg.instance_for_test(
        overrides={"run_coordinator": config["run_coordinator"]}, set_dagster_home=False
    ) as instance:
        queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
    assert set(limits) == {SCOPE_TAG, PARTITION_SCOPE_TAG}
    for limit in limits.values():
        assert limit["limit"] == 1
        assert limit["value"] == {"applyLimitPerUniqueValue": True}


def test_automated_and_partition_launched_runs_carry_a_limited_tag_with_their_scope(
    env: Env,
) -> None:
    request = partition_run(PartitionRun(SCOPE, DAY, "landing", f"landing:{SCOPE}"))
    assert request.tags[SCOPE_TAG] == SCOPE
    # A launch of one partition, as from the UI or a backfill: no recsys tag, Dagster's only.
    # Nothing landed for DAY, so the run fails at raw_events; its tags are what matters.
    job = env.definitions().resolve_job_def(DAILY_JOB)
    result = job.execute_in_process(
        partition_key=partition_key(TENANT, SURFACE, DAY),
        instance=env.instance,
        raise_on_error=False,
    )
    run = env.instance.get_run_by_id(result.run_id)
    assert run is not None
    assert run.tags[PARTITION_SCOPE_TAG] == SCOPE
