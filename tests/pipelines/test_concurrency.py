"""Per-scope run concurrency: the root dagster.yaml loads, and its queue holds a second run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)

from recsys_algo.policy.schedule import PartitionRun
from recsys_pipelines.definitions import DAILY_JOB
from recsys_pipelines.defs.automation.run_requests import partition_run
from recsys_pipelines.defs.automation.settings import SCOPE_TAG

ROOT = Path(__file__).resolve().parents[2]
PARTITION_SCOPE_TAG = "dagster/partition/scope"  # Dagster tags each dimension of a partition key
DAY = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def queued_instance() -> Iterator[dg.DagsterInstance]:
    """An instance configured from the repository's dagster.yaml (its run coordinator)."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    with dg.instance_for_test(
        overrides={"run_coordinator": config["run_coordinator"]}, set_dagster_home=False
    ) as instance:
        yield instance


def test_dagster_yaml_limits_each_scope_to_one_run(queued_instance: dg.DagsterInstance) -> None:
    queue = queued_instance.get_concurrency_config().run_queue_config
    assert queue is not None
    limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
    for key in (SCOPE_TAG, PARTITION_SCOPE_TAG):
        assert limits[key]["limit"] == 1
        assert limits[key]["value"] == {"applyLimitPerUniqueValue": True}


# Queued runs name the code location they come from (the daemon launches them there).
ORIGIN = RemoteJobOrigin(
    repository_origin=RemoteRepositoryOrigin(
        code_location_origin=RegisteredCodeLocationOrigin("recsys"),
        repository_name="__repository__",
    ),
    job_name=DAILY_JOB,
)


def _queued(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run = create_run_for_test(
        instance,
        job_name=DAILY_JOB,
        status=DagsterRunStatus.QUEUED,
        tags=tags,
        remote_job_origin=ORIGIN,
    )
    return str(run.run_id)


@pytest.mark.parametrize("tag", [SCOPE_TAG, PARTITION_SCOPE_TAG])
def test_second_run_for_a_scope_waits_in_the_queue(
    queued_instance: dg.DagsterInstance, tag: str
) -> None:
    instance = queued_instance
    instance.wipe()
    home, other = "acme.home", "globex.feed"
    # Automated runs carry the request's tags; UI launches and backfills carry the partition's.
    tags = {
        scope: dict(partition_run(PartitionRun(scope, DAY, "landing", f"k:{scope}")).tags)
        if tag == SCOPE_TAG
        else {PARTITION_SCOPE_TAG: scope}
        for scope in (home, other)
    }
    running = create_run_for_test(
        instance, job_name=DAILY_JOB, status=DagsterRunStatus.STARTED, tags=tags[home]
    )
    waiting = _queued(instance, tags[home])
    free = _queued(instance, tags[other])
    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    config = instance.get_concurrency_config()
    # The daemon's own dequeue decision (private API; dagster is pinned in pyproject.toml).
    chosen = [r.run_id for r in daemon._get_runs_to_dequeue(instance, config, None)]
    assert chosen == [free]
    instance.report_run_failed(running)
    chosen = [r.run_id for r in daemon._get_runs_to_dequeue(instance, config, None)]
    assert set(chosen) == {waiting, free}
