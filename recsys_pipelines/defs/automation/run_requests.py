"""One RunRequest shape for every automated run: a partition, a stable run_key, scope tags."""

from __future__ import annotations

import dagster as dg

from recsys_algo.contracts.names import parse_scope_key
from recsys_algo.policy.schedule import PartitionRun
from recsys_pipelines.defs.automation.settings import SCOPE_TAG, TRIGGER_TAG
from recsys_pipelines.defs.partitions import partition_key


def partition_run(run: PartitionRun) -> dg.RunRequest:
    """Run the daily job for (day, scope); the scope tag feeds the per-scope concurrency limit."""
    tenant, surface = parse_scope_key(run.scope)
    return dg.RunRequest(
        run_key=run.run_key,
        partition_key=partition_key(tenant, surface, run.day),
        tags={SCOPE_TAG: run.scope, TRIGGER_TAG: run.trigger},
    )
