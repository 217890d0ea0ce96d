"""One RunRequest shape for every automated run: a partition, a stable run_key, scope tags."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from recsys_algo.contracts.names import parse_scope_key
from recsys_pipelines.defs.automation.settings import SCOPE_TAG, TRIGGER_TAG
from recsys_pipelines.defs.partitions import partition_key


def partition_run(scope: str, day: dt.date, trigger: str, run_key: str) -> dg.RunRequest:
    """Run the daily job for (day, scope); the scope tag feeds the per-scope concurrency limit."""
    tenant, surface = parse_scope_key(scope)
    return dg.RunRequest(
        run_key=run_key,
        partition_key=partition_key(tenant, surface, day),
        tags={SCOPE_TAG: scope, TRIGGER_TAG: trigger},
    )
